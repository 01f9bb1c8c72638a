"""Idempotency keys: a retried request is answered once, whatever the network did.

A client sends ``Idempotency-Key: <unique value>`` with a write; if the connection drops
it sends the same request again with the same key. The first request's response is
stored with the key (:class:`~ecitizen.core.models.IdempotencyRecord`) and replayed for
the retry, so the write happens once. The same key with a different request is refused
(:class:`IdempotencyKeyReused`), since the client has mixed up its keys.

Keys are scoped (the caller names the scope: one OAuth2 client and user, say) and kept
``IDEMPOTENCY_KEY_HOURS`` (24 by default); :func:`idempotency_prune` forgets older ones.
Two concurrent requests with one key cannot both write: the record is inserted in the
same transaction as the write, under a unique constraint, so the second insert waits
for the first transaction and then finds its stored response.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.core.errors import DomainError
from ecitizen.core.models import IdempotencyRecord

#: The longest key accepted (the IETF draft leaves it to the server).
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    """What is replayed: the status, the content type and the body (text)."""

    status_code: int
    content_type: str
    body: str


class IdempotencyKeyReused(DomainError):
    """The key was used before for a different request."""

    code = "idempotency_key_reused"


class IdempotencyKeyInvalid(DomainError):
    """The key is empty or too long."""

    code = "idempotency_key_invalid"


def _ttl() -> timedelta:
    return timedelta(hours=int(getattr(settings, "IDEMPOTENCY_KEY_HOURS", 24)))


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """A SHA-256 of what makes two requests "the same": method, path and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@transaction.atomic
def idempotent_call(
    *,
    scope: str,
    key: str,
    fingerprint: str,
    call: Callable[[], StoredResponse],
) -> tuple[StoredResponse, bool]:
    """Run ``call`` once per (``scope``, ``key``): ``(response, replayed)``.

    Preconditions: ``fingerprint`` from :func:`request_fingerprint`. The first time,
    ``call`` runs in this transaction and its response is stored with the key (a 5xx
    response is not stored: the transaction is rolled back so a retry runs again).
    Later, the stored response is returned with ``replayed=True`` and ``call`` does not
    run. Raises :class:`IdempotencyKeyReused` when the key came with another
    fingerprint, :class:`IdempotencyKeyInvalid` for an empty or over-long key.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalid(
            _("The Idempotency-Key must be 1 to %(max)s printable characters.")
            % {"max": MAX_KEY_LENGTH}
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                created_at=now,
                status_code=0,
                content_type="",
                body="",
            )
    except IntegrityError:
        existing = IdempotencyRecord.objects.select_for_update().get(scope=scope, key=key)
        if existing.created_at > now - _ttl() and existing.status_code:
            if existing.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    _(
                        "This Idempotency-Key was already used for a different request. "
                        "Use a new key for each new request."
                    )
                ) from None
            return StoredResponse(
                existing.status_code, existing.content_type, existing.body or ""
            ), True
        # Expired (not yet pruned), or left without a response: the key starts again.
        existing.fingerprint = fingerprint
        existing.created_at = now
        existing.status_code = 0
        existing.save(update_fields=["fingerprint", "created_at", "status_code"])
        record = existing
    response = call()
    if response.status_code >= 500:
        transaction.set_rollback(True)
        return response, False
    record.status_code = response.status_code
    record.content_type = response.content_type
    record.body = response.body
    record.save(update_fields=["status_code", "content_type", "body"])
    return response, False


def idempotency_prune() -> int:
    """Delete the keys older than ``IDEMPOTENCY_KEY_HOURS``; how many were deleted."""
    deleted, _rows = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - _ttl()
    ).delete()
    return deleted

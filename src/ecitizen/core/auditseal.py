"""Personal values in the audit trail, sealed under a per-person key (ADR 0023).

The audit trail is append-only and hash-chained (ADR 0005): a row can never be changed,
so a personal value written in clear could never be erased. Instead, the few personal
values the trail must record (who acted, by their email address, and the addresses of an
email change) are written *sealed*: encrypted with AES-256-GCM under a random 256-bit key
that belongs to one person (:class:`~ecitizen.core.models.AuditSubjectKey`, itself stored
wrapped by the field-encryption KEK). The chain hashes the sealed text, which never
changes. Erasing a person destroys their key (:func:`audit_subject_erase`): every value
sealed under it becomes unreadable for good, while every hash, and so ``ecitizen audit
verify``, stays as it was::

    sub1:<subject user id>:<base64url(nonce | ciphertext)>

The AES-GCM associated data is ``core.audit:<subject user id>``, so a sealed value cannot
be moved to another person's key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.utils.translation import gettext as _

from ecitizen.core.compiled import CompiledQuery

SEAL_PREFIX = "sub1"
#: Change keys whose values are sealed rather than written in clear (the rest of the
#: personal keys are masked altogether: see ``core.services.AUDIT_MASKED_KEYS``).
AUDIT_SEALED_KEYS = frozenset({"email"})
_NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aad(subject_user_id: int) -> bytes:
    return f"core.audit:{subject_user_id}".encode()


@functools.cache
def _stored_key_query() -> CompiledQuery[Any]:
    """The stored (wrapped) key of a person, by ``subject``: compiled once, as every
    audited action of a signed-in person reads it (building it in the ORM cost more than
    running it). Not the key itself: that is never kept beyond its use, so that erasing
    it (:func:`audit_subject_erase`) takes effect in every process at once."""
    from ecitizen.core.models import AuditSubjectKey

    return CompiledQuery(
        AuditSubjectKey,
        lambda subject: AuditSubjectKey.objects.filter(subject_user_id=subject).values_list("key"),
        subject=(-7_031_962_577, AuditSubjectKey._meta.get_field("subject_user_id")),
    )


def _subject_key(subject_user_id: int, *, create: bool) -> bytes | None:
    from ecitizen.core.models import AuditSubjectKey

    stored = _stored_key_query().value(subject=subject_user_id)
    if stored is None:
        if not create:
            return None
        key = AESGCM.generate_key(bit_length=256)
        AuditSubjectKey.objects.create(
            subject_user_id=subject_user_id, key=base64.b64encode(key).decode("ascii")
        )
        return key
    return base64.b64decode(stored)


def seal(value: Any, *, subject_user_id: int) -> Any:
    """``value`` (text) sealed under the key of ``subject_user_id``, created if need be.

    Empty and non-text values are returned as they are. Precondition: called inside
    :func:`~ecitizen.core.services.audit_record`'s transaction, after it locked the chain
    head (which serialises the creation of a person's first key)."""
    if not isinstance(value, str) or not value:
        return value
    key = _subject_key(subject_user_id, create=True)
    assert key is not None
    nonce = os.urandom(_NONCE_BYTES)
    body = AESGCM(key).encrypt(nonce, value.encode("utf-8"), _aad(subject_user_id))
    return f"{SEAL_PREFIX}:{subject_user_id}:{_b64(nonce + body)}"


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEAL_PREFIX + ":")


def unseal(value: Any) -> Any:
    """The clear value of a sealed one; a note saying it was erased once its person's key
    is gone; any other value unchanged (events written before sealing existed)."""
    if not is_sealed(value):
        return value
    try:
        _prefix, subject, body = value.split(":", 2)
        subject_user_id = int(subject)
        raw = _unb64(body)
    except (ValueError, binascii.Error):
        return _("[unreadable]")
    key = _subject_key(subject_user_id, create=False)
    if key is None:
        return _("[erased]")
    try:
        plain = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(subject_user_id))
    except (InvalidTag, ValueError):
        return _("[unreadable]")
    return plain.decode("utf-8")


def audit_subject_erase(*, subject_user_id: int) -> bool:
    """Destroy the audit key of ``subject_user_id``: what was sealed under it can no
    longer be read by anyone. Returns whether there was a key. The chain is untouched."""
    from ecitizen.core.models import AuditSubjectKey

    deleted, _rows = AuditSubjectKey.objects.filter(subject_user_id=subject_user_id).delete()
    return bool(deleted)


def seal_changes(changes: Mapping[str, Any], *, subject_user_id: int) -> dict[str, Any]:
    """``changes`` with the values of :data:`AUDIT_SEALED_KEYS` (both sides of a
    ``{"before", "after"}`` pair) sealed under ``subject_user_id``'s key."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in AUDIT_SEALED_KEYS:
            out[name] = value
        elif isinstance(value, Mapping) and set(value) <= {"before", "after"}:
            out[name] = {
                side: seal(item, subject_user_id=subject_user_id) for side, item in value.items()
            }
        else:
            out[name] = seal(value, subject_user_id=subject_user_id)
    return out

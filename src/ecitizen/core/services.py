"""Writes owned by the core: the audit trail and worker heartbeats."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from ecitizen.core import auditseal, crypto
from ecitizen.core.compiled import CompiledInsert, CompiledQuery, CompiledUpdate
from ecitizen.core.errors import DomainError
from ecitizen.core.http import normalise_ip
from ecitizen.core.models import AuditChainHead, AuditCheckpoint, AuditEvent, WorkerHeartbeat

MASK = "[redacted]"
#: Change keys whose values never reach the trail, whoever records them: the names of
#: the personal fields of every app (names, addresses, identifiers, contact details,
#: what is printed on documents). :func:`audit_record` masks them as a safety net for a
#: caller that forgot ``audit_changes(personal=...)``.
AUDIT_MASKED_KEYS = frozenset(
    {
        "full_name",
        "legal_name",
        "preferred_name",
        "holder_name",
        "owner_name",
        "address",
        "address_line_1",
        "address_line_2",
        "town",
        "postcode",
        "national_id",
        "date_of_birth",
        "phone",
        "printed",
    }
)


def _masked(value: Any) -> Any:
    return MASK if value not in (None, "") else value


def _mask_personal_keys(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` with the values of :data:`AUDIT_MASKED_KEYS` masked (both sides of a
    ``{"before", "after"}`` pair)."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in AUDIT_MASKED_KEYS:
            out[key] = value
        elif isinstance(value, Mapping) and set(value) <= {"before", "after"}:
            out[key] = {side: _masked(item) for side, item in value.items()}
        else:
            out[key] = _masked(value)
    return out


def _json_safe(value: Any) -> Any:  # noqa: PLR0911 - one return per JSON type
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


def event_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an event's content (which includes ``prev_hash``)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def audit_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, personal: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """The fields whose values differ, as ``{field: {"before": .., "after": ..}}``.

    Values of fields named in ``personal`` (and of :data:`AUDIT_MASKED_KEYS`) are replaced
    by a mask: the trail records *that* a date of birth changed, never the date itself.
    """
    personal_fields = set(personal) | AUDIT_MASKED_KEYS
    changes: dict[str, dict[str, Any]] = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        if field in personal_fields:
            old, new = _masked(old), _masked(new)
        changes[field] = {"before": _json_safe(old), "after": _json_safe(new)}
    return changes


@transaction.atomic
def audit_record(
    *,
    action: str,
    actor: Any = None,
    actor_role: str = "",
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    subject_user_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one event to the hash chain, inside the caller's transaction.

    ``actor`` is a user or ``None`` for the system; ``obj`` (or ``object_type`` and
    ``object_id``) names what was acted on; ``subject_user_id`` is the resident whose data
    the event concerns. ``changes`` must already be masked (see :func:`audit_changes`);
    values under the keys of :data:`AUDIT_MASKED_KEYS` are masked here in any case. The
    actor's email address, and the values of an ``email`` change, are stored sealed under
    their person's audit key (:mod:`ecitizen.core.auditseal`, ADR 0023), created here the
    first time; destroying that key erases them without changing the event's hash.

    Side effects: locks the chain head row until the caller's transaction ends, so appends
    are serialised; if that transaction rolls back, the event disappears with the change it
    recorded. When a checkpoint is due (``AUDIT_CHECKPOINT_INTERVAL``) and an audit
    signing key is configured, also writes a signed checkpoint of the new head, in the same
    transaction (:func:`audit_checkpoint_sign`).
    """
    head = _locked_head()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    actor_label = str(getattr(actor, "email", "") or "") if actor is not None else ""
    # Personal values the trail must keep are sealed under their person's key, whose
    # destruction erases them without changing a hash (core.auditseal, ADR 0023).
    if actor_label and actor_id is not None:
        actor_label = auditseal.seal(actor_label, subject_user_id=actor_id)
    sealed_for = subject_user_id if subject_user_id is not None else actor_id
    if changes and sealed_for is not None:
        changes = auditseal.seal_changes(changes, subject_user_id=sealed_for)
    event = AuditEvent(
        sequence=head.sequence + 1,
        created_at=timezone.now(),
        actor_id=actor_id,
        actor_label=actor_label,
        actor_role=actor_role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        subject_user_id=subject_user_id,
        changes=_json_safe(_mask_personal_keys(changes or {})),
        ip_address=normalise_ip(ip_address),
        prev_hash=head.hash,
    )
    event.hash = event_hash(event.canonical_content())
    _EVENT_INSERT.insert(event)
    head.sequence = event.sequence
    head.hash = event.hash
    _HEAD_MOVED.update(head, using=head._state.db)  # where it was locked
    key_id = crypto.audit_signing_key_id()
    if key_id is not None and _checkpoint_due(event.sequence):
        _checkpoint_write(sequence=event.sequence, chain_hash=event.hash, key_id=key_id)
    return event


# Every audited view and change appends an event: its statements are compiled once
# (core.compiled), building them in the ORM cost several times what running them did.
_HEAD_LOCKED = CompiledQuery(
    AuditChainHead,
    lambda pk: AuditChainHead.objects.select_for_update().filter(pk=pk),
    pk=(-7_031_962_513, AuditChainHead._meta.get_field("id")),
)
_EVENT_INSERT = CompiledInsert(AuditEvent)
_CHECKPOINT_INSERT = CompiledInsert(AuditCheckpoint)
_HEAD_MOVED = CompiledUpdate(AuditChainHead, ["sequence", "hash"])


def _locked_head() -> AuditChainHead:
    """The chain head, its row locked until the caller's transaction ends (precondition:
    inside one). The migration creates the row; ``get_or_create`` covers a database
    emptied since (a test flush), and its IntegrityError retry two processes creating it
    at once."""
    head = _HEAD_LOCKED.first(pk=1)
    if head is None:
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    return head


class AuditSigningKeyMissing(DomainError):
    code = "audit_signing_key_missing"


def _checkpoint_due(sequence: int) -> bool:
    """Whether the event at ``sequence`` (just appended) should be signed: every
    ``AUDIT_CHECKPOINT_INTERVAL``-th event. Arithmetic rather than a look-up of the last
    checkpoint, which measured as costly as the signature itself (ADR 0013)."""
    interval: int = settings.AUDIT_CHECKPOINT_INTERVAL
    return sequence % interval == 0


def _checkpoint_write(*, sequence: int, chain_hash: str, key_id: str) -> AuditCheckpoint:
    checkpoint = AuditCheckpoint(
        sequence=sequence, hash=chain_hash, key_id=key_id, signed_at=timezone.now()
    )
    checkpoint.signature = crypto.audit_sign(checkpoint.signed_message(), key_id=key_id)
    _CHECKPOINT_INSERT.insert(checkpoint)
    return checkpoint


@transaction.atomic
def audit_checkpoint_sign() -> AuditCheckpoint | None:
    """Sign the chain head now, unless a checkpoint already covers it.

    For ``ecitizen audit anchor`` (with ``AUDIT_CHECKPOINT_INTERVAL`` above 1, the newest
    events wait for the next due append otherwise). Returns the checkpoint at the head's
    sequence, new or existing, or ``None`` while the trail is empty. Raises
    :class:`AuditSigningKeyMissing` when no audit signing key is configured.

    Side effects: locks the chain head row (appends wait) and writes one checkpoint row.
    """
    key_id = crypto.audit_signing_key_id()
    if key_id is None:
        raise AuditSigningKeyMissing(
            "No audit signing key is configured: set AUDIT_SIGNING_KEYS "
            "(see docs/configuration.md)."
        )
    head = _locked_head()
    if head.sequence == 0:
        return None
    existing = AuditCheckpoint.objects.filter(sequence=head.sequence).first()
    if existing is not None:
        return existing
    return _checkpoint_write(sequence=head.sequence, chain_hash=head.hash, key_id=key_id)


def worker_heartbeat(*, worker_id: str, started_at: datetime, pid: int) -> None:
    """Record that worker ``worker_id`` is alive now (creating its row on first beat)."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname(),
            "pid": pid,
            "started_at": started_at,
            "last_seen": now,
        },
    )


def worker_heartbeat_remove(*, worker_id: str) -> None:
    """Forget a worker that is shutting down cleanly."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


# --- Key rotation -----------------------------------------------------------------------


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted fields, and those fields' names."""
    from django.apps import apps

    from ecitizen.core.fields import EncryptedTextField

    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def _stale_rows_query(fields: list[str], key_id: str) -> models.Q:
    query = models.Q()
    for name in fields:
        query |= models.Q(**{f"{name}__encrypted_under": "*"}) & ~models.Q(
            **{f"{name}__encrypted_under": key_id}
        )
    return query


def encrypted_rows_pending(*, key_id: str) -> int:
    """How many rows still hold a value encrypted under a key other than ``key_id``."""
    return sum(
        model._default_manager.filter(_stale_rows_query(fields, key_id)).count()
        for model, fields in encrypted_fields()
    )


def encrypted_rows_rotate(
    *, batch_size: int = 500, limit: int | None = None, progress: Any = None
) -> int:
    """Re-encrypt every encrypted field value under the active key; returns rows done.

    Resumable: only rows still under another key are selected, each batch commits on its
    own, so a stopped run continues where it stopped. Old keys must stay configured until
    it has finished (values under them keep decrypting meanwhile). ``limit`` stops after
    that many rows; ``progress`` (a tqdm-like object) gets ``update(n)`` per batch.
    Precondition: no other process is writing the same rows with an old key active.
    """
    from ecitizen.core import crypto

    key_id = crypto.active_key_id()
    done = 0
    for model, fields in encrypted_fields():
        stale = model._default_manager.filter(_stale_rows_query(fields, key_id)).order_by("pk")
        while limit is None or done < limit:
            size = batch_size if limit is None else min(batch_size, limit - done)
            with transaction.atomic():
                rows = list(stale.select_for_update()[:size])
                if not rows:
                    break
                for row in rows:
                    # Reading decrypted the values (old key); saving encrypts them (new key).
                    model._default_manager.filter(pk=row.pk).update(
                        **{name: getattr(row, name) for name in fields}
                    )
            done += len(rows)
            if progress is not None:
                progress.update(len(rows))
    return done

"""Reads owned by the core: audit chain verification, platform health."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from ecitizen.core import crypto
from ecitizen.core.leases import task_leases_expired_count
from ecitizen.core.models import (
    CHECKPOINT_FORMAT,
    GENESIS_HASH,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    WorkerHeartbeat,
    checkpoint_message,
)
from ecitizen.core.services import event_hash


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying the audit chain and its signed checkpoints."""

    ok: bool
    events_checked: int
    head_hash: str
    broken_sequence: int | None = None
    broken_id: int | None = None
    reason: str = ""
    #: Whether signatures were checked at all (some trusted public key was known).
    signed: bool = False
    checkpoints_checked: int = 0
    #: The sequence of the last signed checkpoint checked, if any.
    last_checkpoint: int | None = None
    anchors_checked: int = 0


@dataclass(frozen=True)
class AuditAnchor:
    """A checkpoint held outside the database: ``ecitizen audit anchor --export`` output."""

    sequence: int
    hash: str
    key_id: str
    signed_at: str
    signature: str
    public_key: str | None = None

    def signed_content(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "sequence": self.sequence,
            "hash": self.hash,
            "key_id": self.key_id,
            "signed_at": self.signed_at,
        }


def audit_anchor_parse(data: Any) -> AuditAnchor:
    """An exported checkpoint from its decoded JSON; ``ValueError`` naming what is wrong."""
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"not an exported audit checkpoint (format {CHECKPOINT_FORMAT!r})")
    sequence = data.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise ValueError("its sequence must be a whole number of at least 1")
    for name in ("hash", "key_id", "signed_at", "signature"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise ValueError(f"its {name} must be a non-empty string")
    public_key = data.get("public_key")
    if public_key is not None and not isinstance(public_key, str):
        raise ValueError("its public_key must be a string")
    return AuditAnchor(
        sequence=sequence,
        hash=data["hash"],
        key_id=data["key_id"],
        signed_at=data["signed_at"],
        signature=data["signature"],
        public_key=public_key,
    )


def audit_checkpoint_latest() -> AuditCheckpoint | None:
    """The signed checkpoint with the highest sequence, if any."""
    return AuditCheckpoint.objects.order_by("-sequence").first()


def audit_checkpoint_export(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as published for outsiders (``ecitizen audit anchor --export``): its
    signed content, the signature, and the public key that verifies it (for convenience:
    a verifier trusts the key it got through its own channel, not this copy)."""
    public_key = crypto.audit_public_keys().get(checkpoint.key_id)
    return {
        **checkpoint.signed_content(),
        "signature": checkpoint.signature,
        "public_key": crypto.public_key_text(public_key) if public_key else None,
    }


def _signature_problem(
    content: dict[str, Any], signature: str, public_keys: Mapping[str, bytes]
) -> str:
    """Why a signature over ``content`` cannot be trusted, or "" when it can."""
    public_key = public_keys.get(str(content["key_id"]))
    if public_key is None:
        return f"it is signed with key {content['key_id']!r}, which is not a trusted key"
    if not crypto.signature_valid(checkpoint_message(content), signature, public_key=public_key):
        return "its signature is not valid (forged or changed)"
    return ""


def _anchor_problem(
    anchor: AuditAnchor, public_keys: Mapping[str, bytes], head_sequence: int
) -> str:
    problem = _signature_problem(anchor.signed_content(), anchor.signature, public_keys)
    if not problem and anchor.public_key is not None:
        trusted = public_keys[anchor.key_id]
        if anchor.public_key.strip() != crypto.public_key_text(trusted):
            problem = f"its public key is not the trusted key {anchor.key_id!r}"
    if not problem and anchor.sequence > head_sequence:
        problem = (
            f"the chain head is #{head_sequence}: events signed before were removed "
            "(the newest events cut off)"
        )
    return problem


def audit_chain_verify(  # noqa: PLR0911, PLR0912 - one check after another, each may fail
    *,
    chunk_size: int = 2000,
    public_keys: Mapping[str, bytes] | None = None,
    anchors: Sequence[AuditAnchor] = (),
) -> ChainReport:
    """Recompute the whole chain in sequence order, check every signed checkpoint against
    it, and stop at the first problem.

    An event is broken when its sequence number is not the next one (a row was removed or
    inserted), its ``prev_hash`` is not the previous row's hash, or its own hash does not
    match its content. Finally the chain head must point at the last row.

    A checkpoint is bad when its key is not trusted, its signature does not verify, or the
    recomputed chain does not have its hash at its sequence: the chain was rewritten and
    re-hashed after it was signed, which only someone with database access can do, and
    which no one without the signing key can cover up. A checkpoint beyond the last event
    means newest events were removed; more unsigned events after the last checkpoint than
    ``AUDIT_CHECKPOINT_INTERVAL`` allows means checkpoints were removed.

    ``public_keys`` are the trusted keys by id (raw Ed25519 public keys); by default those
    of the configured ``AUDIT_SIGNING_KEYS`` and ``AUDIT_VERIFY_KEYS``. With no trusted key
    at all (development without a signing key) checkpoints cannot be checked: any is
    reported as untrusted. ``anchors`` are checkpoints exported earlier (held outside the
    database): each must be validly signed, and the chain must still have its hash at its
    sequence, which also catches the newest events being cut off together with their
    checkpoints.
    """
    trusted = crypto.audit_public_keys() if public_keys is None else dict(public_keys)
    previous_hash = GENESIS_HASH
    checked = 0
    checkpoints_checked = 0
    last_checkpoint: int | None = None

    def broken(sequence: int, row_id: int | None, reason: str) -> ChainReport:
        return ChainReport(
            False,
            checked,
            previous_hash,
            sequence,
            row_id,
            reason,
            signed=bool(trusted),
            checkpoints_checked=checkpoints_checked,
            last_checkpoint=last_checkpoint,
        )

    # The head is read first: events appended while the check runs lie beyond it and are
    # left for the next run, instead of looking like a mismatch.
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    for anchor in anchors:
        if problem := _anchor_problem(anchor, trusted, head.sequence):
            return broken(
                anchor.sequence,
                None,
                f"the exported checkpoint #{anchor.sequence} fails: {problem}",
            )
    anchor_hashes = {anchor.sequence: anchor.hash for anchor in anchors}
    events = AuditEvent.objects.filter(sequence__lte=head.sequence).order_by("sequence")
    checkpoints = (
        AuditCheckpoint.objects.filter(sequence__lte=head.sequence)
        .order_by("sequence")
        .iterator(chunk_size=chunk_size)
    )
    checkpoint = next(checkpoints, None)
    for event in events.iterator(chunk_size=chunk_size):
        reason = ""
        if event.sequence != checked + 1:
            reason = f"expected sequence {checked + 1}, found {event.sequence}"
        elif event.prev_hash != previous_hash:
            reason = "its previous-hash does not match the event before it"
        elif event_hash(event.canonical_content()) != event.hash:
            reason = "its content does not match its hash (the row was changed)"
        elif anchor_hashes.get(event.sequence, event.hash) != event.hash:
            reason = (
                f"the chain no longer has the hash of the exported checkpoint #{event.sequence}"
                " (events up to it were rewritten and the chain re-hashed)"
            )
        if reason:
            return broken(event.sequence, event.pk, reason)
        while checkpoint is not None and checkpoint.sequence <= event.sequence:
            # Sequences are unique and events have no gaps, so a checkpoint below the
            # current event would be one with no event at all (sequence 0).
            problem = (
                _signature_problem(checkpoint.signed_content(), checkpoint.signature, trusted)
                if checkpoint.sequence == event.sequence
                else "it names no event"
            )
            if not problem and checkpoint.hash != event.hash:
                first = (last_checkpoint or 0) + 1
                span = f"#{first}" if first == event.sequence else f"#{first} to #{event.sequence}"
                problem = (
                    "the chain does not have the signed hash: an event among "
                    f"{span} was rewritten and the chain re-hashed after it was signed"
                )
            if problem:
                return broken(
                    checkpoint.sequence,
                    None,
                    f"signed checkpoint #{checkpoint.sequence} fails: {problem}",
                )
            checkpoints_checked += 1
            last_checkpoint = checkpoint.sequence
            checkpoint = next(checkpoints, None)
        previous_hash = event.hash
        checked += 1
    # Every committed event moves the head in the same transaction. So the rows beyond the
    # first head are read first, the head again after: a row still beyond it was not
    # written by the application (one appended meanwhile is covered by the new head).
    later = list(
        AuditEvent.objects.filter(sequence__gt=head.sequence)
        .order_by("sequence")
        .only("pk", "sequence")
    )
    later_checkpoints = list(
        AuditCheckpoint.objects.filter(sequence__gt=head.sequence)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    current_head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    forged = next((event for event in later if event.sequence > current_head.sequence), None)
    if forged is not None:
        return broken(
            forged.sequence,
            forged.pk,
            "it lies beyond the chain head (inserted behind the application's back)",
        )
    orphan = next((seq for seq in later_checkpoints if seq > current_head.sequence), None)
    if orphan is not None:
        return broken(
            orphan,
            None,
            f"signed checkpoint #{orphan} lies beyond the chain head #{current_head.sequence}: "
            "events it covered were removed (the newest events cut off)",
        )
    if head.sequence != checked or head.hash != previous_hash:
        return broken(
            head.sequence,
            None,
            f"the chain head says #{head.sequence} but the last event is #{checked}",
        )
    interval: int = settings.AUDIT_CHECKPOINT_INTERVAL
    if trusted and checked - (last_checkpoint or 0) >= interval:
        first = (last_checkpoint or 0) + 1
        return broken(
            first,
            None,
            f"events #{first} to #{checked} are covered by no signed checkpoint, more than "
            f"AUDIT_CHECKPOINT_INTERVAL ({interval}) allows: checkpoints were removed "
            "(if the key or the interval just changed, `ecitizen audit anchor` signs the head)",
        )
    return ChainReport(
        True,
        checked,
        previous_hash,
        signed=bool(trusted),
        checkpoints_checked=checkpoints_checked,
        last_checkpoint=last_checkpoint,
        anchors_checked=len(anchors),
    )


# The databases (aliases) this process saw with every migration applied: the schema only
# moves forward, so the plan (every migration file read from disk) is not worked out again
# at each probe.
_migrated_aliases: set[str] = set()


def _unapplied_migrations() -> int:
    if connection.alias in _migrated_aliases:
        return 0
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    unapplied = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    if not unapplied:
        _migrated_aliases.add(connection.alias)
    return unapplied


def platform_readiness() -> tuple[bool, dict[str, Any]]:
    """Can this web process serve requests? The database answers and holds every
    migration of this code (a process started before ``ecitizen migrate`` ran is not
    ready), and the shared cache answers. Reads only; the boolean is overall readiness."""
    from django.core.cache import cache

    report: dict[str, Any] = {}
    ready = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        unapplied = _unapplied_migrations()
    except Exception as exc:
        report["database"] = {"status": "error", "error": exc.__class__.__name__}
        ready = False
    else:
        report["database"] = {"status": "ok" if not unapplied else "error"}
        if unapplied:
            report["database"]["unapplied_migrations"] = unapplied
            ready = False
    try:
        cache.get("ecitizen:readiness-probe")
        report["cache"] = {"status": "ok"}
    except Exception as exc:
        report["cache"] = {"status": "error", "error": exc.__class__.__name__}
        ready = False
    return ready, report


def platform_health() -> tuple[bool, dict[str, Any]]:
    """Database and worker health for ``/healthz``; the boolean is overall health."""
    report: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        report["database"] = {"status": "ok"}
    except Exception as exc:
        report["database"] = {"status": "error", "error": exc.__class__.__name__}
        return False, report

    if settings.TASKS_BACKEND == "immediate":
        report["worker"] = {"status": "ok", "mode": "immediate"}
        return True, report
    threshold = timezone.now() - timedelta(seconds=settings.WORKER_HEALTHY_WITHIN_SECONDS)
    latest = WorkerHeartbeat.objects.order_by("-last_seen").first()
    alive = WorkerHeartbeat.objects.filter(last_seen__gte=threshold).count()
    worker: dict[str, Any] = {
        "status": "ok" if alive else "error",
        "alive": alive,
        "healthy_within_seconds": settings.WORKER_HEALTHY_WITHIN_SECONDS,
    }
    if latest is not None:
        worker["last_heartbeat"] = latest.last_seen.isoformat()
        worker["age_seconds"] = round((timezone.now() - latest.last_seen).total_seconds(), 1)
    else:
        worker["last_heartbeat"] = None
    report["worker"] = worker
    # Tasks left running by a worker that died: a live worker requeues them within a
    # heartbeat, so any that remain mean no live worker is reclaiming (ecitizen.core.leases).
    stuck = task_leases_expired_count()
    report["tasks"] = {
        "status": "error" if stuck else "ok",
        "stuck": stuck,
        "lease_seconds": settings.TASK_LEASE_SECONDS,
    }
    return bool(alive) and not stuck, report


def audit_events(*, action: str | None = None) -> QuerySet[AuditEvent]:
    """Audit events newest first, optionally of one action."""
    events = AuditEvent.objects.order_by("-sequence")
    return events.filter(action=action) if action else events


def audit_actions() -> list[str]:
    """The distinct actions recorded so far, for the filter."""
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_events_about(
    *,
    subject_user_id: int,
    actions: Iterable[str] | None = None,
    exclude_actions: Iterable[str] = (),
    exclude_actor_id: int | None = None,
    limit: int = 100,
) -> QuerySet[AuditEvent]:
    """Audit events recorded against one person, newest first: only ``actions`` when
    given, without ``exclude_actions`` and without their own acts when
    ``exclude_actor_id`` is given."""
    events = AuditEvent.objects.filter(subject_user_id=subject_user_id)
    if actions is not None:
        events = events.filter(action__in=list(actions))
    if exclude_actions:
        events = events.exclude(action__in=list(exclude_actions))
    if exclude_actor_id is not None:
        events = events.exclude(actor_id=exclude_actor_id)
    return events.order_by("-sequence")[:limit]

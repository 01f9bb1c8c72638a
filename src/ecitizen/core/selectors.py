"""Reads owned by the core: audit chain verification, platform health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from ecitizen.core.leases import task_leases_expired_count
from ecitizen.core.models import GENESIS_HASH, AuditChainHead, AuditEvent, WorkerHeartbeat
from ecitizen.core.services import event_hash


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying the audit chain."""

    ok: bool
    events_checked: int
    head_hash: str
    broken_sequence: int | None = None
    broken_id: int | None = None
    reason: str = ""


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Recompute the whole chain in sequence order; stop at the first broken row.

    A row is broken when its sequence number is not the next one (a row was removed or
    inserted), its ``prev_hash`` is not the previous row's hash, or its own hash does not
    match its content. Finally the chain head must point at the last row.
    """
    # The head is read first: events appended while the check runs lie beyond it and are
    # left for the next run, instead of looking like a mismatch.
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    events = AuditEvent.objects.filter(sequence__lte=head.sequence).order_by("sequence")
    for event in events.iterator(chunk_size=chunk_size):
        reason = ""
        if event.sequence != expected_sequence:
            reason = f"expected sequence {expected_sequence}, found {event.sequence}"
        elif event.prev_hash != previous_hash:
            reason = "its previous-hash does not match the event before it"
        elif event_hash(event.canonical_content()) != event.hash:
            reason = "its content does not match its hash (the row was changed)"
        if reason:
            return ChainReport(False, checked, previous_hash, event.sequence, event.pk, reason)
        previous_hash = event.hash
        expected_sequence += 1
        checked += 1
    # Every committed event moves the head in the same transaction. So the rows beyond the
    # first head are read first, the head again after: a row still beyond it was not
    # written by the application (one appended meanwhile is covered by the new head).
    later = list(
        AuditEvent.objects.filter(sequence__gt=head.sequence)
        .order_by("sequence")
        .only("pk", "sequence")
    )
    current_head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    forged = next((event for event in later if event.sequence > current_head.sequence), None)
    if forged is not None:
        return ChainReport(
            False,
            checked,
            previous_hash,
            forged.sequence,
            forged.pk,
            "it lies beyond the chain head (inserted behind the application's back)",
        )
    if head.sequence != checked or head.hash != previous_hash:
        return ChainReport(
            False,
            checked,
            previous_hash,
            head.sequence,
            None,
            f"the chain head says #{head.sequence} but the last event is #{checked}",
        )
    return ChainReport(True, checked, previous_hash)


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

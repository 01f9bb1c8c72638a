"""Task leases: the tasks of a worker that died are run again by a live one.

django-tasks-db marks a task ``RUNNING`` when a worker claims it and records the outcome
when the task returns. A worker killed in between (``SIGKILL``, the kernel's out-of-memory
killer, a lost machine) leaves the row ``RUNNING`` for ever, and nothing runs it again.

Every ``ecitizen worker`` writes its ``WorkerHeartbeat`` every
``WORKER_HEARTBEAT_SECONDS``; that heartbeat is the **lease** of the task the worker runs.
A running task's lease has expired when the task started at least ``TASK_LEASE_SECONDS``
ago and its worker (the last of the task's ``worker_ids``)

- has not beaten for ``TASK_LEASE_SECONDS`` (killed, or cut off from the database), or
- has no heartbeat row (it stopped, or it was a plain ``db_worker`` without heartbeats:
  run workers with ``ecitizen worker``), or
- has a heartbeat row that a newer process under the same ``--worker-id`` started after
  the task did (the process that claimed the task is gone).

Every live worker reclaims expired leases from its heartbeat thread
(:func:`task_leases_reclaim`): the task goes back to ``READY`` and is run again from the
start, so **tasks must be idempotent** (the platform's are: a notification records that it
was sent before a rerun could send it again, a document is keyed by its reference, a
receipt by its payment). A task that has already taken :data:`TASK_MAX_RUNS` workers down
with it is marked failed instead of being run yet again. ``/healthz`` counts expired leases
(:func:`task_leases_expired_count`) as stuck tasks.

Two workers reclaiming at once cannot both requeue a task: each locks the row
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers) and only
requeues a row that is still ``RUNNING`` with the same start time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ecitizen.core.models import WorkerHeartbeat
from ecitizen.core.services import audit_record

logger = logging.getLogger(__name__)

#: How many workers a task may take down with it (each claim adds one to ``worker_ids``)
#: before it is marked failed instead of being run again: a task that kills its worker
#: every time (memory, a crash in a library) must not take the whole pool down in turn.
TASK_MAX_RUNS = 3

#: What a task abandoned after :data:`TASK_MAX_RUNS` lost workers records as its error.
WORKER_LOST = "ecitizen.core.leases.WorkerLost"


def _lease() -> timedelta:
    return timedelta(seconds=settings.TASK_LEASE_SECONDS)


def _owner(task: DBTaskResult) -> str:
    """The worker that claimed ``task`` last (the one running it now)."""
    worker_ids = task.worker_ids or []
    return str(worker_ids[-1]) if worker_ids else ""


def _lease_expired(task: DBTaskResult, heartbeat: WorkerHeartbeat | None, now: datetime) -> bool:
    if task.started_at is None or task.started_at > now - _lease():
        return False
    if heartbeat is None:
        return True
    return heartbeat.last_seen <= now - _lease() or heartbeat.started_at > task.started_at


def task_leases_expired(*, now: datetime | None = None) -> list[DBTaskResult]:
    """The running tasks whose lease has expired (see the module's documentation).

    Two queries: the running tasks started more than a lease ago (a partial index,
    migration ``core.0004``) and the heartbeats of their workers.
    """
    now = now or timezone.now()
    candidates = list(
        DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lte=now - _lease()
        ).order_by("started_at")
    )
    if not candidates:
        return []
    heartbeats = {
        beat.worker_id: beat
        for beat in WorkerHeartbeat.objects.filter(
            worker_id__in={_owner(task) for task in candidates}
        )
    }
    return [task for task in candidates if _lease_expired(task, heartbeats.get(_owner(task)), now)]


def task_leases_expired_count(*, now: datetime | None = None) -> int:
    """How many running tasks have lost their worker: ``/healthz``'s stuck tasks."""
    return len(task_leases_expired(now=now))


@transaction.atomic
def _reclaim(*, task_id: str, started_at: datetime, reclaimer: str) -> str | None:
    """Requeue (or abandon) one expired task; ``None`` when it is no longer expired or
    another worker holds its row. Returns ``"requeued"`` or ``"abandoned"``."""
    task = (
        DBTaskResult.objects.select_for_update(skip_locked=True)
        .filter(pk=task_id, status=TaskResultStatus.RUNNING, started_at=started_at)
        .first()
    )
    if task is None:
        return None  # finished, already requeued, or being requeued by another worker
    now = timezone.now()
    owner = _owner(task)
    # Checked again under the lock: the owner may have come back since the list was read.
    if not _lease_expired(task, WorkerHeartbeat.objects.filter(worker_id=owner).first(), now):
        return None
    runs = len(task.worker_ids or [])
    if runs >= TASK_MAX_RUNS:
        task.status = TaskResultStatus.FAILED
        task.finished_at = now
        task.return_value = None
        task.exception_class_path = WORKER_LOST
        task.traceback = (
            f"The worker running this task stopped without finishing it {runs} times "
            f"(last: {owner}); it is not run again."
        )
        task.save(
            update_fields=[
                "status",
                "finished_at",
                "return_value",
                "exception_class_path",
                "traceback",
            ]
        )
        outcome = "abandoned"
        logger.error(
            "task %s (%s) abandoned: %d workers stopped while running it",
            task.pk,
            task.task_path,
            runs,
        )
    else:
        task.status = TaskResultStatus.READY
        task.started_at = None
        task.save(update_fields=["status", "started_at"])
        outcome = "requeued"
        logger.warning(
            "task %s (%s) requeued: worker %s stopped beating while running it",
            task.pk,
            task.task_path,
            owner,
        )
    audit_record(
        action=f"tasks.{outcome}",
        actor=None,
        object_type="django_tasks_database.dbtaskresult",
        object_id=str(task.pk),
        changes={
            "task": task.task_path,
            "worker": {"before": owner, "after": None},
            "runs": runs,
            "reclaimed_by": reclaimer,
        },
    )
    return outcome


def task_leases_reclaim(*, worker_id: str) -> list[str]:
    """Requeue every running task whose lease has expired; return their ids.

    Called by each live worker (``worker_id``) from its heartbeat thread. Each task is
    reclaimed in its own short transaction, under a row lock, so that two workers never
    both requeue it. Side effects: the task row back to ``READY`` (``started_at`` cleared,
    ``worker_ids`` kept as its history), or ``FAILED`` with :data:`WORKER_LOST` after
    :data:`TASK_MAX_RUNS` runs; a warning (an error when abandoned) in the log, and the
    audit event ``tasks.requeued`` or ``tasks.abandoned``.
    """
    reclaimed: list[str] = []
    for task in task_leases_expired():
        if task.started_at is None:
            continue
        outcome = _reclaim(task_id=str(task.pk), started_at=task.started_at, reclaimer=worker_id)
        if outcome == "requeued":
            reclaimed.append(str(task.pk))
    return reclaimed

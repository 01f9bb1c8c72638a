"""Task leases: the tasks of a worker that stopped beating are requeued by a live worker,
once, and counted as stuck by ``/healthz`` until then (``ecitizen.core.leases``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from ecitizen.core.leases import TASK_MAX_RUNS, WORKER_LOST, task_leases_reclaim
from ecitizen.core.management.commands.worker import Heartbeat
from ecitizen.core.models import AuditEvent
from ecitizen.core.outages import DatabaseOutage
from ecitizen.core.services import worker_heartbeat
from ecitizen.core.tests.worker_support import queue_email
from ecitizen.notifications.models import Status

pytestmark = pytest.mark.db_specific

LEASE = 120


@pytest.fixture
def database_queue(database_queue, settings):
    settings.TASK_LEASE_SECONDS = LEASE


def _claimed_by(worker_id, *, earlier_workers=()):
    """The one queued task, as a worker ``worker_id`` claims it (after ``earlier_workers``)."""
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.get()
    task.worker_ids = list(earlier_workers)
    task.claim(worker_id)
    return task


def _run_worker():
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_stopped_beating_is_requeued_and_run_again(
    client, resident, database_queue
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = queue_email(resident)
        worker_heartbeat(worker_id="dead", started_at=start, pid=1)
        task = _claimed_by("dead")
    later = start + timedelta(seconds=LEASE + 1)
    with time_machine.travel(later, tick=False):
        worker_heartbeat(worker_id="live", started_at=later, pid=2)
        response = client.get(reverse("core:healthz"))
        assert response.status_code == 503
        assert response.json()["worker"]["alive"] == 1
        assert response.json()["tasks"] == {"status": "error", "stuck": 1, "lease_seconds": LEASE}

        assert task_leases_reclaim(worker_id="live") == [str(task.pk)]
        assert task_leases_reclaim(worker_id="live") == []  # once
        task.refresh_from_db()
        assert task.status == "READY"
        assert task.started_at is None
        assert task.worker_ids == ["dead"]
        event = AuditEvent.objects.get(action="tasks.requeued")
        assert event.object_id == str(task.pk)
        assert event.changes["worker"] == {"before": "dead", "after": None}
        assert event.changes["reclaimed_by"] == "live"
        assert client.get(reverse("core:healthz")).json()["tasks"]["stuck"] == 0

        _run_worker()
    task.refresh_from_db()
    email.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_the_task_of_a_worker_that_still_beats_is_left_alone(client, resident, database_queue):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        queue_email(resident)
        worker_heartbeat(worker_id="busy", started_at=start, pid=1)
        task = _claimed_by("busy")
    # A long task: the lease is older than the task's start, but the worker beats on.
    later = start + timedelta(seconds=LEASE * 5)
    with time_machine.travel(later, tick=False):
        worker_heartbeat(worker_id="busy", started_at=start, pid=1)
        assert task_leases_reclaim(worker_id="other") == []
        response = client.get(reverse("core:healthz"))
    assert response.status_code == 200
    assert response.json()["tasks"] == {"status": "ok", "stuck": 0, "lease_seconds": LEASE}
    task.refresh_from_db()
    assert task.status == "RUNNING"


@pytest.mark.django_db(transaction=True)
def test_a_task_is_not_requeued_before_its_lease_has_run(resident, database_queue):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        queue_email(resident)
        task = _claimed_by("never-beat")  # no heartbeat row at all
    with time_machine.travel(start + timedelta(seconds=LEASE - 1), tick=False):
        assert task_leases_reclaim(worker_id="other") == []
    with time_machine.travel(start + timedelta(seconds=LEASE), tick=False):
        assert task_leases_reclaim(worker_id="other") == [str(task.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_worker_restarted_under_the_same_id_gets_its_lost_task_back(resident, database_queue):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        queue_email(resident)
        worker_heartbeat(worker_id="worker-1", started_at=start, pid=1)
        task = _claimed_by("worker-1")
    # The process died; systemd started a new one with the same --worker-id, which beats.
    restart = start + timedelta(seconds=LEASE + 5)
    with time_machine.travel(restart, tick=False):
        worker_heartbeat(worker_id="worker-1", started_at=restart, pid=2)
        assert task_leases_reclaim(worker_id="worker-1") == [str(task.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_task_that_took_down_too_many_workers_is_failed_not_rerun(
    client, resident, database_queue, caplog
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        queue_email(resident)
        earlier = [f"w{n}" for n in range(TASK_MAX_RUNS - 1)]
        task = _claimed_by("last", earlier_workers=earlier)
    with time_machine.travel(start + timedelta(seconds=LEASE + 1), tick=False):
        assert task_leases_reclaim(worker_id="live") == []
        assert client.get(reverse("core:healthz")).json()["tasks"]["stuck"] == 0
    task.refresh_from_db()
    assert task.status == "FAILED"
    assert task.exception_class_path == WORKER_LOST
    assert f"{TASK_MAX_RUNS} times" in task.traceback
    assert AuditEvent.objects.get(action="tasks.abandoned").object_id == str(task.pk)
    assert "abandoned" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_each_heartbeat_of_a_worker_reclaims_expired_leases(resident, database_queue):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        queue_email(resident)
        task = _claimed_by("dead")
    with time_machine.travel(start + timedelta(seconds=LEASE + 1), tick=False):
        Heartbeat("live", DatabaseOutage()).beat()
    task.refresh_from_db()
    assert task.status == "READY"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
)
def test_two_workers_reclaiming_at_once_requeue_a_task_once(resident, database_queue):
    from tests.concurrency import run_together

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        queue_email(resident)
        task = _claimed_by("dead")
    reclaimed: list[list[str]] = []
    with time_machine.travel(start + timedelta(seconds=LEASE + 1), tick=False):
        errors = run_together(
            lambda n: reclaimed.append(task_leases_reclaim(worker_id=f"live-{n}")), 8
        )
    assert not errors
    assert sorted(len(ids) for ids in reclaimed) == [0] * 7 + [1]
    assert AuditEvent.objects.filter(action="tasks.requeued").count() == 1
    task.refresh_from_db()
    assert task.status == "READY"


def test_a_queued_email_keeps_its_message_id_when_its_task_runs_again(settings):
    from django.core.mail import EmailMessage

    from ecitizen.core.mail import message_to_dict, seal
    from ecitizen.core.tasks import send_email

    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    first = seal(message_to_dict(EmailMessage("Hello", "Body", "a@riverton.example", ["b@x.y"])))
    other = seal(message_to_dict(EmailMessage("Hello", "Body", "a@riverton.example", ["b@x.y"])))
    send_email.call(first)
    send_email.call(first)  # the same task, run again after its worker died
    send_email.call(other)
    ids = [message.message()["Message-ID"] for message in mail.outbox]
    assert ids[0] == ids[1]
    assert ids[0].endswith("@riverton.example>")
    assert ids[2] != ids[0]

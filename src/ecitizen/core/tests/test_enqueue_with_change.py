"""``enqueue_with_change``: a task queued for a change commits with it, or not at all."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from ecitizen.core.tasks import enqueue_with_change, send_email

pytestmark = pytest.mark.django_db


class _Recorder:
    """Stands for a task: records what it was enqueued with."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple, dict]] = []

    def enqueue(self, *args, **kwargs) -> None:
        self.calls.append((args, kwargs))


def test_with_the_database_backend_the_task_row_is_written_in_the_transaction(database_queue):
    with transaction.atomic():
        enqueue_with_change(send_email, "sealed")
        # Already there, before the commit: a death just after the commit loses nothing.
        assert DBTaskResult.objects.count() == 1
    assert DBTaskResult.objects.get().args_kwargs == {"args": ["sealed"], "kwargs": {}}


@transaction.atomic
def _change_that_fails() -> None:
    enqueue_with_change(send_email, "sealed")
    raise RuntimeError("the change fails")


def test_with_the_database_backend_a_rollback_removes_the_task(database_queue):
    with pytest.raises(RuntimeError):
        _change_that_fails()
    assert not DBTaskResult.objects.exists()


def test_with_another_backend_the_task_is_enqueued_on_commit(
    settings, django_capture_on_commit_callbacks
):
    settings.TASKS_BACKEND = "immediate"
    job = _Recorder()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_with_change(job, 1, attempt=2)
        assert job.calls == []
    assert job.calls == [((1,), {"attempt": 2})]

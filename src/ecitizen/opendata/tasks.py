"""Background work of the open-data app."""

from __future__ import annotations

from django_tasks import task


@task()
def resource_process_task(resource_id: str) -> None:
    """Check a tabular file and load it into the DataStore (queued with its upload, a small
    file's deferred: the web process normally did the work already). Idempotent, so a
    retry after a worker died starts the load again, and a run after the work was done
    does nothing."""
    from ecitizen.opendata.services import resource_process

    resource_process(resource_id=resource_id)

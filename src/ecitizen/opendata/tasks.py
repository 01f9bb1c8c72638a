"""Background work of the open-data app."""

from __future__ import annotations

from django_tasks import task


@task()
def resource_process_task(resource_id: str) -> None:
    """Check a large tabular file and load it into the DataStore (enqueued when its upload
    commits; idempotent, so a retry after a worker died starts the load again)."""
    from ecitizen.opendata.services import resource_process

    resource_process(resource_id=resource_id)

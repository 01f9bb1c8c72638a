"""Background work of the privacy app: preparing a resident's download of their data."""

from __future__ import annotations

from django_tasks import task


@task()
def export_prepare_task(export_id: str) -> None:
    """Prepare the download ``export_id`` (enqueued when the request commits). Idempotent:
    a download already prepared, failed or expired is left alone, so running the task
    again never prepares a second file."""
    from ecitizen.privacy.exports import export_prepare

    export_prepare(export_id=export_id)

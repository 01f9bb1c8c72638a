"""Background tasks of the notifications: one delivery attempt per task run."""

from __future__ import annotations

from django_tasks import task

from ecitizen.notifications.services import notification_deliver


@task()
def deliver_notification(notification_id: int, attempt: int = 0) -> None:
    """Deliver one queued email or SMS notification (attempt ``attempt``, from 0).

    Retries and the final failure are recorded on the notification itself
    (:func:`ecitizen.notifications.services.notification_deliver`), so this task ends
    successfully either way: the notification's status is the record of the outcome.
    """
    notification_deliver(notification_id=notification_id, attempt=attempt)

"""Background tasks of the api app: sending webhook deliveries."""

from __future__ import annotations

from django_tasks import task

from ecitizen.api.webhooks import delivery_attempt


@task()
def webhook_deliver(delivery_pk: int) -> None:
    """Send one webhook delivery if it is due (see ``webhooks.delivery_attempt``). A
    failure is logged on the delivery and retried by the ``webhooks retry`` job, not by
    this task, so the task itself never fails on a receiver's error."""
    delivery_attempt(delivery_pk)

"""The notifications' figures on ``/metrics`` (registered in ``NotificationsConfig.ready``):
messages that failed in the last day and messages stuck in the queue, by channel. Two
aggregate queries on the ``(status, channel)`` index."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from ecitizen.notifications.models import Channel, Notification, Status, stuck_before

_SENT_CHANNELS = [Channel.EMAIL, Channel.SMS]  # the inbox cannot fail: it is a row


def notification_metrics() -> Iterable[Metric]:
    failed = GaugeMetricFamily(
        "ecitizen_notifications_failed_last_day",
        "Messages given up after their last attempt, created in the last 24 hours, by channel.",
        labels=["channel"],
    )
    counts = dict.fromkeys(_SENT_CHANNELS, 0)
    for row in (
        Notification.objects.filter(
            status=Status.FAILED, created_at__gte=timezone.now() - timedelta(days=1)
        )
        .values("channel")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        counts[row["channel"]] = row["count"]
    for channel, count in counts.items():
        failed.add_metric([channel], count)
    yield failed
    stuck = GaugeMetricFamily(
        "ecitizen_notifications_stuck",
        "Messages still queued NOTIFICATION_STUCK_MINUTES after their delivery was due "
        "(no worker, or the mail server or SMS provider refusing), by channel.",
        labels=["channel"],
    )
    counts = dict.fromkeys(_SENT_CHANNELS, 0)
    for row in (
        Notification.objects.filter(
            status=Status.QUEUED, channel__in=_SENT_CHANNELS, due_at__lte=stuck_before()
        )
        .values("channel")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        counts[row["channel"]] = row["count"]
    for channel, count in counts.items():
        stuck.add_metric([channel], count)
    yield stuck

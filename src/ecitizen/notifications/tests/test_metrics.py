"""Notifications on /metrics: failed in the last day and stuck in the queue, by channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ecitizen.notifications.models import Channel, Notification, Status

pytestmark = pytest.mark.django_db


def _by_channel(client, name: str) -> dict[str, float]:
    response = client.get(reverse("core:metrics"))
    for family in text_string_to_metric_families(response.text):
        if family.name == name:
            return {sample.labels["channel"]: sample.value for sample in family.samples}
    raise AssertionError(f"{name} is missing")


def _notification(resident, channel: str, status: str, **fields) -> Notification:
    return Notification.objects.create(
        recipient=resident,
        event="test",
        channel=channel,
        language="en",
        subject="Subject",
        body="Body",
        status=status,
        **fields,
    )


def test_failed_and_stuck_messages_by_channel(client, resident, settings):
    now = timezone.now()
    _notification(resident, Channel.EMAIL, Status.FAILED)
    _notification(resident, Channel.EMAIL, Status.FAILED, created_at=now - timedelta(days=2))
    _notification(resident, Channel.SMS, Status.FAILED)
    late = now - timedelta(minutes=settings.NOTIFICATION_STUCK_MINUTES + 1)
    _notification(resident, Channel.SMS, Status.QUEUED, due_at=late)
    _notification(resident, Channel.SMS, Status.QUEUED, due_at=now)  # just due: not stuck
    _notification(resident, Channel.INBOX, Status.QUEUED, due_at=late)  # the inbox is a row

    assert _by_channel(client, "ecitizen_notifications_failed_last_day") == {"email": 1, "sms": 1}
    assert _by_channel(client, "ecitizen_notifications_stuck") == {"email": 0, "sms": 1}

"""Fixtures of the notifications tests."""

from __future__ import annotations

import pytest

from ecitizen.accounts.services import profile_update

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _deliver_to_locmem(settings):
    """Mail is delivered into django.core.mail.outbox; text messages into the outbox."""
    settings.EMAIL_DELIVERY_BACKEND = LOCMEM
    settings.SMS_BACKEND = "ecitizen.notifications.sms.OutboxSmsBackend"
    settings.PUBLIC_BASE_URL = "https://services.riverton.example"


def case_context(**overrides):
    context = {
        "reference": "RIV-BP-2026-000123",
        "service": "Garden waste collection",
        "expected_decision": "We expect to make a decision by 12 March 2026.",
        "url": "/cases/RIV-BP-2026-000123/",
    }
    context.update(overrides)
    return context


def prefer(user, preference, phone=None):
    """Give ``user`` a contact preference (and a phone number)."""
    data = {"contact_preference": preference}
    if phone is not None:
        data["phone"] = phone
    profile_update(user=user, data=data, actor=user)
    user.refresh_from_db()
    return user

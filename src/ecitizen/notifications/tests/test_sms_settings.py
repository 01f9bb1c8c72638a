"""Production refuses to "send" text messages to nobody: with DEBUG off the outbox needs an
explicit SMS_OUTBOX_IN_PRODUCTION, a real provider must be configured properly, and
``check --deploy`` reports what start-up lets through. Start-up cases run in a fresh
interpreter, as a deployment would start."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from ecitizen.core.checks import sms_check
from ecitizen.notifications.sms import OutboxSmsBackend, get_sms_backend

KEY = base64.b64encode(b"k" * 32).decode()
AUDIT_KEY = base64.b64encode(b"a" * 32).decode()
OUTBOX = "ecitizen.notifications.sms.OutboxSmsBackend"
NOTIFY = "ecitizen.notifications.sms.NotifySmsBackend"
NOTIFY_KEY = (
    "riverton_live-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"
)
TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
#: A production configuration, except for text messages (payments and documents are
#: allowed to be demonstrations: they are not what these tests are about).
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-looking-secret-" + "x" * 40,
    "FIELD_ENCRYPTION_KEYS": f"k1:{KEY}",
    "BLIND_INDEX_KEY": KEY,
    "AUDIT_SIGNING_KEYS": f"a1:{AUDIT_KEY}",
    "PAYMENT_PROVIDER": "sandbox",
    "PAYMENTS_SANDBOX_IN_PRODUCTION": "true",
    "PAYMENTS_SANDBOX_WEBHOOK_SECRET": "s" * 40,
    "DOCUMENT_SIGNING_DEMO_IN_PRODUCTION": "true",
    "DJANGO_SETTINGS_MODULE": "ecitizen.settings",
    "ECITIZEN_ENV_FILE": os.devnull,
}
GOOD_NOTIFY = {
    "SMS_BACKEND": NOTIFY,
    "NOTIFY_API_KEY": NOTIFY_KEY,
    "NOTIFY_SMS_TEMPLATE_ID": TEMPLATE,
}


def _start(extra: dict[str, str], code: str = "import django; django.setup()"):
    inherited = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env={**inherited, **PRODUCTION, **extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "SMS_BACKEND is required when DEBUG is off"),
        ({"SMS_BACKEND": OUTBOX}, "sends no text message to anyone"),
        ({**GOOD_NOTIFY, "NOTIFY_API_KEY": "riverton_live-oops"}, "NOTIFY_API_KEY must be"),
        ({**GOOD_NOTIFY, "NOTIFY_SMS_TEMPLATE_ID": ""}, "NOTIFY_SMS_TEMPLATE_ID must be"),
        ({**GOOD_NOTIFY, "NOTIFY_BASE_URL": "http://notify.example"}, "must be an https"),
    ],
)
def test_production_refuses_to_start_without_a_real_sms_provider(extra, message):
    result = _start(extra)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_starts_with_notify_and_the_deploy_check_is_satisfied():
    result = _start(
        GOOD_NOTIFY,
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['ecitizen', 'check', '--deploy'])",
    )
    assert "ImproperlyConfigured" not in result.stderr, result.stderr
    assert "ecitizen.E02" not in result.stdout + result.stderr


def test_the_outbox_allowed_explicitly_still_fails_the_deploy_check():
    result = _start(
        {"SMS_BACKEND": OUTBOX, "SMS_OUTBOX_IN_PRODUCTION": "true"},
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['ecitizen', 'check', '--deploy'])",
    )
    assert "ImproperlyConfigured" not in result.stderr, result.stderr
    assert result.returncode != 0
    assert "ecitizen.E020" in result.stderr
    assert "none reaches a resident" in result.stderr


def test_development_keeps_the_outbox_by_default():
    result = _start(
        {"DEBUG": "true"},
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SMS_BACKEND)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == OUTBOX


# --- In this process: settings changed after start-up ------------------------------------


class HomeMadeOutbox(OutboxSmsBackend):
    pass


class NotABackend:
    pass


def test_the_outbox_is_refused_at_send_time_when_production_does_not_allow_it(settings):
    settings.DEBUG = False
    settings.SMS_OUTBOX_IN_PRODUCTION = False
    settings.SMS_BACKEND = "ecitizen.notifications.tests.test_sms_settings.HomeMadeOutbox"
    with pytest.raises(ImproperlyConfigured, match="sends no text message"):
        get_sms_backend()


def test_the_deploy_check_names_each_problem(settings):
    settings.SMS_BACKEND = OUTBOX
    assert [m.id for m in sms_check()] == ["ecitizen.E020"]
    settings.SMS_BACKEND = "ecitizen.notifications.tests.test_sms_settings.HomeMadeOutbox"
    assert [m.id for m in sms_check()] == ["ecitizen.E020"]
    settings.SMS_BACKEND = "ecitizen.notifications.tests.test_sms_settings.NotABackend"
    assert [m.id for m in sms_check()] == ["ecitizen.E022"]
    settings.SMS_BACKEND = "ecitizen.notifications.nowhere.Backend"
    assert [m.id for m in sms_check()] == ["ecitizen.E022"]
    settings.SMS_BACKEND = NOTIFY
    settings.NOTIFY_API_KEY = ""
    settings.NOTIFY_SMS_TEMPLATE_ID = TEMPLATE
    settings.NOTIFY_SMS_SENDER_ID = ""
    settings.NOTIFY_BASE_URL = "https://api.notifications.service.gov.uk"
    assert [m.id for m in sms_check()] == ["ecitizen.E021"]
    settings.NOTIFY_API_KEY = NOTIFY_KEY
    assert sms_check() == []

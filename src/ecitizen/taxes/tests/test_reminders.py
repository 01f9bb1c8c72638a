"""``ecitizen tax remind``: a reminder before each instalment, a notice once it is
overdue, each sent once, and nothing once the instalment is paid."""

from __future__ import annotations

from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from ecitizen.notifications.models import Notification
from ecitizen.payments.models import Bill
from ecitizen.payments.services import payment_record_offline
from ecitizen.taxes import services
from ecitizen.taxes.models import TaxNotice
from ecitizen.taxes.tests.support import make_property, owner

pytestmark = pytest.mark.django_db


@pytest.fixture
def bill(year_2026, wards, resident):
    """Alex's 2026 bill: four instalments of £348.75 (30 April, 31 July, 31 October,
    31 January)."""
    with time_machine.travel("2026-03-20 10:00 +00:00", tick=False):
        make_property(
            "RV000401",
            wards[0],
            owners=[owner(resident, name="Alex Morgan", occupier=True)],
        )
        make_property("RV000402", wards[0], owners=[owner(name="Pat No-Account")])
        services.tax_assess(year=2026, actor=None)
    return Bill.objects.get(source_key="tax:2026:RV000401")


def _remind(on: str) -> tuple[int, int]:
    with time_machine.travel(f"{on} 08:00 +00:00", tick=False):
        return services.tax_reminders_send()


def _events(resident) -> list[str]:
    return list(
        Notification.objects.filter(recipient=resident, channel="inbox")
        .order_by("pk")
        .values_list("event", flat=True)
    )


def test_reminders_come_before_each_due_date_and_stop_once_paid(bill, resident, settings):
    settings.TAX_REMINDER_DAYS = 14
    assert _remind("2026-04-10") == (0, 0)  # 20 days before: too early
    assert _remind("2026-04-20") == (1, 0)
    assert _remind("2026-04-21") == (0, 0)  # sent once
    assert _events(resident) == ["tax_instalment_due"]
    notice = TaxNotice.objects.get()
    assert (notice.instalment, notice.kind, notice.amount_minor) == (1, "due", 34_875)
    message = Notification.objects.get(recipient=resident, channel="inbox")
    assert "£348.75" in message.body
    assert bill.reference in message.body

    with time_machine.travel("2026-04-25 12:00 +00:00", tick=False):
        payment_record_offline(bill=bill, amount_minor=34_875)
    assert _remind("2026-05-01") == (0, 0)  # instalment 1 paid: no overdue notice

    assert _remind("2026-07-20") == (1, 0)
    assert _remind("2026-08-01") == (0, 1)  # instalment 2 not paid by 31 July
    assert _remind("2026-08-02") == (0, 0)  # noticed once
    assert _events(resident) == [
        "tax_instalment_due",
        "tax_instalment_due",
        "tax_instalment_overdue",
    ]

    bill.refresh_from_db()
    with time_machine.travel("2026-08-03 12:00 +00:00", tick=False):
        payment_record_offline(bill=bill, amount_minor=bill.balance_minor)
    assert _remind("2026-10-20") == (0, 0)  # everything paid: silence
    assert _remind("2027-02-05") == (0, 0)
    assert TaxNotice.objects.count() == 3


def test_a_missed_reminder_is_not_sent_late_the_overdue_notice_follows(bill, resident):
    assert _remind("2026-05-03") == (0, 1)
    notice = TaxNotice.objects.get()
    assert (notice.instalment, notice.kind) == (1, "overdue")
    assert _events(resident) == ["tax_instalment_overdue"]


def test_a_partly_paid_instalment_is_reminded_for_what_is_left(bill, resident):
    with time_machine.travel("2026-04-01 12:00 +00:00", tick=False):
        payment_record_offline(bill=bill, amount_minor=10_000)
    assert _remind("2026-04-20") == (1, 0)
    assert TaxNotice.objects.get().amount_minor == 24_875


def test_owners_without_an_account_get_no_message_here(bill):
    _remind("2026-04-20")
    assert not TaxNotice.objects.filter(bill__source_key="tax:2026:RV000402").exists()


def test_the_command_prints_what_it_sent(bill, resident, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    out = StringIO()
    with (
        time_machine.travel("2026-08-01 08:00 +00:00", tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("tax", "remind", stdout=out)
    # Instalments 1 and 2 are overdue; the reminder windows were missed.
    assert out.getvalue().strip() == "reminders sent: 0, overdue notices sent: 2"
    subjects = [message.subject for message in mail.outbox]
    assert subjects == ["Your property tax instalment of £348.75 is overdue"] * 2

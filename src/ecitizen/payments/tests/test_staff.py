"""The finance officer's pages: search, a payment's history, refunds, reports, arrears."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import Role
from ecitizen.payments import services
from ecitizen.payments.models import Refund
from tests.personas import _official, sign_in_official


@pytest.fixture
def finance(department):
    return _official(Role.FINANCE_OFFICER, department, email="finance@example.test")


@pytest.fixture
def paid(make_bill):
    bill = make_bill(amount_minor=8_000)
    return services.payment_record_offline(bill=bill, amount_minor=8_000)


def test_search_finds_a_payment_by_bill_reference(client, finance, paid):
    sign_in_official(client, finance)
    page = client.get(reverse("staff:payments"), {"query": paid.bill.reference}).content.decode()
    assert "1 payment" in page
    assert reverse("staff:payment", args=[paid.pk]) in page


def test_refund_from_the_payment_page(client, finance, paid):
    sign_in_official(client, finance)
    url = reverse("staff:payment", args=[paid.pk])
    page = client.post(url, {"amount": "90.00", "reason": "Too much"})
    assert "You can refund at most £80.00" in page.content.decode()
    response = client.post(url, {"amount": "30.00", "reason": "Paid twice at the desk"})
    assert response.status_code == 302
    assert Refund.objects.get().amount_minor == 3_000


def test_daily_report_and_csv(client, finance, paid):
    sign_in_official(client, finance)
    day = timezone.localdate().isoformat()
    page = client.get(reverse("staff:payments_report"), {"day": day}).content.decode()
    assert "£80.00" in page
    assert "every settled payment of the day is in the ledger" in page
    csv = client.get(reverse("staff:payments_report"), {"day": day, "format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    assert "counter," in csv.content.decode()
    assert ",80.00," in csv.content.decode()


def test_arrears_by_age(client, finance, make_bill):
    from datetime import timedelta

    from ecitizen.payments.models import Bill

    bill = make_bill(amount_minor=5_000)
    Bill.objects.filter(pk=bill.pk).update(due_date=timezone.localdate() - timedelta(days=45))
    sign_in_official(client, finance)
    page = client.get(reverse("staff:payments_arrears")).content.decode()
    assert "31\u201360" in page  # an en dash between the bounds
    assert "£50.00" in page


def test_residents_cannot_see_finance_pages(client, resident):
    client.force_login(resident)
    assert client.get(reverse("staff:payments")).status_code == 403

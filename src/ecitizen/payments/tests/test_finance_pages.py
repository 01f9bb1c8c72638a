"""What a finance officer reads: the daily report ends at today, providers are named as
people call them, and the date filter's hint matches its boxes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import Role
from ecitizen.payments import services
from tests.personas import _official, sign_in_official


@pytest.fixture
def finance(client, department):
    officer = _official(Role.FINANCE_OFFICER, department, email="finance@example.test")
    sign_in_official(client, officer)
    return officer


@pytest.fixture
def paid_at_the_desk(make_bill):
    return services.payment_record_offline(bill=make_bill(amount_minor=8_000), amount_minor=8_000)


def test_the_daily_report_of_today_offers_no_next_day(client, finance):
    today = timezone.localdate()
    page = client.get(reverse("staff:payments_report")).content.decode()
    assert "Previous day" in page
    assert "Next day" not in page
    page = client.get(reverse("staff:payments_report"), {"day": today.isoformat()}).content.decode()
    assert "Next day" not in page
    yesterday = (today - timedelta(days=1)).isoformat()
    page = client.get(reverse("staff:payments_report"), {"day": yesterday}).content.decode()
    assert f'href="?day={today.isoformat()}">Next day</a>' in page


def test_providers_are_named_not_shown_as_their_code(client, finance, paid_at_the_desk):
    day = timezone.localdate().isoformat()
    report = client.get(reverse("staff:payments_report"), {"day": day}).content.decode()
    assert "Cash desk" in report
    assert ">counter<" not in report
    listing = client.get(reverse("staff:payments")).content.decode()
    assert '<td class="govuk-table__cell">Cash desk</td>' in listing
    # The filter names them too.
    assert '<option value="sandbox">Sandbox (test payments)</option>' in listing
    assert '<option value="counter">Cash desk</option>' in listing
    detail = client.get(reverse("staff:payment", args=[paid_at_the_desk.pk])).content.decode()
    assert "Cash desk" in detail


def test_the_date_filter_is_a_date_input_whose_hint_matches_its_boxes(
    client, finance, paid_at_the_desk
):
    """The hint said YYYY-MM-DD while the browser's date control showed dd/mm/yyyy: the
    GOV.UK date input (day, month and year boxes) shows what its hint says."""
    page = client.get(reverse("staff:payments")).content.decode()
    assert "YYYY-MM-DD" not in page
    assert 'type="date"' not in page
    assert "For example, 27 3 2026" in page
    for part in ("day", "month", "year"):
        assert f'name="date_from_{part}"' in page
        assert f'name="date_to_{part}"' in page
    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)

    def count(**dates):
        query = {}
        for name, when in dates.items():
            query.update(
                {f"{name}_day": when.day, f"{name}_month": when.month, f"{name}_year": when.year}
            )
        return client.get(reverse("staff:payments"), query).content.decode()

    assert "1 payment" in count(date_from=today, date_to=today)
    assert "0 payments" in count(date_from=tomorrow)
    wrong = client.get(
        reverse("staff:payments"),
        {"date_from_day": "31", "date_from_month": "2", "date_from_year": "2026"},
    ).content.decode()
    assert "Enter a real date" in wrong

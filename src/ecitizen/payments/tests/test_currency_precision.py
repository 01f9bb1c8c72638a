"""A currency's minor unit is its own: the yen has no decimals, the Kuwaiti dinar three.
Bills, the pages that show them, refunds, the daily report's CSV, fees worked out from a
service definition and the tax configuration all follow ``settings.CURRENCY``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from ecitizen.accounts.models import Role
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.payments import services
from ecitizen.payments.models import Refund
from ecitizen.payments.money import (
    currency_precision,
    format_minor,
    format_money,
    from_minor,
    minor_quantum,
    minor_to_text,
    to_minor,
)
from tests.personas import _official, sign_in_official

NBSP, RLM = "\u00a0", "\u200f"


@pytest.mark.parametrize(
    ("currency", "precision", "amount", "minor"),
    [
        ("GBP", 2, Decimal("12.34"), 1234),
        ("JPY", 0, Decimal("1234"), 1234),
        ("KWD", 3, Decimal("1.234"), 1234),
        ("BHD", 3, Decimal("0.005"), 5),
    ],
)
def test_minor_units_come_from_the_currency(currency, precision, amount, minor):
    with override_settings(CURRENCY=currency):
        assert currency_precision() == precision
        assert minor_quantum() == Decimal(1).scaleb(-precision)
        assert to_minor(amount) == minor
        assert from_minor(minor) == amount


def test_a_fraction_of_the_minor_unit_is_refused():
    with override_settings(CURRENCY="JPY"), pytest.raises(ValueError, match="0 decimal places"):
        to_minor(Decimal("12.5"))
    with override_settings(CURRENCY="KWD"), pytest.raises(ValueError, match="3 decimal places"):
        to_minor(Decimal("1.2345"))


@override_settings(CURRENCY="JPY")
def test_yen_are_written_without_decimals():
    assert format_minor(123450, language="en") == "¥123,450"
    assert format_money(Decimal("1250"), language="en") == "¥1,250"
    assert minor_to_text(123450) == "123450"


@override_settings(CURRENCY="KWD")
def test_dinars_are_written_with_three_decimals():
    assert format_minor(12345, language="en") == "KWD12.345"
    assert format_minor(12345, language="ar") == f"{RLM}12.345{NBSP}KWD"
    assert minor_to_text(12345) == "12.345"


@pytest.fixture
def finance(department):
    return _official(Role.FINANCE_OFFICER, department, email="finance@example.test")


@pytest.mark.parametrize(
    ("currency", "amount_minor", "shown", "csv_amount"),
    [("JPY", 8_000, "¥8,000", ",8000,"), ("KWD", 8_125, "KWD8.125", ",8.125,")],
)
def test_bills_and_the_daily_report_in_the_currency(
    client, settings, make_bill, resident, finance, currency, amount_minor, shown, csv_amount
):
    settings.CURRENCY = currency
    bill = make_bill(amount_minor=amount_minor)
    assert bill.total_minor == amount_minor
    client.force_login(resident)
    with translation.override("en"):
        page = client.get(reverse("payments:bills")).content.decode()
    assert shown in page
    services.payment_record_offline(bill=bill, amount_minor=amount_minor)
    sign_in_official(client, finance)
    day = timezone.localdate().isoformat()
    with translation.override("en"):
        report = client.get(reverse("staff:payments_report"), {"day": day}).content.decode()
    assert shown in report
    csv = client.get(reverse("staff:payments_report"), {"day": day, "format": "csv"})
    assert csv_amount in csv.content.decode()


@pytest.mark.parametrize(
    ("currency", "too_precise", "message", "good", "good_minor"),
    [
        ("JPY", "12.5", "Enter the amount as a whole number", "500", 500),
        ("KWD", "1.2345", "no more than 3 decimal places", "1.125", 1_125),
    ],
)
def test_a_refund_is_entered_in_the_currency(
    client, settings, make_bill, finance, currency, too_precise, message, good, good_minor
):
    settings.CURRENCY = currency
    payment = services.payment_record_offline(
        bill=make_bill(amount_minor=8_000), amount_minor=8_000
    )
    sign_in_official(client, finance)
    url = reverse("staff:payment", args=[payment.pk])
    with translation.override("en"):
        page = client.post(url, {"amount": too_precise, "reason": "Paid twice"}).content.decode()
    assert message in page
    assert not Refund.objects.exists()
    response = client.post(url, {"amount": good, "reason": "Paid twice at the desk"})
    assert response.status_code == 302
    assert Refund.objects.get().amount_minor == good_minor


@pytest.mark.parametrize(
    ("currency", "fee"),
    [("GBP", Decimal("12.35")), ("JPY", Decimal("12")), ("KWD", Decimal("12.346"))],
)
def test_a_fee_is_rounded_to_the_minor_unit_of_the_currency(settings, currency, fee):
    import yaml

    from ecitizen.demo.cases import DEFINITIONS_DIR

    definition = yaml.safe_load(
        (DEFINITIONS_DIR / "birth-certificate-copy.yaml").read_text(encoding="utf-8")
    )
    definition["fee"]["amount"] = "4.11545"  # for each copy
    settings.CURRENCY = currency
    assert ServiceSpec(definition).fee({"copies": 3}) == fee


def test_the_tax_configuration_reads_a_value_in_the_currency(settings):
    import yaml

    from ecitizen.taxes.config import CONFIG_DIR, TaxConfigError, year_config_parse

    data = yaml.safe_load((CONFIG_DIR / "2026.yaml").read_text(encoding="utf-8"))
    small = next(relief for relief in data["reliefs"] if relief["kind"] == "small_property")
    small["max_value"] = "150000.125"
    settings.CURRENCY = "KWD"
    reliefs = {relief.kind: relief for relief in year_config_parse(data).reliefs}
    assert reliefs["small_property"].max_value_minor == 150_000_125
    settings.CURRENCY = "GBP"
    with pytest.raises(TaxConfigError, match="more than 2 decimal places"):
        year_config_parse(data)

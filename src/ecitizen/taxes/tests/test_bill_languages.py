"""Property-tax bills in the reader's language: the year's bill and an adjustment read in
French and Arabic on "Your bills" and the pay page, and the assessment (``COPY`` on
PostgreSQL, plain inserts on SQLite) stores every text in every site language."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from ecitizen.payments.models import Bill
from ecitizen.payments.money import format_minor
from ecitizen.taxes import services
from ecitizen.taxes.tests.support import POUND, make_property, make_roll, owner, taxable

# The bills come through the bulk path (COPY on PostgreSQL).
pytestmark = pytest.mark.db_specific

PARCEL = "RV000301"
LANGUAGES = {"en", "fr", "ar"}


def _texts(msgid: str, **values: object) -> dict[str, str]:
    """``msgid`` in each language through the real catalogues (each checked to be a
    translation, so that the test cannot pass on English text)."""
    texts = {}
    for language in sorted(LANGUAGES):
        with translation.override(language):
            texts[language] = gettext(msgid) % values
    assert texts["fr"] != texts["en"], msgid
    assert texts["ar"] != texts["en"], msgid
    return texts


def _gettext_in(language: str, msgid: str) -> str:
    with translation.override(language):
        text = gettext(msgid)
    assert text != msgid, f"{msgid!r} has no {language} translation"
    return text


@pytest.fixture
def bills(year_2026, wards, resident):
    """Alex's home assessed in March, then reassessed upwards in June: the year's bill
    and an adjustment, both Alex's."""
    with time_machine.travel("2026-03-20 10:00 +00:00", tick=False):
        home = make_property(
            PARCEL,
            wards[0],
            value_pounds=250_000,
            owners=[owner(resident, name="Alex Morgan", occupier=True)],
        )
        services.tax_assess(year=2026, actor=None)
    with time_machine.travel("2026-06-15 10:00 +00:00", tick=False):
        adjustment = services.property_reassess(
            property=home,
            new_value=280_000 * POUND,
            year=2026,
            reason="Extension completed in 2025",
            actor=None,
        )
    assert adjustment is not None
    return Bill.objects.get(source_key=f"tax:2026:{PARCEL}"), Bill.objects.get(pk=adjustment.pk)


def test_the_years_bill_and_its_adjustment_keep_every_language(bills):
    original, adjustment = bills
    described = _texts("Property tax %(year)s, parcel %(parcel)s", year=2026, parcel=PARCEL)
    assert original.descriptions == described
    assert original.description == described["en"]
    adjusted = _texts(
        "Property tax %(year)s adjustment, parcel %(parcel)s", year=2026, parcel=PARCEL
    )
    assert adjustment.descriptions == adjusted
    assert adjustment.description == adjusted["en"]

    tax, relief = original.lines
    assert set(tax["descriptions"]) == set(relief["descriptions"]) == LANGUAGES
    assert tax["descriptions"]["en"] == tax["description"]
    assert tax["description"] == "Property tax 2026, residential, at 0.62% of the assessed value"
    # The rate written the French way, the use class and the relief translated.
    assert "0,62" in tax["descriptions"]["fr"]
    assert _gettext_in("fr", "Residential").lower() in tax["descriptions"]["fr"]
    assert _gettext_in("ar", "Owner-occupier relief") in relief["descriptions"]["ar"]

    reassessed, relief_change = adjustment.lines
    # The amounts written each language's way.
    for language in ("fr", "ar"):
        text = reassessed["descriptions"][language]
        assert format_minor(250_000 * POUND, language=language) in text
        assert format_minor(280_000 * POUND, language=language) in text
    assert relief_change["descriptions"] == _texts("Change in relief after reassessment")


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_your_bills_and_the_pay_pages_read_in_french_and_arabic(client, resident, bills, language):
    original, adjustment = bills
    client.force_login(resident)
    client.cookies["django_language"] = language
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    page = client.get(reverse("payments:bills")).content.decode()
    assert f'lang="{language}"' in page
    for bill in (original, adjustment):
        assert escape(bill.descriptions[language]) in page
        assert escape(bill.description) not in page
    assert "Property tax 2026" not in page
    for bill in (original, adjustment):
        page = client.get(reverse("payments:pay", args=[bill.reference])).content.decode()
        assert escape(bill.descriptions[language]) in page
        assert "Property tax 2026" not in page


def test_the_assessment_stores_every_text_in_every_language(year_2026, wards):
    make_roll(wards, 9)
    services.tax_assess(year=2026, actor=None, batch_size=4)
    bills = list(Bill.objects.filter(kind=Bill.Kind.PROPERTY_TAX))
    assert len(bills) == taxable(9)
    relieved = 0
    for bill in bills:
        assert bill.descriptions == _texts(
            "Property tax %(year)s, parcel %(parcel)s", year=2026, parcel=bill.source_reference
        )
        for line in bill.lines:
            assert set(line["descriptions"]) == LANGUAGES
            assert line["descriptions"]["en"] == line["description"]
            assert len(set(line["descriptions"].values())) == 3
        relieved += len(bill.lines) == 2
        with translation.override("ar"):
            assert bill.localised_description == bill.descriptions["ar"]
            assert [line["description"] for line in bill.localised_lines()] == [
                line["descriptions"]["ar"] for line in bill.lines
            ]
    assert relieved  # the roll has reliefs: their lines are translated too

"""Amounts are exact in minor units and written the reader's way in each language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from ecitizen.payments.money import format_minor, format_money, to_minor

NARROW_NBSP, NBSP, RLM = "\u202f", "\u00a0", "\u200f"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "£1,234.50"),
        ("fr", f"1{NARROW_NBSP}234,50{NBSP}£"),
        ("ar", f"{RLM}1,234.50{NBSP}£"),
    ],
)
def test_amounts_are_written_the_way_of_the_active_language(language, expected):
    """Digits, separators and the symbol's place are the reader's; the symbol is the one
    the authority writes (not Arabic's "UK£" nor French's "£GB", which tell pounds apart
    for readers abroad, on a site that only charges in pounds)."""
    with translation.override(language):
        assert format_minor(123450) == expected
        assert format_money(Decimal("1234.5")) == expected


@override_settings(CURRENCY_SYMBOL="GBP")
def test_the_symbol_can_be_configured():
    assert format_minor(6000, language="en") == "GBP60.00"
    assert format_minor(6000, language="ar") == f"{RLM}60.00{NBSP}GBP"


def test_negative_amounts_keep_their_sign_and_an_explicit_language_wins():
    with translation.override("fr"):
        assert format_minor(-99, language="en") == "-£0.99"


@override_settings(CURRENCY="EUR")
def test_the_currency_comes_from_the_settings():
    assert format_minor(5000, language="en") == "€50.00"
    assert format_minor(5000, language="fr") == f"50,00{NBSP}€"


def test_the_template_filters_write_minor_and_major_units():
    template = Template(
        "{% load money %}{{ bill|money }} / {{ fee|money_major }} / {{ none|money }}"
    )
    with translation.override("en"):
        text = template.render(Context({"bill": 2550, "fee": Decimal("80.00"), "none": None}))
    assert text == "£25.50 / £80.00 / "


def test_to_minor_is_exact_and_refuses_fractions_of_a_penny():
    assert to_minor(Decimal("12.34")) == 1234
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        to_minor(Decimal("0.005"))


def _written_by_babel(amount: Decimal, language: str) -> str:
    """What ``format_money`` writes, worked out by Babel on every call (as it was before
    its texts were kept)."""
    from babel.numbers import format_currency, get_currency_symbol
    from django.conf import settings

    from ecitizen.core.processcache import babel_locale
    from ecitizen.payments.money import currency_symbol

    locale = babel_locale(language)
    text = str(format_currency(amount, settings.CURRENCY, locale=locale, currency_digits=True))
    own = str(get_currency_symbol(settings.CURRENCY, locale=locale))
    return text.replace(own, currency_symbol(), 1) if own != currency_symbol() else text


@given(
    amount=st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9
    ),
    language=st.sampled_from(["en", "fr", "ar"]),
)
def test_a_kept_amount_is_written_as_babel_writes_it(amount, language):
    # Twice: the second text is the kept one.
    assert format_money(amount, language=language) == _written_by_babel(amount, language)
    assert format_money(amount, language=language) == _written_by_babel(amount, language)


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_amounts_equal_as_numbers_are_kept_apart_when_written_apart(language):
    # -0 and 0 are equal Decimals (one hash), which Babel writes differently.
    for amount in [Decimal("-0"), Decimal("0"), Decimal("35"), Decimal("35.00"), 35, "35.001"]:
        assert format_money(amount, language=language) == _written_by_babel(
            Decimal(amount), language
        )
    with override_settings(CURRENCY_SYMBOL="GBP"):
        assert format_money(Decimal("35"), language=language) == _written_by_babel(
            Decimal("35"), language
        )
        assert "GBP" in format_money(Decimal("35"), language=language)

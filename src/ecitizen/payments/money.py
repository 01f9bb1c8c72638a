"""Amounts in the platform's currency (``settings.CURRENCY``): minor units in storage and
arithmetic, written the reader's way on the page (Unicode CLDR conventions, by Babel)."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from django.conf import settings
from django.utils import translation


def _locale(language: str | None) -> Locale:
    code = language or translation.get_language() or settings.LANGUAGE_CODE
    try:
        return Locale.parse(translation.to_locale(code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_money(amount: Decimal | int | str, *, language: str | None = None) -> str:
    """An amount in major units, in ``language`` (default: the active one): for GBP,
    ``1234.5`` → en ``£1,234.50``, fr ``1 234,50 £GB``, ar ``1,234.50 UK£`` (after a
    right-to-left mark); negative amounts keep their sign (``-£1,234.50``)."""
    return format_currency(Decimal(amount), settings.CURRENCY, locale=_locale(language))


def format_minor(amount_minor: int, *, language: str | None = None) -> str:
    """``123450`` → ``£1,234.50`` (see :func:`format_money`)."""
    return format_money(Decimal(int(amount_minor)) / 100, language=language)


def to_minor(amount: Decimal) -> int:
    """A Decimal amount of the currency in minor units (exact; refuses fractions)."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than 2 decimal places")
    return int(value)

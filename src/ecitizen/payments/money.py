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


def format_minor_in(amount_minor: int, currency: str, *, language: str | None = None) -> str:
    """An amount in minor units of any ``currency`` (what a provider reported), with that
    currency's own number of decimals: ``(7000, "EUR")`` → ``€70.00``. Something that is
    not a currency code is not interpreted: the bare number and what was reported
    (``7000 ??``)."""
    from babel.numbers import get_currency_precision

    code = currency.upper()
    if not code.isascii() or not code.isalpha() or len(code) != 3:
        return f"{int(amount_minor)} {currency}".strip()
    precision = get_currency_precision(code)
    amount = Decimal(int(amount_minor)).scaleb(-precision)
    return format_currency(amount, code, locale=_locale(language))


def to_minor(amount: Decimal) -> int:
    """A Decimal amount of the currency in minor units (exact; refuses fractions)."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than 2 decimal places")
    return int(value)

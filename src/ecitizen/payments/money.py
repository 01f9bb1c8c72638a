"""Amounts in minor units, shown in the platform's currency."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings


def format_minor(amount_minor: int) -> str:
    """``123450`` → ``£1,234.50`` (negative amounts keep their sign before the symbol)."""
    sign = "-" if amount_minor < 0 else ""
    value = Decimal(abs(int(amount_minor))) / 100
    return f"{sign}{settings.CURRENCY_SYMBOL}{value:,.2f}"


def to_minor(amount: Decimal) -> int:
    """A Decimal amount of the currency in minor units (exact; refuses fractions)."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than 2 decimal places")
    return int(value)

from __future__ import annotations

from decimal import Decimal

from django import template

from ecitizen.payments.money import format_minor, format_minor_in, format_money

register = template.Library()


@register.filter
def money(amount_minor: int | None) -> str:
    """``{{ bill.total_minor|money }}`` → ``£1,234.50`` (minor units)."""
    return "" if amount_minor is None else format_minor(amount_minor)


@register.filter
def money_in(amount_minor: int | None, currency: str) -> str:
    """``{{ mismatch.reported_amount_minor|money_in:mismatch.reported_currency }}``: an
    amount in minor units of another currency than the platform's."""
    return "" if amount_minor is None else format_minor_in(amount_minor, currency or "")


@register.filter
def money_major(amount: Decimal | None) -> str:
    """``{{ case.fee_amount|money_major }}`` → ``£1,234.50`` (an amount in major units)."""
    return "" if amount is None else format_money(amount)

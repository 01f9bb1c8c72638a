from __future__ import annotations

from django import template

from ecitizen.payments.money import format_minor

register = template.Library()


@register.filter
def money(amount_minor: int | None) -> str:
    """``{{ bill.total_minor|money }}`` → ``£1,234.50``."""
    return "" if amount_minor is None else format_minor(amount_minor)

"""``{{ payment.provider|provider_label }}``: a payment provider as people call it."""

from __future__ import annotations

from django import template

from ecitizen.payments.providers import provider_label as _provider_label

register = template.Library()


@register.filter
def provider_label(name: str | None) -> str:
    """``"sandbox"`` → "Sandbox (test payments)", ``"counter"`` → "Cash desk"."""
    return _provider_label(name) if name else ""

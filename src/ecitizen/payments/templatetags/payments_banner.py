"""The warning every page carries while payments are not real (the layout loads it)."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

register = template.Library()


@register.inclusion_tag("payments/_not_real_banner.html")
def payments_not_real_banner() -> dict[str, Any]:
    """Shown while payers pay through the sandbox or Stripe in test mode
    (``PAYMENTS_NOT_REAL``). Settings only: the error pages render it without a request."""
    return {"payments_not_real": getattr(settings, "PAYMENTS_NOT_REAL", False)}

"""Template helpers for the PDF designs (WeasyPrint has no ``dir="auto"``)."""

from __future__ import annotations

import unicodedata

from django import template

register = template.Library()


@register.filter
def bidi_dir(value: object) -> str:
    """``"rtl"`` or ``"ltr"`` from the first strongly directional character of ``value``
    (what browsers do for ``dir="auto"``); ``"ltr"`` when there is none (numbers, codes)."""
    for character in str(value):
        direction = unicodedata.bidirectional(character)
        if direction in {"R", "AL"}:
            return "rtl"
        if direction == "L":
            return "ltr"
    return "ltr"

"""A bill's texts in the reader's language (see :mod:`ecitizen.payments.texts`).

``{% load bill_texts %}{% bill_description bill %}`` writes the bill's description in
the active language; a bill without a text in that language shows the authority's own
language's, marked with its ``lang`` (and ``dir="auto"``, so that it reads the right way
round in a right-to-left page). ``{% bill_description bill as text %}`` keeps it for a
``blocktranslate``.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

from ecitizen.payments.texts import LocalisedText, text_in

register = template.Library()


def _marked(localised: LocalisedText) -> SafeString:
    if localised.lang:
        return format_html('<span lang="{}" dir="auto">{}</span>', localised.lang, localised.text)
    return conditional_escape(localised.text)


@register.simple_tag
def bill_description(bill: Any) -> SafeString:
    """The bill's description for the reader, marked when it is not in their language."""
    return _marked(text_in(bill.descriptions, bill.description))

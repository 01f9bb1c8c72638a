"""Django's ``date`` filter, the same text for less (loaded as a builtin after Django's
own, so that ``{{ value|date:"j F Y" }}`` in any template is this filter).

A date is written by :func:`ecitizen.core.dateformat.formatted` when it can, else by
Django's filter itself: the same text either way (``core.tests.test_dateformat``). Like
Django's, the filter expects local time (the template engine converts an aware
``datetime`` to the current time zone before calling it) and its text is escaped.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template import defaultfilters

from ecitizen.core.dateformat import formatted

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def date(value: Any, arg: Any = None) -> str:
    """``value|date:arg``, as Django's filter writes it."""
    written = formatted(value, arg)
    return written if written is not None else defaultfilters.date(value, arg)

"""Filters of the page layout (base.html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def in_navigation_landmark(html: Any, label: Any) -> SafeString | str:
    """``{% filter in_navigation_landmark:label %}{% block before_content %}{% endblock %}
    {% endfilter %}``: what a page puts before ``<main>`` (a back link) inside a
    ``<nav>`` named ``label``, so that no content is outside a landmark (axe's ``region``
    rule); nothing at all when the page puts nothing there (no empty landmark).

    ``html`` is the rendered block: markup the templates wrote, already escaped by them.
    """
    if not str(html).strip():
        return ""
    return format_html(
        '<nav class="app-before-content" aria-label="{}">{}</nav>', label, SafeString(html)
    )

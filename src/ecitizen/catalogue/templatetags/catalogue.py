"""Template filters for service definitions: text in the reader's language."""

from __future__ import annotations

from typing import Any

from django import template

from ecitizen.catalogue.spec import localised
from ecitizen.core.listing import Addresses

register = template.Library()


@register.filter
def in_language(text: Any) -> str:
    """``{{ definition.title|in_language }}``: the text in the active language, else
    English."""
    return localised(text) if isinstance(text, dict) else str(text or "")


_START = Addresses("catalogue:start")


@register.filter
def start_url(service: Any) -> str:
    """``{{ service|start_url }}``: the address of the service's start page (in lists,
    where a ``{% url %}`` per service cost a hundred Python calls)."""
    return _START(service.slug)


@register.filter
def service_title(service: Any) -> str:
    version = getattr(service, "current_version", None) or getattr(service, "service_version", None)
    return localised(version.definition["title"]) if version else str(service)


@register.filter
def service_summary(service: Any) -> str:
    version = getattr(service, "current_version", None)
    return localised(version.definition["summary"]) if version else ""


@register.filter
def state_label(spec: Any, state: str) -> str:
    """``{{ spec|state_label:"approved" }}``: what the resident is told about a state."""
    return str(spec.state_label(state))

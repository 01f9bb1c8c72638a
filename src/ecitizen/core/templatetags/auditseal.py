"""``{{ event.actor_label|audit_unseal }}``: a value sealed in the audit trail, shown in
clear while its person's key exists, else as erased (ADR 0023)."""

from __future__ import annotations

from typing import Any

from django import template

from ecitizen.core import auditseal

register = template.Library()


@register.filter
def audit_unseal(value: Any) -> Any:
    return auditseal.unseal(value)

"""``{% identity_providers "resident" as providers %}``: the OpenID Connect providers
configured in the settings (none: the list is empty and no button shows)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from ecitizen.accounts.oidc import configured_apps

register = template.Library()


@register.simple_tag
def identity_providers(purpose: str | None = None) -> list[dict[str, Any]]:
    """Each configured provider (of ``purpose``, ``resident`` or ``staff``, when given)
    as ``{"id", "name", "purpose", "login_url"}``."""
    providers = []
    for app in configured_apps(purpose):
        provider_id = str(app["provider_id"])
        providers.append(
            {
                "id": provider_id,
                "name": app.get("name") or provider_id,
                "purpose": (app.get("settings", {}).get("ecitizen") or {}).get("purpose"),
                "login_url": reverse("oidc_login", args=[provider_id]),
            }
        )
    return providers

"""Template context shared by every page: the authority's brand, the person's display
preferences, navigation and the session-timeout settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import Role
from ecitizen.accounts.selectors import user_has_role, user_is_staff
from ecitizen.core.middleware import idle_limit_seconds


def _nav_item(request: HttpRequest, label: Any, url_name: str) -> dict[str, Any]:
    url = reverse(url_name)
    root = url.rstrip("/") or "/"
    active = request.path == url or (root != "/" and request.path.startswith(root + "/"))
    return {"label": label, "url": url, "active": active}


def navigation(request: HttpRequest) -> list[dict[str, Any]]:
    user = request.user
    if not user.is_authenticated:
        return []
    items = [_nav_item(request, _("Your account"), "accounts:home")]
    if user_is_staff(user):
        items.append(_nav_item(request, _("Staff"), "staff:home"))
        if user_has_role(
            user, {Role.CASE_OFFICER, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN}
        ):
            items.append(_nav_item(request, _("Residents"), "staff:residents"))
        if user_has_role(user, {Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN}):
            items.append(_nav_item(request, _("People and roles"), "staff:people"))
        if user_has_role(user, {Role.AUDITOR, Role.PLATFORM_ADMIN}):
            items.append(_nav_item(request, _("Audit trail"), "staff:audit"))
    return items


def platform(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    timeout = None
    if user.is_authenticated:
        timeout = {
            "idle_seconds": idle_limit_seconds(user),
            "warning_seconds": settings.SESSION_TIMEOUT_WARNING,
        }
    return {
        "brand": {
            "name": settings.AUTHORITY_NAME,
            "service_name": settings.AUTHORITY_SERVICE_NAME,
            "logo": settings.AUTHORITY_LOGO,
            "colour": settings.AUTHORITY_BRAND_COLOUR,
            "phase": settings.PHASE_BANNER,
            "phase_label": settings.PHASE_LABELS.get(settings.PHASE_BANNER, ""),
            "contact_email": settings.AUTHORITY_CONTACT_EMAIL,
            "contact_phone": settings.AUTHORITY_CONTACT_PHONE,
        },
        "display": getattr(request, "display", {"text_size": "standard", "contrast": "standard"}),
        "navigation": navigation(request),
        "session_timeout": timeout,
        # Set by django-csp's middleware; read lazily, so only pages that use it pay.
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }

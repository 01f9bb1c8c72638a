"""Template context shared by every page: the authority's brand, the person's display
preferences, navigation and the session-timeout settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import Role
from ecitizen.accounts.selectors import RESIDENT_DATA_ROLES, user_has_role, user_is_staff
from ecitizen.core.middleware import idle_limit_seconds


def _nav_item(label: Any, url_name: str) -> dict[str, Any]:
    return {"label": label, "url": reverse(url_name), "active": False}


def _mark_active(request: HttpRequest, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The current item is the one whose URL is the longest prefix of the current path
    ("Residents" rather than "Staff" on /staff/residents/)."""
    matches = [item for item in items if request.path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return items


def navigation(request: HttpRequest) -> list[dict[str, Any]]:
    user = request.user
    items = [_nav_item(_("Services"), "catalogue:list")]
    if not user.is_authenticated:
        items.append(_nav_item(_("Pay"), "payments:pay_by_reference"))
        return _mark_active(request, items)
    items.append(_nav_item(_("Your applications"), "cases:applications"))
    items.append(_nav_item(_("Your bills"), "payments:bills"))
    items.append(_nav_item(_("Your account"), "accounts:home"))
    if user_is_staff(user):
        items.append(_nav_item(_("Staff"), "staff:home"))
        if user_has_role(
            user, {Role.CASE_OFFICER, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN}
        ):
            items.append(_nav_item(_("Cases"), "staff:case_queue"))
        if user_has_role(user, RESIDENT_DATA_ROLES):
            items.append(_nav_item(_("Residents"), "staff:residents"))
        if user_has_role(user, {Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN}):
            items.append(_nav_item(_("People and roles"), "staff:people"))
        if user_has_role(user, {Role.FINANCE_OFFICER, Role.PLATFORM_ADMIN}):
            items.append(_nav_item(_("Payments"), "staff:payments"))
        if user_has_role(user, {Role.PLATFORM_ADMIN}):
            items.append(_nav_item(_("Notifications"), "staff:notifications"))
        if user_has_role(user, {Role.AUDITOR, Role.PLATFORM_ADMIN}):
            items.append(_nav_item(_("Audit trail"), "staff:audit"))
    return _mark_active(request, items)


def brand() -> dict[str, Any]:
    """The deploying authority's identity, from settings alone (no database: the error
    pages use it too)."""
    return {
        "name": settings.AUTHORITY_NAME,
        "service_name": settings.AUTHORITY_SERVICE_NAME,
        "logo": settings.AUTHORITY_LOGO,
        "colour": settings.AUTHORITY_BRAND_COLOUR,
        "phase": settings.PHASE_BANNER,
        "phase_label": settings.PHASE_LABELS.get(settings.PHASE_BANNER, ""),
        "contact_email": settings.AUTHORITY_CONTACT_EMAIL,
        "contact_phone": settings.AUTHORITY_CONTACT_PHONE,
        "source_code_url": settings.SOURCE_CODE_URL,
    }


def platform(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    timeout = None
    if user.is_authenticated:
        timeout = {
            "idle_seconds": idle_limit_seconds(user),
            "warning_seconds": settings.SESSION_TIMEOUT_WARNING,
        }
    return {
        "brand": brand(),
        "display": getattr(request, "display", {"text_size": "standard", "contrast": "standard"}),
        "navigation": navigation(request),
        "session_timeout": timeout,
        # Set by django-csp's middleware; read lazily, so only pages that use it pay.
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }

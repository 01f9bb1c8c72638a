"""Template context shared by every page: the authority's brand, the person's display
preferences, navigation and the session-timeout settings."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ecitizen.core.access import capability_roles
from ecitizen.core.authority import authority_name, service_name
from ecitizen.core.middleware import idle_limit_seconds
from ecitizen.core.processcache import SharedValue, reverse_once
from ecitizen.core.registry import NavItem, registry


def _nav_item(item: NavItem) -> dict[str, Any]:
    return {
        "key": item.key,
        "label": item.label,
        "url": reverse_once(item.url_name),
        "section": item.section,
        "active": False,
    }


def _mark_active(request: HttpRequest, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The current item is the one whose address (or one of its ``section`` prefixes) is
    the longest prefix of the current path ("Residents" rather than "Staff" on
    /staff/residents/)."""
    best: tuple[int, dict[str, Any]] | None = None
    for item in items:
        for prefix in (item["url"], *item["section"]):
            if request.path.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), item)
    if best is not None:
        best[1]["active"] = True
    return items


class Navigation(list[dict[str, Any]], SharedValue):
    """The navigation of a page: its items (dicts: ``key``, ``label``, ``url``,
    ``active``, ``aria_current``, and a staff home's ``children`` and ``more``).

    base.html keeps its markup per ``shared_key`` (``{% shared navigation %}``): which
    items, which is current and whether the current one is this very page (``"page"``,
    else ``"true"``). That is all the markup depends on besides the language; it is the
    same for every official whose roles give the same sections.
    """

    def __init__(self, items: list[dict[str, Any]], path: str) -> None:
        super().__init__(items)
        self._key = self._marked(self, path)

    @classmethod
    def _marked(cls, items: list[dict[str, Any]], path: str) -> tuple[Any, ...]:
        """Sets each item's ``aria_current`` (nested ones too); returns their key."""
        key = []
        for item in items:
            item["aria_current"] = (
                ("page" if item["url"] == path else "true") if item["active"] else None
            )
            key.append(
                (
                    item["key"],
                    item["aria_current"],
                    cls._marked(item.get("children", []), path),
                    cls._marked(item.get("more", []), path),
                )
            )
        return tuple(key)

    @property
    def shared_key(self) -> Hashable:
        return self._key


def navigation(request: HttpRequest) -> Navigation:
    """The items the apps registered (``core.registry``) that this person may see, in
    their order: everyone's, then a visitor's or a signed-in person's, then staff items
    for the capabilities the official holds."""
    user = request.user
    signed_in = user.is_authenticated
    audiences = ["everyone", "resident" if signed_in else "visitor"]
    items = [item for audience in audiences for item in registry.navigation(audience)]
    staff: list[NavItem] = []
    # The roles read once, each item's capability checked against them (as
    # holds_capability would, two dozen times over).
    held = registry.identity.roles_held(user) if signed_in else frozenset()
    if held & capability_roles(None):
        staff = [
            item
            for item in registry.navigation("staff")
            if held & capability_roles(item.capability)
        ]
    marked = _mark_active(request, [_nav_item(item) for item in [*items, *staff]])
    return Navigation(
        _staff_sections_under_home(marked[: len(items)], marked[len(items) :]), request.path
    )


def _staff_sections_under_home(
    items: list[dict[str, Any]], staff: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row of navigation however many staff sections an official may use (it wrapped
    onto two rows at 1280 px): the first staff item (the staff home) stands for them all,
    current on every staff page, and carries the others as ``children``, which base.html
    lists under the navigation on staff pages."""
    if not staff:
        return items
    home, *sections = staff
    home["children"], home["more"] = _sections_in_a_row(sections)
    home["active"] = any(item["active"] for item in staff)
    return [*items, home]


#: How many staff sections the row shows before "More" (the others, in a disclosure):
#: a row of six keeps to 1,280 px in the longest of the site's languages (French).
STAFF_SECTIONS_IN_ROW = 6


def _sections_in_a_row(
    sections: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sections shown in the row and those under "More", in their order; the current
    section is always in the row (it takes the row's last place when it would be under
    "More")."""
    if len(sections) <= STAFF_SECTIONS_IN_ROW:
        return sections, []
    row = sections[: STAFF_SECTIONS_IN_ROW - 1]
    more = sections[STAFF_SECTIONS_IN_ROW - 1 :]
    current = next((item for item in more if item["active"]), None)
    if current is not None:
        more.remove(current)
        row.append(current)
    else:
        row.append(more.pop(0))
    return row, more


def brand() -> dict[str, Any]:
    """The deploying authority's identity, from settings alone (no database: the error
    pages use it too)."""
    return {
        # In the reader's language (AUTHORITY_NAME_FR and the like).
        "name": authority_name(),
        "service_name": service_name(),
        "logo": settings.AUTHORITY_LOGO,
        "colour": settings.AUTHORITY_BRAND_COLOUR,
        "phase": settings.PHASE_BANNER,
        "phase_label": settings.PHASE_LABELS.get(settings.PHASE_BANNER, ""),
        "demo": settings.DEMO_BANNER,
        "contact_email": settings.AUTHORITY_CONTACT_EMAIL,
        "contact_phone": settings.AUTHORITY_CONTACT_PHONE,
        "source_code_url": settings.SOURCE_CODE_URL,
    }


def platform(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    timeout = None
    if user.is_authenticated:
        # The warning's length is the same for everyone: base.html keeps it with the
        # markup it shares (core.templatetags.layout.shared_context).
        timeout = {"idle_seconds": idle_limit_seconds(user)}
    return {
        "brand": brand(),
        "display": getattr(request, "display", {"text_size": "standard", "contrast": "standard"}),
        "navigation": navigation(request),
        "session_timeout": timeout,
        # Set by django-csp's middleware; read lazily, so only pages that use it pay.
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }

"""Cursor pagination for the API's lists.

A list answers ``{"items": [...], "next": <URL of the next page or null>}``. The
``cursor`` query parameter is opaque to clients: it is signed with the site's secret
(``django.core.signing``, salted with the list's path), so a client can neither forge
one nor reuse one on another list. ``limit`` is bounded (``API_PAGE_MAX``).

Querysets are paged by keyset on one unique ordering field (``"pk"``, ``"-pk"``,
``"slug"``...): the cursor holds the last item's value, so pages stay stable while rows
are added (no item is skipped or shown twice). Plain sequences (what a selector returns
as a list) are paged by position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema

from ecitizen.api.problems import ApiProblem

Item = TypeVar("Item")

_PAGE_DEFAULT = 20


class PageQuery(Schema):
    """The paging parameters of every list."""

    cursor: str | None = Field(
        None, max_length=500, description="Opaque: the `next` link of the previous page."
    )
    limit: int = Field(
        _PAGE_DEFAULT, ge=1, le=100, description="Items per page (1 to 100, default 20)."
    )


_page_models: dict[type, type[Schema]] = {}


def page_of(item: type[Any]) -> type[Schema]:
    """The response schema of a page of ``item`` (one class per item schema)."""
    if item not in _page_models:
        name = getattr(item, "__name__", "Item") + "Page"
        _page_models[item] = type(
            name,
            (Schema,),
            {
                "__annotations__": {"items": list[item], "next": str | None},  # type: ignore[valid-type]
                "__doc__": f"A page of {getattr(item, '__name__', 'items')}: `next` is "
                "the URL of the following page, null on the last one.",
            },
        )
    return _page_models[item]


def _signer(request: HttpRequest) -> signing.Signer:
    return signing.Signer(salt=f"ecitizen.api.cursor:{request.path}")


def _decode(request: HttpRequest, cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        return _signer(request).unsign_object(cursor)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise ApiProblem(
            422,
            "invalid_cursor",
            _("The cursor is not one this list gave: start again without it."),
            errors=[{"field": "cursor", "message": str(error), "code": "invalid_cursor"}],
        ) from error


def _next_url(request: HttpRequest, position: Any, limit: int) -> str:
    query = request.GET.copy()
    query["cursor"] = _signer(request).sign_object(position)
    query["limit"] = str(limit)
    return request.build_absolute_uri(f"{request.path}?{urlencode(sorted(query.items()))}")


def paginate(
    request: HttpRequest,
    items: QuerySet[Any] | Sequence[Any],
    page: PageQuery,
    *,
    ordering: str = "-pk",
    transform: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """One page of ``items``: ``{"items": [...], "next": url | None}``.

    A queryset is ordered by ``ordering`` (one unique field, ``-`` for descending) and
    continued after the cursor's value; a sequence is continued at the cursor's
    position. ``transform`` maps each item (e.g. to a schema's dict). Raises a 422
    problem for a cursor this list did not sign. No side effects.
    """
    limit = min(page.limit, int(getattr(settings, "API_PAGE_MAX", 100)))
    position = _decode(request, page.cursor)
    if isinstance(items, QuerySet):
        field = ordering.lstrip("-")
        descending = ordering.startswith("-")
        queryset = items.order_by(ordering)
        if position is not None:
            if not isinstance(position, dict) or "after" not in position:
                raise ApiProblem(422, "invalid_cursor", _("The cursor is not valid."))
            lookup = f"{field}__{'lt' if descending else 'gt'}"
            queryset = queryset.filter(**{lookup: position["after"]})
        rows = list(queryset[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        next_position = {"after": _json_value(getattr(rows[-1], field))} if more else None
    else:
        offset = position.get("offset", 0) if isinstance(position, dict) else 0
        if not isinstance(offset, int) or offset < 0:
            raise ApiProblem(422, "invalid_cursor", _("The cursor is not valid."))
        rows = list(items[offset : offset + limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        next_position = {"offset": offset + limit} if more else None
    return {
        "items": [transform(row) for row in rows] if transform else rows,
        "next": _next_url(request, next_position, limit) if next_position else None,
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, (int, str)) or value is None:
        return value
    return str(value)

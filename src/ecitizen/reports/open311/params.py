"""What an Open311 client asks for in a query string: parsed and checked, or refused with
the specification's error document (:class:`Open311Error`).

"Optional" in GeoReport v2 means an empty parameter is an absent one (``?status=`` is no
filter), and parameters this server does not know are ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from ecitizen.reports import geo

#: The specification's default and largest window of requested times, and the most
#: requests (or updates) one answer holds.
WINDOW = timedelta(days=90)
MAX_PAGE_SIZE = 1000
#: ``lat``/``long`` without ``radius`` look this far (metres); no circle is larger.
DEFAULT_RADIUS_M = 1000
MAX_RADIUS_M = 50_000
#: ``service_request_id`` lists at most this many ids.
MAX_IDS = MAX_PAGE_SIZE


class Open311Error(Exception):
    """A request this server refuses: the HTTP ``status`` and the ``errors`` (code,
    description) of the error document. ``headers`` go on the response (Retry-After)."""

    def __init__(
        self,
        status: int,
        errors: Sequence[tuple[int, str]] | str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.errors = [(status, errors)] if isinstance(errors, str) else list(errors)
        self.headers = dict(headers or {})
        super().__init__("; ".join(description for _code, description in self.errors))


def value(params: Mapping[str, Any], name: str) -> str:
    """The parameter's text, stripped; ``""`` when absent or empty."""
    raw = params.get(name)
    return str(raw).strip() if raw is not None else ""


def listed(params: Mapping[str, Any], name: str) -> list[str]:
    """A comma-separated parameter as its non-empty parts, in order, without repeats."""
    parts = [part.strip() for part in value(params, name).split(",")]
    return list(dict.fromkeys(part for part in parts if part))


# An offset's "+" arrives as a space when a client forgot to encode it in the query
# string ("2026-03-01T10:00:00 01:00"): read it as the "+" it was.
_LOST_PLUS = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def timestamp(params: Mapping[str, Any], name: str) -> datetime | None:
    """A W3C timestamp parameter (``2026-03-01T10:00:00Z``, ``...+01:00``); a date
    alone means its start. Without an offset, the server's time zone is meant.
    ``None`` when absent; :class:`Open311Error` (400) when it is not a timestamp."""
    text = value(params, name)
    if not text:
        return None
    text = _LOST_PLUS.sub(r"\1+\2", text)
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = datetime.combine(day, time()) if day is not None else None
    except ValueError:  # well formed but impossible: month 13, 25 o'clock
        moment = None
    if moment is None:
        raise Open311Error(
            400,
            _("%(name)s must be a W3C date and time, like 2026-03-01T09:30:00Z") % {"name": name},
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def whole_number(params: Mapping[str, Any], name: str, *, default: int, low: int, high: int) -> int:
    """A whole-number parameter between ``low`` and ``high``; ``default`` when absent."""
    text = value(params, name)
    if not text:
        return default
    if not re.fullmatch(r"\d{1,9}", text) or not low <= int(text) <= high:
        raise Open311Error(
            400,
            _("%(name)s must be a whole number from %(low)s to %(high)s")
            % {"name": name, "low": low, "high": high},
        )
    return int(text)


def window(
    params: Mapping[str, Any], *, now: datetime, open_ended: bool
) -> tuple[datetime | None, datetime | None]:
    """The (start, end) of the requested times asked for by ``start_date`` and
    ``end_date``: at most 90 days apart; one of them alone stretches 90 days from it; none
    is the last 90 days, unless ``open_ended`` (an ``updated_after`` query bounds itself).
    """
    start, end = timestamp(params, "start_date"), timestamp(params, "end_date")
    if start is not None and end is not None:
        if end < start:
            raise Open311Error(400, _("end_date must not be before start_date"))
        if end - start > WINDOW:
            raise Open311Error(
                400, _("start_date and end_date must not be more than 90 days apart")
            )
        return start, end
    if start is not None:
        return start, start + WINDOW
    if end is not None:
        return end - WINDOW, end
    if open_ended:
        return None, None
    return now - WINDOW, None


@dataclass(frozen=True)
class Circle:
    latitude: float
    longitude: float
    radius_m: float


@dataclass(frozen=True)
class RequestsQuery:
    """What ``GET requests`` asks for. ``ids``, when given, overrides every other filter
    (the specification's rule for ``service_request_id``)."""

    ids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    is_open: bool | None = None
    requested_from: datetime | None = None
    requested_to: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    circle: Circle | None = None
    #: (south, west, north, east) in degrees.
    bbox: tuple[float, float, float, float] | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def _status(params: Mapping[str, Any]) -> bool | None:
    statuses = {part.lower() for part in listed(params, "status")}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, _("status must be open, closed or both (open,closed)"))
    if len(statuses) == 1:
        return statuses == {"open"}
    return None


def _circle(params: Mapping[str, Any]) -> Circle | None:
    lat_text, long_text = value(params, "lat"), value(params, "long")
    radius_given = bool(value(params, "radius"))
    if not lat_text and not long_text:
        if radius_given:
            raise Open311Error(400, _("radius needs lat and long"))
        return None
    try:
        latitude, longitude = geo.parse_coordinates(lat_text, long_text)
    except geo.GeoError as error:
        name = "long" if error.field == "lon" else error.field
        raise Open311Error(400, f"{name}: {error.message}") from None
    radius = whole_number(params, "radius", default=DEFAULT_RADIUS_M, low=1, high=MAX_RADIUS_M)
    return Circle(latitude, longitude, float(radius))


def _bbox(params: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    text = value(params, "bbox")
    if not text:
        return None
    problem = _(
        "bbox must be four numbers min_long,min_lat,max_long,max_lat, like -2.26,52.18,-2.23,52.20"
    )
    parts = text.split(",")
    if len(parts) != 4:
        raise Open311Error(400, problem)
    try:
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        raise Open311Error(400, problem) from None
    if not all(math.isfinite(number) for number in (west, south, east, north)):
        raise Open311Error(400, problem)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise Open311Error(400, problem)
    return (south, west, north, east)


def requests_query(params: Mapping[str, Any], *, now: datetime) -> RequestsQuery:
    """Parse ``GET requests``' parameters; :class:`Open311Error` (400) names the first
    one that is wrong."""
    page = whole_number(params, "page", default=1, low=1, high=1_000_000)
    page_size = whole_number(params, "page_size", default=MAX_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
    ids = listed(params, "service_request_id")
    if ids:
        if len(ids) > MAX_IDS:
            raise Open311Error(
                400,
                _("service_request_id lists at most %(count)s ids") % {"count": MAX_IDS},
            )
        return RequestsQuery(ids=tuple(ids), page=page, page_size=page_size)
    updated_after = timestamp(params, "updated_after")
    updated_before = timestamp(params, "updated_before")
    if updated_before is not None and updated_after is None:
        raise Open311Error(400, _("updated_before needs updated_after"))
    start, end = window(params, now=now, open_ended=updated_after is not None)
    return RequestsQuery(
        categories=tuple(listed(params, "service_code")),
        is_open=_status(params),
        requested_from=start,
        requested_to=end,
        updated_after=updated_after,
        updated_before=updated_before,
        circle=_circle(params),
        bbox=_bbox(params),
        page=page,
        page_size=page_size,
    )


@dataclass(frozen=True)
class UpdatesQuery:
    """What ``GET servicerequestupdates`` asks for: updates made from ``since`` to
    ``until`` (inclusive) and strictly after ``after``; any may be ``None``."""

    since: datetime | None = None
    until: datetime | None = None
    after: datetime | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def updates_query(params: Mapping[str, Any], *, now: datetime) -> UpdatesQuery:
    """Parse ``GET servicerequestupdates``' parameters: ``start_date``/``end_date`` (as
    for requests: at most 90 days apart, the last 90 days by default) and/or
    ``updated_after`` (every update since then)."""
    page = whole_number(params, "page", default=1, low=1, high=1_000_000)
    page_size = whole_number(params, "page_size", default=MAX_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
    after = timestamp(params, "updated_after")
    since, until = window(params, now=now, open_ended=after is not None)
    return UpdatesQuery(since=since, until=until, after=after, page=page, page_size=page_size)

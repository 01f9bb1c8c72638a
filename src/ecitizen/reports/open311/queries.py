"""Reads of the Open311 server: public reports as GeoReport v2 asks for them, their
public updates, a report by its token, and how long an app waits for its rate limit.

Everything starts from :func:`ecitizen.reports.selectors.reports_public` (confirmed and
not hidden): Open311 serves nothing the public pages do not show.
"""

from __future__ import annotations

import functools
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cos, Power, Radians, Sin
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from ecitizen.core.compiled import CompiledQuery
from ecitizen.reports import geo
from ecitizen.reports.models import ApiClient, Report, ReportPhoto, ReportUpdate
from ecitizen.reports.open311.params import MAX_PAGE_SIZE, Circle, RequestsQuery, UpdatesQuery
from ecitizen.reports.selectors import (
    BBOX_SIDES,
    ReportFilters,
    bbox_samples,
    reports_filtered,
    reports_public,
)


def _within(reports: QuerySet[Report], circle: Circle) -> QuerySet[Report]:
    """Reports within the circle, by the haversine distance :func:`geo.distance_m`
    computes, in SQL so that paging counts the right rows. ``distance <= r`` is written
    ``hav <= sin²(r / 2R)`` (the same inequality, without ``asin`` and ``sqrt``), with
    the functions Django provides on SQLite and PostgreSQL alike."""
    half_dlat = Radians(F("latitude") - Value(circle.latitude)) / Value(2.0)
    half_dlon = Radians(F("longitude") - Value(circle.longitude)) / Value(2.0)
    haversine = Power(Sin(half_dlat), Value(2.0)) + Value(
        math.cos(math.radians(circle.latitude))
    ) * Cos(Radians(F("latitude"))) * Power(Sin(half_dlon), Value(2.0))
    limit = math.sin(circle.radius_m / (2 * geo.EARTH_RADIUS_M)) ** 2
    return reports.alias(open311_haversine=haversine).filter(open311_haversine__lte=limit)


def _intersection(
    first: tuple[float, float, float, float] | None,
    second: tuple[float, float, float, float] | None,
) -> tuple[float, float, float, float] | None:
    if first is None or second is None:
        return first or second
    return (
        max(first[0], second[0]),
        max(first[1], second[1]),
        min(first[2], second[2]),
        min(first[3], second[3]),
    )


def _status_notes() -> Subquery:
    """The text an official last wrote for the public about the report's current state
    (comments added through ``servicerequestupdates`` are not an official's)."""
    return Subquery(
        ReportUpdate.objects.filter(
            report=OuterRef("pk"), state=OuterRef("state"), case_event_id__isnull=False
        )
        .exclude(text="")
        .order_by("-created_at", "-pk")
        .values("text")[:1]
    )


def _first_photo_id() -> Subquery:
    """The public id of the report's first photo the public may see."""
    return Subquery(
        ReportPhoto.objects.filter(report=OuterRef("pk"), hidden_at__isnull=True)
        .order_by("position", "pk")
        .values("public_id")[:1]
    )


class EpochSeconds(Func):
    """A date-time column as the whole seconds since 1970-01-01 UTC (its fraction dropped,
    as a W3C timestamp to the second drops it). Read as a number, a time needs no
    converting: Django turns each date-time SQLite gives as text into an aware datetime
    in about ten Python calls, twenty thousand on a page of a thousand requests."""

    output_field = IntegerField()

    @property
    def convert_value(self) -> Any:
        """None: both databases give an integer already (Django's default converter would
        call ``int()`` on each again)."""
        return self._convert_value_noop  # type: ignore[attr-defined]  # (django-stubs omit it)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Any:
        # Django keeps a date-time as text, "2026-03-01 09:30:15.999886" in UTC: its
        # first 19 characters, since SQLite rounds the fraction to the millisecond (to
        # 09:30:16). "%%%%s": the template is filled in with "%", then "%%" becomes "%".
        return self.as_sql(
            compiler,
            connection,
            template="CAST(strftime('%%%%s', substr(%(expressions)s, 1, 19)) AS INTEGER)",
        )

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Any:
        return self.as_sql(
            compiler, connection, template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint"
        )


class PublicRequest(NamedTuple):
    """A public report as ``GET requests`` serves it: the columns it needs (its times as
    :class:`EpochSeconds`), the text an official last wrote for the public about its
    state, and the public id of its first public photo. Rows rather than models: making a
    thousand model instances cost more than running the query (bench/open311.py)."""

    pk: int
    reference: str
    category: str
    is_open: bool
    title: str
    description: str
    address: str
    latitude: float
    longitude: float
    media_url: str
    requested_s: int
    updated_s: int
    status_notes: str | None
    photo_id: uuid.UUID | None


def requests_matching(query: RequestsQuery) -> list[PublicRequest]:
    """One page of public reports matching ``query``, newest first, in one query: compiled
    once per shape (:func:`_compiled_requests`) for the first page of the default size
    without ids or a circle, what a polling client asks every time; else built by the
    ORM."""
    compiled = _compiled_requests(query)
    if compiled is not None:
        page_query, values = compiled
        return [PublicRequest._make(row) for row in page_query.rows(**values)]
    return _requests_orm(query)


def _requests_orm(query: RequestsQuery) -> list[PublicRequest]:
    """:func:`requests_matching` built by the ORM, for any ``query``."""
    if query.ids:
        reports = reports_filtered(ReportFilters(references=query.ids))
    else:
        circle_box = (
            geo.bbox_around(query.circle.latitude, query.circle.longitude, query.circle.radius_m)
            if query.circle is not None
            else None
        )
        bbox = _intersection(query.bbox, circle_box)
        if bbox is not None and (bbox[0] > bbox[2] or bbox[1] > bbox[3]):
            return []  # the box and the circle do not meet
        reports = _requests_filtered(query, bbox)
        if query.circle is not None:
            reports = _within(reports, query.circle)
    return [PublicRequest._make(row) for row in _page_rows(reports, query)]


def _requests_filtered(
    query: RequestsQuery, bbox: tuple[float, float, float, float] | None
) -> QuerySet[Report]:
    """Public reports matching ``query``'s filters but its ids and circle, within ``bbox``."""
    reports = reports_filtered(
        ReportFilters(
            categories=query.categories,
            bbox=bbox,
            requested_from=query.requested_from,
            requested_to=query.requested_to,
            updated_after=query.updated_after,
        )
    )
    if query.is_open is not None:
        # Written "is_open IN (...)": for True, Django writes a bare "is_open", which
        # SQLite cannot match to an index's column (PostgreSQL reads both as "=").
        reports = reports.filter(is_open__in=[query.is_open])
    if query.updated_before is not None:
        reports = reports.filter(updated_at__lte=query.updated_before)
    return reports


def _page_rows(
    reports: QuerySet[Report], query: RequestsQuery
) -> QuerySet[Report, tuple[Any, ...]]:
    """``query``'s page of ``reports`` as :class:`PublicRequest`'s columns."""
    offset = (query.page - 1) * query.page_size
    rows = reports.annotate(
        requested_s=EpochSeconds("requested_at"),
        updated_s=EpochSeconds("updated_at"),
        status_notes=_status_notes(),
        photo_id=_first_photo_id(),
    ).values_list(*PublicRequest._fields)
    return rows[offset : offset + query.page_size]


#: The times a query may bound, with the column each bounds.
_TIME_BOUNDS = {
    "requested_from": "requested_at",
    "requested_to": "requested_at",
    "updated_after": "updated_at",
    "updated_before": "updated_at",
}
#: More categories than this in one query are built by the ORM (a shape per number).
_COMPILED_CATEGORIES = 8

#: What a compiled first page depends on besides its values: the number of categories,
#: the open or closed filter (a constant), which times are bounded and whether a box is:
#: at most 9 * 3 * 16 * 2 shapes, all kept (:func:`_requests_query`).
_RequestsShape = tuple[int, bool | None, tuple[str, ...], bool]


def _compiled_requests(
    query: RequestsQuery,
) -> tuple[CompiledQuery[Report], dict[str, Any]] | None:
    """The compiled query of ``query``'s shape and the values to run it with, or ``None``
    when ``query`` asks for ids, a circle, more than :data:`_COMPILED_CATEGORIES`
    categories, another page than the first or another size than the default (built by
    the ORM then: LIMIT and OFFSET are written into the SQL, and a client paging through
    would compile a query a page)."""
    if (
        query.ids
        or query.circle is not None
        or len(query.categories) > _COMPILED_CATEGORIES
        or query.page != 1
        or query.page_size != MAX_PAGE_SIZE
    ):
        return None
    values: dict[str, Any] = {f"category_{i}": code for i, code in enumerate(query.categories)}
    bounded = tuple(name for name in _TIME_BOUNDS if getattr(query, name) is not None)
    values.update((name, getattr(query, name)) for name in bounded)
    if query.bbox is not None:
        values.update(zip(BBOX_SIDES, query.bbox, strict=True))
    shape = (len(query.categories), query.is_open, bounded, query.bbox is not None)
    return _requests_query(shape), values


@functools.lru_cache(maxsize=1024)
def _requests_query(shape: _RequestsShape) -> CompiledQuery[Report]:
    """The first page of :func:`requests_matching` for ``shape`` (:data:`_RequestsShape`),
    of the default size, its values named ``category_<i>``, the bounded times and the
    box's sides."""
    categories, is_open, bounded, with_bbox = shape
    field = Report._meta.get_field
    # Samples no constant of the query can equal (each must appear once in its SQL).
    samples: dict[str, tuple[Any, Any]] = {
        f"category_{i}": (f"category-sample-{i}-7031965", field("category"))
        for i in range(categories)
    }
    for number, name in enumerate(bounded):
        sample = datetime(1901, 2, 3, 4, 5, number, tzinfo=UTC)
        samples[name] = (sample, field(_TIME_BOUNDS[name]))
    if with_bbox:
        samples.update(bbox_samples())

    def build(**values: Any) -> QuerySet[Report, tuple[Any, ...]]:
        query = RequestsQuery(
            categories=tuple(values[f"category_{i}"] for i in range(categories)),
            is_open=is_open,
            bbox=tuple(values[side] for side in BBOX_SIDES) if with_bbox else None,
            **{name: values[name] for name in bounded},
        )
        return _page_rows(_requests_filtered(query, query.bbox), query)

    return CompiledQuery(Report, build, **samples)


def report_public_by_reference(reference: str) -> Report | None:
    """The public report with this ``service_request_id``."""
    return reports_public().filter(reference=reference).first()


def report_public_by_token(token: str) -> Report | None:
    """The public report whose Open311 token this is (``None`` for a malformed token)."""
    try:
        value = uuid.UUID(token)
    except ValueError:
        return None
    return reports_public().filter(token=value).first()


def updates_matching(query: UpdatesQuery) -> list[ReportUpdate]:
    """One page of the public updates of public reports made in the query's window,
    oldest first (the order a client replays them in), with their report."""
    public = reports_public().filter(reference__isnull=False)
    updates = ReportUpdate.objects.filter(report__in=public).select_related("report")
    if query.since is not None:
        updates = updates.filter(created_at__gte=query.since)
    if query.until is not None:
        updates = updates.filter(created_at__lte=query.until)
    if query.after is not None:
        updates = updates.filter(created_at__gt=query.after)
    offset = (query.page - 1) * query.page_size
    return list(updates.order_by("created_at", "pk")[offset : offset + query.page_size])


def seconds_until_allowed(client: ApiClient, *, now: datetime | None = None) -> int:
    """How long (seconds, at least 1) until an app over its hourly limit may post again:
    until its oldest report of the last hour is an hour old."""
    now = now or timezone.now()
    window_start = now - timedelta(hours=1)
    oldest = (
        client.reports.filter(requested_at__gte=window_start)
        .order_by("requested_at")
        .values_list("requested_at", flat=True)
        .first()
    )
    if oldest is None:
        return 1
    return max(1, math.ceil((oldest + timedelta(hours=1) - now).total_seconds()))

"""Reads of the reports app: public reports around a place, one public report, its
photos, and the open reports near a point (before a duplicate is made).

Public means confirmed and not hidden (:attr:`Report.is_public`); nothing here returns
the reporter's identity except the display name they chose to show.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.models import Q, QuerySet
from django.http import Http404

from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.listing import CountedRows
from ecitizen.reports import geo
from ecitizen.reports.models import ApiClient, Report, ReportPhoto


def reports_public() -> QuerySet[Report]:
    """Every public report (merged ones included: they point to the surviving one)."""
    return Report.objects.filter(confirmed_at__isnull=False, hidden_at__isnull=True)


@dataclass(frozen=True)
class ReportFilters:
    """What a public list or an Open311 query asks for; every part optional."""

    categories: Sequence[str] = ()
    is_open: bool | None = None
    states: Sequence[str] = ()
    ward_id: int | None = None
    #: (south, west, north, east) in degrees.
    bbox: tuple[float, float, float, float] | None = None
    references: Sequence[str] = ()
    requested_from: datetime | None = None
    requested_to: datetime | None = None
    updated_after: datetime | None = None


def reports_filtered(filters: ReportFilters) -> QuerySet[Report]:
    """Public reports matching ``filters``, newest first. The bounding box is a range on
    the (latitude, longitude) index; callers wanting a circle filter what it returns."""
    reports = reports_public()
    if filters.categories:
        reports = reports.filter(category__in=list(filters.categories))
    if filters.is_open is not None:
        # Written as IN: SQLite matches "is_open IN (1)" to the partial indexes, not the
        # bare "is_open" Django writes for is_open=True (docs/performance.md).
        reports = reports.filter(is_open__in=[filters.is_open])
    if filters.states:
        reports = reports.filter(state__in=list(filters.states))
    if filters.ward_id is not None:
        reports = reports.filter(ward_id=filters.ward_id)
    if filters.bbox is not None:
        south, west, north, east = filters.bbox
        reports = reports.filter(
            latitude__gte=south, latitude__lte=north, longitude__gte=west, longitude__lte=east
        )
    if filters.references:
        reports = reports.filter(reference__in=list(filters.references))
    if filters.requested_from is not None:
        reports = reports.filter(requested_at__gte=filters.requested_from)
    if filters.requested_to is not None:
        reports = reports.filter(requested_at__lte=filters.requested_to)
    if filters.updated_after is not None:
        reports = reports.filter(updated_at__gt=filters.updated_after)
    return reports.order_by("-requested_at", "-pk")


#: The sides of a bounding box, in the order of :attr:`ReportFilters.bbox`: the names of
#: a compiled query's values for a box.
BBOX_SIDES = ("south", "west", "north", "east")


def bbox_samples() -> dict[str, tuple[float, Any]]:
    """A compiled query's samples (:class:`CompiledQuery`) for a box's sides, by
    :data:`BBOX_SIDES`: values no constant of a query can equal, each with the column it
    bounds."""
    field = Report._meta.get_field
    return {
        side: (
            -7031.0 - number / 8,
            field("latitude" if side in {"south", "north"} else "longitude"),
        )
        for number, side in enumerate(BBOX_SIDES)
    }


#: What a compiled first page of a list depends on besides its values: whether a
#: category, a ward and a bounding box are asked for, the open or closed filter (a
#: constant: three shapes), the columns and the size.
_ListShape = tuple[bool, bool, bool, bool | None, tuple[str, ...], int]


def reports_first_page(
    filters: ReportFilters, *, columns: tuple[str, ...], size: int
) -> Callable[[], CountedRows[tuple[Any, ...]]] | None:
    """What reads ``reports_filtered(filters).values_list(*columns)[:size]`` with the
    whole list's count through two queries compiled once per shape (the public list:
    building them in the ORM cost more Python than running them), the count only when
    the page is full; ``None`` when ``filters`` ask for more than the public list's
    filters (one category, open or closed, a ward, a bounding box): build the queryset
    then. Nothing is read before the reader is called."""
    if (
        len(filters.categories) > 1
        or filters.states
        or filters.references
        or filters.requested_from is not None
        or filters.requested_to is not None
        or filters.updated_after is not None
    ):
        return None
    values: dict[str, Any] = {}
    if filters.categories:
        values["category"] = filters.categories[0]
    if filters.ward_id is not None:
        values["ward"] = filters.ward_id
    if filters.bbox is not None:
        values.update(zip(BBOX_SIDES, filters.bbox, strict=True))
    shape = (
        bool(filters.categories),
        filters.ward_id is not None,
        filters.bbox is not None,
        filters.is_open,
        columns,
        size,
    )

    def read() -> CountedRows[tuple[Any, ...]]:
        page_query, count_query = _list_queries(shape)
        rows = [tuple(row) for row in page_query.rows(**values)]
        if len(rows) < size:
            return CountedRows(rows, len(rows))
        inner, params = count_query.sql_with_params(**values)
        with connections[router.db_for_read(Report)].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({inner}) listed", params)  # noqa: S608
            (total,) = cursor.fetchone()
        return CountedRows(rows, int(total))

    return read


@functools.lru_cache(maxsize=64)
def _list_queries(shape: _ListShape) -> tuple[CompiledQuery[Report], CompiledQuery[Report]]:
    """The first page's and the count's queries of ``shape`` (:data:`_ListShape`): their
    values ``category``, ``ward``, and ``south``, ``west``, ``north``, ``east`` where
    the shape has them. The count's query selects the reports' ids, to be counted
    around it."""
    with_category, with_ward, with_bbox, is_open, columns, size = shape
    field = Report._meta.get_field
    samples: dict[str, tuple[Any, Any]] = {}
    if with_category:
        samples["category"] = ("category-sample-7031965", field("category"))
    if with_ward:
        samples["ward"] = (-7_031_965, field("ward"))
    if with_bbox:
        samples.update(bbox_samples())

    def matching(**values: Any) -> QuerySet[Report]:
        bbox = (
            (values["south"], values["west"], values["north"], values["east"])
            if with_bbox
            else None
        )
        return reports_filtered(
            ReportFilters(
                categories=[values["category"]] if with_category else (),
                is_open=is_open,
                ward_id=values["ward"] if with_ward else None,
                bbox=bbox,
            )
        )

    return (
        CompiledQuery(
            Report, lambda **values: matching(**values).values_list(*columns)[:size], **samples
        ),
        CompiledQuery(Report, lambda **values: matching(**values).values("pk"), **samples),
    )


def report_get_public(*, reference: str) -> Report:
    """A public report by its reference, or 404."""
    report = (
        reports_public()
        .select_related("ward", "merged_into", "reporter")
        .filter(reference=reference)
        .first()
    )
    if report is None:
        raise Http404
    return report


def report_photos_public(report: Report) -> list[ReportPhoto]:
    """The photos the public may see, in order."""
    return list(report.photos.filter(hidden_at__isnull=True).select_related("display"))


def report_photo_get_public(*, public_id: Any) -> ReportPhoto:
    """A photo shown on a public report, or 404 (hidden photo, hidden report)."""
    photo = (
        ReportPhoto.objects.select_related("display", "report")
        .filter(public_id=public_id, hidden_at__isnull=True)
        .first()
    )
    if photo is None or not photo.report.is_public:
        raise Http404
    return photo


def reports_nearby_open(
    *, category: str, latitude: float, longitude: float, radius_m: float, limit: int = 5
) -> list[tuple[Report, float]]:
    """Open public reports of ``category`` within ``radius_m`` of the point, nearest
    first, with their distance in metres: "is it one of these?"."""
    south, west, north, east = geo.bbox_around(latitude, longitude, radius_m)
    candidates = reports_filtered(
        ReportFilters(categories=[category], is_open=True, bbox=(south, west, north, east))
    ).filter(merged_into__isnull=True)[:200]
    near = [
        (report, geo.distance_m(latitude, longitude, report.latitude, report.longitude))
        for report in candidates
    ]
    near = [(report, metres) for report, metres in near if metres <= radius_m]
    near.sort(key=lambda pair: pair[1])
    return near[:limit]


def reporter_display_name(report: Report) -> str:
    """The name shown on a public report: the reporter's, only if they chose to show it."""
    if not report.show_name:
        return ""
    return str(report.reporter.get_full_name())


def reports_for_reporter(*, user: Any) -> QuerySet[Report]:
    """A resident's own reports, and those they support, newest first."""
    return (
        Report.objects.filter(Q(reporter=user) | Q(supporters__user=user))
        .distinct()
        .order_by("-requested_at", "-pk")
    )


def api_clients() -> QuerySet[ApiClient]:
    return ApiClient.objects.all()


#: Every page of an official's case asks it (the street-report panel, empty for other
#: cases): compiled once per process.
_REPORT_OF_CASE = CompiledQuery(
    Report,
    lambda case_id: (
        Report.objects.select_related("ward", "merged_into", "api_client")
        .filter(case_id=case_id)
        .order_by("pk")[:1]
    ),
    case_id=(-7_031_962_612, Report._meta.get_field("case")),
)


def report_of_case(*, case_id: int) -> Report | None:
    """The street report whose case this is (``None`` for any other case), with its ward,
    the report it was merged into and the app it came through."""
    return _REPORT_OF_CASE.first(case_id=case_id)


# --- public updates and email alerts ------------------------------------------------------------

# This section's own imports, kept with it (the module's top belongs to the sections above).
from ecitizen.reports.models import ReportAlert, ReportUpdate  # noqa: E402


def report_updates_public(report: Report) -> list[ReportUpdate]:
    """A public report's updates, oldest first: the changes of state with the text the
    team wrote for the public, and comments (internal notes stay on the case)."""
    return list(report.updates.order_by("created_at", "pk"))


def user_email_verified(user: Any) -> bool:
    """Whether the account's address has been confirmed (a link followed at sign-up, or
    provisioned by the authority): an alert for it may start without another link."""
    # allauth keeps the verification; accounts offers no selector for it.
    from allauth.account.models import EmailAddress

    return bool(
        getattr(user, "email", "")
        and EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
    )


def report_alerts_for_user(*, user: Any) -> QuerySet[ReportAlert]:
    """A resident's own email alerts, newest first ("Your alerts")."""
    return (
        ReportAlert.objects.filter(user=user).select_related("ward").order_by("-created_at", "-pk")
    )


def report_alert_get_for_user(*, user: Any, public_id: Any) -> ReportAlert:
    """One of the resident's own alerts by its public id, or 404 (anyone else's too)."""
    alert = report_alerts_for_user(user=user).filter(public_id=public_id).first()
    if alert is None:
        raise Http404
    return alert


# --- open data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPublicRecord:
    """The public facts of a street report, for the open-data file: no reporter, no
    description, no address; the location as given (the caller rounds it)."""

    reference: str
    category: str
    ward_code: str
    latitude: float
    longitude: float
    reported_at: datetime
    closed_at: datetime | None
    state: str
    is_open: bool
    merged_into: str


def reports_public_records() -> list[ReportPublicRecord]:
    """Every public report (confirmed, not hidden; merged ones too, naming the one they
    joined), oldest first, with when it was first closed (its first public update to a
    closed state; none while open). One query: the updates joined and grouped."""
    from django.db.models import Min

    rows = (
        reports_public()
        .annotate(closed=Min("updates__created_at", filter=Q(updates__is_open=False)))
        .values(
            "reference",
            "category",
            "ward__code",
            "latitude",
            "longitude",
            "requested_at",
            "closed",
            "state",
            "is_open",
            "merged_into__reference",
        )
        .order_by("requested_at", "pk")
    )
    return [
        ReportPublicRecord(
            reference=r["reference"] or "",
            category=r["category"],
            ward_code=r["ward__code"] or "",
            latitude=r["latitude"],
            longitude=r["longitude"],
            reported_at=r["requested_at"],
            closed_at=None if r["is_open"] else r["closed"],
            state=r["state"],
            is_open=r["is_open"],
            merged_into=r["merged_into__reference"] or "",
        )
        for r in rows
    ]

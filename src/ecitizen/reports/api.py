"""Street reports in the public API (``/api/v1/reports``): public and read-only, like the
public report pages (Open311 GeoReport v2 remains the standard way for apps to send
reports, ``/open311/v2/``). Only confirmed, not hidden reports; the reporter's name only
when they chose to show it."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.reports import selectors
from ecitizen.reports.models import Report

router = Router(auth=None)


class ReportOut(Schema):
    reference: str
    category: str
    title: str
    description: str
    state: str
    is_open: bool
    latitude: float
    longitude: float
    address: str
    ward: str = ""
    reporter_name: str = Field("", description="Empty unless the reporter chose to show it.")
    supporters: int
    merged_into: str | None = None
    requested_at: datetime.datetime
    updated_at: datetime.datetime


class ReportQuery(Schema):
    category: str = Field("", max_length=63)
    open: bool | None = Field(None, description="Only open (true) or closed (false) reports.")


def _report(report: Report) -> dict[str, Any]:
    return {
        "reference": report.reference or "",
        "category": report.category,
        "title": report.title,
        "description": report.description,
        "state": report.state,
        "is_open": report.is_open,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "address": report.address,
        "ward": report.ward.code if report.ward is not None else "",
        "reporter_name": selectors.reporter_display_name(report),
        "supporters": report.supporters_count,
        "merged_into": report.merged_into.reference if report.merged_into is not None else None,
        "requested_at": report.requested_at,
        "updated_at": report.updated_at,
    }


@router.get("", response=page_of(ReportOut), url_name="reports_list")
def reports_list(
    request: HttpRequest, page: Query[PageQuery], filters: Query[ReportQuery]
) -> dict[str, Any]:
    """Public street reports, newest first."""
    reports = selectors.reports_filtered(
        selectors.ReportFilters(
            categories=[filters.category] if filters.category else (), is_open=filters.open
        )
    ).select_related("ward", "merged_into", "reporter")
    return paginate(request, reports, page, transform=_report)


@router.get("/{reference}", response=ReportOut, url_name="report_detail")
def report_detail(request: HttpRequest, reference: str) -> dict[str, Any]:
    """One public report; 404 for an unknown, unconfirmed or hidden one."""
    return _report(selectors.report_get_public(reference=reference))

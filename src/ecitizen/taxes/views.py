"""Pages of the taxes app: "Your property tax" for owners, assessment runs for finance."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ecitizen.core.access import signed_in, staff_only
from ecitizen.taxes import selectors
from ecitizen.taxes.models import UseClass

TAX_ASSESSMENTS = selectors.TAX_ASSESSMENTS


@signed_in
def overview(request: HttpRequest) -> HttpResponse:
    ownerships = list(selectors.ownerships_for_owner(user=request.user))
    return render(
        request,
        "taxes/overview.html",
        {"properties": selectors.property_statements(ownerships=ownerships)},
    )


@signed_in
def property_detail(request: HttpRequest, parcel: str) -> HttpResponse:
    ownership = selectors.property_get_for_owner(user=request.user, parcel=parcel)
    (statement,) = selectors.property_statements(ownerships=[ownership])
    return render(request, "taxes/property.html", {"item": statement})


@staff_only(TAX_ASSESSMENTS)
def staff_runs(request: HttpRequest) -> HttpResponse:
    return render(request, "taxes/staff/runs.html", {"runs": selectors.assessment_runs()[:100]})


@staff_only(TAX_ASSESSMENTS)
def staff_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.assessment_run_get(pk=run_id)
    totals = run.totals or {}
    by_class = [
        (UseClass(code).label, values)
        for code, values in totals.get("use_class", {}).items()
        if code in UseClass.values
    ]
    return render(
        request,
        "taxes/staff/run.html",
        {
            "run": run,
            "by_class": by_class,
            "by_ward": list(totals.get("ward", {}).values()),
            "total": totals.get("total"),
        },
    )

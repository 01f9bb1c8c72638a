"""The performance dashboards of the whole authority, a department and a service, and each
chart's data as CSV.

Every page needs the capability ``insights.read`` (:func:`~ecitizen.core.access.staff_only`)
and reads its department or service through :mod:`ecitizen.insights.selectors`: outside
the official's remit the answer is 404, as for something that does not exist. The
authority's page is for authority-wide holders; anyone else who opens it is taken to their
department's page, or shown the pages within their remit.

The month is ``?month=YYYY-MM`` (default: the latest month with figures that is over). A
month that is not one, or is in the future, gets a clear message (the page then shows the
default month; a CSV answers 400 with the message), never an error page.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.access import staff_only
from ecitizen.core.csvcells import csv_cell
from ecitizen.insights import dashboards, selectors
from ecitizen.insights.services import INSIGHTS_READ, InsightsError


class MonthForm(forms.Form):
    """The month picker: the months with figures, as ``YYYY-MM``."""

    month = forms.CharField(
        label=_("Month"),
        widget=forms.Select,
        error_messages={"required": _("Choose a month.")},
    )

    def __init__(self, data: Any, *, months: list[date], today: date, initial: date) -> None:
        super().__init__(data)
        self.today = today
        self.fields["month"].widget.choices = [
            (f"{m:%Y-%m}", dashboards.month_label(m)) for m in months
        ]
        self.fields["month"].initial = f"{initial:%Y-%m}"
        self.months = months

    def clean_month(self) -> date:
        text = str(self.cleaned_data.get("month") or "")
        try:
            month = dashboards.month_parse(text, today=self.today)
        except InsightsError as error:
            raise forms.ValidationError(str(error.message), code=error.code) from None
        if month not in self.months:
            # A month with no figures: offered too, so that the picker shows it.
            widget: Any = self.fields["month"].widget
            widget.choices = [(f"{month:%Y-%m}", dashboards.month_label(month)), *widget.choices]
        return month


def _month(request: HttpRequest, *, scope: str, key: str) -> tuple[MonthForm, date]:
    """The month picker and the month to show (the one asked for when it is valid, else
    the latest that is over: :func:`~ecitizen.insights.dashboards.month_default`)."""
    today = timezone.localdate()
    offered = dashboards.months_offered(scope=scope, key=key, today=today)
    month = dashboards.month_default(offered, today=today)
    form = MonthForm(
        request.GET if "month" in request.GET else None, months=offered, today=today, initial=month
    )
    if form.is_bound and form.is_valid():
        month = form.cleaned_data["month"]
    return form, month


def _csv_month(request: HttpRequest, *, scope: str, key: str) -> date | HttpResponse:
    """The month of a CSV, or a 400 answer saying what is wrong with the one asked for."""
    text = request.GET.get("month", "")
    today = timezone.localdate()
    if not text:
        return dashboards.default_month(scope=scope, key=key, today=today)
    try:
        return dashboards.month_parse(text, today=today)
    except InsightsError as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")


def _csv_response(
    dashboard: dashboards.Dashboard, *, scope: str, key: str, chart: str
) -> HttpResponse:
    """The chart's or table's data as a CSV attachment, or 404 for a slug the page does
    not have."""
    data = dashboard.csv(chart)
    if data is None:
        raise Http404
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(cell) for cell in data.header])
    for row in data.rows:
        writer.writerow([csv_cell(cell) for cell in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    filename = dashboards.csv_filename(scope=scope, key=key, slug=chart, month=dashboard.month)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the whole authority ------------------------------------------------------------------


@staff_only(INSIGHTS_READ)
def authority(request: HttpRequest) -> HttpResponse:
    """The whole authority's dashboard (authority-wide holders); for anyone else, their
    department's page, or the list of the pages within their remit."""
    if not selectors.may_see_authority(request.user):
        remit = dashboards.remit_list(user=request.user)
        if remit.only_department is not None:
            return redirect("staff:insights_department", remit.only_department)
        return render(request, "insights/dashboard_authority.html", {"remit": remit})
    form, month = _month(request, scope=dashboards.AUTHORITY, key="")
    dashboard = dashboards.authority_dashboard(user=request.user, month=month)
    return render(
        request, "insights/dashboard_authority.html", {"dashboard": dashboard, "form": form}
    )


@staff_only(INSIGHTS_READ)
def authority_csv(request: HttpRequest, chart: str) -> HttpResponse:
    if not selectors.may_see_authority(request.user):
        raise Http404
    month = _csv_month(request, scope=dashboards.AUTHORITY, key="")
    if isinstance(month, HttpResponse):
        return month
    dashboard = dashboards.authority_dashboard(user=request.user, month=month)
    return _csv_response(dashboard, scope=dashboards.AUTHORITY, key="", chart=chart)


# --- a department -------------------------------------------------------------------------


@staff_only(INSIGHTS_READ)
def department(request: HttpRequest, department: str) -> HttpResponse:
    found = selectors.department_for_insights(user=request.user, slug=department)
    form, month = _month(request, scope=dashboards.DEPARTMENT, key=found.slug)
    dashboard = dashboards.department_dashboard(user=request.user, department=found, month=month)
    return render(
        request,
        "insights/dashboard_department.html",
        {
            "dashboard": dashboard,
            "form": form,
            "department": found,
            "may_see_authority": selectors.may_see_authority(request.user),
        },
    )


@staff_only(INSIGHTS_READ)
def department_csv(request: HttpRequest, department: str, chart: str) -> HttpResponse:
    found = selectors.department_for_insights(user=request.user, slug=department)
    month = _csv_month(request, scope=dashboards.DEPARTMENT, key=found.slug)
    if isinstance(month, HttpResponse):
        return month
    dashboard = dashboards.department_dashboard(user=request.user, department=found, month=month)
    return _csv_response(dashboard, scope=dashboards.DEPARTMENT, key=found.slug, chart=chart)


# --- a service ----------------------------------------------------------------------------


@staff_only(INSIGHTS_READ)
def service(request: HttpRequest, service: str) -> HttpResponse:
    found = selectors.service_for_insights(user=request.user, slug=service)
    form, month = _month(request, scope=dashboards.SERVICE, key=found.slug)
    dashboard = dashboards.service_dashboard(user=request.user, service=found, month=month)
    department_page = selectors.may_see_department(user=request.user, department=found.department)
    return render(
        request,
        "insights/dashboard_service.html",
        {
            "dashboard": dashboard,
            "form": form,
            "service": found,
            "service_title": dashboards.service_title(found),
            "department_page": department_page,
            "may_see_authority": selectors.may_see_authority(request.user),
        },
    )


@staff_only(INSIGHTS_READ)
def service_csv(request: HttpRequest, service: str, chart: str) -> HttpResponse:
    found = selectors.service_for_insights(user=request.user, slug=service)
    month = _csv_month(request, scope=dashboards.SERVICE, key=found.slug)
    if isinstance(month, HttpResponse):
        return month
    dashboard = dashboards.service_dashboard(user=request.user, service=found, month=month)
    return _csv_response(dashboard, scope=dashboards.SERVICE, key=found.slug, chart=chart)

"""The public performance page (``/performance/``, anyone), its figures as CSV, and a
case officer's own workload (staff with ``cases.work``).

The public figures come from :mod:`ecitizen.insights.performance` (suppressed there);
these views only choose the month and present them. The workload is built from
aggregates of the officer's own assigned cases (``cases.selectors.officer_workload``):
no resident's name or reference appears on it.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from babel.numbers import format_decimal
from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ecitizen.cases.selectors import WORKLOAD_DUE_SOON_WORKING_DAYS, officer_workload
from ecitizen.cases.services import CASES_WORK
from ecitizen.core.access import public, staff_only
from ecitizen.core.processcache import Kept, babel_locale
from ecitizen.insights import performance as figures
from ecitizen.insights.dashboards import month_parse
from ecitizen.insights.presentation import performance_rows_html
from ecitizen.insights.services import InsightsError

#: A cell starting with one of these is a formula to a spreadsheet (CSV injection):
#: such a cell is written after an apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


_month_labels: Kept[str] = Kept()


def month_label(month: date) -> str:
    """``January 2026`` in the active language. Kept per language and month once
    written (the page's list writes every month with figures); the months asked for in
    an address are refused before 1900 and after this one, so what is kept stays small."""
    return _month_labels.get_or_make(
        (translation.get_language(), month.year, month.month),
        lambda: formats.date_format(month, "YEAR_MONTH_FORMAT"),
    )


class MonthForm(forms.Form):
    """The month whose figures the page shows: ``?month=YYYY-MM``, one of the months
    that have public figures (offered as a list)."""

    month = forms.CharField(label=gettext_lazy("Month"), required=False, widget=forms.Select)

    def __init__(self, *args: Any, months: list[date], today: date | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.months = months
        self.current = figures.current_month(today)
        field = self.fields["month"]
        field.widget.choices = [(m.strftime("%Y-%m"), month_label(m)) for m in months]
        field.required = True  # a list always has a choice: shown without "(optional)"
        field.error_messages["required"] = _("Choose a month")
        field.label_size = "s"  # type: ignore[attr-defined]
        self.use_required_attribute = False

    def clean_month(self) -> date:
        """The month named, read as the dashboards read theirs
        (:func:`ecitizen.insights.dashboards.month_parse`: ``YYYY-MM``, from 1900 on), then
        refused when it is in the future, not ended or without public figures."""
        text = str(self.cleaned_data.get("month") or "")
        try:
            month = month_parse(text, today=self.current)
        except InsightsError as error:
            if error.code == "future_month":
                raise forms.ValidationError(_("The month must not be in the future")) from None
            raise forms.ValidationError(
                _("Enter the month as a year and a month, for example %(example)s")
                % {"example": (self.months[0] if self.months else self.current).strftime("%Y-%m")}
            ) from None
        if month == self.current:
            raise forms.ValidationError(
                _("The figures for %(month)s are published once the month has ended")
                % {"month": month_label(month)}
            )
        if month not in self.months:
            raise forms.ValidationError(
                _("There are no figures for %(month)s. Choose a month from the list")
                % {"month": month_label(month)}
            )
        return month


def _chosen_month(request: HttpRequest, months: list[date]) -> tuple[MonthForm, date | None]:
    """The month form and the month it chose: the newest public month when the address
    names none; ``None`` when the address names one that cannot be shown (the form then
    says why)."""
    if "month" in request.GET:
        form = MonthForm(request.GET, months=months)
        if form.is_valid():
            return form, form.cleaned_data["month"]
        return form, None
    latest = months[0] if months else None
    initial = {"month": latest.strftime("%Y-%m")} if latest else {}
    return MonthForm(initial=initial, months=months), latest


@public
@require_GET
def performance(request: HttpRequest) -> HttpResponse:
    """The four KPIs and the volume of every listed service for one month (the newest
    with figures unless ``?month=YYYY-MM`` chooses another). A month that cannot be
    shown (badly written, in the future, not ended, without figures) is a 400 with the
    reason beside the month list."""
    services = figures.public_services()
    months = figures.public_months()
    form, month = _chosen_month(request, months)
    rows = figures.performance_rows(months=[month], services=services) if month else []
    return render(
        request,
        "insights/public_performance.html",
        {
            "form": form,
            "month": month,
            "month_text": month_label(month) if month else "",
            "has_months": bool(months),
            "rows": performance_rows_html(rows),
            "threshold": figures.small_count_threshold(),
            "csv_query": f"?month={month:%Y-%m}" if month else "",
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def csv_safe(value: str) -> str:
    """``value`` as a spreadsheet shows it as text: a cell that would start a formula
    (``=``, ``+``, ``-``, ``@``, a tab or a line end) gets a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@public
@require_GET
def performance_csv(request: HttpRequest) -> HttpResponse:
    """The figures of the page's month as CSV (columns of
    :data:`ecitizen.insights.performance.COLUMNS`; the marks ``<5``, ``[c]`` and ``[x]``
    for figures not published), every cell safe from formula injection. The month is
    chosen as on the page; a month that cannot be shown is a 400 with the reason."""
    months = figures.public_months()
    form, month = _chosen_month(request, months)
    if form.is_bound and not form.is_valid():
        return HttpResponse(
            " ".join(str(e) for e in form.errors["month"]) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.name for column in figures.COLUMNS])
    for row in figures.performance_rows(months=[month]) if month else []:
        cells = figures.record(row)
        writer.writerow([csv_safe(cells[column.name]) for column in figures.COLUMNS])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"service-kpis-{month:%Y-%m}.csv" if month else "service-kpis.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_only(CASES_WORK)
@require_GET
def workload(request: HttpRequest) -> HttpResponse:
    """The signed-in official's own workload: counts of their assigned cases (open,
    overdue, due soon, decided this month and last) and the median working days to a
    decision, with links to the same cases in their queue."""
    found = officer_workload(user=request.user)  # type: ignore[arg-type]
    median = found.median_days_to_decision
    return render(
        request,
        "insights/workload.html",
        {
            "workload": found,
            "due_soon_days": WORKLOAD_DUE_SOON_WORKING_DAYS,
            "this_month_text": month_label(found.this_month),
            "last_month_text": month_label(found.last_month),
            "median_count": round(median) if median is not None else 0,
            "median_text": (
                str(format_decimal(median, format="#,##0.#", locale=babel_locale()))
                if median is not None
                else ""
            ),
        },
    )

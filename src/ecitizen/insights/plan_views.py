"""The officials' planning pages: a service's demand forecast and staffing advice, what
the advice starts from (staffing and handling times), the costs the cost per transaction
is built from, and computing a month's figures again.

Access: every page is for officials holding its capability (``insights.read`` for the
forecast, ``insights.plan`` for staffing and computing again, ``insights.costs`` for
costs), and a service outside the official's remit for that capability answers 404, like
a service that does not exist. The hourly cost of roles is set authority-wide only.

Forms post, then redirect (a reload does not post again); each form carries a one-off key,
so the same submission sent twice is done once. A refused value re-renders the form with
the GOV.UK error summary, what was typed kept, and nothing changed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ecitizen.accounts.selectors import remit_covers, remit_filter
from ecitizen.catalogue.selectors import services_published
from ecitizen.catalogue.spec import localised
from ecitizen.core import charts
from ecitizen.core.access import holds_capability, staff_only
from ecitizen.core.errors import DomainError
from ecitizen.core.forms import submission_already_done, submission_remember
from ecitizen.insights import planning
from ecitizen.insights.models import ActionTime, RoleHourlyCost, ServiceMonthCost, ServiceStaffing
from ecitizen.insights.services import (
    INSIGHTS_COSTS,
    INSIGHTS_PLAN,
    INSIGHTS_READ,
    InsightsError,
    costs,
)
from ecitizen.insights.staff_forms import (
    ActionTimesForm,
    RecomputeForm,
    RoleCostsForm,
    ServiceCostForm,
    StaffingForm,
    SubmissionForm,
    month_from_text,
)
from ecitizen.payments.money import format_money

#: The session key of the submissions already acted on: one-off key -> where it led.
SUBMITTED_SESSION = "insights.submitted"
#: Months of costs listed on a service's costs page.
COST_MONTHS_SHOWN = 24


# --- helpers -------------------------------------------------------------------------------


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _already_done(request: HttpRequest, form: SubmissionForm) -> HttpResponse | None:
    """Where the first of the same submission led, when this one was sent again."""
    return submission_already_done(request, form, session_key=SUBMITTED_SESSION)


def _remember(request: HttpRequest, form: SubmissionForm, url: str) -> None:
    submission_remember(request, form, url, session_key=SUBMITTED_SESSION)


def _done(request: HttpRequest, form: SubmissionForm, url: str, message: str) -> HttpResponse:
    _remember(request, form, url)
    messages.success(request, message)
    return redirect(url)


def _services_in_remit(user: Any, capability: str) -> QuerySet[Any]:
    """Published services (listed or not) of the departments where ``user`` holds
    ``capability`` (every department for an authority-wide assignment)."""
    return services_published(listed=None).filter(
        remit_filter(user, capability, department_field="department", ward_field=None)
    )


def _service(request: HttpRequest, slug: str, capability: str) -> Any:
    """The published service ``slug`` if ``capability`` covers its department, else 404."""
    service = services_published(listed=None).filter(slug=slug).first()
    if service is None or not remit_covers(
        request.user, capability, departments=service.department_id, ward_id=None
    ):
        raise Http404
    return service


def service_name(service: Any) -> str:
    """The service's title in the reader's language."""
    version = service.current_version
    return localised(version.definition["title"]) if version else str(service.slug)


def month_label(month: date) -> str:
    """ "April 2025", in the reader's language."""
    return str(formats.date_format(month, "YEAR_MONTH_FORMAT"))


def _role_labels() -> dict[str, str]:
    return {code: str(label) for code, label in costs.staff_roles()}


def _put_error(form: Any, error: DomainError, fields: dict[str, str] | None = None) -> None:
    """A service's refusal, shown on the form field it is about (else at the top)."""
    field = getattr(error, "field", "") or ""
    field = (fields or {}).get(field, field)
    form.add_error(field if field in form.fields else None, str(error.message))


# --- costs -----------------------------------------------------------------------------------


@dataclass
class ServiceCostRow:
    service: Any
    name: str
    department: str
    latest: ServiceMonthCost | None
    latest_label: str
    fixed: str
    last_month_missing: bool


def _last_month(today: date) -> date:
    return date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)


@staff_only(INSIGHTS_COSTS)
def costs_home(request: HttpRequest) -> HttpResponse:
    """The hourly cost of each role, and the services whose costs the official enters,
    with the last month entered and whether last month's costs are missing."""
    from django.utils import timezone

    services = list(_services_in_remit(request.user, INSIGHTS_COSTS))
    latest: dict[int, ServiceMonthCost] = {}
    for row in ServiceMonthCost.objects.filter(service__in=services).order_by("service", "-month"):
        latest.setdefault(row.service_id, row)
    last_month = _last_month(timezone.localdate())
    rows = []
    for service in services:
        entry = latest.get(service.pk)
        rows.append(
            ServiceCostRow(
                service=service,
                name=service_name(service),
                department=str(service.department),
                latest=entry,
                latest_label=month_label(entry.month) if entry else "",
                fixed=format_money(entry.fixed_costs) if entry else "",
                last_month_missing=entry is None or entry.month < last_month,
            )
        )
    rows.sort(key=lambda r: (r.department, r.name))
    return render(
        request,
        "insights/plan_costs_home.html",
        {
            "rows": rows,
            "roles": _role_cost_rows(),
            "may_set_roles": costs.may_set_role_costs(request.user),
            "may_recompute": holds_capability(request.user, INSIGHTS_PLAN),
            "last_month": month_label(last_month),
        },
    )


def _roles_in_use() -> list[tuple[str, str]]:
    """(code, label) of the roles the published workflows, the handling times or the
    hourly costs name, in the registry's order."""
    used: set[str] = set(RoleHourlyCost.objects.values_list("role", flat=True))
    used |= set(ActionTime.objects.values_list("role", flat=True))
    for service in services_published(listed=None):
        for action in costs.official_actions(service):
            used.update(action["by"]["roles"])
    return [(code, label) for code, label in _role_labels().items() if code in used]


def _role_cost_rows() -> list[dict[str, Any]]:
    current = {row.role: row for row in RoleHourlyCost.objects.all()}
    return [
        {
            "role": code,
            "label": label,
            "cost": format_money(current[code].hourly_cost) if code in current else "",
        }
        for code, label in _roles_in_use()
    ]


@staff_only(INSIGHTS_COSTS)
@require_http_methods(["GET", "POST"])
def role_costs(request: HttpRequest) -> HttpResponse:
    """Set the hourly cost of each role (authority-wide administrators only: others 404)."""
    if not costs.may_set_role_costs(request.user):
        raise Http404
    current = {row.role: row.hourly_cost for row in RoleHourlyCost.objects.all()}
    form = RoleCostsForm(_posted(request), roles=_roles_in_use(), current=current)
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            role = ""
            try:
                with transaction.atomic():  # all of them or none
                    for role, amount in form.costs().items():
                        costs.role_cost_set(role=role, hourly_cost=amount, actor=request.user)
            except DomainError as error:
                name = form.field_name(role)
                form.add_error(name if name in form.fields else None, str(error.message))
            else:
                return _done(
                    request,
                    form,
                    reverse("staff:insights_costs_home"),
                    _("The hourly costs are saved."),
                )
    return render(request, "insights/plan_role_costs.html", {"form": form}, status=status)


def _cost_lines(service: Any) -> list[dict[str, Any]]:
    """What the staff part of the service's cost is built from: each official action's
    handling time and the hourly cost of its role (missing ones flagged)."""
    times = {t.action: t for t in ActionTime.objects.filter(service=service)}
    rates = {r.role: r.hourly_cost for r in RoleHourlyCost.objects.all()}
    labels = _role_labels()
    lines = []
    for action in costs.official_actions(service):
        time = times.get(action["id"])
        role = time.role if time else str(action["by"]["roles"][0])
        rate = rates.get(role)
        per_action = (
            (time.minutes * rate / 60).quantize(Decimal("0.01"))
            if time is not None and rate is not None
            else None
        )
        lines.append(
            {
                "action": localised(action["label"]),
                "minutes": time.minutes if time else None,
                "edited": bool(time and time.edited),
                "role": labels.get(role, role),
                "rate": format_money(rate) if rate is not None else "",
                "per_action": format_money(per_action) if per_action is not None else "",
            }
        )
    return lines


@staff_only(INSIGHTS_COSTS)
@require_http_methods(["GET", "POST"])
def service_costs(request: HttpRequest, service: str) -> HttpResponse:
    """Enter a service's fixed and start-up costs of a month (``?month=2025-04`` opens a
    month already entered), and the months entered so far."""
    found = _service(request, service, INSIGHTS_COSTS)
    initial: dict[str, Any] = {}
    chosen = month_from_text(str(request.GET.get("month", "")))
    if chosen is not None:
        entry = ServiceMonthCost.objects.filter(service=found, month=chosen).first()
        initial = {"month": chosen}
        if entry is not None:
            initial.update(
                fixed_costs=entry.fixed_costs, startup_costs=entry.startup_costs, note=entry.note
            )
    form = ServiceCostForm(_posted(request), initial=initial)
    status = 200
    url = reverse("staff:insights_costs", args=[found.slug])
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = costs.service_cost_set(
                    service=found,
                    month=data["month"],
                    fixed_costs=data["fixed_costs"],
                    startup_costs=data["startup_costs"],
                    note=data["note"] or "",
                    actor=request.user,
                )
            except DomainError as error:
                _put_error(form, error)
            else:
                return _done(
                    request,
                    form,
                    url,
                    _("The costs of %(month)s are saved.") % {"month": month_label(saved.month)},
                )
    months = list(ServiceMonthCost.objects.filter(service=found)[:COST_MONTHS_SHOWN])
    return render(
        request,
        "insights/plan_service_costs.html",
        {
            "service": found,
            "name": service_name(found),
            "form": form,
            "months": [
                {
                    "row": row,
                    "label": month_label(row.month),
                    "key": f"{row.month:%Y-%m}",
                    "fixed": format_money(row.fixed_costs),
                    "startup": format_money(row.startup_costs),
                }
                for row in months
            ],
            "lines": _cost_lines(found),
            "may_plan": costs.may_plan(request.user, found),
            "may_set_roles": costs.may_set_role_costs(request.user),
        },
        status=status,
    )


# --- staffing and handling times -----------------------------------------------------------


def _times_form(service: Any, data: Any) -> ActionTimesForm:
    actions = costs.official_actions(service)
    times = {t.action: t for t in ActionTime.objects.filter(service=service)}
    return ActionTimesForm(
        data,
        actions=[(a["id"], localised(a["label"])) for a in actions],
        roles=costs.staff_roles(),
        current={a: (t.minutes, t.role) for a, t in times.items()},
        defaults={a["id"]: str(a["by"]["roles"][0]) for a in actions},
        prefix="times",
    )


def _staffing_post(
    request: HttpRequest, service: Any, form: StaffingForm, url: str
) -> HttpResponse | None:
    """Save the staffing form; ``None`` when it has errors (now on the form)."""
    again = _already_done(request, form)
    if again is not None:
        return again
    if not form.is_valid():
        return None
    try:
        costs.staffing_set(service=service, actor=request.user, **form.service_values())
    except DomainError as error:
        form.add_error(form.field_for(getattr(error, "field", "")), str(error.message))
        return None
    return _done(request, form, url, _("The staffing is saved."))


def _times_post(
    request: HttpRequest, service: Any, form: ActionTimesForm, url: str
) -> HttpResponse | None:
    """Save the handling times that changed (all or none); ``None`` when the form has
    errors (now on the form). A time entered as it already is stays as it is: a measured
    time is not marked edited by saving the page."""
    again = _already_done(request, form)
    if again is not None:
        return again
    if not form.is_valid():
        return None
    current = {t.action: t for t in ActionTime.objects.filter(service=service)}
    action = ""
    try:
        with transaction.atomic():
            for action, (minutes, role) in form.times().items():
                row = current.get(action)
                if row is not None and (row.minutes, row.role) == (minutes, role):
                    continue
                costs.action_time_set(
                    service=service, action=action, minutes=minutes, role=role, actor=request.user
                )
    except DomainError as error:
        field = f"{getattr(error, 'field', '') or 'minutes'}_{action}"
        form.add_error(field if field in form.fields else None, str(error.message))
        return None
    return _done(request, form, url, _("The handling times are saved."))


@staff_only(INSIGHTS_PLAN)
@require_http_methods(["GET", "POST"])
def staffing_edit(request: HttpRequest, service: str) -> HttpResponse:
    """What the staffing advice starts from: officers, hours and the counter (one form,
    ``part=staffing``), and the handling time of each official action, measured or
    edited (another, ``part=times``). An edited time can go back to the measured one
    (``part=reset``)."""
    found = _service(request, service, INSIGHTS_PLAN)
    url = reverse("staff:insights_staffing", args=[found.slug])
    part = str(request.POST.get("part", "")) if request.method == "POST" else ""
    staffing = ServiceStaffing.objects.filter(service=found).first()
    initial = StaffingForm.initial_for(staffing or ServiceStaffing(officers=Decimal("0")))
    if staffing is None:
        initial.pop("officers")  # the other boxes show the usual values; this one is unknown
    staffing_form = StaffingForm(
        request.POST if part == "staffing" else None, initial=initial, prefix="staffing"
    )
    times_form = _times_form(found, request.POST if part == "times" else None)
    done: HttpResponse | None = None
    if part == "staffing":
        done = _staffing_post(request, found, staffing_form, url)
    elif part == "times":
        done = _times_post(request, found, times_form, url)
    elif part == "reset":
        try:
            costs.action_time_reset(
                service=found, action=str(request.POST.get("action", "")), actor=request.user
            )
        except InsightsError:
            raise Http404 from None
        messages.success(request, _("The measured handling time is used again."))
        done = redirect(url)
    elif request.method == "POST":
        done = redirect(url)
    if done is not None:
        return done
    times = {t.action: t for t in ActionTime.objects.filter(service=found)}
    rows = [
        {
            "action": action,
            "label": label,
            "minutes": minutes,
            "role": role,
            "time": times.get(action),
        }
        for action, label, minutes, role in times_form.rows()
    ]
    return render(
        request,
        "insights/plan_staffing.html",
        {
            "service": found,
            "name": service_name(found),
            "form": staffing_form,
            "staffing_form": staffing_form,
            "times_form": times_form,
            "rows": rows,
            "has_staffing": staffing is not None,
            "session_gap": costs.SESSION_GAP_MINUTES,
        },
        status=400 if part in {"staffing", "times"} else 200,
    )


# --- computing a month's figures again ----------------------------------------------------


def _safe_next(request: HttpRequest, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("staff:insights")


@staff_only(INSIGHTS_PLAN)
@require_http_methods(["GET", "POST"])
def recompute(request: HttpRequest) -> HttpResponse:
    """Compute the figures of a month again (this month or a past one), from the events:
    after costs or handling times were entered for it, or to check a figure."""
    from ecitizen.insights.services import kpis

    form = RecomputeForm(_posted(request), initial={"next": str(request.GET.get("next", "") or "")})
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            month = form.cleaned_data["month"]
            try:
                kpis.kpi_month_recompute(month=month, actor=request.user)
            except DomainError as error:
                form.add_error("month", str(error.message))
            else:
                return _done(
                    request,
                    form,
                    _safe_next(request, form.cleaned_data.get("next") or ""),
                    _("The figures of %(month)s are computed again.")
                    % {"month": month_label(month)},
                )
    return render(request, "insights/plan_recompute.html", {"form": form}, status=status)


# --- forecast ---------------------------------------------------------------------------------


def _count(value: float) -> str:
    """A forecast count in the reader's language, to the nearest whole number."""
    return str(formats.number_format(round(value), 0, use_l10n=True, force_grouping=True))


def _figure(value: float) -> str:
    """A chart's value: one decimal at most (forecasts of small daily counts)."""
    return _one_decimal(round(float(value), 1))


def _one_decimal(value: float | None) -> str:
    if value is None:
        return ""
    places = 0 if float(value).is_integer() else 1
    return str(formats.number_format(value, places, use_l10n=True, force_grouping=True))


def series_slug(item: Any) -> str:
    """``applications-week``: a series' name in its CSV's address."""
    return f"{item.series}-{item.frequency}"


def _forecast_records(item: Any) -> list[dict[str, Any]]:
    """The chart's and the CSV's rows: the recent actuals, then the forecast."""
    records: list[dict[str, Any]] = [
        {"date": point.day, "actual": point.value} for point in item.history
    ]
    records += [
        {
            "date": point.day,
            "mean": point.mean,
            "lo80": point.lo80,
            "hi80": point.hi80,
            "lo95": point.lo95,
            "hi95": point.hi95,
        }
        for point in item.points
    ]
    return records


@dataclass
class ForecastPanel:
    """One series on the forecast page: what ``insights/_chart.html`` shows (``anchor``,
    ``chart``, ``summary``, ``note``, ``csv_url``) and the series itself."""

    item: Any
    slug: str
    chart: charts.Chart | None
    summary: str
    csv_url: str
    heading: str
    plain: str
    note: str = ""

    @property
    def anchor(self) -> str:
        return f"forecast-{self.slug}"


def _plain_error(item: Any) -> str:
    """What the MASE means, in words."""
    if item.status != "ok" or item.mase is None:
        return ""
    naive = (
        _("the same weekday the week before")
        if item.frequency == "day"
        else _("the same week a year before, or the week before with less than a year of history")
    )
    if item.baseline_chosen:
        return _(
            "No model forecast better than the seasonal naive forecast, which repeats %(naive)s, "
            "so that is what is shown."
        ) % {"naive": naive}
    better = round((1 - item.mase) * 100)
    return _(
        "In the backtest, its errors were %(percent)s%% smaller than those of the seasonal "
        "naive forecast, which repeats %(naive)s."
    ) % {"percent": better, "naive": naive}


def _summary(item: Any) -> str:
    means = [point.mean for point in item.points]
    recent = [point.value for point in item.history][-(91 if item.frequency == "day" else 13) :]
    values = {
        "low": _count(min(means)),
        "high": _count(max(means)),
        "recent": _count(sum(recent) / len(recent)) if recent else "",
    }
    if item.frequency == "day":
        text = _("Expected over the next 12 weeks: %(low)s to %(high)s a day.") % values
        if recent:
            text += " " + _("The last 13 weeks averaged %(recent)s a day.") % values
        return text
    text = _("Expected over the next 12 weeks: %(low)s to %(high)s a week.") % values
    if recent:
        text += " " + _("The last 13 weeks averaged %(recent)s a week.") % values
    return text


def _panel(service: Any, item: Any) -> ForecastPanel:
    slug = series_slug(item)
    heading = _("%(series)s, %(frequency)s") % {
        "series": item.series_label,
        "frequency": str(item.frequency_label).lower(),
    }
    chart = None
    summary = ""
    if item.status == "ok" and item.points:
        chart = charts.band_chart(
            records=_forecast_records(item),
            time_field="date",
            time_kind="date",
            lines=["actual", "mean"],
            bands=[
                charts.Band(_("%(level)s%% interval") % {"level": 95}, "lo95", "hi95"),
                charts.Band(_("%(level)s%% interval") % {"level": 80}, "lo80", "hi80"),
            ],
            title=_("%(heading)s: recorded and forecast") % {"heading": heading},
            id_prefix=f"chart-{slug}",
            labels={
                "date": _("Week beginning") if item.frequency == "week" else _("Day"),
                "actual": _("Recorded"),
                "mean": _("Forecast"),
            },
            value_format=_figure,
            marker=item.points[0].day,
            marker_label=_("Forecast"),
        )
        summary = _summary(item)
    return ForecastPanel(
        item=item,
        slug=slug,
        chart=chart,
        summary=summary,
        csv_url=reverse("staff:insights_forecast_csv", args=[service.slug, slug]),
        heading=heading,
        plain=_plain_error(item),
    )


def _staffing_rows(advice: Any) -> list[dict[str, Any]]:
    return [
        {
            "number": week.number,
            "week": week.week,
            "volume": _count(week.volume),
            "volume_high": _count(week.volume_high),
            "needed": _one_decimal(week.officers_needed),
            "needed_high": _one_decimal(week.officers_needed_high),
            "available": _one_decimal(week.officers_available),
            "gap": week.gap,
            "gap_text": _one_decimal(abs(week.gap)) if week.gap is not None else "",
            "counter_visits": _count(week.counter_visits)
            if week.counter_visits is not None
            else "",
            "counter_agents": week.counter_agents,
        }
        for week in advice.weeks
    ]


@staff_only(INSIGHTS_READ)
def forecast(request: HttpRequest, service: str) -> HttpResponse:
    """The service's demand forecasts (applications, street reports, counter visits; by
    week and by day) with their 80% and 95% intervals and their measured error against the
    seasonal naive forecast, and the staffing advice of the next 12 weeks."""
    found = _service(request, service, INSIGHTS_READ)
    items = planning.forecast_view(service=found)
    advice = planning.staffing_advice(service=found)
    labels = {a["id"]: localised(a["label"]) for a in costs.official_actions(found)}
    roles = _role_labels()
    return render(
        request,
        "insights/plan_forecast.html",
        {
            "service": found,
            "name": service_name(found),
            "panels": [_panel(found, item) for item in items],
            "advice": advice,
            "weeks": _staffing_rows(advice) if advice else [],
            "actions": [
                {
                    "label": labels.get(action.action, action.action),
                    "role": roles.get(action.role, action.role),
                    "minutes": _one_decimal(action.minutes),
                    "times": _one_decimal(action.times_per_case),
                    "per_case": _one_decimal(action.minutes_per_case),
                }
                for action in (advice.actions if advice else ())
            ],
            "per_case": _one_decimal(advice.minutes_per_case) if advice else "",
            "productive_hours": _one_decimal(advice.productive_hours) if advice else "",
            "may_plan": costs.may_plan(request.user, found),
        },
    )


@staff_only(INSIGHTS_READ)
def forecast_csv(request: HttpRequest, service: str, series: str) -> HttpResponse:
    """One series as CSV: ``date``, ``recorded`` (the recent actuals), ``forecast`` and
    the bounds of its 80% and 95% intervals, one row per day or week (its Monday)."""
    found = _service(request, service, INSIGHTS_READ)
    item = next(
        (i for i in planning.forecast_view(service=found) if series_slug(i) == series), None
    )
    if item is None:
        raise Http404
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", "recorded", "forecast", "lo80", "hi80", "lo95", "hi95"])

    def number(value: Any) -> str:
        return "" if value is None else f"{float(value):.3f}".rstrip("0").rstrip(".")

    for record in _forecast_records(item):
        writer.writerow(
            [
                record["date"].isoformat(),
                *(
                    number(record.get(k))
                    for k in ("actual", "mean", "lo80", "hi80", "lo95", "hi95")
                ),
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.slug}-{series}-forecast.csv"'
    return response

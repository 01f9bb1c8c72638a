"""The nightly forecasts: demand series read from the analytical store, forecast by
:mod:`ecitizen.insights.forecasting`, written as ``Forecast`` rows; then the weeks that
fell outside their forecast, flagged (``Anomaly``) and notified to the services' managers.

**The series** (daily counts up to yesterday: today is not over), per published service,
from the store's ``usage`` table (``ServiceUsage`` copied through ``cases.selectors``):

- ``applications``: completions (``kind = completed``) of a service that is not a street
  report service, except the end pages that told the person they were not eligible
  (``outcome = not_eligible``): the applications actually submitted, the cases to work;
- ``reports``: the same for the street-report services (``is_report``);
- ``counter``: completions at the counter (``channel = counter``), eligible or not: a
  visit is a visit, whatever its outcome.

A series exists from its first event; a service with no event in a series has none.
Each series is forecast daily and weekly (ISO weeks; only complete weeks), with the
platform's holidays (weekdays that are not business days, :mod:`ecitizen.cases.calendar`)
as the adjustment :mod:`~ecitizen.insights.forecasting` describes. A series too short
gets a ``short`` row saying how many points it has and needs. Rows are replaced in place
(``update_or_create`` on service, series and frequency): running the job twice gives the
same rows. Rows of series that no longer exist (a service withdrawn) are deleted.

**Anomalies: against the forecast stored before the week.** Each weekly row keeps in
``backtest["ahead"]`` the forecast of the week after its history, as first stored
(``{"<Monday>": {"mean", "lo80", "hi80", "lo95", "hi95", "made"}}``, the last 13 weeks):
the one-step-ahead forecast made before the week began, never rewritten by a later run.
Each run looks at the last complete week (the Monday before this week's): when the
count recorded in it lies outside the 95% interval stored for it, an ``Anomaly`` row is
written (once per service, series and week) and the managers of the service's department
(role ``service_manager`` in the department without a ward limit: the message links to
the forecast page, which a ward-limited assignment cannot open) get the
``insights_anomaly`` message (email and inbox), once:
``notified_at`` is set when it went to at least one manager. A week with no stored
forecast (the first run, or a series that was too short) is not judged.

**Handling times for the staffing advice.** Each weekly ``applications`` or ``reports``
row also keeps ``backtest["actions_per_case"]``: how many times a case of the service
passed each workflow action over the last 182 days (the actions ÷ the cases submitted),
which :mod:`ecitizen.insights.planning` uses to weight the handling minutes of each
action (``ActionTime``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.selectors import staff_members
from ecitizen.cases.calendar import is_business_day
from ecitizen.catalogue.selectors import services_published
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.insights.forecasting import (
    SeriesResult,
    daily_series,
    forecast_many,
    interval_contains,
    week_monday,
)
from ecitizen.insights.models import Anomaly, Forecast
from ecitizen.insights.store import store_open, store_sync
from ecitizen.notifications.selectors import notification_language
from ecitizen.notifications.services import notification_send

#: The role notified of an anomaly (in the service's department).
MANAGER_ROLE = "service_manager"
#: Days of case history the action frequencies are measured over.
ACTIONS_WINDOW_DAYS = 182
#: Weeks of one-step-ahead forecasts kept in a weekly row.
AHEAD_KEPT_WEEKS = 13
SERIES = ("applications", "reports", "counter")
FREQUENCIES = ("day", "week")


@dataclass(frozen=True)
class SeriesLine:
    """One series' outcome, as the command prints it."""

    service: str
    series: str
    frequency: str
    status: str
    model: str
    mase: float | None
    history_points: int
    needed_points: int


@dataclass
class ForecastRefreshResult:
    """What one run did: a line per series (by service slug, series, frequency), how
    many were forecast (not short), the anomalies flagged and notified this run."""

    series: list[SeriesLine] = field(default_factory=list)
    forecast: int = 0
    anomalies: int = 0
    notified: int = 0


def platform_holiday(day: date) -> bool:
    """A holiday for the forecasts: a weekday that is not a business day (weekends are
    the weekly pattern's business)."""
    return day.weekday() < 5 and not is_business_day(day)


@dataclass
class _Counts:
    """Daily counts read from the store, per (service id, series)."""

    daily: dict[tuple[int, str], dict[date, float]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    actions_per_case: dict[int, dict[str, float]] = field(default_factory=dict)
    cases_in_window: dict[int, int] = field(default_factory=dict)


def _read(today: date) -> _Counts:
    """Sync the store and read the daily series and the action frequencies."""
    midnight = datetime.combine(today, datetime.min.time())
    since = midnight - timedelta(days=ACTIONS_WINDOW_DAYS)
    counts = _Counts()
    with store_open() as connection:
        store_sync(connection)
        rows = connection.execute(
            """
            SELECT u.service_id, s.is_report, CAST(u.occurred_at AS DATE) AS day,
                   count(*) FILTER (WHERE coalesce(u.outcome, '') <> 'not_eligible'),
                   count(*) FILTER (WHERE u.channel = 'counter')
            FROM usage u JOIN services s ON s.id = u.service_id
            WHERE u.kind = 'completed' AND u.occurred_at < ?
            GROUP BY 1, 2, 3
            """,
            [midnight],
        ).fetchall()
        actions = connection.execute(
            """
            SELECT a.service_id, a.action, count(*) FROM actions a
            JOIN services s ON s.id = a.service_id
            WHERE a.occurred_at >= ? AND a.occurred_at < ? GROUP BY 1, 2
            """,
            [since, midnight],
        ).fetchall()
        cases = connection.execute(
            """
            SELECT service_id, count(*) FROM cases
            WHERE submitted_at >= ? AND submitted_at < ? GROUP BY 1
            """,
            [since, midnight],
        ).fetchall()
    for service_id, is_report, day, submitted, counter in rows:
        if submitted:
            counts.daily[(service_id, "reports" if is_report else "applications")][day] = float(
                submitted
            )
        if counter:
            counts.daily[(service_id, "counter")][day] = float(counter)
    submitted_cases = {service_id: int(n) for service_id, n in cases}
    counts.cases_in_window = submitted_cases
    for service_id, action, n in actions:
        if submitted_cases.get(service_id):
            counts.actions_per_case.setdefault(service_id, {})[str(action)] = round(
                int(n) / submitted_cases[service_id], 3
            )
    return counts


def _frame(counts: _Counts, yesterday: date) -> pd.DataFrame:
    """The daily frame for :func:`forecast_many`: one row per day from each series' first
    event to yesterday."""
    parts = []
    for (service_id, series), days in counts.daily.items():
        filled = daily_series(days, start=min(days), end=yesterday)
        parts.append(
            pd.DataFrame(
                {"unique_id": f"{service_id}|{series}", "ds": filled.index, "y": filled.to_numpy()}
            )
        )
    if not parts:
        return pd.DataFrame({"unique_id": [], "ds": [], "y": []})
    return pd.concat(parts, ignore_index=True)


def _week_total(days: dict[date, float], monday: date) -> float | None:
    """The count of a complete week (``None`` when the series starts after its Monday)."""
    if not days or min(days) > monday:
        return None
    return float(sum(days.get(monday + timedelta(days=k), 0.0) for k in range(7)))


def _managers(department_id: int) -> list[Any]:
    """The active service managers whose assignment covers the whole department: the
    department's, **without a ward limit**. A ward-limited service manager is not told:
    the notice links to the service's forecast page, which only a department-wide
    assignment opens (a forecast is of the whole service, in no ward)."""
    return [
        user
        for user in staff_members(department_ids=[department_id])
        if user.is_active
        and any(
            assignment.role == MANAGER_ROLE
            and assignment.department_id == department_id
            and assignment.jurisdiction_id is None
            for assignment in user.role_assignments.all()
        )
    ]


def _notify(anomaly: Anomaly, service: Any) -> int:
    """Send the anomaly to the service's managers; the number of managers written to."""
    spec = ServiceSpec(service.current_version.definition)
    managers = _managers(service.department_id)
    for manager in managers:
        notification_send(
            recipient=manager,
            event="insights_anomaly",
            context={
                "service": spec.title(notification_language(manager)),
                "series": Forecast.Series(anomaly.series).label,
                "week": anomaly.week,
                "observed": round(anomaly.observed),
                "expected": round(anomaly.expected),
                "low": round(anomaly.low95),
                "high": round(anomaly.high95),
                "url": reverse("staff:insights_forecast", args=[service.slug]),
            },
        )
    return len(managers)


def _ahead(previous: dict[str, Any], result: SeriesResult | None, today: date) -> dict[str, Any]:
    """The one-step-ahead forecasts kept in a weekly row: the previous ones of the last
    weeks, plus this run's forecast of the next week unless one was stored already."""
    oldest = (week_monday(today) - timedelta(weeks=AHEAD_KEPT_WEEKS)).isoformat()
    kept = {week: point for week, point in previous.items() if week >= oldest}
    if result is not None and result.status == "ok" and result.points:
        first = result.points[0].as_dict()
        week = first.pop("date")
        if week not in kept:
            kept[week] = {**first, "made": today.isoformat()}
    return dict(sorted(kept.items()))


def forecasts_refresh(
    *, today: date | None = None, frequencies: tuple[str, ...] = FREQUENCIES
) -> ForecastRefreshResult:
    """Forecast every series of every published service from the events before ``today``
    (default: the local date), write the ``Forecast`` rows, flag and notify the last
    complete week when it fell outside its stored 95% interval. Idempotent.

    ``frequencies`` (some of :data:`FREQUENCIES`) limits the run to those series: the rows
    of the others are left as they are. The weekly series keep the one-step-ahead
    forecasts that a later run judges its last week against."""
    today = today or timezone.localdate()
    yesterday = today - timedelta(days=1)
    judged_week = week_monday(today) - timedelta(weeks=1)
    counts = _read(today)
    frame = _frame(counts, yesterday)
    results: dict[str, dict[Any, SeriesResult]] = {}
    for frequency in frequencies:
        results[frequency] = (
            forecast_many(frame, freq=frequency, holidays=platform_holiday)  # type: ignore[arg-type]
            if not frame.empty
            else {}
        )

    services = {service.pk: service for service in services_published(listed=None)}
    outcome = ForecastRefreshResult()
    with transaction.atomic():
        previous = {
            (row.service_id, row.series): row
            for row in Forecast.objects.select_for_update().filter(frequency="week")
        }
        kept: set[tuple[int, str, str]] = set()
        for (service_id, series), days in sorted(counts.daily.items()):
            service = services.get(service_id)
            if service is None:
                continue
            uid = f"{service_id}|{series}"
            before = previous.get((service_id, series))
            ahead_before = (before.backtest or {}).get("ahead", {}) if before else {}
            outcome.anomalies += _judge(
                service=service,
                series=series,
                days=days,
                stored=ahead_before.get(judged_week.isoformat()),
                week=judged_week,
                outcome=outcome,
            )
            for frequency in frequencies:
                result = results[frequency][uid]
                backtest = result.backtest_json() if result.status == "ok" else {}
                if frequency == "week":
                    backtest["ahead"] = _ahead(ahead_before, result, today)
                    if series in ("applications", "reports"):
                        backtest["actions_per_case"] = counts.actions_per_case.get(service_id, {})
                        backtest["cases_in_window"] = counts.cases_in_window.get(service_id, 0)
                        backtest["actions_window_days"] = ACTIONS_WINDOW_DAYS
                Forecast.objects.update_or_create(
                    service=service,
                    series=series,
                    frequency=frequency,
                    defaults={
                        "status": result.status,
                        "history_points": result.history_points,
                        "needed_points": result.needed_points,
                        "model": result.model,
                        "mase": result.mase,
                        "backtest": backtest,
                        "points": result.points_json(),
                        "history": result.history_json(),
                        "computed_at": timezone.now(),
                    },
                )
                kept.add((service_id, series, frequency))
                outcome.series.append(
                    SeriesLine(
                        service=service.slug,
                        series=series,
                        frequency=frequency,
                        status=result.status,
                        model=result.model,
                        mase=result.mase,
                        history_points=result.history_points,
                        needed_points=result.needed_points,
                    )
                )
                if result.status == "ok":
                    outcome.forecast += 1
        stale = [
            pk
            for pk, service_id, series, frequency in Forecast.objects.values_list(
                "pk", "service_id", "series", "frequency"
            )
            if frequency in frequencies and (service_id, series, frequency) not in kept
        ]
        Forecast.objects.filter(pk__in=stale).delete()
    outcome.series.sort(key=lambda line: (line.service, SERIES.index(line.series), line.frequency))
    return outcome


def _judge(
    *,
    service: Any,
    series: str,
    days: dict[date, float],
    stored: dict[str, Any] | None,
    week: date,
    outcome: ForecastRefreshResult,
) -> int:
    """Flag ``week`` when its count lies outside the 95% interval ``stored`` for it;
    notify the managers once. Returns 1 when an anomaly was flagged by this run."""
    observed = _week_total(days, week)
    if stored is None or observed is None or interval_contains(stored, observed, 95):
        return 0
    anomaly, created = Anomaly.objects.select_for_update().get_or_create(
        service=service,
        series=series,
        week=week,
        defaults={
            "observed": observed,
            "expected": float(stored["mean"]),
            "low95": float(stored["lo95"]),
            "high95": float(stored["hi95"]),
        },
    )
    if anomaly.notified_at is None and _notify(anomaly, service):
        anomaly.notified_at = timezone.now()
        anomaly.save(update_fields=["notified_at"])
        outcome.notified += 1
    return 1 if created else 0

"""What the forecast and staffing pages show, read from the database (never the store):
the ``Forecast`` rows the nightly job wrote (:mod:`ecitizen.insights.services.forecasts`),
the anomalies, and the staffing advice computed from them with
:mod:`ecitizen.insights.staffing`. Every sentence is translated in the active language.

``forecast_view(*, service) -> list[SeriesForecast]``
    The service's series, in the order applications, reports, counter visits, each weekly
    then daily (a series with no event has no row: an empty list when nothing was
    forecast yet).

``SeriesForecast`` (frozen dataclass)
    ``series`` (``"applications"``, ``"reports"``, ``"counter"``), ``series_label``
    (translated), ``frequency`` (``"week"``, ``"day"``), ``frequency_label``,
    ``status`` (``"ok"`` or ``"short"``), ``model`` (the model shown: ``"SeasonalNaive"``
    when no candidate beat it; ``""`` when short), ``mase`` (``float | None``: the shown
    model's backtest MAE ÷ the seasonal naive's on the same windows; 1.0 for the seasonal
    naive), ``mase_text`` (``"MASE=0.83"`` or ``""``), ``baseline_chosen`` (bool),
    ``history_points``, ``needed_points``, ``horizon`` (84 or 12), ``windows`` (backtest
    windows), ``sentence`` (one sentence: the model and its error, "the seasonal naive
    is shown because no model beat it", or "too little history: 120 days of 196
    needed"), ``points`` (``tuple[ForecastPoint]``: ``day`` (a date: the day, or the
    week's Monday), ``mean``, ``lo80``, ``hi80``, ``lo95``, ``hi95``, floats),
    ``history`` (``tuple[HistoryPoint]``: ``day``, ``value``: recent actuals, 13 weeks
    of days or 52 weeks), ``candidates`` (``tuple[CandidateScore]``: ``model``, ``mae``,
    ``mase``, each ``float | None``), ``computed_at`` (datetime), ``anomalies``
    (``tuple[AnomalyView]``, weekly rows only, newest first, at most 12).

``AnomalyView`` (frozen dataclass)
    ``week`` (its Monday), ``observed``, ``expected``, ``low95``, ``high95`` (floats),
    ``above`` (bool: more than the interval), ``notified`` (bool), ``sentence``.

``staffing_advice(*, service) -> StaffingAdvice | None``
    ``None`` when the service has no weekly forecast of its applications (or street
    reports) with enough history: the forecast page says why.

``StaffingAdvice`` (frozen dataclass)
    ``series`` (the workload series: ``"applications"`` or ``"reports"``),
    ``series_label``, ``weeks`` (``tuple[StaffingWeek]``, 12 rows), ``headline`` ("You
    need 4.2 officers in week 12; you have 3."), ``suggestions`` (``tuple[str]``: what
    to change), ``missing`` (``tuple[str]``, warnings: what is not entered, e.g. no
    handling times; a counter that cannot cope with the settings entered; a workload too
    large to work out), ``minutes_per_case`` (float), ``actions``
    (``tuple[ActionMinutes]``), ``officers`` (``float | None``:
    ``ServiceStaffing.officers``; ``None`` when not entered), ``hours_per_week``,
    ``productive_share`` (floats, the entered ones or the defaults), ``productive_hours``
    (hours a week an officer gives to cases),
    ``backlog`` (``int | None``: cases open, from the latest monthly figures),
    ``backlog_weeks`` (weeks the backlog is spread over: the SLA in working weeks),
    ``sla_days`` (``int | None``), ``peak_week`` (the ``StaffingWeek`` needing most),
    ``forecast_model``, ``forecast_mase``, ``counter`` (``CounterAdvice | None``).

``StaffingWeek`` (frozen dataclass)
    ``number`` (1..12: weeks ahead), ``week`` (its Monday), ``volume`` (forecast cases),
    ``volume_high`` (the 80% interval's upper bound), ``workload_hours``,
    ``backlog_hours`` (``float | None``: ``None`` when the workload is too large to work
    out, :func:`ecitizen.insights.staffing.officers_needed`), ``officers_needed``
    (``float | None``, rounded **up** to one decimal: 4.21 → 4.3; ``None`` without
    handling times or when the workload is too large to work out),
    ``officers_needed_high`` (the same for ``volume_high``), ``officers_available``
    (``float | None``), ``gap`` (``float | None``: needed - available, one decimal;
    positive: officers short),
    ``counter_visits`` (``float | None``), ``counter_agents`` (``int | None``: Erlang C;
    ``None`` too when the counter cannot cope that week), ``counter_service_level``
    (``float | None``: the share seen within the target with that many agents).

``ActionMinutes`` (frozen dataclass)
    ``action``, ``role``, ``minutes`` (per occurrence, as entered or measured),
    ``times_per_case`` (measured over the last 182 days; 1.0 when nothing was measured),
    ``minutes_per_case`` (their product).

``CounterAdvice`` (frozen dataclass)
    ``hours_per_week`` (opening hours), ``minutes_per_visit``, ``wait_target_seconds``,
    ``service_level`` (the target share), ``peak_agents``, ``peak_week`` (number; both
    ``int | None``: ``None`` when no week could be staffed), ``sentence``,
    ``overloaded`` (bool: in some week the counter cannot cope with the settings entered
    — more than :data:`ecitizen.insights.staffing.MAX_AGENTS` desks, or opening hours or
    minutes a visit that are not positive; then ``sentence`` says so and which settings to
    check, and it is among the advice's ``missing`` rather than its ``suggestions``).

Definitions: :mod:`ecitizen.insights.staffing` (officers: forecast volume * minutes per
case, plus the open cases spread over the SLA, ÷ an officer's productive hours; Erlang C
for the counter on the average open hour).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.insights import staffing
from ecitizen.insights.forecasting import BASELINE, CandidateScore, ForecastPoint
from ecitizen.insights.models import ActionTime, Anomaly, Forecast, KpiMonth, ServiceStaffing

SERIES_ORDER = ("applications", "reports", "counter")
FREQUENCY_ORDER = ("week", "day")
ANOMALIES_SHOWN = 12


@dataclass(frozen=True)
class HistoryPoint:
    day: date
    value: float


@dataclass(frozen=True)
class AnomalyView:
    week: date
    observed: float
    expected: float
    low95: float
    high95: float
    above: bool
    notified: bool
    sentence: str


@dataclass(frozen=True)
class SeriesForecast:
    series: str
    series_label: str
    frequency: str
    frequency_label: str
    status: str
    model: str
    mase: float | None
    mase_text: str
    baseline_chosen: bool
    history_points: int
    needed_points: int
    horizon: int
    windows: int
    sentence: str
    points: tuple[ForecastPoint, ...]
    history: tuple[HistoryPoint, ...]
    candidates: tuple[CandidateScore, ...]
    computed_at: datetime
    anomalies: tuple[AnomalyView, ...]


@dataclass(frozen=True)
class ActionMinutes:
    action: str
    role: str
    minutes: float
    times_per_case: float
    minutes_per_case: float


@dataclass(frozen=True)
class StaffingWeek:
    number: int
    week: date
    volume: float
    volume_high: float
    workload_hours: float | None
    backlog_hours: float | None
    officers_needed: float | None
    officers_needed_high: float | None
    officers_available: float | None
    gap: float | None
    counter_visits: float | None
    counter_agents: int | None
    counter_service_level: float | None


@dataclass(frozen=True)
class CounterAdvice:
    hours_per_week: float
    minutes_per_visit: float
    wait_target_seconds: int
    service_level: float
    peak_agents: int | None
    peak_week: int | None
    sentence: str
    overloaded: bool = False


@dataclass(frozen=True)
class StaffingAdvice:
    series: str
    series_label: str
    weeks: tuple[StaffingWeek, ...]
    headline: str
    suggestions: tuple[str, ...]
    missing: tuple[str, ...]
    minutes_per_case: float
    actions: tuple[ActionMinutes, ...]
    officers: float | None
    hours_per_week: float
    productive_share: float
    productive_hours: float
    backlog: int | None
    backlog_weeks: int
    sla_days: int | None
    peak_week: StaffingWeek
    forecast_model: str
    forecast_mase: float | None
    counter: CounterAdvice | None


# --- formatting ---------------------------------------------------------------------------


def _number(value: float, decimals: int = 1) -> str:
    """A figure in the active language: whole numbers without decimals."""
    if abs(value - round(value)) < 1e-9:
        return str(formats.number_format(round(value), 0))
    return str(formats.number_format(round(value, decimals), decimals))


def _date(value: date) -> str:
    return str(formats.date_format(value, "DATE_FORMAT"))


def _up(value: float) -> float:
    """Rounded up to one decimal (4.21 → 4.3; 4.2 stays 4.2). A value beyond 10^15 has no
    tenths a float can hold: it is returned as it is (and never overflows)."""
    if abs(value) >= 1e15:
        return value
    return math.ceil(round(value * 10, 6)) / 10


# --- forecasts ----------------------------------------------------------------------------


def _sentence(row: Forecast, windows: int) -> str:
    if row.status == Forecast.Status.SHORT:
        if row.frequency == Forecast.Frequency.DAY:
            return _("Too little history to forecast: %(have)s days of %(need)s needed.") % {
                "have": row.history_points,
                "need": row.needed_points,
            }
        return _("Too little history to forecast: %(have)s weeks of %(need)s needed.") % {
            "have": row.history_points,
            "need": row.needed_points,
        }
    if row.model == BASELINE:
        return _(
            "The seasonal naive forecast is shown because no model beat it in the "
            "backtest (%(windows)s windows of 12 weeks)."
        ) % {"windows": windows}
    return _(
        "%(model)s, chosen by backtest over %(windows)s windows of 12 weeks: MASE=%(mase)s "
        "against the seasonal naive (below 1 beats it)."
    ) % {"model": row.model, "windows": windows, "mase": f"{row.mase:.2f}"}


def _anomaly_view(anomaly: Anomaly, label: str) -> AnomalyView:
    above = anomaly.observed > anomaly.high95
    values = {
        "series": label,
        "week": _date(anomaly.week),
        "observed": _number(anomaly.observed, 0),
        "expected": _number(anomaly.expected, 0),
        "low": _number(anomaly.low95, 0),
        "high": _number(anomaly.high95, 0),
    }
    if above:
        sentence = _(
            "%(series)s in the week of %(week)s: %(observed)s, above the forecast range "
            "(%(low)s to %(high)s; %(expected)s expected)."
        )
    else:
        sentence = _(
            "%(series)s in the week of %(week)s: %(observed)s, below the forecast range "
            "(%(low)s to %(high)s; %(expected)s expected)."
        )
    return AnomalyView(
        week=anomaly.week,
        observed=anomaly.observed,
        expected=anomaly.expected,
        low95=anomaly.low95,
        high95=anomaly.high95,
        above=above,
        notified=anomaly.notified_at is not None,
        sentence=sentence % values,
    )


def _points(row: Forecast) -> tuple[ForecastPoint, ...]:
    return tuple(
        ForecastPoint(
            day=date.fromisoformat(point["date"]),
            mean=float(point["mean"]),
            lo80=float(point["lo80"]),
            hi80=float(point["hi80"]),
            lo95=float(point["lo95"]),
            hi95=float(point["hi95"]),
        )
        for point in row.points or []
    )


def _decode(row: Forecast, anomalies: list[Anomaly]) -> SeriesForecast:
    backtest = row.backtest or {}
    windows = int(backtest.get("windows") or 0)
    label = str(Forecast.Series(row.series).label)
    return SeriesForecast(
        series=row.series,
        series_label=label,
        frequency=row.frequency,
        frequency_label=str(Forecast.Frequency(row.frequency).label),
        status=row.status,
        model=row.model,
        mase=row.mase,
        mase_text=f"MASE={row.mase:.2f}" if row.mase is not None else "",
        baseline_chosen=row.status == Forecast.Status.OK and row.model == BASELINE,
        history_points=row.history_points,
        needed_points=row.needed_points,
        horizon=int(backtest.get("horizon") or (84 if row.frequency == "day" else 12)),
        windows=windows,
        sentence=_sentence(row, windows),
        points=_points(row),
        history=tuple(
            HistoryPoint(day=date.fromisoformat(item["date"]), value=float(item["value"]))
            for item in row.history or []
        ),
        candidates=tuple(
            CandidateScore(model=item["model"], mae=item.get("mae"), mase=item.get("mase"))
            for item in backtest.get("candidates", [])
        ),
        computed_at=row.computed_at,
        anomalies=tuple(_anomaly_view(anomaly, label) for anomaly in anomalies)
        if row.frequency == Forecast.Frequency.WEEK
        else (),
    )


def forecast_view(*, service: Any) -> list[SeriesForecast]:
    """The stored forecasts of ``service``, decoded, with a sentence each (module
    docstring)."""
    rows = list(Forecast.objects.filter(service=service))
    rows.sort(
        key=lambda row: (SERIES_ORDER.index(row.series), FREQUENCY_ORDER.index(row.frequency))
    )
    anomalies: dict[str, list[Anomaly]] = {}
    for anomaly in Anomaly.objects.filter(service=service).order_by("-week"):
        anomalies.setdefault(anomaly.series, []).append(anomaly)
    return [_decode(row, anomalies.get(row.series, [])[:ANOMALIES_SHOWN]) for row in rows]


# --- staffing -----------------------------------------------------------------------------


def _workload_row(service: Any) -> Forecast | None:
    for series in ("applications", "reports"):
        row = Forecast.objects.filter(
            service=service, series=series, frequency="week", status=Forecast.Status.OK
        ).first()
        if row is not None and row.points:
            return row
    return None


def _actions(service: Any, measured: dict[str, float]) -> tuple[ActionMinutes, ...]:
    rows = list(ActionTime.objects.filter(service=service).order_by("action"))
    out = []
    for row in rows:
        times = float(measured.get(row.action, 0.0)) if measured else 1.0
        minutes = float(row.minutes)
        out.append(
            ActionMinutes(
                action=row.action,
                role=row.role,
                minutes=minutes,
                times_per_case=times,
                minutes_per_case=minutes * times,
            )
        )
    return tuple(out)


def _backlog(service: Any) -> int | None:
    row = (
        KpiMonth.objects.filter(scope=KpiMonth.Scope.SERVICE, key=service.slug)
        .order_by("-month")
        .first()
    )
    if row is None:
        return None
    value = (row.figures or {}).get("backlog")
    return int(value) if value is not None else None


def _counter(
    service: Any, entered: ServiceStaffing, weeks: int
) -> tuple[list[tuple[float, staffing.ErlangResult | None]], CounterAdvice] | None:
    """Erlang C desks for each week's forecast visits on the average opening hour. A week
    whose load the counter cannot take with the settings entered (more than
    ``staffing.MAX_AGENTS`` desks: say 1 hour open and 480 minutes a visit) has no
    desks (``None``) and the advice's sentence says which settings to check."""
    row = Forecast.objects.filter(
        service=service, series="counter", frequency="week", status=Forecast.Status.OK
    ).first()
    if row is None or not row.points:
        return None
    hours = float(entered.counter_hours_per_week)
    minutes = float(entered.counter_minutes_per_visit)
    target = int(entered.counter_wait_target_seconds)
    level = float(entered.counter_service_level)
    results: list[tuple[float, staffing.ErlangResult | None]] = []
    overloaded: list[tuple[int, float]] = []
    for index, point in enumerate(_points(row)[:weeks]):
        visits = max(0.0, point.mean)
        try:
            result: staffing.ErlangResult | None = staffing.erlang_c_agents(
                arrivals_per_hour=visits / hours if hours > 0 else math.inf,
                handling_minutes=minutes,
                target_wait_seconds=target,
                target_service_level=min(max(level, 0.001), 0.999),
            )
        except ValueError:
            result = None
            overloaded.append((index, visits))
        results.append((point.mean, result))
    staffed = [(index, result) for index, (_mean, result) in enumerate(results) if result]
    peak_index, peak = max(staffed, key=lambda item: item[1].agents) if staffed else (None, None)
    if overloaded:
        index, visits = max(overloaded, key=lambda item: item[1])
        sentence = _(
            "The counter cannot cope with the visits forecast with the settings entered: "
            "in week %(week)s, %(visits)s visits would need more than %(limit)s desks at "
            "once. Check the hours the counter is open a week (now %(hours)s) and the "
            "minutes a counter visit takes (now %(minutes)s) in the staffing settings."
        ) % {
            "visits": _number(visits, 0),
            "week": index + 1,
            "minutes": _number(minutes, 1),
            "hours": _number(hours, 1),
            "limit": _number(staffing.MAX_AGENTS, 0),
        }
    elif peak is not None and peak_index is not None:
        sentence = ngettext(
            "At the counter, staff %(agents)s desk in week %(week)s to see %(level)s%% of "
            "visitors within %(minutes)s minutes. This is for an average opening hour: busy "
            "hours need more.",
            "At the counter, staff %(agents)s desks in week %(week)s to see %(level)s%% of "
            "visitors within %(minutes)s minutes. This is for an average opening hour: busy "
            "hours need more.",
            peak.agents,
        ) % {
            "agents": peak.agents,
            "week": peak_index + 1,
            "level": _number(level * 100, 0),
            "minutes": _number(target / 60, 1),
        }
    else:  # no week ahead to staff
        return None
    return results, CounterAdvice(
        hours_per_week=hours,
        minutes_per_visit=minutes,
        wait_target_seconds=target,
        service_level=level,
        peak_agents=peak.agents if peak is not None else None,
        peak_week=peak_index + 1 if peak_index is not None else None,
        sentence=sentence,
        overloaded=bool(overloaded),
    )


def _officers(
    *,
    volume: float,
    per_case: float,
    hours: float,
    share: float,
    backlog: int | None,
    spread: int,
    index: int,
) -> staffing.OfficersNeeded | None:
    """:func:`staffing.officers_needed` for one week, ``None`` when the workload cannot
    be worked out (too large for a float, or settings out of their range)."""
    try:
        return staffing.officers_needed(
            volume=max(0.0, volume),
            minutes_per_case=per_case,
            hours_per_week=hours,
            productive_share=share,
            backlog_cases=float(backlog or 0),
            backlog_weeks=spread,
            week_index=index,
        )
    except ValueError:
        return None


def staffing_advice(*, service: Any) -> StaffingAdvice | None:
    """The officers each of the next 12 weeks needs, against those the service has, and
    what to change (module docstring); ``None`` without a weekly forecast of its work."""
    row = _workload_row(service)
    if row is None:
        return None
    backtest = row.backtest or {}
    measured = {str(k): float(v) for k, v in (backtest.get("actions_per_case") or {}).items()}
    actions = _actions(service, measured)
    per_case = staffing.minutes_per_case(
        {action.action: action.minutes for action in actions}, measured
    )
    entered_row = ServiceStaffing.objects.filter(service=service).first()
    entered = entered_row or ServiceStaffing(service=service, officers=Decimal("0"))
    officers = float(entered_row.officers) if entered_row is not None else None
    hours = float(entered.hours_per_week)
    share = float(entered.productive_share)
    productive = hours * share
    backlog = _backlog(service)
    sla_days = ServiceSpec(service.current_version.definition).sla_business_days
    spread = staffing.backlog_weeks(sla_days)
    points = _points(row)
    counter = _counter(service, entered, len(points))

    weeks: list[StaffingWeek] = []
    too_large = False
    for index, point in enumerate(points):
        need, high = (
            _officers(
                volume=volume,
                per_case=per_case,
                hours=hours,
                share=share,
                backlog=backlog,
                spread=spread,
                index=index,
            )
            for volume in (point.mean, point.hi80)
        )
        too_large = too_large or (bool(actions) and (need is None or high is None))
        needed = _up(need.officers) if actions and need is not None else None
        visits, erlang = counter[0][index] if counter else (None, None)
        weeks.append(
            StaffingWeek(
                number=index + 1,
                week=point.day,
                volume=point.mean,
                volume_high=point.hi80,
                workload_hours=need.workload_hours if need is not None else None,
                backlog_hours=need.backlog_hours if need is not None else None,
                officers_needed=needed,
                officers_needed_high=_up(high.officers) if actions and high is not None else None,
                officers_available=officers,
                gap=(
                    round(needed - officers, 1)
                    if needed is not None and officers is not None
                    else None
                ),
                counter_visits=visits,
                counter_agents=erlang.agents if erlang else None,
                counter_service_level=erlang.service_level if erlang else None,
            )
        )
    peak = max(weeks, key=lambda week: (week.officers_needed or 0.0, -week.number))
    missing = []
    if not actions:
        missing.append(
            _("Enter the handling time of each action of the service to see the officers needed.")
        )
    if too_large:
        missing.append(
            _(
                "The officers needed cannot be worked out for some weeks: the forecast "
                "times the handling time of a case is too large. Check the handling time "
                "of each action."
            )
        )
    if counter and counter[1].overloaded:
        missing.append(counter[1].sentence)
    if entered_row is None:
        missing.append(
            _(
                "Enter the officers working the service, their weekly hours and the share "
                "of their time spent on cases to compare them with what is needed."
            )
        )
    return StaffingAdvice(
        series=row.series,
        series_label=str(Forecast.Series(row.series).label),
        weeks=tuple(weeks),
        headline=_headline(peak, officers),
        suggestions=tuple(
            _suggestions(
                weeks=weeks,
                peak=peak,
                officers=officers,
                per_case=per_case,
                share=share,
                backlog=backlog,
                spread=spread,
                productive=productive,
            )
        )
        + ((counter[1].sentence,) if counter and not counter[1].overloaded else ()),
        missing=tuple(missing),
        minutes_per_case=per_case,
        actions=actions,
        officers=officers,
        hours_per_week=hours,
        productive_share=share,
        productive_hours=productive,
        backlog=backlog,
        backlog_weeks=spread,
        sla_days=sla_days,
        peak_week=peak,
        forecast_model=row.model,
        forecast_mase=row.mase,
        counter=counter[1] if counter else None,
    )


def _headline(peak: StaffingWeek, officers: float | None) -> str:
    if peak.officers_needed is None:
        return _("The forecast is %(volume)s cases in week %(week)s (from %(date)s).") % {
            "volume": _number(peak.volume, 0),
            "week": peak.number,
            "date": _date(peak.week),
        }
    values = {
        "needed": _number(peak.officers_needed),
        "week": peak.number,
        "date": _date(peak.week),
        "have": _number(officers) if officers is not None else "",
    }
    if officers is None:
        return (
            _(
                "You need %(needed)s officers in week %(week)s (from %(date)s), the busiest of "
                "the next 12 weeks."
            )
            % values
        )
    if peak.officers_needed > officers:
        return (
            _("You need %(needed)s officers in week %(week)s (from %(date)s); you have %(have)s.")
            % values
        )
    return (
        _(
            "You have enough officers for the next 12 weeks: at most %(needed)s are needed, in "
            "week %(week)s (from %(date)s); you have %(have)s."
        )
        % values
    )


def _suggestions(
    *,
    weeks: list[StaffingWeek],
    peak: StaffingWeek,
    officers: float | None,
    per_case: float,
    share: float,
    backlog: int | None,
    spread: int,
    productive: float,
) -> list[str]:
    """What to change: more officers, shorter handling, more time on cases, the backlog;
    or the officers to spare."""
    if peak.officers_needed is None or officers is None:
        return []
    out: list[str] = []
    short = [week for week in weeks if week.gap is not None and week.gap > 0]
    if short:
        extra = max(week.gap for week in short if week.gap is not None)
        out.append(
            ngettext(
                "Add %(extra)s officers (full-time equivalent) for week %(week)s, the "
                "busiest; %(count)s of the next 12 weeks needs more officers than you have. "
                "Or share the work with another team.",
                "Add %(extra)s officers (full-time equivalent) for week %(week)s, the "
                "busiest; %(count)s of the next 12 weeks need more officers than you have. "
                "Or share the work with another team.",
                len(short),
            )
            % {"extra": _number(extra), "week": peak.number, "count": len(short)}
        )
        if officers > 0 and per_case > 0:
            target = per_case * officers / peak.officers_needed
            out.append(
                _(
                    "Or cut the handling time of a case from %(now)s to %(target)s minutes: "
                    "see which actions take longest below."
                )
                % {"now": _number(per_case), "target": _number(math.floor(target * 10) / 10)}
            )
            needed_share = share * peak.officers_needed / officers
            if needed_share <= 0.9:
                out.append(
                    _(
                        "Or raise the share of officers' time spent on cases from %(now)s%% "
                        "to %(target)s%%."
                    )
                    % {
                        "now": _number(share * 100, 0),
                        "target": _number(math.ceil(needed_share * 100), 0),
                    }
                )
        first = weeks[0]
        if backlog and first.backlog_hours and short[0].number <= spread:
            out.append(
                ngettext(
                    "Clearing the %(backlog)s open cases within the time limit adds "
                    "%(officers)s officers in week 1.",
                    "Clearing the %(backlog)s open cases within the time limit adds "
                    "%(officers)s officers in each of weeks 1 to %(weeks)s.",
                    spread,
                )
                % {
                    "backlog": backlog,
                    "officers": _number(_up(first.backlog_hours / productive)),
                    "weeks": spread,
                }
            )
    elif officers - peak.officers_needed >= 1:
        out.append(
            _(
                "You have %(spare)s officers more than the busiest week needs: they could "
                "help another service or clear cases sooner."
            )
            % {"spare": _number(officers - peak.officers_needed)}
        )
    return out

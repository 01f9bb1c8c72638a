"""What the performance dashboards show, built from the monthly figures
(:class:`~ecitizen.insights.models.KpiMonth`, ``figures`` as ``insights/kpis.py``
defines them) of one scope: a service, a department or the whole authority.

A dashboard (:class:`Dashboard`) of a month has:

- the four KPIs (cost per transaction, user satisfaction, completion rate, digital
  take-up) of the month against the month before and the same month a year before, each
  with a sentence saying how it moved and what went into it (:class:`Kpi`);
- the other figures of the month in a table, against the same two months;
- trends over the 24 months to the month (line charts: volumes, the KPIs' rates, cost
  per transaction, time to decision, backlog, street reports);
- the month's breakdowns (bar charts): the share decided within the target time by ward
  (a ward-limited service manager sees only their ward), the backlog by age and by
  state, and the ratings by level;
- the weeks flagged as unexpected (anomalies) in the 12 weeks to the month's end;
- the services of a department, or the departments of the authority, with their KPIs;
- on a service's page, its end pages and error pages (:mod:`ecitizen.insights.pages`).

Each chart (:class:`Panel`) and table has a stable **slug**, the name of its CSV
(:func:`dashboard_csv`), built from the same values as the chart's data table: the
months as ``YYYY-MM``, counts as integers, shares as fractions 0..1, amounts as decimal
text, suppressed counts as ``<N`` (``[c]`` when hidden only so that a total cannot give
a small one away; see below). Cells of text that a spreadsheet would read as a
formula are neutralised (:func:`ecitizen.core.csvcells.csv_cell`).

Small counts on the staff pages (``settings.INSIGHTS_SMALL_COUNT_THRESHOLD``, N, 5 by
default; the public figures have their own threshold,
:func:`ecitizen.insights.performance.small_count_threshold`):

- in the breakdowns by ward (decided cases) and by rating level, a count from 1 to N-1
  is not shown: the chart writes "fewer than N", the CSV ``<N``; a zero is shown (it
  points at no one);
- secondary suppression (:func:`small_counts_hidden`): the page shows the totals the
  cells add up to (the service's decided cases; the ratings in all, and, when the share
  is shown, the ratings satisfied and not satisfied), so while a total has exactly one
  hidden cell, or hidden cells adding up to 1 to N-1, its smallest cell shown with a
  count is hidden too (its zeros when none is left): the chart writes "not shown", the
  CSV ``[c]``. Wards are chosen among every ward of the service, whatever wards the
  reader sees. A breakdown whose only counted cell is hidden gives away its total
  alone, which the page shows anyway;
- user satisfaction (the KPI, its trend, the services' and departments' tables, the
  ratings chart's sentence) follows the public page's rule
  (:func:`ecitizen.insights.performance.rate_withheld`) at N: it is not shown when there
  are fewer than N ratings, or 1 to N-1 satisfied, or 1 to N-1 not satisfied
  (:func:`satisfaction_value`);
- other counts and rates are shown as they are: the readers hold ``insights.read`` and
  the page is not published.

Amounts are decimal text; one that is not a number or not finite (``NaN``,
``Infinity``) is shown as missing: a dash on the page, an empty CSV cell
(:func:`money_value`).

Pure reads: the remit is checked by the caller (the views, through
:mod:`ecitizen.insights.selectors`), which passes what the reader may see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ecitizen.accounts.selectors import jurisdictions_by_code, remit_covers
from ecitizen.catalogue.selectors import service_spec
from ecitizen.core import charts
from ecitizen.core.access import holds_capability
from ecitizen.insights import selectors
from ecitizen.insights.pages import ServicePages, service_pages
from ecitizen.insights.performance import rate_withheld
from ecitizen.insights.services import INSIGHTS_COSTS, InsightsError
from ecitizen.payments.money import format_money

if TYPE_CHECKING:
    from ecitizen.accounts.models import Department
    from ecitizen.catalogue.models import Service
    from ecitizen.insights.models import Anomaly

#: Months of the trend charts (the month shown and the 23 before it).
TREND_MONTHS = 24
#: Weeks of anomalies listed, up to the month's end.
ANOMALY_WEEKS = 12
#: Months offered by the month picker.
PICKER_MONTHS = 60

SERVICE, DEPARTMENT, AUTHORITY = "service", "department", "authority"

#: The age bands of the backlog (``insights/kpis.py`` AGE_BANDS), as people read them.
AGE_LABELS = {
    "0-5": gettext_lazy("0 to 5 working days"),
    "6-10": gettext_lazy("6 to 10 working days"),
    "11-20": gettext_lazy("11 to 20 working days"),
    "21+": gettext_lazy("21 working days or more"),
}
#: GOV.UK's five-point satisfaction scale (the feedback app's levels), best first.
RATING_LABELS = (
    ("5", gettext_lazy("Very satisfied")),
    ("4", gettext_lazy("Satisfied")),
    ("3", gettext_lazy("Neither satisfied nor dissatisfied")),
    ("2", gettext_lazy("Dissatisfied")),
    ("1", gettext_lazy("Very dissatisfied")),
)
SERIES_LABELS = {
    "applications": gettext_lazy("Applications"),
    "reports": gettext_lazy("Street reports"),
    "counter": gettext_lazy("Counter visits"),
}

_MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


# --- months ------------------------------------------------------------------------------


def month_add(month: date, months: int) -> date:
    """The first day of the month ``months`` after (before, when negative) ``month``'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_label(month: date) -> str:
    """ "March 2025", in the reader's language."""
    return str(formats.date_format(month, "YEAR_MONTH_FORMAT"))


def month_parse(text: str, *, today: date) -> date:
    """The month of ``YYYY-MM`` text (its first day). Raises :class:`InsightsError` with
    code ``bad_month`` when it is not one, ``future_month`` when it is after ``today``'s
    month."""
    found = _MONTH_PATTERN.match(text.strip())
    month = None
    if found and 1 <= int(found.group(2)) <= 12 and int(found.group(1)) >= 1900:
        month = date(int(found.group(1)), int(found.group(2)), 1)
    if month is None:
        raise InsightsError(
            _("Enter a month as its year and number, for example 2025-03."), code="bad_month"
        )
    if month > today.replace(day=1):
        raise InsightsError(
            _("The month must be this month or earlier: there are no figures for %(month)s yet.")
            % {"month": month_label(month)},
            code="future_month",
        )
    return month


def months_offered(*, scope: str, key: str, today: date) -> list[date]:
    """The months the picker offers: those with figures, the latest first (at most
    :data:`PICKER_MONTHS`), else this month alone."""
    months = selectors.kpi_months_available(scope=scope, key=key, latest=today.replace(day=1))
    return months[:PICKER_MONTHS] or [today.replace(day=1)]


# --- values as people read them and as CSV holds them ------------------------------------------


def _number(value: Any) -> float | None:
    return charts.number_value(value)


def _count_text(value: Any) -> str:
    number = _number(value)
    return "\N{EN DASH}" if number is None else charts.number_label(number)


def _rate_text(value: Any) -> str:
    number = _number(value)
    return "\N{EN DASH}" if number is None else charts.percent_label(number)


def money_value(value: Any) -> Decimal | None:
    """An amount (decimal text or a number) as a finite ``Decimal``, else ``None``: an
    amount that is not a number, or is not finite (``NaN``, ``Infinity``: a JSON column
    refuses them as numbers, not as text), is missing."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def money_text(value: Any) -> str:
    """An amount (decimal text or a number) in the platform's currency, the reader's way;
    a dash when it is missing, not a number or not finite (:func:`money_value`)."""
    amount = money_value(value)
    return "\N{EN DASH}" if amount is None else format_money(amount)


def _money_format(value: float) -> str:
    return format_money(Decimal(str(round(value, 2))))


def _days_text(value: Any) -> str:
    """Working days, with one decimal at most (the unit is in the figure's name)."""
    number = _number(value)
    return "\N{EN DASH}" if number is None else charts.number_label(round(number, 1))


def _days_sentence_format(value: float) -> str:
    return ngettext("%(days)s working day", "%(days)s working days", round(value)) % {
        "days": charts.number_label(round(value, 1))
    }


#: How each kind of figure is written on the page.
TEXTS: dict[str, Callable[[Any], str]] = {
    "count": _count_text,
    "rate": _rate_text,
    "money": money_text,
    "days": _days_text,
}

# --- small counts ----------------------------------------------------------------------------

#: What a count hidden only so that a total cannot give a small one away reads in a CSV
#: (the statistical offices' mark for "confidential", as in the open datasets).
SECONDARY_MARK = "[c]"


def small_count_threshold() -> int:
    """The smallest count the staff pages show in a breakdown by ward or by rating
    (``settings.INSIGHTS_SMALL_COUNT_THRESHOLD``)."""
    return int(settings.INSIGHTS_SMALL_COUNT_THRESHOLD)


def small_counts_hidden(
    values: Mapping[str, int], groups: Sequence[Sequence[str]], *, limit: int
) -> tuple[set[str], set[str]]:
    """The cells of a breakdown to hide, as ``(small, secondary)``: ``small`` are the
    counts from 1 to ``limit - 1`` (a zero points at no one and is shown); then, for each
    of ``groups`` (cells whose total the page shows), while the group has exactly one
    hidden cell, or hidden cells adding up to 1 to ``limit - 1``, the total less the cells
    shown would give it away: its smallest cell shown with a count is hidden too
    (``secondary``; its zero cells when none is left, ties to the first listed). Repeated
    until nothing changes. A group whose only counted cell is hidden gives away only its
    total, which the page shows anyway."""
    small = {key for key, value in values.items() if 0 < value < limit}
    hidden = set(small)
    changed = True
    while changed:
        changed = False
        for parts in groups:
            inside = [p for p in parts if p in hidden]
            total = sum(values.get(p, 0) for p in inside)
            if not inside or (len(inside) > 1 and not 0 < total < limit):
                continue
            shown = [p for p in parts if p not in hidden]
            candidates = [p for p in shown if values.get(p, 0) > 0] or shown
            if candidates:
                hidden.add(min(candidates, key=lambda p: values.get(p, 0)))
                changed = True
    return small, hidden - small


def satisfaction_value(figures: Mapping[str, Any] | None) -> Any:
    """The month's user satisfaction (``figures["satisfaction"]``) as the staff pages
    show it: ``None`` when the public page's rule
    (:func:`~ecitizen.insights.performance.rate_withheld`) withholds it at the staff
    threshold (fewer ratings than the threshold, or a few satisfied, or a few not: 49 of
    50 tells of the one who was not), or when the ratings it is built from are missing."""
    share = (figures or {}).get("satisfaction")
    ratings, rated = (figures or {}).get("ratings"), (figures or {}).get("rated")
    if share is None or not isinstance(ratings, Mapping):
        return None
    if not isinstance(rated, int) or isinstance(rated, bool):
        return None
    satisfied = _count(ratings, "4") + _count(ratings, "5")
    if rate_withheld(satisfied, rated, limit=small_count_threshold()):
        return None
    return share


# --- what a dashboard is --------------------------------------------------------------------


@dataclass
class Csv:
    """A chart's or a table's data as a CSV file: a header of stable names and rows."""

    header: list[str]
    rows: list[list[Any]]


@dataclass
class Panel:
    """A chart with what goes around it: its slug (its CSV's name and its anchor), the
    sentence that sums it up and its data as CSV."""

    slug: str
    chart: charts.Chart
    summary: str
    csv: Csv
    note: str = ""
    #: Where its CSV downloads from (set with the page's scope and month).
    csv_url: str = ""

    @property
    def anchor(self) -> str:
        return f"chart-{self.slug}"


@dataclass
class Kpi:
    """One of the four KPIs: this month, the month before, the same month a year
    before, the sentence of its move and what went into it."""

    key: str
    label: str
    value: str
    last_month: str
    last_year: str
    sentence: str
    details: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class Table:
    """A table of the page (``rows`` of cells: text, and a link for the first cell) with
    its CSV."""

    slug: str
    caption: str
    header: list[str]
    rows: list[dict[str, Any]]
    csv: Csv
    #: Columns holding numbers (aligned to the end).
    numeric: list[bool] = field(default_factory=list)
    csv_url: str = ""


@dataclass
class AnomalyRow:
    week: date
    service: str
    service_slug: str
    series: str
    observed: str
    expected: str
    interval: str
    direction: str


@dataclass
class Link:
    text: str
    url: str


@dataclass
class Dashboard:
    scope: str
    key: str
    month: date
    month_label: str
    last_month_label: str
    last_year_label: str
    has_figures: bool
    #: The month is this month: its figures are those up to today.
    in_progress: bool = False
    kpis: list[Kpi] = field(default_factory=list)
    figures: Table | None = None
    trends: list[Panel] = field(default_factory=list)
    breakdowns: list[Panel] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    anomalies: list[AnomalyRow] = field(default_factory=list)
    children: Table | None = None
    links: list[Link] = field(default_factory=list)
    #: A service's end pages and error pages (:class:`~ecitizen.insights.pages.ServicePages`).
    pages: ServicePages | None = None

    def csv(self, slug: str) -> Csv | None:
        """The CSV of the chart or table named ``slug``, or ``None``."""
        for panel in (*self.trends, *self.breakdowns):
            if panel.slug == slug:
                return panel.csv
        for table in (self.figures, self.children):
            if table is not None and table.slug == slug:
                return table.csv
        return None


# --- the four KPIs ---------------------------------------------------------------------------


def _cost(figures: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    cost = (figures or {}).get("cost")
    return cost if isinstance(cost, Mapping) else None


def _cost_missing(cost: Mapping[str, Any]) -> list[str]:
    from ecitizen.insights.kpis import cost_missing_text

    return [
        cost_missing_text(item) if isinstance(item, Mapping) else str(item)
        for item in cost.get("missing") or []
    ]


def _kpi_cost(this: Mapping[str, Any], last: Mapping[str, Any], year: Mapping[str, Any]) -> Kpi:
    cost, before, earlier = _cost(this), _cost(last), _cost(year)
    label = _("Cost per transaction")

    def per(item: Mapping[str, Any] | None) -> Any:
        return item.get("per_transaction") if item else None

    if cost is None:
        sentence = _("No costs have been entered for this month.")
        details: list[str] = []
        missing: list[str] = []
    else:
        sentence = charts.trend_sentence(
            what=label,
            current=per(cost),
            previous=per(before),
            kind="amount",
            value_format=_money_format,
        )
        details = [
            _("Per digital transaction: %(amount)s.")
            % {"amount": money_text(cost.get("per_digital_transaction"))},
            _("Staff time %(staff)s and fixed costs %(fixed)s: %(total)s in all.")
            % {
                "staff": money_text(cost.get("staff")),
                "fixed": money_text(cost.get("fixed")),
                "total": money_text(cost.get("total")),
            },
        ]
        if _number(cost.get("startup_excluded")):
            details.append(
                _("Start-up costs of %(amount)s are left out.")
                % {"amount": money_text(cost.get("startup_excluded"))}
            )
        missing = _cost_missing(cost)
    return Kpi(
        key="cost_per_transaction",
        label=label,
        value=money_text(per(cost)),
        last_month=money_text(per(before)),
        last_year=money_text(per(earlier)),
        sentence=sentence,
        details=details,
        missing=missing,
    )


def _kpi_rate(
    key: str,
    label: str,
    this: Mapping[str, Any],
    last: Mapping[str, Any],
    year: Mapping[str, Any],
    *,
    read: Callable[[Mapping[str, Any]], Any] | None = None,
) -> Kpi:
    """A rate KPI: ``figures[key]`` of each month, or what ``read`` gives of them."""
    value = read or (lambda figures: figures.get(key))
    return Kpi(
        key=key,
        label=label,
        value=_rate_text(value(this)),
        last_month=_rate_text(value(last)),
        last_year=_rate_text(value(year)),
        sentence=charts.trend_sentence(
            what=label, current=value(this), previous=value(last), kind="rate"
        ),
    )


def _count(figures: Mapping[str, Any], key: str) -> int:
    number = _number(figures.get(key))
    return int(number) if number is not None else 0


def _kpis(this: Mapping[str, Any], last: Mapping[str, Any], year: Mapping[str, Any]) -> list[Kpi]:
    satisfaction = _kpi_rate(
        "satisfaction", _("User satisfaction"), this, last, year, read=satisfaction_value
    )
    rated = _count(this, "rated")
    satisfaction.details = [
        ngettext(
            "Satisfied or very satisfied, of %(count)s rating.",
            "Satisfied or very satisfied, of %(count)s ratings.",
            rated,
        )
        % {"count": charts.number_label(rated)}
    ]
    if this.get("satisfaction") is not None and satisfaction_value(this) is None:
        satisfaction.sentence = _(
            "Not shown for this month: with fewer than %(threshold)s ratings, or fewer than "
            "%(threshold)s satisfied or not satisfied, the share could point at a person."
        ) % {"threshold": small_count_threshold()}
    completion = _kpi_rate("completion_rate", _("Completion rate"), this, last, year)
    started, completed = _count(this, "started"), _count(this, "completed")
    # The completion rate is a cohort rate: of the journeys started in the month, those
    # completed (whenever); figures computed before it have the month's completions.
    cohort = _count(this, "started_completed") if "started_completed" in this else completed
    completion.details = [
        ngettext(
            "%(completed)s of %(count)s journey started was completed.",
            "%(completed)s of %(count)s journeys started were completed.",
            started,
        )
        % {"completed": charts.number_label(cohort), "count": charts.number_label(started)},
        ngettext(
            "%(count)s ended on a “not eligible” end page (counted as completed).",
            "%(count)s ended on a “not eligible” end page (counted as completed).",
            _count(this, "not_eligible"),
        )
        % {"count": charts.number_label(_count(this, "not_eligible"))},
        ngettext(
            "%(count)s was abandoned.",
            "%(count)s were abandoned.",
            _count(this, "abandoned"),
        )
        % {"count": charts.number_label(_count(this, "abandoned"))},
    ]
    take_up = _kpi_rate("digital_take_up", _("Digital take-up"), this, last, year)
    take_up.details = [
        ngettext(
            "%(online)s of %(count)s completed transaction was done online.",
            "%(online)s of %(count)s completed transactions were done online.",
            completed,
        )
        % {
            "online": charts.number_label(_count(this, "completed_online")),
            "count": charts.number_label(completed),
        },
        _("With help (assisted digital, not counted as digital): %(count)s (%(share)s).")
        % {
            "count": charts.number_label(_count(this, "completed_assisted")),
            "share": _rate_text(this.get("assisted_digital_share")),
        },
        _("At the counter: %(count)s.")
        % {"count": charts.number_label(_count(this, "completed_counter"))},
    ]
    return [_kpi_cost(this, last, year), satisfaction, completion, take_up]


# --- the other figures of the month --------------------------------------------------------

#: The figures of the month's table: (key, label, kind). Street reports only where the
#: scope has a report service (their figures are ``None`` otherwise).
FIGURES: tuple[tuple[str, Any, str], ...] = (
    ("started", gettext_lazy("Transactions started"), "count"),
    ("completed", gettext_lazy("Transactions completed"), "count"),
    ("completed_online", gettext_lazy("Completed online"), "count"),
    ("completed_assisted", gettext_lazy("Completed with help (assisted digital)"), "count"),
    ("completed_counter", gettext_lazy("Completed at the counter"), "count"),
    ("not_eligible", gettext_lazy("Ended on a “not eligible” page"), "count"),
    ("abandoned", gettext_lazy("Abandoned"), "count"),
    ("assisted_digital_share", gettext_lazy("Share completed with help"), "rate"),
    ("submitted", gettext_lazy("Applications submitted"), "count"),
    ("decided", gettext_lazy("Applications decided"), "count"),
    ("decision_days_median", gettext_lazy("Time to decision, median (working days)"), "days"),
    (
        "decision_days_p90",
        gettext_lazy("Time to decision, 90th percentile (working days)"),
        "days",
    ),
    ("within_sla_rate", gettext_lazy("Decided within the target time"), "rate"),
    ("refusal_rate", gettext_lazy("Refusal rate"), "rate"),
    ("more_info_rounds", gettext_lazy("Requests for more information"), "count"),
    ("backlog", gettext_lazy("Open at the end of the month (backlog)"), "count"),
    ("overdue", gettext_lazy("Open past their due date (overdue)"), "count"),
    ("fees_collected", gettext_lazy("Fees collected"), "money"),
    ("fees_outstanding", gettext_lazy("Fees outstanding"), "money"),
    ("reports_opened", gettext_lazy("Street reports opened"), "count"),
    ("reports_fixed", gettext_lazy("Street reports fixed"), "count"),
    ("fix_days_median", gettext_lazy("Time to fix a street report, median (days)"), "days"),
)
_REPORT_FIGURES = ("reports_opened", "reports_fixed", "fix_days_median")


def _csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "money":
        amount = money_value(value)
        return None if amount is None else f"{amount:f}"
    number = _number(value)
    if number is None:
        return None
    if kind == "count":
        return int(number)
    return round(number, 6)


def _figures_table(dashboard: Dashboard, columns: Sequence[Mapping[str, Any]]) -> Table:
    """The month's figures (``columns``: this month, the month before, a year before)."""
    shown = [
        (key, label, kind)
        for key, label, kind in FIGURES
        if key not in _REPORT_FIGURES or any(c.get(key) is not None for c in columns)
    ]
    months = [dashboard.month, month_add(dashboard.month, -1), month_add(dashboard.month, -12)]
    return Table(
        slug="figures",
        caption=_("The figures of %(month)s, against the month before and a year before")
        % {"month": dashboard.month_label},
        header=[
            _("Figure"),
            dashboard.month_label,
            dashboard.last_month_label,
            dashboard.last_year_label,
        ],
        rows=[
            {"cells": [str(label), *(TEXTS[kind](c.get(key)) for c in columns)]}
            for key, label, kind in shown
        ],
        numeric=[False, True, True, True],
        csv=Csv(
            header=["figure", *(f"{m:%Y-%m}" for m in months)],
            rows=[
                [key, *(_csv_value(c.get(key), kind) for c in columns)]
                for key, _label, kind in shown
            ],
        ),
    )


# --- trends over 24 months ------------------------------------------------------------------


def _trend_panel(
    *,
    slug: str,
    title: str,
    by_month: Mapping[date, Mapping[str, Any]],
    window: Sequence[date],
    fields: Sequence[tuple[str, str]],
    kind: str,
    summary_of: str,
    summary_label: str = "",
    values: Callable[[Mapping[str, Any], str], Any] | None = None,
) -> Panel | None:
    """A line chart of ``fields`` ((key, label)) over ``window``, with its sentence (how
    ``summary_of`` moved on the month before) and CSV. With too few months to draw a line
    (one month of figures), the panel is its table alone (:func:`_table_only`), so that
    a page lists the same charts, and their CSVs download, from its first month on;
    ``None`` when no month of the window has a value."""
    read = values or (lambda figures, key: figures.get(key))
    records = []
    for month in window:
        figures = by_month.get(month)
        record: dict[str, Any] = {"month": month}
        for key, _label in fields:
            record[key] = read(figures, key) if figures is not None else None
        records.append(record)
    formats_by_kind: dict[str, charts.Format] = {
        "rate": charts.percent_label,
        "money": _money_format,
    }
    value_format = formats_by_kind.get(kind, charts.number_label)
    chart = charts.line_chart(
        records=records,
        time_field="month",
        time_kind="yearmonth",
        value_fields=[key for key, _label in fields],
        title=title,
        id_prefix=f"chart-{slug}-svg",
        labels={"month": _("Month"), **dict(fields)},
        value_format=value_format,
        integer=kind == "count",
    )
    if chart is None:
        chart = _table_only(records, fields=fields, title=title, value_format=value_format)
    if chart is None:
        return None
    labels = dict(fields)
    this, before = records[-1].get(summary_of), records[-2].get(summary_of)
    summary = charts.trend_sentence(
        what=summary_label or labels[summary_of],
        current=this,
        previous=before,
        kind={"rate": "rate", "money": "amount", "days": "amount"}.get(kind, "count"),
        value_format=_days_sentence_format if kind == "days" else value_format,
    )
    csv_kind = "money" if kind == "money" else "count" if kind == "count" else "number"
    return Panel(
        slug=slug,
        chart=chart,
        summary=summary,
        csv=Csv(
            header=["month", *(key for key, _label in fields)],
            rows=[
                [f"{r['month']:%Y-%m}", *(_csv_value(r[key], csv_kind) for key, _l in fields)]
                for r in records
            ],
        ),
    )


def _table_only(
    records: Sequence[Mapping[str, Any]],
    *,
    fields: Sequence[tuple[str, str]],
    title: str,
    value_format: charts.Format,
) -> charts.Chart | None:
    """A trend too short to draw (fewer than two months with a value): a chart without a
    picture (its ``svg`` empty), whose table has the months with a value; ``None`` when
    there is none."""
    shown = [(key, label) for key, label in fields if any(r.get(key) is not None for r in records)]
    if not shown:
        return None
    rows = []
    for record in records:
        values = [charts.number_value(record.get(key)) for key, _label in shown]
        if any(v is not None for v in values):
            rows.append(
                (
                    charts.time_label(record["month"], "yearmonth"),
                    ["" if v is None else value_format(v) for v in values],
                )
            )
    if not rows:
        return None
    return charts.Chart(
        svg=SafeString(""),
        title=title,
        rows=rows,
        time_label=_("Month"),
        columns=[label for _key, label in shown],
    )


def _rate_value(figures: Mapping[str, Any], key: str) -> Any:
    """A rate of the month; user satisfaction as the staff pages show it."""
    return satisfaction_value(figures) if key == "satisfaction" else figures.get(key)


def _cost_value(figures: Mapping[str, Any], key: str) -> Any:
    cost = _cost(figures)
    return cost.get(key) if cost else None


def _trends(by_month: Mapping[date, Mapping[str, Any]], window: Sequence[date]) -> list[Panel]:
    panels = [
        _trend_panel(
            slug="volumes",
            title=_("Transactions and applications, by month"),
            by_month=by_month,
            window=window,
            fields=[
                ("started", _("Transactions started")),
                ("completed", _("Transactions completed")),
                ("submitted", _("Applications submitted")),
                ("decided", _("Applications decided")),
            ],
            kind="count",
            summary_of="started",
        ),
        _trend_panel(
            slug="rates",
            title=_("Completion rate, digital take-up, satisfaction and decisions on time"),
            by_month=by_month,
            window=window,
            fields=[
                ("completion_rate", _("Completion rate")),
                ("digital_take_up", _("Digital take-up")),
                ("satisfaction", _("User satisfaction")),
                ("within_sla_rate", _("Decided within the target time")),
            ],
            kind="rate",
            summary_of="completion_rate",
            values=_rate_value,
        ),
        _trend_panel(
            slug="cost",
            title=_("Cost per transaction, by month"),
            by_month=by_month,
            window=window,
            fields=[
                ("per_transaction", _("Cost per transaction")),
                ("per_digital_transaction", _("Cost per digital transaction")),
            ],
            kind="money",
            summary_of="per_transaction",
            values=_cost_value,
        ),
        _trend_panel(
            slug="decision-days",
            title=_("Time to decision in working days, by month"),
            by_month=by_month,
            window=window,
            fields=[
                ("decision_days_median", _("Median")),
                ("decision_days_p90", _("90th percentile")),
            ],
            kind="days",
            summary_of="decision_days_median",
            summary_label=_("The median time to decision"),
        ),
        _trend_panel(
            slug="backlog",
            title=_("Backlog and overdue cases at the end of each month"),
            by_month=by_month,
            window=window,
            fields=[
                ("backlog", _("Open cases (backlog)")),
                ("overdue", _("Overdue cases")),
            ],
            kind="count",
            summary_of="backlog",
        ),
        _trend_panel(
            slug="reports",
            title=_("Street reports, by month"),
            by_month=by_month,
            window=window,
            fields=[
                ("reports_opened", _("Street reports opened")),
                ("reports_fixed", _("Street reports fixed")),
            ],
            kind="count",
            summary_of="reports_opened",
        ),
    ]
    return [panel for panel in panels if panel is not None]


# --- the month's breakdowns -----------------------------------------------------------------


def _ward_names() -> dict[str, str]:
    return {code: str(ward) for code, ward in jurisdictions_by_code().items()}


def sla_by_ward_panel(
    figures: Mapping[str, Any], *, wards: frozenset[str] | None, month: str
) -> Panel | None:
    """The share of cases decided within the target time in each ward (of ``wards``;
    ``None``: every ward). A ward with fewer decided cases than
    ``INSIGHTS_SMALL_COUNT_THRESHOLD`` (but some) shows "fewer than N" and no share: its
    counts could point at a person. The page shows the service's total decided, so the
    total less the wards shown must not give a hidden ward back: enough other wards are
    hidden too ("not shown"; ``[c]`` in the CSV), chosen among every ward of the service
    (:func:`small_counts_hidden`), whatever wards the reader sees."""
    by_ward = figures.get("sla_by_ward") or {}
    if not isinstance(by_ward, Mapping):
        return None
    threshold = small_count_threshold()
    names = _ward_names()
    every = {str(code): _count(counts or {}, "decided") for code, counts in by_ward.items()}
    small, secondary = small_counts_hidden(every, [sorted(every)], limit=threshold)
    entries = []
    for code, counts in by_ward.items():
        if wards is not None and code not in wards:
            continue
        decided = _count(counts or {}, "decided")
        within = _count(counts or {}, "within_sla")
        name = str(names.get(str(code), code)) if code else _("No ward")
        entries.append((code == "", name.casefold(), str(code), name, decided, within))
    entries.sort()
    if not entries:
        return None
    fewer = _("fewer than %(count)s decided") % {"count": threshold}
    categories: list[str] = []
    values: list[float | None] = []
    texts: list[str | None] = []
    csv_rows: list[list[Any]] = []
    suppressed = withheld = 0
    for _blank, _key, code, name, decided, within in entries:
        categories.append(name)
        if code in small or code in secondary:
            values.append(None)
            if code in small:
                suppressed += 1
                texts.append(fewer)
                mark = f"<{threshold}"
            else:
                withheld += 1
                texts.append(_("not shown"))
                mark = SECONDARY_MARK
            csv_rows.append([code, name, mark, mark, None])
            continue
        rate = within / decided if decided else None
        values.append(rate)
        texts.append(
            ngettext(
                "%(share)s (%(within)s of %(count)s decided)",
                "%(share)s (%(within)s of %(count)s decided)",
                decided,
            )
            % {
                "share": _rate_text(rate),
                "within": charts.number_label(within),
                "count": charts.number_label(decided),
            }
        )
        csv_rows.append([code, name, decided, within, None if rate is None else round(rate, 6)])
    title = _("Decided within the target time, by ward, %(month)s") % {"month": month}
    chart = charts.bar_chart(
        categories=categories,
        series=[(_("Decided within the target time"), values)],
        texts=[texts],
        title=title,
        id_prefix="chart-sla-by-ward-svg",
        category_label=_("Ward"),
        value_format=charts.percent_label,
        max_value=1,
    )
    if chart is None:
        return None
    summary = _sla_summary(
        [
            (code, name, value)
            for (_blank, _key, code, name, _decided, _within), value in zip(
                entries, values, strict=True
            )
        ],
        suppressed=suppressed,
        withheld=withheld,
        month=month,
    )
    notes = []
    if suppressed:
        notes.append(
            ngettext(
                "%(count)s ward had fewer than %(threshold)s decided cases: its figures are "
                "not shown, so that nobody can be recognised from them.",
                "%(count)s wards had fewer than %(threshold)s decided cases: their figures "
                "are not shown, so that nobody can be recognised from them.",
                suppressed,
            )
            % {"count": suppressed, "threshold": threshold}
        )
    if withheld:
        notes.append(
            ngettext(
                "%(count)s more ward is not shown, so that the service's total less the "
                "wards shown cannot give a small count away.",
                "%(count)s more wards are not shown, so that the service's total less the "
                "wards shown cannot give a small count away.",
                withheld,
            )
            % {"count": withheld}
        )
    return Panel(
        slug="sla-by-ward",
        chart=chart,
        summary=summary,
        note=" ".join(notes),
        csv=Csv(
            header=["ward_code", "ward", "decided", "within_sla", "within_sla_rate"],
            rows=csv_rows,
        ),
    )


def _sla_summary(  # noqa: PLR0911 (one sentence per case)
    rows: Sequence[tuple[str, str, float | None]],
    *,
    suppressed: int,
    month: str,
    withheld: int = 0,
) -> str:
    """The sentence of the SLA-by-ward chart over ``rows`` (ward code, "" for cases
    without a ward; name; share, ``None`` when not shown): the highest and the lowest
    share; one ward's share when only one has a share to show; why there is none
    (``suppressed`` rows have too few decided cases, ``withheld`` ones are hidden so that
    the total does not give those away)."""
    known = [(code, name, share) for code, name, share in rows if share is not None]

    def called(code: str, name: str) -> str:
        return name if code else _("cases with no ward")

    if not known:
        if withheld and len(rows) == 1:
            code, name, _share = rows[0]
            return _(
                "The share of %(ward)s is not shown, so that the service's total cannot "
                "give a smaller ward's count away."
            ) % {"ward": called(code, name)}
        if withheld:
            return _(
                "No ward's share can be shown: too few cases were decided in some wards, "
                "and the others are not shown so that the service's total cannot give "
                "those away."
            )
        if not suppressed:
            return _("No case with a target time was decided in %(month)s.") % {"month": month}
        if len(rows) == 1:
            code, name, _share = rows[0]
            if not code:
                return _("Too few cases with no ward were decided to show their share.")
            return _("Too few cases were decided in %(ward)s to show its share.") % {"ward": name}
        return ngettext(
            "None of the %(count)s ward had enough decided cases to show its share.",
            "None of the %(count)s wards had enough decided cases to show their share.",
            len(rows),
        ) % {"count": len(rows)}
    if len(known) == 1:
        code, name, share = known[0]
        if not code:
            return _("Cases with no ward: %(share)s decided within the target time.") % {
                "share": charts.percent_label(share)
            }
        return _("%(ward)s: %(share)s decided within the target time.") % {
            "ward": name,
            "share": charts.percent_label(share),
        }
    best = max(known, key=lambda item: item[2])
    worst = min(known, key=lambda item: item[2])
    if charts.percent_label(best[2]) == charts.percent_label(worst[2]):
        return ngettext(
            "Each of the %(count)s ward with a share shown decided %(share)s within the "
            "target time.",
            "Each of the %(count)s wards with a share shown decided %(share)s within the "
            "target time.",
            len(known),
        ) % {"count": len(known), "share": charts.percent_label(best[2])}
    return _(
        "Highest share decided within the target time: %(best)s (%(best_share)s); "
        "lowest: %(worst)s (%(worst_share)s)."
    ) % {
        "best": called(best[0], best[1]),
        "best_share": charts.percent_label(best[2]),
        "worst": called(worst[0], worst[1]),
        "worst_share": charts.percent_label(worst[2]),
    }


def _bars_panel(
    *,
    slug: str,
    title: str,
    category_label: str,
    series_label: str,
    entries: Sequence[tuple[str, str, int]],
    summary: str,
    hidden: Mapping[str, tuple[str, str]] | None = None,
    note: str = "",
) -> Panel | None:
    """Counts by category as bars: ``entries`` of (key, label, count); ``hidden`` maps
    the key of a count not shown to (what the chart writes, what the CSV holds)."""
    hidden = hidden or {}
    chart = charts.bar_chart(
        categories=[label for _key, label, _count in entries],
        series=[
            (
                series_label,
                [None if key in hidden else count for key, _label, count in entries],
            )
        ],
        texts=[[hidden[key][0] if key in hidden else None for key, _l, _c in entries]]
        if hidden
        else None,
        title=title,
        id_prefix=f"chart-{slug}-svg",
        category_label=category_label,
        integer=True,
    )
    if chart is None:
        return None
    return Panel(
        slug=slug,
        chart=chart,
        summary=summary,
        note=note,
        csv=Csv(
            header=["key", "label", "count"],
            rows=[
                [key, label, hidden[key][1] if key in hidden else count]
                for key, label, count in entries
            ],
        ),
    )


def _state_labels(services: Sequence[Service]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for service in services:
        if service.current_version is None:
            continue
        spec = service_spec(service)
        for state in spec.states:
            labels.setdefault(state, spec.staff_state_label(state))
    return labels


def _breakdowns(
    figures: Mapping[str, Any],
    *,
    month: str,
    services: Sequence[Service],
    wards: frozenset[str] | None,
) -> tuple[list[Panel], list[str]]:
    panels: list[Panel | None] = [sla_by_ward_panel(figures, wards=wards, month=month)]
    notes: list[str] = []
    backlog = _count(figures, "backlog")
    overdue = _count(figures, "overdue")
    ages = figures.get("backlog_by_age") or {}
    backlog_summary = ngettext(
        "%(count)s case was open at the end of %(month)s, %(overdue)s of them overdue.",
        "%(count)s cases were open at the end of %(month)s, %(overdue)s of them overdue.",
        backlog,
    ) % {
        "count": charts.number_label(backlog),
        "month": month,
        "overdue": charts.number_label(overdue),
    }
    if isinstance(ages, Mapping) and ages:
        panels.append(
            _bars_panel(
                slug="backlog-by-age",
                title=_("Open cases by age, at the end of %(month)s") % {"month": month},
                category_label=_("Time since the application was sent"),
                series_label=_("Open cases"),
                entries=[
                    (key, str(AGE_LABELS.get(key, key)), _count(ages, key))
                    for key in [*AGE_LABELS, *(k for k in ages if k not in AGE_LABELS)]
                    if key in ages
                ],
                summary=backlog_summary,
            )
        )
    states = figures.get("backlog_by_state")
    if isinstance(states, Mapping) and states:
        labels = _state_labels(services)
        entries = sorted(
            ((key, labels.get(key, key.replace("_", " ")), _count(states, key)) for key in states),
            key=lambda item: (-item[2], item[1].casefold()),
        )
        panels.append(
            _bars_panel(
                slug="backlog-by-state",
                title=_("Open cases by state, at the end of %(month)s") % {"month": month},
                category_label=_("State"),
                series_label=_("Open cases"),
                entries=entries,
                summary=backlog_summary,
            )
        )
    elif states is None and backlog:
        notes.append(
            _(
                "The backlog by state is kept for the current month only: a past month "
                "shows its backlog by age."
            )
        )
    ratings = figures.get("ratings") or {}
    rated = _count(figures, "rated")
    if isinstance(ratings, Mapping) and rated:
        panels.append(_ratings_panel(figures, ratings=ratings, rated=rated, month=month))
    return [panel for panel in panels if panel is not None], notes


def _ratings_panel(
    figures: Mapping[str, Any], *, ratings: Mapping[str, Any], rated: int, month: str
) -> Panel | None:
    """The month's ratings by level, small counts hidden (the module's rule): the page
    shows the ratings in all, and the share satisfied when it is shown, so the levels
    add up to three totals (all, satisfied, not satisfied)."""
    threshold = small_count_threshold()
    counts = {key: _count(ratings, key) for key, _label in RATING_LABELS}
    groups: list[list[str]] = [[key for key, _label in RATING_LABELS]]
    if satisfaction_value(figures) is not None:
        groups += [["5", "4"], ["3", "2", "1"]]
    small, secondary = small_counts_hidden(counts, groups, limit=threshold)
    hidden = {
        key: (_("fewer than %(count)s") % {"count": threshold}, f"<{threshold}") for key in small
    } | {key: (_("not shown"), SECONDARY_MARK) for key in secondary}
    notes = []
    if small:
        notes.append(
            _(
                "A level with fewer than %(threshold)s ratings shows “fewer than "
                "%(threshold)s”, so that nobody can be recognised from it."
            )
            % {"threshold": threshold}
        )
    if secondary:
        notes.append(
            ngettext(
                "%(count)s more level is not shown, so that the totals cannot give a small "
                "count away.",
                "%(count)s more levels are not shown, so that the totals cannot give a "
                "small count away.",
                len(secondary),
            )
            % {"count": len(secondary)}
        )
    share = satisfaction_value(figures)
    if share is None:
        summary = ngettext(
            "%(count)s rating; the share satisfied or very satisfied is not shown, as it "
            "could point at a person.",
            "%(count)s ratings; the share satisfied or very satisfied is not shown, as it "
            "could point at a person.",
            rated,
        ) % {"count": charts.number_label(rated)}
    else:
        summary = ngettext(
            "%(share)s of %(count)s rating was satisfied or very satisfied.",
            "%(share)s of %(count)s ratings were satisfied or very satisfied.",
            rated,
        ) % {"share": _rate_text(share), "count": charts.number_label(rated)}
    return _bars_panel(
        slug="ratings",
        title=_("Satisfaction ratings by level, %(month)s") % {"month": month},
        category_label=_("Rating"),
        series_label=_("Ratings"),
        entries=[(key, str(label), counts[key]) for key, label in RATING_LABELS],
        summary=summary,
        hidden=hidden,
        note=" ".join(notes),
    )


# --- anomalies -------------------------------------------------------------------------------


def service_title(service: Service) -> str:
    """The service's title in the reader's language (its slug if it has no version)."""
    if service.current_version is None:
        return str(service.slug)
    return service_spec(service).title()


def _anomaly_rows(anomalies: Sequence[Anomaly]) -> list[AnomalyRow]:
    rows = []
    for anomaly in anomalies:
        higher = anomaly.observed > anomaly.high95
        rows.append(
            AnomalyRow(
                week=anomaly.week,
                service=service_title(anomaly.service),
                service_slug=anomaly.service.slug,
                series=str(SERIES_LABELS.get(anomaly.series, anomaly.series)),
                observed=charts.number_label(round(anomaly.observed, 1)),
                expected=charts.number_label(round(anomaly.expected, 1)),
                interval=_("%(low)s to %(high)s")
                % {
                    "low": charts.number_label(round(anomaly.low95, 1)),
                    "high": charts.number_label(round(anomaly.high95, 1)),
                },
                direction=_("Higher than expected") if higher else _("Lower than expected"),
            )
        )
    return rows


def _anomalies(services: Sequence[Service], month: date) -> list[AnomalyRow]:
    until = month_add(month, 1) - timedelta(days=1)
    since = until - timedelta(weeks=ANOMALY_WEEKS)
    return _anomaly_rows(
        selectors.anomalies_for_insights(services=services, since=since, until=until)
    )


# --- the children: services of a department, departments of the authority ---------------------


def _children_table(
    *,
    slug: str,
    caption: str,
    first_header: str,
    children: Sequence[tuple[str, str, str]],
    rows: Mapping[str, Any],
) -> Table:
    """The KPIs of the month of each child (key, name, url) of the page."""
    table_rows = []
    csv_rows = []
    for key, name, url in children:
        row = rows.get(key)
        figures = row.figures if row is not None else {}
        cost = _cost(figures)
        per = cost.get("per_transaction") if cost else None
        table_rows.append(
            {
                "cells": [
                    name,
                    _count_text(figures.get("completed")),
                    money_text(per),
                    _rate_text(satisfaction_value(figures)),
                    _rate_text(figures.get("completion_rate")),
                    _rate_text(figures.get("digital_take_up")),
                    _count_text(figures.get("backlog")),
                ],
                "url": url,
            }
        )
        csv_rows.append(
            [
                key,
                name,
                _csv_value(figures.get("completed"), "count"),
                _csv_value(per, "money"),
                _csv_value(satisfaction_value(figures), "rate"),
                _csv_value(figures.get("completion_rate"), "rate"),
                _csv_value(figures.get("digital_take_up"), "rate"),
                _csv_value(figures.get("backlog"), "count"),
            ]
        )
    return Table(
        slug=slug,
        caption=caption,
        header=[
            first_header,
            _("Completed"),
            _("Cost per transaction"),
            _("Satisfaction"),
            _("Completion rate"),
            _("Digital take-up"),
            _("Backlog"),
        ],
        numeric=[False, True, True, True, True, True, True],
        rows=table_rows,
        csv=Csv(
            header=[
                "key",
                "name",
                "completed",
                "cost_per_transaction",
                "satisfaction",
                "completion_rate",
                "digital_take_up",
                "backlog",
            ],
            rows=csv_rows,
        ),
    )


# --- building a page -------------------------------------------------------------------------


def _build(
    *,
    scope: str,
    key: str,
    month: date,
    services: Sequence[Service],
    wards: frozenset[str] | None = None,
) -> Dashboard:
    window = [month_add(month, -offset) for offset in range(TREND_MONTHS - 1, -1, -1)]
    rows = selectors.kpi_months(scope=scope, key=key, months=window)
    by_month = {row.month: row.figures for row in rows}
    this = by_month.get(month)
    last, year = by_month.get(month_add(month, -1)), by_month.get(month_add(month, -12))
    label = month_label(month)
    dashboard = Dashboard(
        scope=scope,
        key=key,
        month=month,
        month_label=label,
        last_month_label=month_label(month_add(month, -1)),
        last_year_label=month_label(month_add(month, -12)),
        has_figures=this is not None,
        in_progress=month == timezone.localdate().replace(day=1),
    )
    dashboard.anomalies = _anomalies(services, month)
    if this is None:
        return dashboard
    dashboard.kpis = _kpis(this, last or {}, year or {})
    dashboard.figures = _figures_table(dashboard, [this, last or {}, year or {}])
    dashboard.trends = _trends(by_month, window)
    dashboard.breakdowns, dashboard.notes = _breakdowns(
        this, month=label, services=services, wards=wards
    )
    return dashboard


def _month_query(month: date) -> str:
    return f"?month={month:%Y-%m}"


_CSV_URLS = {
    SERVICE: "staff:insights_service_csv",
    DEPARTMENT: "staff:insights_department_csv",
    AUTHORITY: "staff:insights_csv",
}


def _csv_urls(dashboard: Dashboard) -> None:
    """Set where each chart's and table's CSV downloads from (the page's month)."""
    query = _month_query(dashboard.month)

    def url(slug: str) -> str:
        args = [dashboard.key, slug] if dashboard.scope != AUTHORITY else [slug]
        return reverse(_CSV_URLS[dashboard.scope], args=args) + query

    for panel in (*dashboard.trends, *dashboard.breakdowns):
        panel.csv_url = url(panel.slug)
    for table in (dashboard.figures, dashboard.children):
        if table is not None:
            table.csv_url = url(table.slug)


def service_dashboard(*, user: Any, service: Service, month: date) -> Dashboard:
    """The page of ``service`` (already within the reader's remit) for ``month``."""
    wards = selectors.wards_for_insights(user=user, service=service)
    dashboard = _build(
        scope=SERVICE, key=service.slug, month=month, services=[service], wards=wards
    )
    if wards is None:
        dashboard.links.append(
            Link(
                _("Demand forecast and staffing advice"),
                reverse("staff:insights_forecast", args=[service.slug]),
            )
        )
    if holds_capability(user, INSIGHTS_COSTS) and remit_covers(
        user, INSIGHTS_COSTS, departments=service.department_id, ward_id=None
    ):
        dashboard.links.append(
            Link(_("Costs of this service"), reverse("staff:insights_costs", args=[service.slug]))
        )
    dashboard.pages = service_pages(service)
    _csv_urls(dashboard)
    return dashboard


def department_dashboard(*, user: Any, department: Department, month: date) -> Dashboard:
    """The page of ``department`` (its totals within the reader's remit) for ``month``,
    with its services."""
    services = selectors.services_for_insights(user=user, department=department)
    dashboard = _build(scope=DEPARTMENT, key=department.slug, month=month, services=services)
    rows = selectors.kpi_rows_of_month(scope=SERVICE, keys=[s.slug for s in services], month=month)
    query = _month_query(month)
    dashboard.children = _children_table(
        slug="services",
        caption=_("The services of the department, %(month)s") % {"month": dashboard.month_label},
        first_header=_("Service"),
        children=[
            (
                s.slug,
                service_title(s),
                reverse("staff:insights_service", args=[s.slug]) + query,
            )
            for s in services
        ],
        rows=rows,
    )
    if holds_capability(user, INSIGHTS_COSTS):
        dashboard.links.append(Link(_("Costs of services"), reverse("staff:insights_costs_home")))
    _csv_urls(dashboard)
    return dashboard


def authority_dashboard(*, user: Any, month: date) -> Dashboard:
    """The whole authority's page for ``month``, with every department (the reader holds
    ``insights.read`` authority-wide: :func:`~ecitizen.insights.selectors.may_see_authority`)."""
    services = selectors.services_for_insights(user=user)
    departments = selectors.departments_for_insights(user=user)
    dashboard = _build(scope=AUTHORITY, key="", month=month, services=services)
    rows = selectors.kpi_rows_of_month(
        scope=DEPARTMENT, keys=[d.slug for d in departments], month=month
    )
    query = _month_query(month)
    dashboard.children = _children_table(
        slug="departments",
        caption=_("The departments, %(month)s") % {"month": dashboard.month_label},
        first_header=_("Department"),
        children=[
            (
                d.slug,
                str(d),
                reverse("staff:insights_department", args=[d.slug]) + query,
            )
            for d in departments
        ],
        rows=rows,
    )
    if holds_capability(user, INSIGHTS_COSTS):
        dashboard.links.append(Link(_("Costs of services"), reverse("staff:insights_costs_home")))
    _csv_urls(dashboard)
    return dashboard


@dataclass
class RemitList:
    """What a reader without the authority's page may open: their departments' pages and
    their services' pages (a ward-limited service manager has services only):
    ``departments`` of (slug, name), ``services`` of (slug, title, department's name)."""

    departments: list[tuple[str, str]]
    services: list[tuple[str, str, str]]
    #: The one department page that covers everything the reader may see, if there is one
    #: (the page to open instead of this list).
    only_department: str | None = None


def remit_list(*, user: Any) -> RemitList:
    """The department and service pages within the reader's remit (names and slugs)."""
    departments = selectors.departments_for_insights(user=user)
    services = selectors.services_for_insights(user=user)
    only = None
    if len(departments) == 1 and all(s.department_id == departments[0].pk for s in services):
        only = departments[0].slug
    return RemitList(
        departments=[(d.slug, str(d)) for d in departments],
        services=[(s.slug, service_title(s), str(s.department)) for s in services],
        only_department=only,
    )


def csv_filename(*, scope: str, key: str, slug: str, month: date) -> str:
    """A safe file name for a CSV: letters, digits and hyphens only
    (``performance-revenue-sla-by-ward-2025-03.csv``)."""
    parts = ["performance", key or "authority", slug, f"{month:%Y-%m}"]
    name = "-".join(re.sub(r"[^A-Za-z0-9-]+", "-", part).strip("-") for part in parts if part)
    return f"{name}.csv"


def month_default(months: Sequence[date], *, today: date) -> date:
    """The month a page opens on, among ``months`` (the latest first): the latest that is
    over (this month's figures grow until it ends, and against a whole month they would
    read as a fall), else the latest, else this month."""
    current = today.replace(day=1)
    return next((m for m in months if m < current), months[0] if months else current)


def default_month(*, scope: str, key: str, today: date) -> date:
    """The month a page of the scope opens on (:func:`month_default`)."""
    return month_default(months_offered(scope=scope, key=key, today=today), today=today)


__all__ = [
    "AUTHORITY",
    "DEPARTMENT",
    "SECONDARY_MARK",
    "SERVICE",
    "Csv",
    "Dashboard",
    "Kpi",
    "Panel",
    "RemitList",
    "Table",
    "authority_dashboard",
    "csv_filename",
    "default_month",
    "department_dashboard",
    "money_text",
    "money_value",
    "month_add",
    "month_default",
    "month_label",
    "month_parse",
    "months_offered",
    "remit_list",
    "satisfaction_value",
    "service_dashboard",
    "service_title",
    "small_count_threshold",
    "small_counts_hidden",
]

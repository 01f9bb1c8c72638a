"""The public performance figures: for every published service listed in the catalogue
and every month that has ended, the four key performance indicators and the volume, read
from the monthly figures (:class:`~ecitizen.insights.models.KpiMonth` rows of scope
``service``, computed by ``kpis_refresh``). The public page (``/performance/``), its CSV
and the open dataset ``service-kpis`` all read :func:`performance_rows`, so that they
publish the same figures.

What is published, per service and month:

- **transactions**: applications completed in the month (``completed``: an end page
  reached, "not eligible" included), the volume;
- **cost per transaction**: ``cost.per_transaction`` (total cost of the month, start-up
  costs excluded, divided by the completed transactions);
- **user satisfaction**: ratings 4 (satisfied) and 5 (very satisfied) divided by all
  ratings (``rated``);
- **completion rate**: of the journeys started in the month, the share that reached an
  end page (``started_completed`` divided by ``started``: :func:`completion_figure`);
- **digital take-up**: ``completed_online`` divided by ``completed`` (assisted digital and
  counter applications are not digital).

Statistical disclosure control (:func:`small_count_threshold`: the larger of
``settings.INSIGHTS_SMALL_COUNT_THRESHOLD`` and ``settings.OPENDATA_SMALL_COUNT_THRESHOLD``,
10 by default, the one threshold of everything public): a count below the threshold,
zero included, is not published (written ``<10``); a rate is not published when its
denominator is below the threshold, or its numerator or its complement is from 1 to the
threshold less one (3 satisfied of 40 would say something of 3 people, 29 online of 30
of the one who was not), nor a cost per transaction when the transactions are. Such a
figure has the status :data:`SUPPRESSED`, which the page shows as "not enough data to
publish" and the CSV as :data:`SUPPRESSED_MARK`. A figure that was not measured (no
ratings collected, no costs entered, or costs entered only in part) has the status
:data:`UNAVAILABLE` (:data:`UNAVAILABLE_MARK`): an incomplete cost would be understated,
so it is not published.

Only months before the current one are public: a month's figures change every night
until it ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.catalogue.selectors import service_spec, services_published, services_published_list
from ecitizen.core.compiled import CompiledQuery
from ecitizen.insights.models import KpiMonth

if TYPE_CHECKING:
    from ecitizen.catalogue.models import Service

#: The figure is published: ``value`` holds it.
PUBLISHED = "published"
#: Withheld: a count it is built from is below the small-count threshold.
SUPPRESSED = "suppressed"
#: Not measured for the month (no ratings, no costs entered).
UNAVAILABLE = "unavailable"

#: What a withheld rate or amount reads in the CSV (the statistical offices' mark for
#: "confidential"); a withheld count reads ``<10`` (:func:`suppressed_count_label`).
SUPPRESSED_MARK = "[c]"
#: What a figure that was not measured reads in the CSV ("not available").
UNAVAILABLE_MARK = "[x]"

#: Rates are published to three decimals (87.5%).
RATE_DECIMALS = 3


def small_count_threshold() -> int:
    """The smallest count published anywhere public: the larger of
    ``settings.INSIGHTS_SMALL_COUNT_THRESHOLD`` (5 by default) and
    ``settings.OPENDATA_SMALL_COUNT_THRESHOLD`` (10 by default), so 10 by default.

    One threshold for everything public (this page and its CSV, the open datasets
    ``service-kpis`` and ``service-performance`` and the platform's other datasets,
    through ``opendata.platform.threshold``): with two, the same count would be ``<10``
    in one dataset and ``7`` in another. The staff dashboards keep
    ``INSIGHTS_SMALL_COUNT_THRESHOLD`` alone (their readers see the cases)."""
    return max(
        int(getattr(settings, "INSIGHTS_SMALL_COUNT_THRESHOLD", 5)),
        int(getattr(settings, "OPENDATA_SMALL_COUNT_THRESHOLD", 10)),
    )


def suppressed_count_label() -> str:
    """What a withheld count reads in the CSV: ``<10`` with the default thresholds."""
    return f"<{small_count_threshold()}"


@dataclass(frozen=True)
class Figure:
    """One figure of the table: ``value`` when ``status`` is :data:`PUBLISHED` (an
    ``int`` count, a ``float`` rate from 0 to 1, or a ``Decimal`` amount), else
    ``None`` and the reason (:data:`SUPPRESSED` or :data:`UNAVAILABLE`)."""

    status: str
    value: int | float | Decimal | None = None

    @property
    def published(self) -> bool:
        return self.status == PUBLISHED

    @property
    def suppressed(self) -> bool:
        return self.status == SUPPRESSED


@dataclass(frozen=True)
class ServicePerformance:
    """The published figures of one service in one month. Titles are in the language
    active when the row was built."""

    month: date
    service: str
    service_title: str
    department: str
    department_name: str
    transactions: Figure
    cost_per_transaction: Figure
    #: The currency of ``cost_per_transaction`` (ISO 4217).
    currency: str
    user_satisfaction: Figure
    completion_rate: Figure
    digital_take_up: Figure


def current_month(today: date | None = None) -> date:
    """The first day of the month of ``today`` (local date by default)."""
    return (today or timezone.localdate()).replace(day=1)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def count_figure(value: Any) -> Figure:
    """A count: published when it is at least the threshold; ``UNAVAILABLE`` when the
    month's figures do not have it."""
    count = _count(value)
    if count is None:
        return Figure(UNAVAILABLE)
    if count < small_count_threshold():
        return Figure(SUPPRESSED)
    return Figure(PUBLISHED, count)


def rate_figure(numerator: Any, denominator: Any) -> Figure:
    """``numerator / denominator`` rounded to :data:`RATE_DECIMALS`: suppressed when the
    denominator is below the threshold (a zero one included), or when the numerator or
    its complement (``denominator - numerator``: 29 online of 30 tells that one person did
    not apply online) is a small count, from 1 to the threshold; unavailable when either
    is missing from the month's figures. None at all (0%) or all (100%) points at no one."""
    top, bottom = _count(numerator), _count(denominator)
    if top is None or bottom is None:
        return Figure(UNAVAILABLE)
    if rate_withheld(top, bottom, limit=small_count_threshold()):
        return Figure(SUPPRESSED)
    return Figure(PUBLISHED, round(top / bottom, RATE_DECIMALS))


def rate_withheld(numerator: int, denominator: int, *, limit: int) -> bool:
    """Whether ``numerator / denominator`` is withheld under the small-count ``limit``
    (:func:`rate_figure`'s rule, which the staff dashboards follow with their own
    threshold): the denominator is below it (zero included), or the numerator or its
    complement is from 1 to ``limit - 1``."""
    return denominator < limit or 0 < numerator < limit or 0 < denominator - numerator < limit


def _satisfied(figures: Mapping[str, Any]) -> int | None:
    ratings = figures.get("ratings")
    if not isinstance(ratings, Mapping):
        return None
    total = 0
    for level in ("4", "5"):
        count = _count(ratings.get(level, 0))
        if count is None:
            return None
        total += count
    return total


def cost_figure(figures: Mapping[str, Any]) -> Figure:
    """The cost per transaction: unavailable without costs, with costs entered only in
    part (``cost.missing``) or without a figure; suppressed when the transactions are
    fewer than the threshold."""
    cost = figures.get("cost")
    if not isinstance(cost, Mapping) or cost.get("missing"):
        return Figure(UNAVAILABLE)
    completed = _count(figures.get("completed"))
    if completed is None:
        return Figure(UNAVAILABLE)
    if completed < small_count_threshold():
        return Figure(SUPPRESSED)
    try:
        amount = Decimal(str(cost.get("per_transaction")))
    except InvalidOperation:
        return Figure(UNAVAILABLE)
    if not amount.is_finite():
        return Figure(UNAVAILABLE)
    return Figure(PUBLISHED, amount)


def completion_figure(figures: Mapping[str, Any]) -> Figure:
    """The completion rate, a cohort rate: of the journeys started in the month, those
    that reached an end page (``started_completed / started``, ``insights/kpis.py``).
    Figures computed before the cohort rate have ``completed`` (completions in the month)
    alone: it stands in, unless it is more than the starts (cohorts mixed, a rate over 1
    is no rate: unavailable)."""
    numerator = figures.get("started_completed", figures.get("completed"))
    top, bottom = _count(numerator), _count(figures.get("started"))
    if top is not None and bottom is not None and top > bottom:
        return Figure(UNAVAILABLE)
    return rate_figure(numerator, figures.get("started"))


def service_figures(figures: Mapping[str, Any]) -> dict[str, Figure]:
    """The five published figures from one month's figures of a service (the
    ``KpiMonth.figures`` contract), each suppressed as the module says."""
    return {
        "transactions": count_figure(figures.get("completed")),
        "cost_per_transaction": cost_figure(figures),
        "user_satisfaction": rate_figure(_satisfied(figures), figures.get("rated")),
        "completion_rate": completion_figure(figures),
        "digital_take_up": rate_figure(figures.get("completed_online"), figures.get("completed")),
    }


def public_services() -> dict[str, Service]:
    """The services whose figures are public (published and listed), by slug. One
    query."""
    return {service.slug: service for service in services_published_list()}


def _public_figures(*, before: date, months: list[date] | None = None) -> Any:
    """The figures of the services published and listed (by a subquery, so that the
    query's shape does not depend on how many there are), of months before ``before``;
    of ``months`` only (first days), when given."""
    rows = KpiMonth.objects.filter(
        scope=KpiMonth.Scope.SERVICE,
        key__in=services_published(listed=True).values("slug"),
        month__lt=before,
    )
    return rows if months is None else rows.filter(month__in=months)


_MONTH = KpiMonth._meta.get_field("month")

#: The performance page's two reads, on every request: compiled once per process
#: (core.compiled), as building them in the ORM cost more than running them.
_PUBLIC_MONTHS = CompiledQuery(
    KpiMonth,
    lambda before: (
        _public_figures(before=before).order_by("-month").values_list("month", flat=True).distinct()
    ),
    before=(date(1903, 1, 1), _MONTH),
)
_MONTH_FIGURES = CompiledQuery(
    KpiMonth,
    lambda before, month: _public_figures(before=before, months=[month]).values_list(
        "key", "month", "figures"
    ),
    before=(date(1903, 1, 1), _MONTH),
    month=(date(1902, 1, 1), _MONTH),
)


def public_months(*, today: date | None = None) -> list[date]:
    """The months that have public figures (first days, newest first): months before the
    current one with figures of at least one published, listed service. One query."""
    return [row[0] for row in _PUBLIC_MONTHS.rows(before=current_month(today))]


def performance_rows(
    *,
    months: Iterable[date] | None = None,
    today: date | None = None,
    services: dict[str, Service] | None = None,
) -> list[ServicePerformance]:
    """The published figures of every published, listed service (``services``, from
    :func:`public_services`: read here when not given) for ``months`` (every public month
    when ``None``; a month that has not ended gives nothing), ordered by month, then
    service title in the active language. Two queries (the services, the months'
    figures), or one; titles in the active language. Precondition: ``services`` are
    published and listed (the figures are chosen by the database's own list of those,
    then kept to ``services``)."""
    services = public_services() if services is None else services
    before = current_month(today)
    chosen = None if months is None else sorted({m.replace(day=1) for m in months})
    if chosen is not None and len(chosen) == 1:
        # The page's one month: its query compiled.
        rows: Iterable[Sequence[Any]] = _MONTH_FIGURES.rows(before=before, month=chosen[0])
    else:
        rows = _public_figures(before=before, months=chosen).values_list("key", "month", "figures")
    titles = {slug: service_spec(service).title() for slug, service in services.items()}
    currency = str(getattr(settings, "CURRENCY", ""))
    found = []
    for key, month, raw in rows:
        service = services.get(key)
        if service is None:  # published since the services were read
            continue
        figures = raw if isinstance(raw, Mapping) else {}
        published = service_figures(figures)
        found.append(
            ServicePerformance(
                month=month,
                service=service.slug,
                service_title=titles[service.slug],
                department=service.department.slug,
                department_name=str(service.department),
                currency=str(figures.get("currency") or currency),
                **published,
            )
        )
    found.sort(key=lambda r: (r.month, r.service_title.casefold(), r.service))
    return found


# --- the table as text (the CSV and the open dataset) ----------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the figures as a table: its name, Table Schema type, title and
    description (lazy strings, for the data dictionary of the open dataset)."""

    name: str
    type: str
    title: Any
    description: Any
    #: A count: a whole number or the suppression mark.
    count: bool = False
    required: bool = False


_MARKS = _(
    "“[c]”: not enough data to publish (a count it is built from is below the threshold); "
    "“[x]”: not measured."
)

COLUMNS: tuple[Column, ...] = (
    Column(
        "month",
        "date",
        _("Month"),
        _("The first day of the calendar month the figures are for."),
        required=True,
    ),
    Column("service", "string", _("Service"), _("The service's short name."), required=True),
    Column("service_title", "string", _("Service title"), _("The service's name.")),
    Column(
        "department",
        "string",
        _("Department"),
        _("The department that provides the service (its short name)."),
    ),
    Column(
        "transactions",
        "string",
        _("Transactions"),
        _(
            "Applications completed in the month, online, with a helper or at a counter "
            "(an application that ended by telling the person they were not eligible "
            "counts as completed)."
        ),
        count=True,
        required=True,
    ),
    Column(
        "cost_per_transaction",
        "number",
        _("Cost per transaction"),
        _(
            "What the service cost in the month (staff time spent on its cases and its "
            "running costs; start-up costs excluded) divided by the transactions, in the "
            "currency's major units."
        ),
    ),
    Column("currency", "string", _("Currency"), _("ISO 4217 code of the cost's currency.")),
    Column(
        "user_satisfaction",
        "number",
        _("User satisfaction"),
        _(
            "The share (0 to 1) of people who rated the service satisfied or very "
            "satisfied, out of all who rated it in the month."
        ),
    ),
    Column(
        "completion_rate",
        "number",
        _("Completion rate"),
        _(
            "The share (0 to 1) of applications started that were completed (an "
            "application abandoned, or stopped by an error, is not)."
        ),
    ),
    Column(
        "digital_take_up",
        "number",
        _("Digital take-up"),
        _(
            "The share (0 to 1) of completed applications made online by the person "
            "themselves; applications made with a helper or at a counter are not digital."
        ),
    ),
)


def marks_explanation() -> Any:
    """What the marks in the figure columns mean (for descriptions)."""
    return _MARKS


def _cell(figure: Figure, *, count: bool = False) -> str:
    if figure.status == SUPPRESSED:
        return suppressed_count_label() if count else SUPPRESSED_MARK
    if figure.status == UNAVAILABLE:
        return UNAVAILABLE_MARK
    value = figure.value
    if isinstance(value, float):
        return f"{value:.{RATE_DECIMALS}f}"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def record(row: ServicePerformance) -> dict[str, str]:
    """One row of the table as text, by column name: figures as plain numbers (rates
    from 0 to 1 with three decimals, amounts as decimals), withheld counts ``<10``, other
    withheld figures :data:`SUPPRESSED_MARK`, figures not measured
    :data:`UNAVAILABLE_MARK`."""
    return {
        "month": row.month.isoformat(),
        "service": row.service,
        "service_title": row.service_title,
        "department": row.department,
        "transactions": _cell(row.transactions, count=True),
        "cost_per_transaction": _cell(row.cost_per_transaction),
        "currency": row.currency,
        "user_satisfaction": _cell(row.user_satisfaction),
        "completion_rate": _cell(row.completion_rate),
        "digital_take_up": _cell(row.digital_take_up),
    }

"""The monthly performance figures of every service, department and the whole authority,
computed from the events in the analytical store (:mod:`ecitizen.insights.store`).

Each family of figures is **one SQL query** (below, each with its rules), run once per
month. The queries group with ``GROUPING SETS ((department_id, service_id),
(department_id), ())``, so that one query gives the rows of every service, every
department and the authority: a department's median is the median of its cases, not an
average of its services' medians. A service's department is the one it belongs to now
(the ``services`` table); an event of a service that is no longer published counts in
its own department (cases, ratings) and in the authority, but has no service row.

Times in the store are the authority's local wall-clock times, so "the month" of an
event is the calendar month of ``TIME_ZONE``. A month's figures depend only on events
before its end (the backlog and SLA clocks are replayed from the history), but for the
completion rate's cohort, read until it settles (below): recomputing a past month after
later events gives the same figures, its completion rate too once its cohort has settled.
Three inputs are read as they are now: the services' definitions (which workflow action
pauses the SLA clock), the working-day calendar, and the costs officials enter (a
corrected hourly cost applies to every month computed after it; each month's
``cost.lines`` record the rates used).

**The figures** (``KpiMonth.figures``). Counts are ints; rates floats 0..1, ``None`` when
the denominator is 0; money decimal strings in the currency's minor unit ("1234.50").

- Journeys (GOV.UK's completion rate and digital take-up), query :data:`JOURNEYS_SQL`:
  ``started``, ``completed``, ``completed_online``, ``completed_assisted``,
  ``completed_counter``, ``not_eligible``, ``abandoned`` (each journey counted in the
  month the event happened: a transaction is counted when it is completed),
  ``started_completed``, ``completion_rate`` = started_completed / started,
  ``digital_take_up`` = completed_online / completed (assisted digital is not digital),
  ``assisted_digital_share`` = completed_assisted / completed.

  **The completion rate is a cohort rate**: of the journeys *started* in the month, the
  share that reached an end page (sent, or "you cannot use this service"), whenever they
  did (``started_completed``), so that it is never over 1 (completions in the month over
  starts in the month mixes cohorts: ten started in February and sent in March, five
  started in March, would make March 200%). A journey can still complete after its
  month has ended, so a month's cohort is read with every completion up to the moment
  of computation, until the cohort is **settled** (:func:`cohort_settled_at`:
  ``DRAFT_EXPIRY_DAYS`` after the month's end, when an application not saved for that
  long has expired); completions after that moment are not read, so that a settled
  month never changes. A draft's expiry restarts at each save, so a journey kept alive by saving
  and sent after its cohort settled counts in ``completed`` of the month it is sent,
  not in its cohort's ``started_completed``. Computing the figures again must therefore
  cover every month that ended less than ``DRAFT_EXPIRY_DAYS`` ago (the nightly
  refresh), or those months' rates stay as they were computed, too low.
- Satisfaction, :data:`SATISFACTION_SQL`: ``ratings`` {"1".."5": n}, ``rated``,
  ``satisfaction`` = (level 4 + level 5) / rated.
- Intake, :data:`INTAKE_SQL`: ``submitted`` (cases), ``reports_opened``,
  ``fees_collected``.
- Decisions, :data:`DECISIONS_SQL`: ``decided``, ``decision_days_median``,
  ``decision_days_p90`` (working days), ``decided_with_sla``, ``within_sla``,
  ``within_sla_rate`` = within_sla / decided_with_sla, ``refused``, ``refusal_rate`` =
  refused / decided, ``more_info_rounds``, ``reports_fixed``, ``fix_days_median``.
- Backlog at the month's end, :data:`BACKLOG_SQL`: ``backlog``, ``backlog_by_state``
  (the current month only, else ``None``), ``backlog_by_age`` {"0-5", "6-10", "11-20",
  "21+"}, ``overdue``, ``fees_outstanding``; and ``currency``.
- SLA by ward, :data:`SLA_BY_WARD_SQL`: ``sla_by_ward`` {ward code or "": {"decided",
  "within_sla"}}, of the cases of services **with a target** only: a ward's
  ``"decided"`` is its share of the scope's ``decided_with_sla`` (the wards' ``"decided"``
  add up to it), not of ``decided``.
- Cost per transaction, :data:`ACTIONS_SQL` and Decimal arithmetic: ``cost`` (see
  :func:`_service_cost`), ``None`` when nothing is entered for the month; ``{"staff",
  "fixed", "total", "startup_excluded", "per_transaction", "per_digital_transaction"}``
  (money strings, the last two ``None`` without transactions), ``"lines"``: ``[{"service",
  "action", "role", "count", "minutes", "hourly_cost", "amount"}]`` and ``"missing"``:
  ``[{"kind": "action_time" | "hourly_cost" | "fixed_costs" | "no_costs", "service",
  and "action", "role" or "month"}]``, written for people by :func:`cost_missing_text`.

``reports_opened``, ``reports_fixed`` and ``fix_days_median`` are ``None`` for a scope
without a street-report service.

**Working days** are Monday to Friday less the platform's holidays (``cases.calendar``):
a ``calendar(day, n)`` table numbers them (``n``: working days up to and including
``day``), and the working days from ``a`` to ``b`` are ``n(b) - n(a)``, the days of the
half-open period (a, b], as the cases' SLA clock counts them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any

import duckdb
import pandas as pd
from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ecitizen.cases.calendar import is_business_day
from ecitizen.catalogue.selectors import services_published
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.insights.models import ActionTime, KpiMonth, RoleHourlyCost, ServiceMonthCost
from ecitizen.payments.money import minor_quantum

#: The outcome of a completion on a "you cannot use this service" end page (recorded by
#: ``cases.services.drafts.draft_reach_ineligible``).
NOT_ELIGIBLE = "not_eligible"

#: The age bands of the backlog, in working days since submission: (label, low, high).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-5", 0, 5),
    ("6-10", 6, 10),
    ("11-20", 11, 20),
    ("21+", 21, None),
)

JOURNEYS_SQL = """
-- JOURNEYS: one per application (draft_id); a usage row without a draft is a journey of
-- its own. Only journeys with a start, completion or abandonment in the month are read,
-- with their events before the month's end ($end) for every count but
-- started_completed, which also reads their completions up to $settled (below).
-- A journey is
--   started   in the month of its start;
--   completed in the month of its FIRST completion: an end page, the confirmation of a
--             sent application or a "you cannot use this service" page (outcome
--             not_eligible). Its outcome and channel are those of its LATEST completion
--             before the month's end: not eligible, then sent in the same month, counts
--             once, as sent. (Sent in a later month, it stays counted in the month it
--             was first completed, so that a past month never changes.)
--   abandoned in the month it was abandoned (deleted, or expired), unless it reached an
--             end page first. Error pages record nothing: they never complete a journey.
-- started_completed, the numerator of the completion rate (a COHORT rate: of the
--   journeys started in the month, the share that reached an end page, so never over 1):
--   the journeys started in the month that completed (sent, or not eligible) at any time
--   before $settled: the moment of computation, but no later than the cohort's settling,
--   DRAFT_EXPIRY_DAYS after the month's end (an application left unsaved that long
--   expires), and never before the month's end. A past month's rate therefore changes
--   until its cohort settles, then never; completions (completed, its channels,
--   not_eligible) stay counted in the month they happen, as transactions.
WITH touched AS (
    SELECT DISTINCT COALESCE(NULLIF(draft_id, ''), 'usage:' || id) AS journey
    FROM usage
    WHERE occurred_at >= $start AND occurred_at < $end
      AND kind IN ('started', 'completed', 'abandoned')
),
events AS (
    SELECT COALESCE(NULLIF(draft_id, ''), 'usage:' || id) AS journey,
           id, service_id, kind, channel, outcome, occurred_at
    FROM usage
    WHERE occurred_at < $settled AND kind IN ('started', 'completed', 'abandoned')
),
journeys AS (
    SELECT e.journey,
           arg_min(e.service_id, e.id) AS service_id,
           min(e.occurred_at) FILTER (WHERE e.kind = 'started' AND e.occurred_at < $end)
               AS started_at,
           min(e.occurred_at) FILTER (WHERE e.kind = 'completed' AND e.occurred_at < $end)
               AS completed_at,
           arg_max(e.outcome, (e.occurred_at, e.id))
               FILTER (WHERE e.kind = 'completed' AND e.occurred_at < $end) AS outcome,
           arg_max(e.channel, (e.occurred_at, e.id))
               FILTER (WHERE e.kind = 'completed' AND e.occurred_at < $end) AS channel,
           min(e.occurred_at) FILTER (WHERE e.kind = 'abandoned' AND e.occurred_at < $end)
               AS abandoned_at,
           bool_or(e.kind = 'completed') AS ever_completed
    FROM events AS e
    JOIN touched USING (journey)
    GROUP BY e.journey
),
scoped AS (
    SELECT j.*, s.department_id
    FROM journeys AS j
    LEFT JOIN services AS s ON s.id = j.service_id
)
SELECT GROUPING(department_id) AS all_departments, GROUPING(service_id) AS all_services,
       department_id, service_id,
       count(*) FILTER (WHERE started_at >= $start) AS started,
       count(*) FILTER (WHERE started_at >= $start AND ever_completed) AS started_completed,
       count(*) FILTER (WHERE completed_at >= $start) AS completed,
       count(*) FILTER (WHERE completed_at >= $start AND channel = 'online')
           AS completed_online,
       count(*) FILTER (WHERE completed_at >= $start AND channel = 'assisted')
           AS completed_assisted,
       count(*) FILTER (WHERE completed_at >= $start AND channel = 'counter')
           AS completed_counter,
       count(*) FILTER (WHERE completed_at >= $start AND outcome = 'not_eligible')
           AS not_eligible,
       count(*) FILTER (
           WHERE abandoned_at >= $start
             AND (completed_at IS NULL OR completed_at > abandoned_at)
       ) AS abandoned
FROM scoped
GROUP BY GROUPING SETS ((department_id, service_id), (department_id), ())
"""

SATISFACTION_SQL = """
-- SATISFACTION: the ratings given in the month (feedback app: one per transaction, GOV.UK's
-- five levels). A rating of a transaction outside the catalogue (a fine, a tax payment)
-- has no service: it counts in its department and in the authority only.
WITH rated AS (
    SELECT r.level, r.service_id, COALESCE(s.department_id, r.department_id) AS department_id
    FROM ratings AS r
    LEFT JOIN services AS s ON s.id = r.service_id
    WHERE r.occurred_at >= $start AND r.occurred_at < $end
)
SELECT GROUPING(department_id) AS all_departments, GROUPING(service_id) AS all_services,
       department_id, service_id,
       count(*) AS rated,
       count(*) FILTER (WHERE level = 1) AS level_1,
       count(*) FILTER (WHERE level = 2) AS level_2,
       count(*) FILTER (WHERE level = 3) AS level_3,
       count(*) FILTER (WHERE level = 4) AS level_4,
       count(*) FILTER (WHERE level = 5) AS level_5
FROM rated
GROUP BY GROUPING SETS ((department_id, service_id), (department_id), ())
"""

INTAKE_SQL = """
-- INTAKE: cases submitted in the month (street reports among them), and the fees paid in
-- the month (the fee of each case whose payment was recorded in the month).
WITH moved AS (
    SELECT c.service_id, COALESCE(s.department_id, c.department_id) AS department_id,
           COALESCE(s.is_report, FALSE) AS is_report,
           c.submitted_at >= $start AND c.submitted_at < $end AS submitted,
           COALESCE(c.paid_at >= $start AND c.paid_at < $end, FALSE) AS paid,
           c.fee_amount
    FROM cases AS c
    LEFT JOIN services AS s ON s.id = c.service_id
    WHERE (c.submitted_at >= $start AND c.submitted_at < $end)
       OR (c.paid_at >= $start AND c.paid_at < $end)
)
SELECT GROUPING(department_id) AS all_departments, GROUPING(service_id) AS all_services,
       department_id, service_id,
       count(*) FILTER (WHERE submitted) AS submitted,
       count(*) FILTER (WHERE submitted AND is_report) AS reports_opened,
       COALESCE(sum(fee_amount) FILTER (WHERE paid), 0) AS fees_collected
FROM moved
GROUP BY GROUPING SETS ((department_id, service_id), (department_id), ())
"""

DECISIONS_SQL = """
-- DECISIONS: the cases decided in the month (their first outcome: approved, refused,
-- withdrawn...).
--   time to decision: working days from the day of submission to the day of decision
--     (what the applicant waited, "more information" rounds included; the same number as
--     the usage row "decided" records); median and 90th percentile by linear
--     interpolation (quantile_cont);
--   within SLA: the SLA clock's working days (sla_days_used: paused while waiting for the
--     applicant) <= the service's target; the rate counts only cases of services with a
--     target (decided_with_sla);
--   refused: outcome refused; more_info_rounds: the rounds of the cases decided;
--   street reports fixed: outcome approved of a report service; time to fix: their median
--     working days.
WITH decided AS (
    SELECT c.service_id, COALESCE(s.department_id, c.department_id) AS department_id,
           COALESCE(s.is_report, FALSE) AS is_report, c.outcome, c.sla_days_used,
           c.sla_target_days, c.more_info_rounds, done.n - received.n AS working_days
    FROM cases AS c
    LEFT JOIN services AS s ON s.id = c.service_id
    JOIN calendar AS received ON received.day = CAST(c.submitted_at AS DATE)
    JOIN calendar AS done ON done.day = CAST(c.decided_at AS DATE)
    WHERE c.decided_at >= $start AND c.decided_at < $end
)
SELECT GROUPING(department_id) AS all_departments, GROUPING(service_id) AS all_services,
       department_id, service_id,
       count(*) AS decided,
       quantile_cont(working_days, 0.5) AS decision_days_median,
       quantile_cont(working_days, 0.9) AS decision_days_p90,
       count(*) FILTER (WHERE sla_target_days IS NOT NULL) AS decided_with_sla,
       count(*) FILTER (WHERE sla_days_used <= sla_target_days) AS within_sla,
       count(*) FILTER (WHERE outcome = 'refused') AS refused,
       COALESCE(sum(more_info_rounds), 0) AS more_info_rounds,
       count(*) FILTER (WHERE is_report AND outcome = 'approved') AS reports_fixed,
       quantile_cont(working_days, 0.5) FILTER (WHERE is_report AND outcome = 'approved')
           AS fix_days_median
FROM decided
GROUP BY GROUPING SETS ((department_id, service_id), (department_id), ())
"""

BACKLOG_SQL = """
-- BACKLOG at the month's end ($moment: the end of the month, or now for the current
-- month; $day: the month's last day, or today). Everything is rebuilt from events, so a
-- past month's backlog is what it was at its end:
--   open: submitted before $moment and not decided by then;
--   age: working days from the day of submission to $day, in bands;
--   overdue: open, its SLA clock running at $moment, and the working days the clock has
--     run by $day over the service's target (the cases app's "due date passed"). The clock
--     is replayed from the case's history (action_clocks: the clock of the state each
--     workflow action leads to, from the service's definition): it starts at submission
--     (or, when a fee is due on applying, at payment: service_clocks.fee_holds), pauses
--     while waiting for the applicant, and counts working days as the cases app does;
--   by state: the state of a case at a past month's end is not recorded, so this is
--     computed for the current month only (the caller drops it for past months);
--   fees outstanding: fees billed by $moment and not paid by then, less those of cases
--     closed without approval (nothing is owed). A fee is billed at submission, or at
--     approval for a fee due after approval: a case approved before its payment (or still
--     unpaid) was billed at its decision, since a fee due on applying holds the case until
--     it is paid.
WITH facts AS (
    SELECT c.id, c.service_id, COALESCE(s.department_id, c.department_id) AS department_id,
           c.state, c.submitted_at, c.paid_at, c.fee_amount, c.sla_target_days,
           (c.decided_at IS NULL OR c.decided_at >= $moment) AS is_open,
           (
               COALESCE(c.fee_amount, 0) > 0
               AND c.payment_status IN ('due', 'paid')
               AND CASE
                       WHEN c.outcome = 'approved'
                            AND (c.paid_at IS NULL OR c.paid_at > c.decided_at)
                       THEN c.decided_at
                       ELSE c.submitted_at
                   END < $moment
               AND (c.paid_at IS NULL OR c.paid_at >= $moment)
               AND NOT (c.decided_at < $moment AND c.outcome <> 'approved')
           ) AS owed,
           today.n - received.n AS age
    FROM cases AS c
    LEFT JOIN services AS s ON s.id = c.service_id
    JOIN calendar AS received ON received.day = CAST(c.submitted_at AS DATE)
    CROSS JOIN (SELECT n FROM calendar WHERE day = $day) AS today
    WHERE c.submitted_at < $moment
),
clock_changes AS (
    SELECT f.id, f.submitted_at AS changed_at, 0 AS step,
           CASE WHEN sc.fee_holds AND COALESCE(f.fee_amount, 0) > 0 THEN 'held'
                ELSE COALESCE(sc.initial_clock, 'running') END AS clock
    FROM facts AS f
    LEFT JOIN service_clocks AS sc ON sc.service_id = f.service_id
    WHERE f.is_open
    UNION ALL
    SELECT f.id, f.paid_at, 1, sc.initial_clock
    FROM facts AS f
    JOIN service_clocks AS sc ON sc.service_id = f.service_id
    WHERE f.is_open AND sc.fee_holds AND f.paid_at < $moment
    UNION ALL
    SELECT a.case_id, a.occurred_at, 2, ac.clock
    FROM actions AS a
    JOIN facts AS f ON f.id = a.case_id AND f.is_open
    LEFT JOIN action_clocks AS ac ON ac.service_id = a.service_id AND ac.action = a.action
    WHERE a.occurred_at < $moment
),
segments AS (
    SELECT id, changed_at, step,
           last_value(clock IGNORE NULLS) OVER (
               PARTITION BY id ORDER BY changed_at, step
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           ) AS clock,
           lead(changed_at) OVER (PARTITION BY id ORDER BY changed_at, step) AS until
    FROM clock_changes
),
clocks AS (
    SELECT g.id,
           sum(CASE WHEN g.clock = 'running' THEN greatest(stop.n - start.n, 0) ELSE 0 END)
               AS used,
           arg_max(g.clock, (g.changed_at, g.step)) AS clock_now
    FROM segments AS g
    JOIN calendar AS start ON start.day = CAST(g.changed_at AS DATE)
    JOIN calendar AS stop ON stop.day = COALESCE(CAST(g.until AS DATE), $day)
    GROUP BY g.id
),
held AS (
    SELECT f.*, (
               f.is_open AND f.sla_target_days IS NOT NULL AND k.clock_now = 'running'
               AND k.used > f.sla_target_days
           ) AS overdue
    FROM facts AS f
    LEFT JOIN clocks AS k ON k.id = f.id
    WHERE f.is_open OR f.owed
)
SELECT GROUPING(department_id) AS all_departments, GROUPING(service_id) AS all_services,
       department_id, service_id,
       count(*) FILTER (WHERE is_open) AS backlog,
       count(*) FILTER (WHERE is_open AND age <= 5) AS age_0_5,
       count(*) FILTER (WHERE is_open AND age BETWEEN 6 AND 10) AS age_6_10,
       count(*) FILTER (WHERE is_open AND age BETWEEN 11 AND 20) AS age_11_20,
       count(*) FILTER (WHERE is_open AND age >= 21) AS age_21,
       count(*) FILTER (WHERE overdue) AS overdue,
       histogram(state) FILTER (WHERE is_open) AS by_state,
       COALESCE(sum(fee_amount) FILTER (WHERE owed), 0) AS fees_outstanding
FROM held
GROUP BY GROUPING SETS ((department_id, service_id), (department_id), ())
"""

SLA_BY_WARD_SQL = """
-- SLA BY WARD: the cases decided in the month per ward of the case ('' without one),
-- decided and within the SLA (as in DECISIONS), for every scope. Only the cases of
-- services WITH a target are read: a ward's "decided" is its part of the scope's
-- decided_with_sla (the denominator of within_sla_rate; the wards add up to it), so that
-- a ward's share is the same measure as the scope's.
WITH decided AS (
    SELECT c.service_id, COALESCE(s.department_id, c.department_id) AS department_id,
           COALESCE(w.code, '') AS ward, c.sla_days_used, c.sla_target_days
    FROM cases AS c
    LEFT JOIN services AS s ON s.id = c.service_id
    LEFT JOIN wards AS w ON w.id = c.ward_id
    WHERE c.decided_at >= $start AND c.decided_at < $end AND c.sla_target_days IS NOT NULL
)
SELECT GROUPING(department_id) AS all_departments, GROUPING(service_id) AS all_services,
       department_id, service_id, ward,
       count(*) AS decided,
       count(*) FILTER (WHERE sla_days_used <= sla_target_days) AS within_sla
FROM decided
GROUP BY GROUPING SETS ((department_id, service_id, ward), (department_id, ward), (ward))
ORDER BY ward
"""

ACTIONS_SQL = """
-- COSTS: the workflow actions taken in the month per service and action, and how many
-- of them were on cases sent online. Costs are added per service (a department's or the
-- authority's cost is the sum of its services'), in Decimal, outside SQL.
SELECT a.service_id, a.action,
       count(*) AS actions,
       count(*) FILTER (WHERE c.channel = 'online') AS online_actions
FROM actions AS a
LEFT JOIN cases AS c ON c.id = a.case_id
WHERE a.occurred_at >= $start AND a.occurred_at < $end
GROUP BY a.service_id, a.action
ORDER BY a.service_id, a.action
"""

#: Every query, by family, for the documentation page.
QUERIES: dict[str, str] = {
    "journeys": JOURNEYS_SQL,
    "satisfaction": SATISFACTION_SQL,
    "intake": INTAKE_SQL,
    "decisions": DECISIONS_SQL,
    "backlog": BACKLOG_SQL,
    "sla_by_ward": SLA_BY_WARD_SQL,
    "costs": ACTIONS_SQL,
}


# --- months -----------------------------------------------------------------------------


def month_start(value: date) -> date:
    """The first day of ``value``'s month."""
    return date(value.year, value.month, 1)


def month_next(month: date) -> date:
    """The first day of the month after ``month``'s."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def cohort_settled_at(month: date) -> datetime:
    """When the journeys started in ``month`` (its first day) are settled for the
    completion rate: ``DRAFT_EXPIRY_DAYS`` after the month's end (local wall-clock time),
    when the last application started in it, unless saved since, has expired. The
    figures of a month that ended before ``now - DRAFT_EXPIRY_DAYS`` no longer change."""
    return datetime.combine(month_next(month), time()) + timedelta(
        days=int(settings.DRAFT_EXPIRY_DAYS)
    )


def months_between(first: date, last: date) -> list[date]:
    """The first days of the months from ``first``'s to ``last``'s, ascending."""
    months = []
    current = month_start(first)
    while current <= last:
        months.append(current)
        current = month_next(current)
    return months


# --- results ----------------------------------------------------------------------------


@dataclass
class ScopeFigures:
    """The figures of one scope for one month: what a :class:`KpiMonth` row holds."""

    scope: str
    key: str
    service_id: int | None
    department_id: int | None
    figures: dict[str, Any]


@dataclass
class _Dimensions:
    """The services and departments the store knows (``services``, ``departments``)."""

    services: dict[int, tuple[str, int | None, bool]] = field(default_factory=dict)
    departments: dict[int, str] = field(default_factory=dict)

    def report_scope(self, level: str, department_id: int | None, service_id: int | None) -> bool:
        """Whether the scope holds a street-report service."""
        if level == KpiMonth.Scope.SERVICE:
            return bool(service_id in self.services and self.services[service_id][2])
        return any(
            is_report and (level == KpiMonth.Scope.AUTHORITY or dep == department_id)
            for _slug, dep, is_report in self.services.values()
        )


def _dimensions(connection: duckdb.DuckDBPyConnection) -> _Dimensions:
    dims = _Dimensions()
    for pk, slug, department_id, is_report in connection.execute(
        "SELECT id, slug, department_id, is_report FROM services"
    ).fetchall():
        dims.services[int(pk)] = (str(slug), department_id, bool(is_report))
    for pk, slug in connection.execute("SELECT id, slug FROM departments").fetchall():
        dims.departments[int(pk)] = str(slug)
    return dims


ScopeKey = tuple[str, int | None, int | None]


def _scope_of(
    all_departments: int, all_services: int, department_id: Any, service_id: Any
) -> ScopeKey:
    if all_departments:
        return (KpiMonth.Scope.AUTHORITY, None, None)
    if all_services:
        return (KpiMonth.Scope.DEPARTMENT, department_id, None)
    return (KpiMonth.Scope.SERVICE, department_id, service_id)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(minor_quantum(), rounding=ROUND_HALF_UP))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def figures_empty(*, current: bool, reports: bool) -> dict[str, Any]:
    """The figures of a scope with nothing in the month: zero counts, no rates."""
    return {
        "started": 0,
        "completed": 0,
        "completed_online": 0,
        "completed_assisted": 0,
        "completed_counter": 0,
        "not_eligible": 0,
        "abandoned": 0,
        "started_completed": 0,
        "completion_rate": None,
        "digital_take_up": None,
        "assisted_digital_share": None,
        "ratings": {str(level): 0 for level in range(1, 6)},
        "rated": 0,
        "satisfaction": None,
        "submitted": 0,
        "decided": 0,
        "decision_days_median": None,
        "decision_days_p90": None,
        "decided_with_sla": 0,
        "within_sla": 0,
        "within_sla_rate": None,
        "refused": 0,
        "refusal_rate": None,
        "more_info_rounds": 0,
        "backlog": 0,
        "backlog_by_state": {} if current else None,
        "backlog_by_age": {label: 0 for label, _low, _high in AGE_BANDS},
        "overdue": 0,
        "sla_by_ward": {},
        "fees_collected": _money(Decimal(0)),
        "fees_outstanding": _money(Decimal(0)),
        "currency": settings.CURRENCY,
        "reports_opened": 0 if reports else None,
        "reports_fixed": 0 if reports else None,
        "fix_days_median": None,
        "cost": None,
    }


# --- the working-day calendar ----------------------------------------------------------


def calendar_load(connection: duckdb.DuckDBPyConnection, *, since: date, through: date) -> None:
    """(Re)create the temporary ``calendar(day, n)`` table from the day before ``since``
    or the first case's submission, whichever comes first, to ``through``: ``n`` counts
    the working days up to and including ``day`` (see the module's docstring)."""
    ((first_submitted,),) = connection.execute(
        "SELECT COALESCE(CAST(min(submitted_at) AS DATE), CAST($since AS DATE)) FROM cases",
        {"since": since},
    ).fetchall()
    first = min(first_submitted, since) - timedelta(days=1)
    days = [first + timedelta(days=offset) for offset in range((through - first).days + 1)]
    numbers = list(accumulate(int(is_business_day(day)) for day in days))
    frame = pd.DataFrame({"day": pd.to_datetime(days), "n": numbers})
    connection.register("calendar_frame", frame)
    try:
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE calendar AS "
            "SELECT CAST(day AS DATE) AS day, CAST(n AS INTEGER) AS n FROM calendar_frame"
        )
    finally:
        connection.unregister("calendar_frame")


# --- cost per transaction --------------------------------------------------------------


@dataclass
class _Cost:
    """One service's cost of one month, before it is written as strings."""

    staff: Decimal
    fixed: Decimal
    startup: Decimal
    digital: Decimal  # staff cost of online cases + fixed costs x online share
    completed: int
    completed_online: int
    lines: list[dict[str, Any]]
    missing: list[dict[str, str]]

    def as_figure(self) -> dict[str, Any]:
        total = self.staff + self.fixed
        quantum = minor_quantum()
        per = (total / self.completed).quantize(quantum, ROUND_HALF_UP) if self.completed else None
        per_digital = (
            (self.digital / self.completed_online).quantize(quantum, ROUND_HALF_UP)
            if self.completed_online
            else None
        )
        return {
            "staff": _money(self.staff),
            "fixed": _money(self.fixed),
            "total": _money(total),
            "startup_excluded": _money(self.startup),
            "per_transaction": None if per is None else str(per),
            "per_digital_transaction": None if per_digital is None else str(per_digital),
            "lines": self.lines,
            "missing": self.missing,
        }


def definitions_load(connection: duckdb.DuckDBPyConnection) -> dict[int, set[str]]:
    """What the figures need of the published services' definitions (current versions):
    the temporary tables ``service_clocks(service_id, initial_clock, fee_holds)`` and
    ``action_clocks(service_id, action, clock)`` (the SLA clock of the state an action
    leads to: ``running``, ``paused`` or ``stopped``), for replaying a case's SLA clock;
    and, returned, the actions only the applicant takes per service (a reply, a
    withdrawal: no official's time, so no cost and no handling time to miss)."""
    residents: dict[int, set[str]] = {}
    services: list[tuple[int, str, bool]] = []
    actions: list[tuple[int, str, str]] = []
    for service in services_published(listed=None):
        spec = ServiceSpec(service.current_version.definition)  # type: ignore[union-attr]
        services.append(
            (
                service.pk,
                spec.sla_clock(spec.initial_state),
                spec.fee_kind != "none" and spec.fee_due == "before_submission",
            )
        )
        residents[service.pk] = set()
        for action_id, action in spec.actions.items():
            actions.append((service.pk, action_id, spec.sla_clock(action["to"])))
            if action["by"].get("resident") and not action["by"].get("roles"):
                residents[service.pk].add(action_id)
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE service_clocks "
        "(service_id INTEGER, initial_clock VARCHAR, fee_holds BOOLEAN)"
    )
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE action_clocks "
        "(service_id INTEGER, action VARCHAR, clock VARCHAR)"
    )
    if services:
        connection.executemany("INSERT INTO service_clocks VALUES (?, ?, ?)", services)
    if actions:
        connection.executemany("INSERT INTO action_clocks VALUES (?, ?, ?)", actions)
    return residents


def _service_cost(
    *,
    slug: str,
    month: date,
    actions: list[tuple[str, int, int]],
    month_cost: ServiceMonthCost | None,
    times: Mapping[str, ActionTime],
    hourly: Mapping[str, Decimal],
    completed: int,
    completed_online: int,
) -> _Cost | None:
    """The cost of one service in one month, or ``None`` when nothing is entered for it
    (no costs of the month, and no action of the month priced).

    - staff cost = sum over the officials' actions of the month of count x
      ``ActionTime.minutes`` / 60 x the ``RoleHourlyCost`` of ``ActionTime.role``, each
      line rounded to the currency's minor unit;
    - fixed costs: ``ServiceMonthCost.fixed_costs`` (start-up costs recorded, excluded);
    - per transaction = (staff + fixed) / completed journeys;
    - per digital transaction = (staff cost of the actions on cases sent online + fixed x
      completed_online / completed) / completed_online.

    ``lines`` show every action counted (``minutes``, ``hourly_cost`` and ``amount``
    ``None`` where something is missing); ``missing`` says what is not entered, as items
    :func:`cost_missing_text` writes in the reader's language.
    """
    quantum = minor_quantum()
    staff = Decimal(0)
    digital = Decimal(0)
    lines: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    priced = False
    for action, count, online in actions:
        time_row = times.get(action)
        rate = hourly.get(time_row.role) if time_row is not None else None
        line: dict[str, Any] = {
            "service": slug,
            "action": action,
            "role": time_row.role if time_row is not None else None,
            "count": count,
            "minutes": str(time_row.minutes) if time_row is not None else None,
            "hourly_cost": _money(rate) if rate is not None else None,
            "amount": None,
        }
        if time_row is None:
            missing.append({"kind": "action_time", "service": slug, "action": action})
        elif rate is None:
            item = {"kind": "hourly_cost", "service": slug, "role": time_row.role}
            if item not in missing:
                missing.append(item)
        else:
            hours = Decimal(time_row.minutes) / 60
            amount = (count * hours * rate).quantize(quantum, ROUND_HALF_UP)
            line["amount"] = _money(amount)
            staff += amount
            digital += online * hours * rate
            priced = True
        lines.append(line)
    if month_cost is None and not priced:
        return None
    fixed = month_cost.fixed_costs if month_cost is not None else Decimal(0)
    startup = month_cost.startup_costs if month_cost is not None else Decimal(0)
    if month_cost is None:
        missing.append({"kind": "fixed_costs", "service": slug, "month": f"{month:%Y-%m}"})
    if completed:
        digital += fixed * completed_online / completed
    return _Cost(
        staff=staff,
        fixed=fixed,
        startup=startup,
        digital=digital,
        completed=completed,
        completed_online=completed_online,
        lines=lines,
        missing=missing,
    )


def _costs_sum(costs: Iterable[_Cost]) -> _Cost | None:
    """A department's or the authority's cost: the sum of its services' (their completed
    journeys too, so that a service without costs does not lower the cost per
    transaction; it is listed as missing instead)."""
    costs = list(costs)
    if not costs:
        return None
    return _Cost(
        staff=sum((c.staff for c in costs), Decimal(0)),
        fixed=sum((c.fixed for c in costs), Decimal(0)),
        startup=sum((c.startup for c in costs), Decimal(0)),
        digital=sum((c.digital for c in costs), Decimal(0)),
        completed=sum(c.completed for c in costs),
        completed_online=sum(c.completed_online for c in costs),
        lines=[line for c in costs for line in c.lines],
        missing=[item for c in costs for item in c.missing],
    )


def cost_missing_text(item: Mapping[str, str]) -> str:
    """What a ``cost["missing"]`` item says, in the active language."""
    kind = item.get("kind")
    if kind == "action_time":
        return _("%(service)s: how long the action “%(action)s” takes") % item
    if kind == "hourly_cost":
        return _("The hourly cost of the role “%(role)s”") % item
    if kind == "fixed_costs":
        year, month = (int(part) for part in item["month"].split("-"))
        return _("%(service)s: the fixed costs of %(month)s") % {
            "service": item["service"],
            "month": date_format(date(year, month, 1), "F Y"),
        }
    if kind == "no_costs":
        year, month = (int(part) for part in item["month"].split("-"))
        return _("%(service)s: no costs entered for %(month)s") % {
            "service": item["service"],
            "month": date_format(date(year, month, 1), "F Y"),
        }
    return str(item)


# --- the computation --------------------------------------------------------------------


def _rows(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: Mapping[str, Any]
) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, dict(parameters))
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class _Month:
    """The figures of one month being put together, scope by scope."""

    def __init__(self, dims: _Dimensions, *, current: bool) -> None:
        self.dims = dims
        self.current = current
        self.scopes: dict[ScopeKey, dict[str, Any]] = {}

    def figures(self, scope: ScopeKey) -> dict[str, Any] | None:
        """The figures of ``scope`` (created empty), or ``None`` for a scope that has no
        row: a service or department the store does not know (ratings outside the
        catalogue, an unpublished service)."""
        level, department_id, service_id = scope
        if level == KpiMonth.Scope.SERVICE and service_id not in self.dims.services:
            return None
        if level == KpiMonth.Scope.DEPARTMENT and department_id not in self.dims.departments:
            return None
        if level == KpiMonth.Scope.SERVICE:
            self.figures((KpiMonth.Scope.DEPARTMENT, department_id, None))
        if scope not in self.scopes:
            self.scopes[scope] = figures_empty(
                current=self.current,
                reports=self.dims.report_scope(level, department_id, service_id),
            )
        return self.scopes[scope]

    def each(self, rows: list[dict[str, Any]]) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
        for row in rows:
            scope = _scope_of(
                row["all_departments"], row["all_services"], row["department_id"], row["service_id"]
            )
            figures = self.figures(scope)
            if figures is not None:
                yield figures, row


def _journeys(month: _Month, rows: list[dict[str, Any]]) -> None:
    for figures, row in month.each(rows):
        for name in (
            "started",
            "completed",
            "completed_online",
            "completed_assisted",
            "completed_counter",
            "not_eligible",
            "abandoned",
            "started_completed",
        ):
            figures[name] = int(row[name])
        figures["completion_rate"] = _rate(figures["started_completed"], figures["started"])
        figures["digital_take_up"] = _rate(figures["completed_online"], figures["completed"])
        figures["assisted_digital_share"] = _rate(
            figures["completed_assisted"], figures["completed"]
        )


def _satisfaction(month: _Month, rows: list[dict[str, Any]]) -> None:
    for figures, row in month.each(rows):
        figures["ratings"] = {str(level): int(row[f"level_{level}"]) for level in range(1, 6)}
        figures["rated"] = int(row["rated"])
        figures["satisfaction"] = _rate(int(row["level_4"]) + int(row["level_5"]), figures["rated"])


def _intake(month: _Month, rows: list[dict[str, Any]]) -> None:
    for figures, row in month.each(rows):
        figures["submitted"] = int(row["submitted"])
        if figures["reports_opened"] is not None:
            figures["reports_opened"] = int(row["reports_opened"])
        figures["fees_collected"] = _money(row["fees_collected"])


def _decisions(month: _Month, rows: list[dict[str, Any]]) -> None:
    for figures, row in month.each(rows):
        for name in ("decided", "decided_with_sla", "within_sla", "refused", "more_info_rounds"):
            figures[name] = int(row[name])
        figures["decision_days_median"] = _number(row["decision_days_median"])
        figures["decision_days_p90"] = _number(row["decision_days_p90"])
        figures["within_sla_rate"] = _rate(figures["within_sla"], figures["decided_with_sla"])
        figures["refusal_rate"] = _rate(figures["refused"], figures["decided"])
        if figures["reports_fixed"] is not None:
            figures["reports_fixed"] = int(row["reports_fixed"])
            figures["fix_days_median"] = _number(row["fix_days_median"])


def _backlog(month: _Month, rows: list[dict[str, Any]]) -> None:
    for figures, row in month.each(rows):
        figures["backlog"] = int(row["backlog"])
        figures["backlog_by_age"] = {
            "0-5": int(row["age_0_5"]),
            "6-10": int(row["age_6_10"]),
            "11-20": int(row["age_11_20"]),
            "21+": int(row["age_21"]),
        }
        figures["overdue"] = int(row["overdue"])
        if month.current:
            figures["backlog_by_state"] = {
                str(state): int(count) for state, count in sorted((row["by_state"] or {}).items())
            }
        figures["fees_outstanding"] = _money(row["fees_outstanding"])


def _sla_by_ward(month: _Month, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        scope = _scope_of(
            row["all_departments"], row["all_services"], row["department_id"], row["service_id"]
        )
        figures = month.figures(scope)
        if figures is not None:
            figures["sla_by_ward"][str(row["ward"])] = {
                "decided": int(row["decided"]),
                "within_sla": int(row["within_sla"]),
            }


def _costs(
    month: _Month, *, month_first: date, rows: list[dict[str, Any]], residents: dict[int, set[str]]
) -> None:
    dims = month.dims
    actions: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for row in rows:
        service_id = int(row["service_id"])
        if row["action"] in residents.get(service_id, set()):
            continue
        actions[service_id].append(
            (str(row["action"]), int(row["actions"]), int(row["online_actions"]))
        )
    month_costs = {
        cost.service_id: cost for cost in ServiceMonthCost.objects.filter(month=month_first)
    }
    times: dict[int, dict[str, ActionTime]] = defaultdict(dict)
    for time_row in ActionTime.objects.all():
        times[time_row.service_id][time_row.action] = time_row
    hourly = {row.role: row.hourly_cost for row in RoleHourlyCost.objects.all()}
    by_service: dict[int, _Cost] = {}
    for service_id in sorted(set(actions) | set(month_costs)):
        if service_id not in dims.services:
            continue
        slug, department_id, _is_report = dims.services[service_id]
        figures = month.figures((KpiMonth.Scope.SERVICE, department_id, service_id))
        if figures is None:  # pragma: no cover - a known service always has a row
            continue
        cost = _service_cost(
            slug=slug,
            month=month_first,
            actions=actions.get(service_id, []),
            month_cost=month_costs.get(service_id),
            times=times[service_id],
            hourly=hourly,
            completed=figures["completed"],
            completed_online=figures["completed_online"],
        )
        if cost is not None:
            by_service[service_id] = cost
            figures["cost"] = cost.as_figure()
    # Departments and the authority: the sum of their services' costs; a service with
    # figures but no costs is named in ``missing``.
    for scope, figures in list(month.scopes.items()):
        level, department_id, _service_id = scope
        if level == KpiMonth.Scope.SERVICE:
            continue
        members = sorted(
            (service_id, dims.services[service_id][0])
            for (member_level, member_department, service_id) in month.scopes
            if member_level == KpiMonth.Scope.SERVICE
            and service_id is not None
            and (level == KpiMonth.Scope.AUTHORITY or member_department == department_id)
        )
        total = _costs_sum(by_service[pk] for pk, _slug in members if pk in by_service)
        if total is None:
            continue
        total.missing.extend(
            {"kind": "no_costs", "service": slug, "month": f"{month_first:%Y-%m}"}
            for pk, slug in members
            if pk not in by_service
        )
        figures["cost"] = total.as_figure()


Progress = Callable[[str, int], None]


def kpis_compute(
    connection: duckdb.DuckDBPyConnection,
    *,
    months: list[date],
    now: datetime,
    progress: Progress | None = None,
) -> dict[date, list[ScopeFigures]]:
    """The figures of every scope for each of ``months`` (first days), computed from the
    store (synced by the caller). ``now``: the local wall-clock time the current month's
    backlog is taken at (a month after it is not computed). Every known service,
    department and the authority with something in the month has a row; the authority
    always has one. ``progress("months", 1)`` after each month.

    Every figure of a month reads only the events before its end, except
    ``started_completed`` (the numerator of ``completion_rate``, a cohort rate: of the
    journeys started in the month, those that reached an end page), which reads their
    completions up to ``now`` but no later than :func:`cohort_settled_at` (the month's end
    + ``DRAFT_EXPIRY_DAYS``). A month's completion rate therefore rises while its late
    journeys complete and is final once its cohort has settled: whoever computes the
    figures regularly must recompute every month that ended less than
    ``DRAFT_EXPIRY_DAYS`` ago."""
    if not months:
        return {}
    dims = _dimensions(connection)
    residents = definitions_load(connection)
    calendar_load(
        connection, since=min(months), through=month_next(max(months)) - timedelta(days=1)
    )
    result: dict[date, list[ScopeFigures]] = {}
    for month_first in months:
        end = datetime.combine(month_next(month_first), time())
        moment = min(end, now)
        parameters = {"start": datetime.combine(month_first, time()), "end": end}
        settled = max(end, min(now, cohort_settled_at(month_first)))
        journeys = _rows(connection, JOURNEYS_SQL, {**parameters, "settled": settled})
        month = _Month(dims, current=moment < end)
        month.figures((KpiMonth.Scope.AUTHORITY, None, None))
        _journeys(month, journeys)
        _satisfaction(month, _rows(connection, SATISFACTION_SQL, parameters))
        _intake(month, _rows(connection, INTAKE_SQL, parameters))
        _decisions(month, _rows(connection, DECISIONS_SQL, parameters))
        _backlog(
            month,
            _rows(
                connection,
                BACKLOG_SQL,
                {"moment": moment, "day": (moment - timedelta(microseconds=1)).date()},
            ),
        )
        _sla_by_ward(month, _rows(connection, SLA_BY_WARD_SQL, parameters))
        _costs(
            month,
            month_first=month_first,
            rows=_rows(connection, ACTIONS_SQL, parameters),
            residents=residents,
        )
        result[month_first] = [
            ScopeFigures(
                scope=level,
                key=(
                    dims.services[service_id][0]
                    if service_id is not None
                    else dims.departments[department_id]
                    if department_id is not None
                    else ""
                ),
                service_id=service_id,
                department_id=department_id,
                figures=figures,
            )
            for (level, department_id, service_id), figures in sorted(
                month.scopes.items(), key=lambda item: _scope_order(item[0], dims)
            )
        ]
        if progress:
            progress("months", 1)
    return result


def _scope_order(scope: ScopeKey, dims: _Dimensions) -> tuple[int, str]:
    level, department_id, service_id = scope
    if level == KpiMonth.Scope.AUTHORITY:
        return (0, "")
    if level == KpiMonth.Scope.DEPARTMENT:
        return (1, dims.departments.get(department_id or 0, ""))
    return (2, dims.services[service_id or 0][0])

"""How long do the insights app's monthly figures take over 10 million usage events, and
its forecasts over 1,000 daily series, against the floors of the same work?

On a throwaway database (a SQLite file in a temporary folder, or with ``--postgres`` a
PostgreSQL database created beside DATABASE_URL's; migrated, removed at the end) holding
Riverton's departments, wards and published services (the demo's six services and eight
street-report categories, with their workflows), hourly costs of the roles and a month's
fixed costs for every service and month:

(a) **KPI refresh.** Fills the analytical store (``insights.store.store_open``: the
    store's own schema, in ``INSIGHTS_DIR``) with N usage events (``--events``, default
    10,000,000) generated inside DuckDB from ``range()`` with hash-based pseudo-random
    columns: journeys over the 24 months before this one, each started, then completed
    (72 %, of which one in eighteen on a "not eligible" end page) or abandoned (20 %),
    then decided; and the same journeys' cases (each completed, eligible journey), the
    workflow actions of each case along a path of its service's definition (a round of
    "more information" in 15 %; a case not yet decided stops part-way), and a rating for a
    quarter of the decided cases. Then it times, in the same run:

    - the floor: DuckDB's own plain aggregate over the same events, ``SELECT service_id,
      date_trunc('month', occurred_at), kind, channel, count(*) FROM usage GROUP BY ...``
      (median of five, before and after);
    - ``services.kpis.kpis_refresh`` for every month of the history and this one (what
      ``ecitizen insights refresh --from <first month>`` does: the sync, which finds no
      new event in the database, the handling times measured from the actions, every
      month's figures for every service, department and the authority, the rows
      written), with the time of each query family (``kpis.QUERIES``) and of the rest;
    - the nightly refresh (the job's default: this month and the months whose
      completion rate may still change);

    and checks the authority's journeys against a plain count of the same events.

(b) **Forecasts.** M daily series (``--series``, default 1,000) of two years (730 days)
    with a level, a trend, weekly and yearly seasonality, public holidays as quiet days,
    a two-week campaign spike in one series in ten and Poisson noise; then, in the same
    run, ``insights.forecasting.forecast_many`` over all of them, daily then weekly (each
    series' candidate models backtested on a rolling origin, the best by MASE against the
    seasonal naive kept, 12 weeks forecast with 80 % and 95 % intervals) and the floor:
    statsforecast's ``SeasonalNaive`` alone over the same series, forecast the same
    horizon with the same intervals. Prints total seconds, seconds per series, the
    ratio, and the share of series where the chosen model beats the seasonal naive
    (MASE < 1).

Times are printed with their ratio to the floor (ratios compare between machines, seconds
do not), in wall-clock seconds and in CPU seconds (every thread of this process and every
worker process: on a shared machine they move less than wall-clock time), with the load
average. Nothing here asserts.

    python bench/insights.py [--events 10000000] [--series 1000] [--seed 13]
    python bench/insights.py --events 200000 --series 50
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/insights.py --postgres
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.open311 import run_in_throwaway_database
from bench.timing import Clock, load_average, say

#: The history: this many months before the current one.
MONTHS = 24
OFFICERS = 50
#: Hourly cost of each official role (the definitions' actions name these two).
HOURLY_COSTS = {"case_officer": Decimal("32.50"), "supervisor": Decimal("41.00")}
FEE = Decimal("25.00")
HORIZON_DAYS = 84
SERIES_DAYS = 730


# --- (a) the store -------------------------------------------------------------------


def _official(action: Mapping[str, Any]) -> bool:
    return bool(action["by"].get("roles"))


Step = tuple[str, str, bool]


def _paths(spec: Any) -> dict[str, list[Step]]:
    """Paths of (action, state after, taken by an official) through a definition's
    workflow from its initial state: ``approved`` (the longest by officials' actions, as a
    case usually goes), ``refused`` (the shortest), and each with a round of "more
    information" (``..._info``: an official's action to a state that pauses the SLA clock,
    then the applicant's reply back) where the workflow has one."""
    official = [a for a in spec.actions.values() if _official(a)]

    def walks(state: str, seen: frozenset[str]) -> list[list[Step]]:
        found: list[list[Step]] = []
        for action in official:
            target = action["to"]
            if state not in action["from"] or target in seen:
                continue
            if spec.sla_clock(target) == "paused":
                continue
            step = (action["id"], target, True)
            if spec.is_terminal(target):
                found.append([step])
            else:
                found += [[step, *rest] for rest in walks(target, seen | {target})]
        return found

    every = walks(spec.initial_state, frozenset({spec.initial_state}))
    paths: dict[str, list[Step]] = {}
    approved = [w for w in every if spec.outcome(w[-1][1]) == "approved"]
    refused = [w for w in every if spec.outcome(w[-1][1]) == "refused"]
    if approved:
        paths["approved"] = max(approved, key=len)
    if refused:
        paths["refused"] = min(refused, key=len)
    for variant, path in list(paths.items()):
        states = [spec.initial_state, *(state for _action, state, _official in path)]
        for position, state in enumerate(states[:-1]):
            ask = next(
                (a for a in official if state in a["from"] and spec.sla_clock(a["to"]) == "paused"),
                None,
            )
            reply = next(
                (
                    a
                    for a in spec.actions.values()
                    if ask and not _official(a) and ask["to"] in a["from"] and a["to"] == state
                ),
                None,
            )
            if ask and reply:
                paths[f"{variant}_info"] = [
                    *path[:position],
                    (ask["id"], ask["to"], True),
                    (reply["id"], state, False),
                    *path[position:],
                ]
                break
    return paths


def _catalogue(seed: int) -> list[dict[str, Any]]:
    """Riverton's departments, wards and services (not timed); what the store's events
    need of each service: its id, initial state, workflow paths and fee."""
    from ecitizen.accounts import services as accounts
    from ecitizen.catalogue.selectors import services_published
    from ecitizen.catalogue.services import service_definitions_publish
    from ecitizen.catalogue.spec import ServiceSpec
    from ecitizen.demo.services import riverton_context
    from ecitizen.reports.demo import CATEGORIES_DIR

    city = riverton_context(seed=seed).city
    for place in city.departments:
        accounts.department_ensure(
            slug=place.code,
            name=place.name,
            email=city.email(place.code),
            names=dict(place.names) or None,
            actor=None,
        )
    for place in city.wards:
        accounts.jurisdiction_ensure(
            code=place.code, name=place.name, names=dict(place.names) or None, actor=None
        )
    for directory in (city.service_definitions, CATEGORIES_DIR):
        service_definitions_publish(directory=directory, actor=None)
    plans = []
    for service in services_published(listed=None):
        spec = ServiceSpec(service.current_version.definition)  # type: ignore[union-attr]
        paths = _paths(spec)
        if "approved" not in paths or "refused" not in paths:
            continue
        plans.append(
            {
                "id": service.pk,
                "slug": service.slug,
                "initial": spec.initial_state,
                "paths": paths,
                "fee": spec.fee_kind != "none",
                "fee_after": spec.fee_due == "after_approval",
            }
        )
    return plans


def _costs_enter(plans: list[dict[str, Any]], first: date) -> None:
    """Hourly costs of the roles and a month's fixed costs (and start-up costs in the
    first month) of every service, for every month of the history and this one."""
    from ecitizen.catalogue.models import Service
    from ecitizen.insights.kpis import months_between
    from ecitizen.insights.models import RoleHourlyCost, ServiceMonthCost

    for role, cost in HOURLY_COSTS.items():
        RoleHourlyCost.objects.create(role=role, hourly_cost=cost)
    months = months_between(first, date.today())
    services = {service.pk: service for service in Service.objects.all()}
    ServiceMonthCost.objects.bulk_create(
        ServiceMonthCost(
            service=services[plan["id"]],
            month=month,
            fixed_costs=Decimal(2000 + 250 * (plan["id"] % 5)),
            startup_costs=Decimal(15000) if month == first else Decimal(0),
        )
        for plan in plans
        for month in months
    )


def _u(column: int, seed: int, of: str = "journey") -> str:
    """SQL for a pseudo-random number in [0, 1) from ``of`` and a column number."""
    return f"(hash({of}, {seed * 100 + column}) % 1000000) / 1000000.0"


def _store_fill(
    connection: Any, *, plans: list[dict[str, Any]], events: int, seed: int, first: date, end: date
) -> dict[str, int]:
    """``events`` usage rows and the cases, actions and ratings of the same journeys, made
    by DuckDB (the dimension tables are already synced from the database)."""
    days = (end - first).days
    start_sql, end_sql = f"TIMESTAMP '{first}'", f"TIMESTAMP '{end}'"
    ids = "[" + ", ".join(str(plan["id"]) for plan in plans) + "]"
    connection.execute("BEGIN")
    connection.execute(
        "CREATE TEMP TABLE paths (service_id INTEGER, variant VARCHAR, step INTEGER, "
        "action VARCHAR, state VARCHAR, official BOOLEAN)"
    )
    connection.execute(
        "CREATE TEMP TABLE plans (service_id INTEGER, initial VARCHAR, fee BOOLEAN, "
        "fee_after BOOLEAN, has_info BOOLEAN)"
    )
    connection.executemany(
        "INSERT INTO paths VALUES (?, ?, ?, ?, ?, ?)",
        [
            (plan["id"], variant, step, action, state, official)
            for plan in plans
            for variant, path in plan["paths"].items()
            for step, (action, state, official) in enumerate(path, start=1)
        ],
    )
    connection.executemany(
        "INSERT INTO plans VALUES (?, ?, ?, ?, ?)",
        [
            (p["id"], p["initial"], p["fee"], p["fee_after"], "approved_info" in p["paths"])
            for p in plans
        ],
    )
    # One row per journey (an application from its start): its service, channel, start, how
    # it ended (completed 72 %: sent 68 %, "not eligible" 4 %; abandoned 20 %; still
    # open 8 %), when its case would be decided (1 to 42 days later; 2 % never, and none
    # after the end of the history), its ward, and numbers for the rest.
    journeys = events * 10 // 25 + 1000
    connection.execute(
        f"""CREATE TEMP TABLE journeys AS
        WITH r AS (
          SELECT range AS journey,
            {_u(1, seed)} AS u_service, {_u(2, seed)} AS u_day, {_u(3, seed)} AS u_end,
            {_u(4, seed)} AS u_channel, {_u(5, seed)} AS u_decide, {_u(6, seed)} AS u_minute,
            {_u(7, seed)} AS u_ward, {_u(8, seed)} AS u_step
          FROM range({journeys})
        ), t AS (
          SELECT *,
            {ids}[1 + CAST(floor(u_service * {len(plans)}) AS INTEGER)] AS service_id,
            {start_sql} + to_days(CAST(floor(u_day * {days}) AS INTEGER))
              + to_minutes(480 + CAST(u_minute * 600 AS INTEGER)) AS started_at,
            CASE WHEN u_end < 0.72 THEN 'completed' WHEN u_end < 0.92 THEN 'abandoned' END
              AS ending,
            u_end < 0.68 AS submitted,
            1 + CAST(floor(u_decide * 42) AS INTEGER) AS decision_days,
            CASE WHEN u_channel < 0.7 THEN 'online' WHEN u_channel < 0.9 THEN 'assisted'
                 ELSE 'counter' END AS channel
          FROM r
        )
        SELECT *,
          started_at + to_minutes(5 + CAST(u_minute * 40 AS INTEGER)) AS ended_at,
          started_at + to_minutes(5 + CAST(u_minute * 40 AS INTEGER))
            + to_days(decision_days) AS planned_at,
          CASE WHEN submitted AND u_decide < 0.98
                    AND started_at + to_days(decision_days) < {end_sql}
               THEN started_at + to_minutes(5 + CAST(u_minute * 40 AS INTEGER))
                    + to_days(decision_days) END AS decided_at
        FROM t"""  # noqa: S608 (numbers and dates of this script)
    )
    connection.execute(
        f"""INSERT INTO usage
        SELECT journey * 3 + slot + 1, service_id,
          CASE slot WHEN 0 THEN 'started' WHEN 1 THEN ending ELSE 'decided' END,
          channel,
          '00000000-0000-4000-8000-' || lpad(CAST(journey AS VARCHAR), 12, '0'),
          CASE WHEN slot = 1 AND ending = 'completed' AND NOT submitted THEN 'not_eligible'
               WHEN slot = 2 THEN CASE WHEN u_decide < 0.12 THEN 'refused' ELSE 'approved' END
               ELSE '' END,
          CASE WHEN slot = 2 THEN greatest(1, decision_days * 5 // 7) END,
          CASE slot WHEN 0 THEN started_at WHEN 1 THEN ended_at ELSE decided_at END
        FROM journeys CROSS JOIN range(3) AS s(slot)
        WHERE slot = 0 OR (slot = 1 AND ending IS NOT NULL)
           OR (slot = 2 AND decided_at IS NOT NULL)
        ORDER BY journey, slot
        LIMIT {events}"""  # noqa: S608
    )
    connection.execute(
        "DELETE FROM journeys WHERE journey > (SELECT (max(id) - 1) // 3 FROM usage)"
    )
    # Each case's path: refused in 12 %, a round of "more information" in 15 % (where the
    # workflow has one). Its actions are spread evenly from submission to the planned
    # decision; a case not decided keeps those before the end of the history but its last.
    connection.execute(
        """CREATE TEMP TABLE applied AS
        SELECT j.*, p.initial, p.fee, p.fee_after,
          CASE WHEN u_decide < 0.12 THEN 'refused' ELSE 'approved' END
            || CASE WHEN p.has_info AND u_ward < 0.15 THEN '_info' ELSE '' END AS variant
        FROM journeys AS j JOIN plans AS p USING (service_id)
        WHERE j.submitted"""
    )
    connection.execute(
        f"""CREATE TEMP TABLE taken AS
        SELECT a.journey + 1 AS case_id, a.service_id, p.step, p.action, p.state, p.official,
          1 + CAST(floor(hash(a.journey, p.step, {seed}) % {OFFICERS}) AS BIGINT) AS actor,
          a.ended_at + (a.planned_at - a.ended_at) * (p.step / n.steps) AS occurred_at
        FROM applied AS a
        JOIN paths AS p ON p.service_id = a.service_id AND p.variant = a.variant
        JOIN (SELECT service_id, variant, max(step) AS steps FROM paths GROUP BY ALL) AS n
          ON n.service_id = a.service_id AND n.variant = a.variant
        WHERE a.decided_at IS NOT NULL
           OR (p.step < n.steps
               AND a.ended_at + (a.planned_at - a.ended_at) * (p.step / n.steps) < {end_sql})"""  # noqa: S608
    )
    connection.execute(
        """INSERT INTO actions
        SELECT case_id * 8 + step, case_id, service_id, action,
          CASE WHEN official THEN actor END, occurred_at
        FROM taken"""
    )
    connection.execute(
        f"""INSERT INTO cases
        SELECT a.journey + 1, a.service_id, s.department_id,
          w.id, a.channel,
          COALESCE(last.state, a.initial),
          CASE WHEN a.decided_at IS NULL THEN ''
               WHEN a.variant LIKE 'refused%' THEN 'refused' ELSE 'approved' END,
          a.ended_at, a.decided_at,
          CAST(a.ended_at AS DATE) + to_days(s.sla_target_days * 7 // 5),
          CASE WHEN a.decided_at IS NOT NULL
               THEN greatest(1, a.decision_days * 5 // 7
                                - CASE WHEN a.variant LIKE '%_info' THEN 2 ELSE 0 END)
               ELSE 0 END,
          s.sla_target_days,
          CASE WHEN a.variant LIKE '%_info' THEN 1 ELSE 0 END,
          CASE WHEN a.fee THEN {FEE} END,
          CASE WHEN a.fee THEN 'GBP' ELSE '' END,
          CASE WHEN NOT a.fee THEN ''
               WHEN NOT a.fee_after THEN 'paid'
               WHEN a.decided_at IS NOT NULL AND a.variant LIKE 'approved%'
                    AND a.u_minute < 0.7 THEN 'paid'
               ELSE 'due' END,
          CASE WHEN a.fee AND NOT a.fee_after THEN a.ended_at - INTERVAL 1 MINUTE
               WHEN a.fee AND a.decided_at IS NOT NULL AND a.variant LIKE 'approved%'
                    AND a.u_minute < 0.7
                 THEN least(a.decided_at + INTERVAL 3 DAY, {end_sql} - INTERVAL 1 MINUTE)
          END,
          1 + CAST(floor(a.u_step * {OFFICERS}) AS BIGINT),
          COALESCE(a.decided_at, last.occurred_at, a.ended_at)
        FROM applied AS a
        JOIN services AS s ON s.id = a.service_id
        LEFT JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM wards) AS w
          ON w.n = 1 + CAST(floor(a.u_ward * (SELECT count(*) FROM wards)) AS INTEGER)
        LEFT JOIN (
          SELECT case_id, arg_max(state, step) AS state, max(occurred_at) AS occurred_at
          FROM taken GROUP BY case_id
        ) AS last ON last.case_id = a.journey + 1"""  # noqa: S608
    )
    # A quarter of the decided cases are rated: 5 % very dissatisfied ... 40 % very satisfied.
    connection.execute(
        f"""INSERT INTO ratings
        SELECT c.id, c.service_id, s.slug, c.department_id,
          CASE WHEN u < 0.05 THEN 1 WHEN u < 0.12 THEN 2 WHEN u < 0.25 THEN 3
               WHEN u < 0.6 THEN 4 ELSE 5 END,
          least(c.decided_at + INTERVAL 1 HOUR, {end_sql} - INTERVAL 1 MINUTE)
        FROM (SELECT *, {_u(9, seed, "id")} * 4 AS u FROM cases) AS c
        JOIN services AS s ON s.id = c.service_id
        WHERE c.decided_at IS NOT NULL AND u < 1"""  # noqa: S608
    )
    for table in ("taken", "applied", "journeys", "paths", "plans"):
        connection.execute(f"DROP TABLE {table}")
    connection.execute("COMMIT")
    connection.execute("CHECKPOINT")
    return {
        table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
        for table in ("usage", "cases", "actions", "ratings")
    }


FLOOR_SQL = """
SELECT service_id, date_trunc('month', occurred_at) AS month, kind, channel, count(*) AS n
FROM usage
GROUP BY service_id, date_trunc('month', occurred_at), kind, channel
"""


def _floor(connection: Any, runs: int = 5) -> list[Clock]:
    """``runs`` plain aggregates over the usage events, fetched, each timed."""
    clocks = []
    for _ in range(runs):
        with Clock() as clock:
            connection.execute(FLOOR_SQL).fetchall()
        clocks.append(clock)
    return clocks


def _timed_queries() -> tuple[dict[str, float], Callable[[], None]]:
    """Time each of ``kpis``'s queries by family while the refresh runs: the totals, and a
    function that puts ``kpis._rows`` back."""
    from ecitizen.insights import kpis

    names = {sql: name for name, sql in kpis.QUERIES.items()}
    totals: dict[str, float] = defaultdict(float)
    original = kpis._rows

    def rows(connection: Any, sql: str, parameters: Mapping[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return original(connection, sql, parameters)
        finally:
            totals[names.get(sql, "other")] += time.perf_counter() - started

    kpis._rows = rows  # type: ignore[assignment]

    def restore() -> None:
        kpis._rows = original  # type: ignore[assignment]

    return totals, restore


def _kpis(options: argparse.Namespace) -> None:  # noqa: PLR0915
    from django.conf import settings

    from ecitizen.insights.kpis import month_start
    from ecitizen.insights.models import KpiMonth
    from ecitizen.insights.services.kpis import kpis_refresh
    from ecitizen.insights.store import store_open, store_path, store_sync

    today = date.today()
    this_month = month_start(today)
    first = date(this_month.year - MONTHS // 12, this_month.month, 1)
    plans = _catalogue(options.seed)
    _costs_enter(plans, first)
    say(
        f"\n(a) KPI refresh: {len(plans)} published services, history {first:%Y-%m} to "
        f"{this_month - timedelta(days=1):%Y-%m}; {load_average()}"
    )
    started = time.perf_counter()
    with store_open() as connection:
        store_sync(connection)  # the services, departments and wards; no event yet
        counts = _store_fill(
            connection,
            plans=plans,
            events=options.events,
            seed=options.seed,
            first=first,
            end=this_month,
        )
        floor_before = _floor(connection)
    size_mb = store_path().stat().st_size / 1e6
    say(
        f"store filled in {time.perf_counter() - started:.1f} s ({size_mb:,.0f} MB): "
        + ", ".join(f"{count:,} {table}" for table, count in counts.items())
    )

    totals, restore = _timed_queries()
    months_done: list[float] = []
    began = time.perf_counter()

    def progress(stage: str, count: int) -> None:
        if stage == "months":
            months_done.append(time.perf_counter() - began)

    try:
        with Clock() as clock:
            result = kpis_refresh(from_month=first, progress=progress)
    finally:
        restore()
    refresh, refresh_cpu = clock.wall, clock.cpu
    queries = dict(totals)
    with Clock() as clock:
        nightly = kpis_refresh()
    nightly_time = clock.wall
    with store_open() as connection:
        floor_after = _floor(connection)
        plain = {
            month.date(): (int(started_n), int(completed_n))
            for month, started_n, completed_n in connection.execute(
                """SELECT date_trunc('month', occurred_at),
                          count(*) FILTER (WHERE kind = 'started'),
                          count(*) FILTER (WHERE kind = 'completed')
                   FROM usage GROUP BY 1"""
            ).fetchall()
        }
    floor = statistics.median(c.wall for c in floor_before + floor_after)
    floor_cpu = statistics.median(c.cpu for c in floor_before + floor_after)
    computed = (months_done[-1] - months_done[0]) if len(months_done) > 1 else 0.0
    say(
        f"\nfloor: DuckDB's plain aggregate over the {counts['usage']:,} events "
        f"(service x month x kind x channel): {floor * 1000:,.0f} ms, CPU "
        f"{floor_cpu * 1000:,.0f} ms (median of 5 before and 5 after the refresh; medians "
        f"{statistics.median(c.wall for c in floor_before) * 1000:,.0f} and "
        f"{statistics.median(c.wall for c in floor_after) * 1000:,.0f} ms)"
    )
    months = len(result.months)
    say(
        f"kpis_refresh of {months} months ({result.rows_written:,} KpiMonth rows): "
        f"{refresh:.1f} s, {refresh / floor:,.0f} x the floor (CPU {refresh_cpu:.1f} s, "
        f"{refresh_cpu / floor_cpu:,.0f} x); {refresh / months:.2f} s a month, "
        f"{refresh / months / floor:.1f} x the floor ({load_average()})"
    )
    say("  where the time went (s):")
    query_total = sum(queries.values())
    for name, seconds in sorted(queries.items(), key=lambda item: -item[1]):
        say(f"    {name:14}{seconds:8.2f}  ({seconds / len(result.months):.2f} a month)")
    say(
        f"    {'other':14}{refresh - query_total:8.2f}  (sync, handling times measured, "
        "definitions, calendar, costs in Python, rows written)"
    )
    if computed:
        say(
            f"  first month computed after {months_done[0]:.1f} s; the other "
            f"{len(months_done) - 1} in {computed:.1f} s"
        )
    say(
        f"nightly refresh (the job's default months, {nightly.rows_written} rows): "
        f"{nightly_time:.1f} s, {nightly_time / floor:,.0f} x the floor"
    )
    authority = {
        row.month: row.figures
        for row in KpiMonth.objects.filter(scope=KpiMonth.Scope.AUTHORITY).only("month", "figures")
    }
    wrong = [
        month
        for month, (started_n, completed_n) in sorted(plain.items())
        if month in authority
        and (authority[month]["started"], authority[month]["completed"]) != (started_n, completed_n)
    ]
    say(
        f"check: the authority's started and completed journeys of {len(plain)} months "
        + ("agree with a plain count of the events" if not wrong else f"DIFFER in {wrong}")
    )
    sample = authority.get(month_start(this_month - timedelta(days=1)), {})
    if sample:
        cost = sample.get("cost") or {}
        say(
            f"  last month, authority: started {sample['started']:,}, completion rate "
            f"{sample['completion_rate']:.3f}, digital take-up {sample['digital_take_up']:.3f}, "
            f"satisfaction {sample['satisfaction']:.3f}, decided {sample['decided']:,} "
            f"(median {sample['decision_days_median']} working days), backlog "
            f"{sample['backlog']:,}, cost per transaction {cost.get('per_transaction')} "
            f"{settings.CURRENCY}"
        )
    options.summary.append(
        f"KPI refresh of {len(result.months)} months over {counts['usage']:,} events "
        f"{refresh:.1f} s = {refresh / floor:,.0f} x DuckDB's plain aggregate ({floor:.3f} s); "
        f"nightly (2 months) {nightly_time:.1f} s"
    )


# --- (b) forecasts -------------------------------------------------------------------


def _series(count: int, *, end: date, seed: int) -> Any:
    """``count`` daily series of two years ending on ``end`` in statsforecast's long format
    (``unique_id``, ``ds``, ``y``): a level (log-normal around 40 a day), a trend (-30 % to
    +50 % over the two years), weekly seasonality (quiet weekends), yearly seasonality (up
    to +-35 %), England's bank holidays at a fifth of a day's demand, a two-week campaign
    at 1.8 x in one series in ten, Poisson noise."""
    import holidays
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = end - timedelta(days=SERIES_DAYS - 1)
    days = pd.date_range(start, periods=SERIES_DAYS, freq="D")
    t = np.arange(SERIES_DAYS)
    weekday = days.dayofweek.to_numpy()
    day_of_year = days.dayofyear.to_numpy()
    closed = set(
        holidays.country_holidays("GB", subdiv="ENG", years=range(start.year, end.year + 1))
    )
    quiet = np.where([day.date() in closed for day in days], 0.2, 1.0)
    week = np.array([1.15, 1.1, 1.05, 1.0, 0.95, 0.35, 0.15])
    frames = []
    for number in range(count):
        level = math.exp(rng.normal(math.log(40), 0.9))
        trend = 1 + rng.uniform(-0.3, 0.5) * t / SERIES_DAYS
        weekly = week * rng.uniform(0.9, 1.1, 7)
        yearly = 1 + rng.uniform(0, 0.35) * np.sin(
            2 * np.pi * (day_of_year - rng.uniform(0, 365)) / 365.25
        )
        mean = level * trend * weekly[weekday] * yearly * quiet
        if number % 10 == 0:
            at = int(rng.integers(SERIES_DAYS // 4, SERIES_DAYS - 60))
            mean[at : at + 14] *= 1.8
        frames.append(
            pd.DataFrame(
                {"unique_id": f"s{number:04d}", "ds": days, "y": rng.poisson(mean).astype(float)}
            )
        )
    return pd.concat(frames, ignore_index=True)


def _forecasts(options: argparse.Namespace) -> None:
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    from ecitizen.cases.calendar import is_business_day
    from ecitizen.insights import forecasting

    def holiday(day: date) -> bool:
        """The platform's calendar: a weekday that is not a business day."""
        return day.weekday() < 5 and not is_business_day(day)

    end = date.today() - timedelta(days=1)
    started = time.perf_counter()
    frame = _series(options.series, end=end, seed=options.seed)
    say(
        f"\n(b) forecasts: {options.series:,} daily series of {SERIES_DAYS} days to {end} "
        f"({len(frame):,} points) made in {time.perf_counter() - started:.1f} s; {load_average()}"
    )

    def floor() -> Clock:
        with Clock() as clock:
            StatsForecast(models=[SeasonalNaive(season_length=7)], freq="D", n_jobs=1).forecast(
                df=frame, h=HORIZON_DAYS, level=[80, 95]
            )
        return clock

    floor()  # warm-up: imports
    floors = [floor(), floor(), floor()]
    with Clock() as clock:
        daily = forecasting.forecast_many(frame, freq="day", holidays=holiday)
    ours, ours_cpu = clock.wall, clock.cpu
    floors += [floor(), floor()]
    naive = statistics.median(c.wall for c in floors)
    naive_cpu = statistics.median(c.cpu for c in floors)
    with Clock() as clock:
        weekly = forecasting.forecast_many(frame, freq="week", holidays=holiday)
    say(
        f"floor: SeasonalNaive (season 7) alone over the same series, {HORIZON_DAYS} days "
        f"with 80/95 % intervals: {naive:.2f} s, CPU {naive_cpu:.2f} s (median of 5, one "
        "process)"
    )
    say(
        f"forecast_many, daily: {ours:.1f} s, {ours / options.series:.3f} s a series, "
        f"{ours / naive:,.0f} x the floor (CPU {ours_cpu:.1f} s in all processes, "
        f"{ours_cpu / naive_cpu:,.0f} x; {load_average()})"
    )
    share = _mase_report(daily)
    say(
        f"forecast_many, weekly (the same series summed to ISO weeks): {clock.wall:.1f} s "
        f"(CPU {clock.cpu:.1f} s)"
    )
    _mase_report(weekly)
    options.summary.append(
        f"daily forecasts of {options.series:,} series {ours:.1f} s "
        f"({ours / options.series:.3f} s each) = {ours / naive:,.0f} x SeasonalNaive alone "
        f"({naive:.2f} s); chosen model beats the seasonal naive (MASE < 1) for {share:.1%}"
    )


def _mase_report(results: Mapping[Any, Any]) -> float:
    """Print the share of series whose chosen model beats the seasonal naive and the
    models chosen; return the share."""
    done = [r for r in results.values() if r.status == "ok"]
    mases = [r.mase for r in done if r.mase is not None]
    beats = sum(m < 1 for m in mases)
    share = beats / len(done) if done else 0.0
    models: dict[str, int] = defaultdict(int)
    for r in done:
        models[r.model] += 1
    spread = (
        f"MASE quartiles {' / '.join(f'{q:.3f}' for q in statistics.quantiles(mases, n=4))}"
        if len(mases) > 1
        else ""
    )
    say(
        f"  MASE < 1 (the chosen model beats the seasonal naive) for {beats:,} of "
        f"{len(done):,} series forecast ({share:.1%}); {spread}; "
        f"{len(results) - len(done)} too short"
    )
    say("  models shown: " + ", ".join(f"{m} {n:,}" for m, n in sorted(models.items())))
    return share


def _run(options: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    os.environ["INSIGHTS_DIR"] = str(Path(os.environ["VAR_DIR"]) / "insights")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    say(f"{connection.display_name} database migrated in {time.perf_counter() - started:.0f} s")
    options.summary = []
    if options.events:
        _kpis(options)
    if options.series:
        _forecasts(options)
    say("\nsummary: " + "; ".join(options.summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="usage events (0: skip)")
    parser.add_argument("--series", type=int, default=1000, help="daily series (0: skip)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a throwaway PostgreSQL database beside DATABASE_URL's (default: SQLite)",
    )
    options = parser.parse_args()
    if options.events < 0 or options.series < 0 or (options.events and options.events < 1000):
        sys.exit("--events must be 0 or at least 1000, --series 0 or more")
    if options.postgres and "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a PostgreSQL server (postgres://user@host:5432/db)")
    run_in_throwaway_database(lambda: _run(options), sqlite=not options.postgres)


if __name__ == "__main__":
    main()

"""Staffing arithmetic: pure functions, no Django, no database.

**Officers for casework** (:func:`officers_needed`). A week's work is its forecast
volume * the handling minutes of a typical case, plus a share of the backlog:

- *minutes per case* is ``Σ minutes(action) * times(action) per case``: the handling time
  of each workflow action of the service (``ActionTime.minutes``, measured from the cases'
  history and editable) weighted by how often a case passes that action (measured over
  the last six months: the action's occurrences ÷ the cases submitted; each action once
  when nothing was measured). See :func:`minutes_per_case`.
- *the backlog* (the cases open now) must be decided within the SLA: its work (open
  cases * minutes per case, as if no work had been done on them yet: a prudent upper
  bound) is spread evenly over the first ``ceil(SLA working days ÷ 5)`` weeks.
- an officer gives ``hours_per_week * productive_share`` hours a week to cases.

``officers = (volume * minutes + backlog share) ÷ 60 ÷ productive hours``, in full-time
equivalents (not rounded: the pages show one decimal).

**Counter agents** (:func:`erlang_c_agents`). Visitors to a counter arrive at random
(Poisson, ``arrivals_per_hour``) and take ``handling_minutes`` on average (exponential).
With ``N`` agents and traffic ``A = λ * AHT`` erlangs, Erlang C gives the probability that
a visitor waits at all, ``C(N, A)``, and the service level, the share seen within
``target`` seconds, ``1 - C(N, A) * exp(-(N - A) * target ÷ AHT)``. The advice is the
smallest ``N > A`` whose service level reaches the target. ``C`` is computed from the
Erlang B recursion ``B(0) = 1, B(n) = A B(n-1) ÷ (n + A B(n-1))`` and
``C = N B ÷ (N - A (1 - B))``, which never forms ``A^N`` or ``N!`` and stays exact for
hundreds of agents; the search adds one agent at a time and carries ``B`` along (one
recursion step an agent). A week's arrivals per hour are its forecast visits ÷ the
counter's opening hours: the *average* hour; a busy morning needs more (say so to the
reader). A load needing more than :data:`MAX_AGENTS` agents raises
:class:`CounterOverloadError` (a ``ValueError``): the caller says the counter cannot cope
with the settings entered.

**Guards.** Every input must be a finite number: :func:`officers_needed` and
:func:`erlang_c_agents` raise ``ValueError`` for NaN or infinity, for non-positive hours,
productive share or handling time, and for fewer than one backlog week, so neither ever
divides by zero; :func:`officers_needed` also raises ``ValueError`` when the workload is
too large for a float (a forecast beyond any real demand) rather than answer infinity.
With the ranges of the staffing form (hours 1..80 a week, 5..100% of them on cases:
at least 0.05 productive hours; counter open 1..168 hours, 0.5..480 minutes a visit) the
divisors are never below 0.05.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Most agents :func:`erlang_c_agents` tries before giving up (a misconfiguration).
MAX_AGENTS = 10_000


class CounterOverloadError(ValueError):
    """The load needs more than :data:`MAX_AGENTS` agents: ``traffic_erlangs`` is the
    offered traffic (arrivals an hour * minutes a visit ÷ 60)."""

    def __init__(self, traffic_erlangs: float) -> None:
        super().__init__(f"more than {MAX_AGENTS} agents would be needed")
        self.traffic_erlangs = traffic_erlangs


def _finite(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number")


@dataclass(frozen=True)
class ErlangResult:
    """The counter staffing of one load: ``agents`` the smallest number meeting the
    target; the traffic in erlangs; the probability of waiting at all, the service level
    reached, the average wait (seconds) and the agents' occupancy with that many."""

    agents: int
    arrivals_per_hour: float
    handling_minutes: float
    traffic_erlangs: float
    probability_wait: float
    service_level: float
    average_wait_seconds: float
    occupancy: float


@dataclass(frozen=True)
class OfficersNeeded:
    """One week's casework staffing: the hours of work (new cases and backlog share) and
    the officers (full-time equivalents) they need."""

    volume: float
    workload_hours: float
    backlog_hours: float
    productive_hours_per_officer: float
    officers: float


def erlang_b(agents: int, traffic: float) -> float:
    """Erlang B: the probability that all ``agents`` are busy (blocking, no queue)."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic must not be negative")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def erlang_c(agents: int, traffic: float) -> float:
    """Erlang C: the probability that an arrival waits (1 when ``agents ≤ traffic``: the
    queue grows without end)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocking = erlang_b(agents, traffic)
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def service_level(
    agents: int, traffic: float, *, handling_seconds: float, target_seconds: float
) -> float:
    """The share of arrivals that wait at most ``target_seconds`` (0 when overloaded)."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    wait = erlang_c(agents, traffic)
    return 1.0 - wait * math.exp(-(agents - traffic) * target_seconds / handling_seconds)


def average_wait_seconds(agents: int, traffic: float, *, handling_seconds: float) -> float:
    """Average speed of answer: ``C * AHT ÷ (N - A)`` (infinite when overloaded)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * handling_seconds / (agents - traffic)


def _erlang_c_from_b(agents: int, traffic: float, blocking: float) -> float:
    """Erlang C from Erlang B of the same ``agents`` (``agents > traffic``)."""
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_c_agents(
    *,
    arrivals_per_hour: float,
    handling_minutes: float,
    target_wait_seconds: float,
    target_service_level: float,
) -> ErlangResult:
    """The smallest number of agents such that the share of arrivals waiting at most
    ``target_wait_seconds`` is at least ``target_service_level`` (0..1). No arrivals: no
    agent. Raises ``ValueError`` for a negative, non-finite or impossible input, and
    :class:`CounterOverloadError` (a ``ValueError``) when more than :data:`MAX_AGENTS`
    agents would be needed."""
    _finite(
        arrivals_per_hour=arrivals_per_hour,
        handling_minutes=handling_minutes,
        target_wait_seconds=target_wait_seconds,
        target_service_level=target_service_level,
    )
    if arrivals_per_hour < 0 or handling_minutes <= 0 or target_wait_seconds < 0:
        raise ValueError("arrivals must not be negative, handling time must be positive")
    if not 0 < target_service_level < 1:
        raise ValueError("the service level is a share strictly between 0 and 1")
    handling_seconds = handling_minutes * 60.0
    traffic = arrivals_per_hour * handling_minutes / 60.0
    if not math.isfinite(traffic) or traffic >= MAX_AGENTS:
        raise CounterOverloadError(traffic)
    if traffic == 0:
        return ErlangResult(0, arrivals_per_hour, handling_minutes, 0.0, 0.0, 1.0, 0.0, 0.0)
    agents = max(1, math.floor(traffic) + 1)
    blocking = erlang_b(agents, traffic)
    while agents <= MAX_AGENTS:
        wait = _erlang_c_from_b(agents, traffic, blocking)
        level = 1.0 - wait * math.exp(-(agents - traffic) * target_wait_seconds / handling_seconds)
        if level >= target_service_level:
            return ErlangResult(
                agents=agents,
                arrivals_per_hour=arrivals_per_hour,
                handling_minutes=handling_minutes,
                traffic_erlangs=traffic,
                probability_wait=wait,
                service_level=level,
                average_wait_seconds=wait * handling_seconds / (agents - traffic),
                occupancy=traffic / agents,
            )
        agents += 1
        blocking = traffic * blocking / (agents + traffic * blocking)
    raise CounterOverloadError(traffic)


def minutes_per_case(
    minutes: Mapping[str, float], times_per_case: Mapping[str, float] | None = None
) -> float:
    """Handling minutes of a typical case: each action's minutes * how many times a case
    passes it (``times_per_case``; an action not measured there counts once when nothing
    was measured at all, else zero: the measurement says cases do not pass it)."""
    if not times_per_case:
        return float(sum(minutes.values()))
    return float(sum(value * times_per_case.get(action, 0.0) for action, value in minutes.items()))


def backlog_weeks(sla_working_days: int | None) -> int:
    """Weeks over which the open cases must be cleared: the SLA in working weeks,
    rounded up (4 weeks when the service has no SLA)."""
    if not sla_working_days or sla_working_days <= 0:
        return 4
    return max(1, math.ceil(sla_working_days / 5))


def officers_needed(
    *,
    volume: float,
    minutes_per_case: float,
    hours_per_week: float,
    productive_share: float,
    backlog_cases: float = 0.0,
    backlog_weeks: int = 1,
    week_index: int = 0,
) -> OfficersNeeded:
    """Full-time equivalents needed in one week (``week_index`` 0 for the first week
    ahead) for ``volume`` new cases of ``minutes_per_case`` each, plus the share of the
    backlog cleared that week (``backlog_cases`` spread over the first ``backlog_weeks``
    weeks). Raises ``ValueError`` for a non-finite input, non-positive hours or share,
    fewer than one backlog week, or a workload too large for a float (module docstring:
    never a division by zero, never infinity)."""
    _finite(
        volume=volume,
        minutes_per_case=minutes_per_case,
        hours_per_week=hours_per_week,
        productive_share=productive_share,
        backlog_cases=backlog_cases,
    )
    if hours_per_week <= 0 or not 0 < productive_share <= 1:
        raise ValueError("hours must be positive and the productive share in (0, 1]")
    if volume < 0 or minutes_per_case < 0 or backlog_cases < 0:
        raise ValueError("volumes and minutes must not be negative")
    if backlog_weeks < 1:
        raise ValueError("the backlog is spread over one week or more")
    productive = hours_per_week * productive_share
    workload = volume * minutes_per_case / 60.0
    backlog = (
        backlog_cases * minutes_per_case / 60.0 / backlog_weeks
        if backlog_cases and week_index < backlog_weeks
        else 0.0
    )
    officers = (workload + backlog) / productive
    if not math.isfinite(officers):
        raise ValueError("the workload is too large to work out")
    return OfficersNeeded(
        volume=volume,
        workload_hours=workload,
        backlog_hours=backlog,
        productive_hours_per_officer=productive,
        officers=officers,
    )

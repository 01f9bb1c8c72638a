"""Staffing arithmetic against known answers: Erlang B and C (textbook values and two
published worked examples) and the officers a week's casework needs."""

from __future__ import annotations

import math

import pytest

from ecitizen.insights import staffing


def test_erlang_b_and_c_small_cases_match_the_closed_forms():
    # Erlang B: one server offered 1 erlang is busy half the time; two servers: 1/5.
    assert staffing.erlang_b(1, 1.0) == pytest.approx(0.5)
    assert staffing.erlang_b(2, 1.0) == pytest.approx(0.2)
    # M/M/1: an arrival waits with probability rho.
    assert staffing.erlang_c(1, 0.5) == pytest.approx(0.5)
    # M/M/2 with A = 1: C = (A^2 / (2 - A)) / (1 + A + A^2 / (2 - A)) = 1/3.
    assert staffing.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # Overloaded: everyone waits; nobody arrives: nobody waits.
    assert staffing.erlang_c(3, 3.0) == 1.0
    assert staffing.erlang_c(3, 0.0) == 0.0


def test_westbay_worked_example():
    """Westbay Engineers, "The Erlang-C formula" (westbay.ndirect.co.uk/erlang.htm): 360
    calls per half hour of 4 minutes each (48 erlangs), 55 agents, 15-second target.
    Published: probability of waiting 24% (0.2387), average speed of answer 8.2 s,
    service level 85% (84.6%)."""
    traffic = 360 / 30 * 4  # calls a minute x minutes a call
    assert traffic == 48
    wait = staffing.erlang_c(55, traffic)
    assert wait == pytest.approx(0.2387, abs=5e-5)
    assert staffing.average_wait_seconds(55, traffic, handling_seconds=240) == pytest.approx(
        8.18, abs=0.01
    )
    level = staffing.service_level(55, traffic, handling_seconds=240, target_seconds=15)
    assert level == pytest.approx(0.8459, abs=5e-4)


def test_call_centre_helper_worked_example_needs_14_agents():
    """Call Centre Helper, "Erlang C formula - made simple with an easy worked example":
    100 calls in 30 minutes, 3 minutes handling (10 erlangs), 80% answered within 20
    seconds. Published: 11 agents leave 68.2% of calls waiting; 14 agents are needed
    (13 give 79.6%, just short; 14 give 88.8%)."""
    assert staffing.erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert staffing.service_level(
        13, 10.0, handling_seconds=180, target_seconds=20
    ) == pytest.approx(0.7956, abs=5e-4)
    result = staffing.erlang_c_agents(
        arrivals_per_hour=200, handling_minutes=3, target_wait_seconds=20, target_service_level=0.8
    )
    assert result.agents == 14
    assert result.traffic_erlangs == pytest.approx(10.0)
    assert result.service_level == pytest.approx(0.8884, abs=5e-4)
    assert result.probability_wait == pytest.approx(0.1741, abs=5e-4)
    assert result.occupancy == pytest.approx(10 / 14)


def test_erlang_c_is_stable_for_hundreds_of_agents():
    # A^N / N! would overflow a float here (500^550); the recursion does not.
    wait = staffing.erlang_c(550, 500.0)
    assert 0 < wait < 1
    result = staffing.erlang_c_agents(
        arrivals_per_hour=6000, handling_minutes=5, target_wait_seconds=30, target_service_level=0.9
    )
    assert result.agents > 500
    assert result.service_level >= 0.9
    fewer = staffing.service_level(
        result.agents - 1, 500.0, handling_seconds=300, target_seconds=30
    )
    assert fewer < 0.9


def test_no_visitor_needs_no_agent_and_bad_input_is_refused():
    none = staffing.erlang_c_agents(
        arrivals_per_hour=0, handling_minutes=10, target_wait_seconds=300, target_service_level=0.8
    )
    assert none.agents == 0
    assert none.service_level == 1.0
    with pytest.raises(ValueError, match="handling time must be positive"):
        staffing.erlang_c_agents(
            arrivals_per_hour=10,
            handling_minutes=0,
            target_wait_seconds=60,
            target_service_level=0.8,
        )
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        staffing.erlang_c_agents(
            arrivals_per_hour=10, handling_minutes=5, target_wait_seconds=60, target_service_level=1
        )


def test_officers_needed_known_answers():
    # 120 cases of 30 minutes: 60 hours; an officer gives 37.5 x 0.8 = 30 hours: 2 officers.
    plain = staffing.officers_needed(
        volume=120, minutes_per_case=30, hours_per_week=37.5, productive_share=0.8
    )
    assert plain.workload_hours == pytest.approx(60)
    assert plain.productive_hours_per_officer == pytest.approx(30)
    assert plain.officers == pytest.approx(2.0)
    # 40 open cases (20 hours) cleared over 2 weeks: 10 more hours in weeks 1 and 2 only.
    first = staffing.officers_needed(
        volume=120,
        minutes_per_case=30,
        hours_per_week=37.5,
        productive_share=0.8,
        backlog_cases=40,
        backlog_weeks=2,
        week_index=0,
    )
    third = staffing.officers_needed(
        volume=120,
        minutes_per_case=30,
        hours_per_week=37.5,
        productive_share=0.8,
        backlog_cases=40,
        backlog_weeks=2,
        week_index=2,
    )
    assert first.backlog_hours == pytest.approx(10)
    assert first.officers == pytest.approx(70 / 30)
    assert third.backlog_hours == 0
    assert third.officers == pytest.approx(2.0)
    with pytest.raises(ValueError, match="productive share"):
        staffing.officers_needed(
            volume=1, minutes_per_case=1, hours_per_week=37, productive_share=0
        )


def test_minutes_per_case_and_backlog_weeks():
    minutes = {"review": 20.0, "decide": 10.0, "request_info": 15.0}
    # Measured: every case reviewed and decided, 4 in 10 asked for more information.
    assert staffing.minutes_per_case(
        minutes, {"review": 1.0, "decide": 1.0, "request_info": 0.4}
    ) == pytest.approx(36.0)
    # Nothing measured: each action once.
    assert staffing.minutes_per_case(minutes, {}) == pytest.approx(45.0)
    assert staffing.backlog_weeks(10) == 2
    assert staffing.backlog_weeks(12) == 3
    assert staffing.backlog_weeks(None) == 4
    assert math.isinf(staffing.average_wait_seconds(2, 2.0, handling_seconds=60))


def _brute_force_agents(traffic: float, handling_seconds: float, target: float, level: float):
    """The smallest N > A meeting the level, each N from the closed functions."""
    agents = math.floor(traffic) + 1
    while (
        staffing.service_level(
            agents, traffic, handling_seconds=handling_seconds, target_seconds=target
        )
        < level
    ):
        agents += 1
    return agents


@pytest.mark.parametrize(
    ("arrivals", "minutes", "target", "level"),
    [(120, 3, 20, 0.8), (30, 12, 300, 0.8), (6000, 5, 30, 0.9), (0.5, 480, 60, 0.99)],
)
def test_the_agents_search_carrying_erlang_b_along_matches_the_closed_functions(
    arrivals, minutes, target, level
):
    result = staffing.erlang_c_agents(
        arrivals_per_hour=arrivals,
        handling_minutes=minutes,
        target_wait_seconds=target,
        target_service_level=level,
    )
    traffic = arrivals * minutes / 60
    agents = _brute_force_agents(traffic, minutes * 60, target, level)
    assert result.agents == agents
    assert result.probability_wait == pytest.approx(staffing.erlang_c(agents, traffic))
    assert result.average_wait_seconds == pytest.approx(
        staffing.average_wait_seconds(agents, traffic, handling_seconds=minutes * 60)
    )


def test_a_load_beyond_the_most_agents_is_refused_at_once():
    # 1,500 visits in a 1-hour week, 480 minutes each: 12,000 erlangs.
    with pytest.raises(staffing.CounterOverloadError) as raised:
        staffing.erlang_c_agents(
            arrivals_per_hour=1500,
            handling_minutes=480,
            target_wait_seconds=300,
            target_service_level=0.8,
        )
    assert raised.value.traffic_erlangs == pytest.approx(12_000)
    assert isinstance(raised.value, ValueError)
    # Just under the limit in traffic, but the agents needed pass it: refused too.
    with pytest.raises(staffing.CounterOverloadError):
        staffing.erlang_c_agents(
            arrivals_per_hour=1249.9,
            handling_minutes=480,
            target_wait_seconds=60,
            target_service_level=0.99,
        )
    for bad in (math.inf, math.nan):
        with pytest.raises(ValueError, match="finite"):
            staffing.erlang_c_agents(
                arrivals_per_hour=bad,
                handling_minutes=5,
                target_wait_seconds=60,
                target_service_level=0.8,
            )


def test_officers_needed_never_divides_by_zero_nor_answers_infinity():
    # The staffing form's extremes: 1 hour a week at 5% on cases (0.05 productive hours),
    # 99,999.9 minutes an action, the most officers: finite answers.
    least = staffing.officers_needed(
        volume=1_000_000,
        minutes_per_case=99_999.9,
        hours_per_week=1,
        productive_share=0.05,
        backlog_cases=9_999_999,
        backlog_weeks=1,
    )
    assert least.productive_hours_per_officer == pytest.approx(0.05)
    assert least.officers == pytest.approx((1_000_000 + 9_999_999) * 99_999.9 / 60 / 0.05)
    assert math.isfinite(least.officers)
    with pytest.raises(ValueError, match="one week or more"):
        staffing.officers_needed(
            volume=1,
            minutes_per_case=1,
            hours_per_week=37,
            productive_share=0.75,
            backlog_cases=5,
            backlog_weeks=0,
        )
    with pytest.raises(ValueError, match="hours must be positive"):
        staffing.officers_needed(volume=1, minutes_per_case=1, hours_per_week=0, productive_share=1)
    for bad in (math.inf, math.nan):
        with pytest.raises(ValueError, match="finite"):
            staffing.officers_needed(
                volume=bad, minutes_per_case=1, hours_per_week=37, productive_share=0.75
            )
    # A forecast beyond any real demand: the product overflows a float; refused.
    with pytest.raises(ValueError, match="too large"):
        staffing.officers_needed(
            volume=1e306, minutes_per_case=99_999.9, hours_per_week=37, productive_share=0.75
        )

"""The nightly forecasts on database data: usage events (a made-up history through
``cases.services.demo_support.usage_history_insert``, one real application through the
case services) read through the analytical store, forecast and written idempotently; a
week far above its stored forecast flagged once and notified once to the service's
managers; the command's ``MASE=`` lines; and what the forecast and staffing pages read
(``planning``)."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from ecitizen.accounts import services as account_services
from ecitizen.accounts.models import Role
from ecitizen.cases.services.demo_support import UsageHistoryRow, usage_history_insert
from ecitizen.cases.tests.support import submit_shed
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.insights import planning, staffing
from ecitizen.insights.forecasting import week_monday
from ecitizen.insights.models import ActionTime, Anomaly, Forecast, KpiMonth, ServiceStaffing
from ecitizen.insights.services.forecasts import forecasts_refresh
from ecitizen.notifications.models import Notification
from tests.factories import DepartmentFactory, JurisdictionFactory, UserFactory
from tests.personas import _official

pytestmark = pytest.mark.django_db

CASES_FIXTURES = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures"
THIS_MONDAY = week_monday(timezone.localdate())
#: The first run: the Monday of last week.
FIRST_RUN = THIS_MONDAY - timedelta(weeks=1)
#: Days of history before the first run: 37 weeks.
HISTORY_DAYS = 259
#: Days of the garden waste service's history: too short (196 needed).
SHORT_DAYS = 60
SHAPE = (24, 22, 20, 20, 18, 6, 4)


@pytest.fixture
def published(db, tmp_path, settings):
    settings.INSIGHTS_DIR = tmp_path / "store"
    DepartmentFactory(slug="public-works", name="Public Works")
    folder = tmp_path / "definitions"
    folder.mkdir()
    for name in ("shed-permit.yaml", "garden-waste.yaml"):
        shutil.copy(CASES_FIXTURES / name, folder)
    service_definitions_publish(directory=folder, actor=None)
    return {
        "shed": Service.objects.get(slug="shed-permit"),
        "garden": Service.objects.get(slug="garden-waste-collection"),
    }


@pytest.fixture
def people(published):
    works = published["shed"].department
    # A service manager of Public Works limited to the East ward: the forecast page (of
    # the whole service) is not theirs, so neither is the notice linking to it.
    ward_manager = UserFactory(email="east.manager@example.test")
    account_services.role_assign(
        user=ward_manager,
        role="service_manager",
        department=works,
        jurisdiction=JurisdictionFactory(code="east", name="East"),
        actor=None,
        system=True,
    )
    return {
        "ward_manager": ward_manager,
        "manager": _official("service_manager", works, email="manager@example.test"),
        "officer": _official(Role.CASE_OFFICER, works, email="officer@example.test"),
        "elsewhere": _official(
            "service_manager",
            DepartmentFactory(slug="planning", name="Planning"),
            email="planning.manager@example.test",
        ),
    }


def _at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _rows(service, day: date, count: int, *, channel: str = "online", outcome: str = ""):
    return [
        UsageHistoryRow(service.pk, "completed", channel, uuid.uuid4(), outcome, None, _at(day))
        for _ in range(count)
    ]


def _history(published) -> dict[date, int]:
    """Shed permits: a weekly pattern, a rising level and noise, a third of them at the
    counter, plus not-eligible end pages (not applications); garden waste: 60 days.
    Returns the shed's applications per day."""
    rng = np.random.default_rng(11)
    shed, garden = published["shed"], published["garden"]
    rows, applications = [], {}
    start = FIRST_RUN - timedelta(days=HISTORY_DAYS)
    for k in range(HISTORY_DAYS):
        day = start + timedelta(days=k)
        count = int(rng.poisson(SHAPE[day.weekday()] * (1 + 0.5 * k / HISTORY_DAYS)))
        counter = count // 3
        rows += _rows(shed, day, count - counter)
        rows += _rows(shed, day, counter, channel="counter")
        rows += _rows(shed, day, 2, outcome="not_eligible")
        applications[day] = count
    for k in range(SHORT_DAYS):
        rows += _rows(garden, FIRST_RUN - timedelta(days=SHORT_DAYS - k), 3)
    usage_history_insert(rows=rows)
    return applications


def _snapshot() -> list[tuple]:
    return sorted(
        Forecast.objects.values_list(
            "service__slug",
            "series",
            "frequency",
            "status",
            "history_points",
            "needed_points",
            "model",
            "mase",
            "backtest",
            "points",
            "history",
        )
    )


def test_forecasts_refresh_writes_every_series_once_and_flags_an_unusual_week(published, people):
    applications = _history(published)
    shed = published["shed"]

    first = forecasts_refresh(today=FIRST_RUN)
    assert [(line.service, line.series, line.frequency, line.status) for line in first.series] == [
        ("garden-waste-collection", "applications", "day", "short"),
        ("garden-waste-collection", "applications", "week", "short"),
        ("shed-permit", "applications", "day", "ok"),
        ("shed-permit", "applications", "week", "ok"),
        ("shed-permit", "counter", "day", "ok"),
        ("shed-permit", "counter", "week", "ok"),
    ]
    assert first.forecast == 4
    assert first.anomalies == 0
    garden_day = first.series[0]
    assert (garden_day.history_points, garden_day.needed_points) == (SHORT_DAYS, 196)
    assert first.series[1].needed_points == 32

    daily = Forecast.objects.get(service=shed, series="applications", frequency="day")
    assert daily.history_points == HISTORY_DAYS
    assert daily.mase is not None
    assert daily.model
    assert len(daily.points) == 84
    assert daily.points[0]["date"] == FIRST_RUN.isoformat()
    # The history is the applications (not-eligible end pages left out), day by day.
    assert daily.history[-1] == {
        "date": (FIRST_RUN - timedelta(days=1)).isoformat(),
        "value": float(applications[FIRST_RUN - timedelta(days=1)]),
    }
    weekly = Forecast.objects.get(service=shed, series="applications", frequency="week")
    assert weekly.history_points == HISTORY_DAYS // 7
    stored = weekly.backtest["ahead"][FIRST_RUN.isoformat()]
    assert stored["made"] == FIRST_RUN.isoformat()
    assert stored["mean"] == weekly.points[0]["mean"]
    assert weekly.backtest["windows"] >= 2
    assert weekly.backtest["actions_per_case"] == {}
    short = Forecast.objects.get(service=published["garden"], frequency="day")
    assert (short.status, short.points, short.model, short.mase) == ("short", [], "", None)

    # Idempotent: the same rows again.
    before = _snapshot()
    again = forecasts_refresh(today=FIRST_RUN)
    assert _snapshot() == before
    assert again.anomalies == 0
    assert Forecast.objects.count() == 6
    # The weekly series alone (the demo's run as of last week): the daily rows stay.
    weekly_only = forecasts_refresh(today=FIRST_RUN, frequencies=("week",))
    assert {line.frequency for line in weekly_only.series} == {"week"}
    assert _snapshot() == before

    # Last week: online applications at twice the most that was forecast, and nobody at
    # the counter. The next run flags both weeks.
    spike = int(stored["hi95"] * 2) + 10
    usage_history_insert(
        rows=[
            row
            for k in range(7)
            for row in _rows(shed, FIRST_RUN + timedelta(days=k), spike // 7 + (k < spike % 7))
        ]
    )
    second = forecasts_refresh(today=THIS_MONDAY)
    assert second.anomalies == 2
    assert second.notified == 2
    flagged = {anomaly.series: anomaly for anomaly in Anomaly.objects.all()}
    assert set(flagged) == {"applications", "counter"}
    anomaly = flagged["applications"]
    assert (anomaly.service, anomaly.week) == (shed, FIRST_RUN)
    assert anomaly.observed == spike
    assert anomaly.expected == pytest.approx(stored["mean"])
    assert anomaly.high95 == pytest.approx(stored["hi95"])
    assert anomaly.notified_at is not None
    counter = flagged["counter"]
    assert (counter.week, counter.observed) == (FIRST_RUN, 0)
    assert counter.low95 > 0
    notices = Notification.objects.filter(event="insights_anomaly")
    # Only the department-wide manager: not the case officer, not Planning's manager, not
    # East's ward-limited manager.
    assert {n.recipient for n in notices} == {people["manager"]}
    assert sorted(n.channel for n in notices) == ["email", "email", "inbox", "inbox"]
    email = next(n for n in notices if n.channel == "email" and f"{spike} recorded" in n.body)
    assert email.subject == "Unusual demand for Apply for a garden shed permit"
    assert "/staff/insights/services/shed-permit/forecast/" in email.body
    # The forecast stored for last week is kept as it was; this week's is added.
    weekly.refresh_from_db()
    assert weekly.backtest["ahead"][FIRST_RUN.isoformat()] == stored
    assert THIS_MONDAY.isoformat() in weekly.backtest["ahead"]

    # Once only: another run flags and notifies nothing more.
    third = forecasts_refresh(today=THIS_MONDAY)
    assert (third.anomalies, third.notified) == (0, 0)
    assert Anomaly.objects.count() == 2
    assert Notification.objects.filter(event="insights_anomaly").count() == 4


def test_the_command_prints_each_series_with_its_mase(published, people):
    _history(published)
    # An application sent through the case services today counts from tomorrow on.
    submit_shed(published["shed"], UserFactory())
    output = StringIO()
    call_command("insights", "forecast", stdout=output)
    text = output.getvalue()
    assert re.search(r"^shed-permit/applications/day: \S+ MASE=\d\.\d\d$", text, re.MULTILINE)
    assert re.search(r"^shed-permit/applications/week: \S+ MASE=\d\.\d\d$", text, re.MULTILINE)
    assert re.search(
        r"^garden-waste-collection/applications/day: too little history \(\d+ of 196 needed\)$",
        text,
        re.MULTILINE,
    )
    assert "series forecast: 4 of 6; anomalies flagged: 0" in text


def test_the_pages_read_the_forecasts_and_the_staffing_advice(published, people):
    _history(published)
    shed, garden = published["shed"], published["garden"]
    assert planning.staffing_advice(service=shed) is None
    forecasts_refresh(today=FIRST_RUN)

    views = planning.forecast_view(service=shed)
    assert [(v.series, v.frequency) for v in views] == [
        ("applications", "week"),
        ("applications", "day"),
        ("counter", "week"),
        ("counter", "day"),
    ]
    weekly = views[0]
    assert weekly.status == "ok"
    assert len(weekly.points) == 12
    assert weekly.points[0].day == FIRST_RUN
    assert weekly.mase_text == f"MASE={weekly.mase:.2f}"
    if weekly.baseline_chosen:
        assert "no model beat it" in weekly.sentence
    else:
        assert weekly.mase_text in weekly.sentence
        assert weekly.model in weekly.sentence
    short = planning.forecast_view(service=garden)
    assert [v.sentence for v in short] == [
        "Too little history to forecast: 8 weeks of 32 needed.",
        "Too little history to forecast: 60 days of 196 needed.",
    ]

    # Staffing: 30 + 15 minutes a case (no action measured: each once), one officer of
    # 37 hours at 75% on cases, 20 open cases cleared over the 10 working days' SLA.
    ActionTime.objects.create(service=shed, action="approve", role="case_officer", minutes=30)
    ActionTime.objects.create(service=shed, action="start_review", role="case_officer", minutes=15)
    ServiceStaffing.objects.create(service=shed, officers=Decimal("1.0"))
    KpiMonth.objects.create(
        scope="service",
        key=shed.slug,
        service=shed,
        month=FIRST_RUN.replace(day=1),
        figures={"backlog": 20},
    )
    advice = planning.staffing_advice(service=shed)
    assert advice is not None
    assert advice.minutes_per_case == 45
    assert advice.productive_hours == pytest.approx(27.75)
    assert (advice.backlog, advice.backlog_weeks, advice.sla_days) == (20, 2, 10)
    assert len(advice.weeks) == 12
    for week, point in zip(advice.weeks, weekly.points, strict=True):
        backlog_hours = 20 * 45 / 60 / 2 if week.number <= 2 else 0.0
        exact = (point.mean * 45 / 60 + backlog_hours) / 27.75
        assert week.officers_needed == pytest.approx(np.ceil(round(exact * 10, 6)) / 10)
        assert week.officers_available == 1.0
        assert week.gap == pytest.approx(round(week.officers_needed - 1.0, 1))
    peak = advice.peak_week
    assert peak.officers_needed == max(w.officers_needed for w in advice.weeks)
    # Written as the page writes a figure: a whole number without decimals (a peak of
    # exactly 5.0 officers is "5", which depends on the day the test runs).
    assert advice.headline.startswith(
        f"You need {peak.officers_needed:g} officers in week {peak.number} "
    )
    assert advice.headline.endswith("; you have 1.")
    assert any(s.startswith("Add ") for s in advice.suggestions)
    assert advice.missing == ()
    # Counter visits forecast: Erlang C agents for the average opening hour (35 hours,
    # 12 minutes a visit, 80% within 5 minutes).
    assert advice.counter is not None
    for week in advice.weeks:
        assert week.counter_agents is not None
        assert week.counter_agents >= 1
        assert week.counter_service_level is not None
        assert week.counter_service_level >= 0.8
    assert advice.counter.peak_agents == max(w.counter_agents or 0 for w in advice.weeks)


def _weekly_forecast(service, series: str, means: list[float]) -> None:
    Forecast.objects.create(
        service=service,
        series=series,
        frequency="week",
        status="ok",
        history_points=40,
        needed_points=32,
        model="AutoETS",
        mase=0.8,
        backtest={"windows": 3, "horizon": 12, "candidates": []},
        points=[
            {
                "date": (THIS_MONDAY + timedelta(weeks=k)).isoformat(),
                "mean": mean,
                "lo80": mean,
                "hi80": mean,
                "lo95": mean,
                "hi95": mean,
            }
            for k, mean in enumerate(means)
        ],
        history=[],
    )


def test_a_counter_that_cannot_cope_is_said_not_raised(published):
    """Counter open 1 hour a week, 480 minutes a visit (both accepted by the staffing
    form): 10 visits a week are 80 erlangs, 1,500 visits 12,000 erlangs, beyond the
    10,000 desks Erlang C tries. The weeks that fit are staffed; the advice says the
    counter cannot cope in the busiest week and which settings to check."""
    shed = published["shed"]
    _weekly_forecast(shed, "applications", [60.0] * 12)
    _weekly_forecast(shed, "counter", [10.0] * 11 + [1500.0])
    ServiceStaffing.objects.create(
        service=shed,
        officers=Decimal("3"),
        counter_hours_per_week=Decimal("1"),
        counter_minutes_per_visit=Decimal("480"),
    )
    advice = planning.staffing_advice(service=shed)
    assert advice is not None
    assert advice.counter is not None
    expected = staffing.erlang_c_agents(
        arrivals_per_hour=10,
        handling_minutes=480,
        target_wait_seconds=300,
        target_service_level=0.8,
    )
    assert [week.counter_agents for week in advice.weeks] == [expected.agents] * 11 + [None]
    assert advice.weeks[-1].counter_visits == 1500
    assert advice.counter.overloaded
    assert (advice.counter.peak_agents, advice.counter.peak_week) == (expected.agents, 1)
    assert advice.counter.sentence == (
        "The counter cannot cope with the visits forecast with the settings entered: in "
        "week 12, 1500 visits would need more than 10000 desks at once. Check the hours the "
        "counter is open a week (now 1) and the minutes a counter visit takes (now 480) in "
        "the staffing settings."
    )
    assert advice.counter.sentence in advice.missing
    assert advice.counter.sentence not in advice.suggestions

    # Every week beyond the counter: no desks anywhere, still an answer.
    Forecast.objects.filter(service=shed, series="counter").delete()
    _weekly_forecast(shed, "counter", [1500.0] * 12)
    advice = planning.staffing_advice(service=shed)
    assert advice is not None
    assert advice.counter is not None
    assert [week.counter_agents for week in advice.weeks] == [None] * 12
    assert (advice.counter.peak_agents, advice.counter.peak_week) == (None, None)
    assert "in week 1, 1500 visits" in advice.counter.sentence


def test_a_workload_too_large_for_a_float_is_said_not_raised(published):
    shed = published["shed"]
    ActionTime.objects.create(
        service=shed, action="approve", role="case_officer", minutes=Decimal("99999.9")
    )
    ServiceStaffing.objects.create(service=shed, officers=Decimal("3"))
    # Week 1: beyond a float once multiplied by the minutes; week 2: huge but finite.
    _weekly_forecast(shed, "applications", [1e306, 1e300] + [60.0] * 10)
    advice = planning.staffing_advice(service=shed)
    assert advice is not None
    first, second, third = advice.weeks[:3]
    assert (first.officers_needed, first.workload_hours, first.gap) == (None, None, None)
    assert second.officers_needed == pytest.approx(1e300 * 99_999.9 / 60 / 27.75)
    assert third.officers_needed == pytest.approx(
        np.ceil(round(60 * 99_999.9 / 60 / 27.75 * 10, 6)) / 10
    )
    assert advice.peak_week.number == 2
    assert (
        "The officers needed cannot be worked out for some weeks: the forecast times the "
        "handling time of a case is too large. Check the handling time of each action."
    ) in advice.missing

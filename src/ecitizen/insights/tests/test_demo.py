"""The ``insights`` demo loader: a reproducible, idempotent demand history with the shape
the demo claims (quiet weekends, holiday dips, the campaign spike), its ratings, costs and
staffing — on a short history of three services, so that it stays quick."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from ecitizen.accounts.demo import demo_people_load
from ecitizen.cases.calendar import business_days_between
from ecitizen.cases.demo import demo_services_publish
from ecitizen.cases.models import ServiceUsage
from ecitizen.catalogue.models import Service
from ecitizen.core.models import AuditEvent
from ecitizen.core.registry import registry
from ecitizen.demo.services import riverton_context
from ecitizen.feedback.models import Rating
from ecitizen.insights.demo import (
    CAMPAIGN_SERVICE,
    STARTUP_COSTS,
    STARTUP_SERVICE,
    DemoService,
    campaign_first_day,
    demand_history,
    demo_insights_load,
    history_first_day,
    insights_demo_load,
)
from ecitizen.insights.models import (
    Forecast,
    KpiMonth,
    RoleHourlyCost,
    ServiceMonthCost,
    ServiceStaffing,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
#: A Friday afternoon; three months back the history starts on 1 March 2025, so it holds
#: Good Friday, Easter Monday and the two May bank holidays.
NOW = dt.datetime(2025, 6, 20, 15, 30, tzinfo=LONDON)
SLUGS = {CAMPAIGN_SERVICE, "building-permit", STARTUP_SERVICE}
SPRING_BANK_HOLIDAY = dt.date(2025, 5, 26)


@pytest.fixture(autouse=True)
def _store_in_tmp(settings, tmp_path):
    settings.INSIGHTS_DIR = tmp_path / "insights"


@pytest.fixture
def riverton():
    with time_machine.travel(NOW, tick=False):
        context = riverton_context(seed=2026)
        demo_people_load(context)
        demo_services_publish(directory=context.city.service_definitions)
        yield context


def _load(context, *, refresh=False):
    with time_machine.travel(NOW, tick=False):
        return insights_demo_load(context, months=3, only=SLUGS, refresh=refresh)


def _started_by_day(slug: str | None = None) -> Counter:
    rows = ServiceUsage.objects.filter(kind="started")
    if slug:
        rows = rows.filter(service__slug=slug)
    return Counter(
        timezone.localtime(at, LONDON).date() for at in rows.values_list("at", flat=True)
    )


def test_the_loader_is_registered_after_the_loaders_whose_data_it_completes():
    loader = registry.demo_loaders["insights"]
    assert loader.load is demo_insights_load
    assert set(loader.after) == {"people", "reports", "feedback", "cases", "property_tax", "fines"}


def test_the_history_starts_on_the_first_of_the_month_the_given_months_before():
    assert history_first_day(dt.date(2026, 12, 3), 24) == dt.date(2024, 12, 1)
    assert history_first_day(dt.date(2025, 6, 20), 3) == dt.date(2025, 3, 1)
    assert history_first_day(dt.date(2025, 2, 28), 2) == dt.date(2024, 12, 1)
    # 70% of the way through, on a Monday, its four weeks inside the history.
    assert campaign_first_day(dt.date(2025, 3, 1), dt.date(2025, 6, 20)) == dt.date(2025, 5, 12)


def test_the_same_seed_gives_the_same_history_and_another_seed_another():
    services = [
        DemoService(1, CAMPAIGN_SERVICE, 1, is_report=False, rated=True),
        DemoService(2, "pothole", 2, is_report=True, rated=True),
    ]
    with time_machine.travel(NOW, tick=False):
        first = demand_history(services=services, first=dt.date(2025, 3, 1), now=NOW, seed=7)
        again = demand_history(services=services, first=dt.date(2025, 3, 1), now=NOW, seed=7)
        other = demand_history(services=services, first=dt.date(2025, 3, 1), now=NOW, seed=8)
    assert first.usage == again.usage
    assert first.ratings == again.ratings
    assert len(first.usage) > 2000
    assert {row.draft_id for row in first.usage}.isdisjoint({row.draft_id for row in other.usage})
    assert Counter(row.kind for row in first.usage) != Counter(row.kind for row in other.usage)
    # A service's history does not depend on the others loaded with it.
    alone = demand_history(services=services[1:], first=dt.date(2025, 3, 1), now=NOW, seed=7)
    assert alone.usage == [row for row in first.usage if row.service_id == 2]
    assert max(row.at for row in first.usage) <= NOW


def test_the_loader_writes_the_history_once_with_costs_staffing_and_figures(riverton):
    result = _load(riverton, refresh=True)

    assert result.first_day == dt.date(2025, 3, 1)
    assert result.usage_events == ServiceUsage.objects.count() > 5000
    services = {s.slug: s for s in Service.objects.filter(slug__in=SLUGS)}
    assert set(ServiceUsage.objects.values_list("service__slug", flat=True)) == SLUGS
    assert result.ratings == Rating.objects.count() > 100
    assert set(Rating.objects.values_list("service_key", flat=True)) == SLUGS
    assert set(Rating.objects.values_list("step", flat=True)) == {"application"}
    # Costs and staffing entered through the insights services by the performance officer
    # (or the administrator while the city has none).
    roles = {person.role: person.local for person in reversed(riverton.city.staff)}
    actor = roles.get("performance_officer", roles["platform_admin"])
    assert result.actor == riverton.city.email(actor)
    assert result.role_costs == RoleHourlyCost.objects.count() >= 3
    assert RoleHourlyCost.objects.get(role="case_officer").hourly_cost == Decimal("31.80")
    assert result.month_costs == ServiceMonthCost.objects.count() == 3 * 3
    startup = ServiceMonthCost.objects.filter(service=services[STARTUP_SERVICE]).order_by("month")
    assert [c.startup_costs for c in startup] == list(STARTUP_COSTS)
    assert [c.month for c in startup] == [dt.date(2025, m, 1) for m in (3, 4, 5)]
    assert not ServiceMonthCost.objects.exclude(service=services[STARTUP_SERVICE]).exclude(
        startup_costs=0
    )
    # Prices rise in April.
    assert startup[1].fixed_costs == (startup[0].fixed_costs * Decimal("1.03")).quantize(
        Decimal("0.01")
    )
    assert result.staffing == ServiceStaffing.objects.count() == 3
    assert ServiceStaffing.objects.get(service=services["building-permit"]).officers == 2
    assert AuditEvent.objects.filter(action="insights.service_cost_set").count() == 9
    # The figures of March to June, as counting the usage rows by hand gives them.
    assert (result.figure_months, result.figure_rows) == (4, KpiMonth.objects.count())
    april = KpiMonth.objects.get(scope="service", key="building-permit", month=dt.date(2025, 4, 1))
    rows = ServiceUsage.objects.filter(
        service=services["building-permit"],
        at__gte=dt.datetime(2025, 4, 1, tzinfo=LONDON),
        at__lt=dt.datetime(2025, 5, 1, tzinfo=LONDON),
    )
    assert april.figures["started"] == rows.filter(kind="started").count() > 100
    assert april.figures["completed"] == rows.filter(kind="completed").count()
    assert april.figures["not_eligible"] == rows.filter(outcome="not_eligible").count() > 0
    assert (
        april.figures["completed_counter"]
        == rows.filter(kind="completed", channel="counter").count()
    )
    # Three months are too short to forecast: every series says so.
    assert result.forecasts == 0
    assert result.forecasts_short == Forecast.objects.filter(status="short").count() >= 6
    fixed = ServiceMonthCost.objects.get(
        service=services["building-permit"], month=dt.date(2025, 4, 1)
    ).fixed_costs
    assert april.figures["cost"]["fixed"] == str(fixed)

    counts = (
        Forecast.objects.count(),
        KpiMonth.objects.count(),
        ServiceUsage.objects.count(),
        Rating.objects.count(),
        RoleHourlyCost.objects.count(),
        ServiceMonthCost.objects.count(),
        ServiceStaffing.objects.count(),
        AuditEvent.objects.count(),
    )
    again = _load(riverton, refresh=True)
    assert (again.usage_events, again.ratings, again.role_costs) == (0, 0, 0)
    assert (again.month_costs, again.staffing) == (0, 0)
    assert counts == (
        Forecast.objects.count(),
        KpiMonth.objects.count(),
        ServiceUsage.objects.count(),
        Rating.objects.count(),
        RoleHourlyCost.objects.count(),
        ServiceMonthCost.objects.count(),
        ServiceStaffing.objects.count(),
        AuditEvent.objects.count(),
    )


def test_the_journeys_are_consistent(riverton):
    _load(riverton)
    journeys: dict = {}
    for kind, channel, draft, outcome, days, at in ServiceUsage.objects.values_list(
        "kind", "channel", "draft_id", "outcome", "business_days", "at"
    ):
        journeys.setdefault(draft, {})[kind] = (channel, outcome, days, at)
    ends = Counter()
    for events in journeys.values():
        started = events["started"]
        assert "completed" not in events or "abandoned" not in events
        assert all(event[0] == started[0] for event in events.values())  # one channel
        assert all(event[3] >= started[3] for event in events.values())
        if started[0] != "online":  # the counter and the helpers work on working days
            assert timezone.localtime(started[3], LONDON).weekday() < 5
        if "completed" in events:
            ends["not_eligible" if events["completed"][1] else "completed"] += 1
            assert events["completed"][1] in {"", "not_eligible"}
        elif "abandoned" in events:
            ends["abandoned"] += 1
        if "decided" in events:
            assert events["completed"][1] == ""
            submitted = timezone.localtime(events["completed"][3], LONDON).date()
            decided = timezone.localtime(events["decided"][3], LONDON).date()
            assert events["decided"][2] == business_days_between(submitted, decided) >= 1
    # Most journeys end on an end page, some not eligible, some abandoned.
    assert ends["completed"] > 5 * ends["abandoned"] > 0
    assert 0 < ends["not_eligible"] < ends["abandoned"] * 2
    channels = Counter(
        ServiceUsage.objects.filter(kind="completed").values_list("channel", flat=True)
    )
    assert channels["online"] > channels["counter"] > channels["assisted"] > 0


def test_the_history_has_the_shape_the_demo_claims(riverton):
    _load(riverton)
    by_day = _started_by_day()
    first, last = dt.date(2025, 3, 1), dt.date(2025, 6, 19)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    weekdays = [by_day[d] for d in days if d.weekday() < 5]
    weekends = [by_day[d] for d in days if d.weekday() >= 5]
    assert statistics.mean(weekends) < 0.5 * statistics.mean(weekdays)
    mondays = [by_day[d] for d in days if d.weekday() == 0]
    fridays = [by_day[d] for d in days if d.weekday() == 4]
    assert statistics.mean(mondays) > statistics.mean(fridays)

    # A bank holiday is quieter than the Mondays either side (outside the campaign).
    permits = _started_by_day("building-permit")
    week = dt.timedelta(days=7)
    holiday = permits[SPRING_BANK_HOLIDAY]
    assert holiday * 2 < min(
        permits[SPRING_BANK_HOLIDAY - week], permits[SPRING_BANK_HOLIDAY + week]
    )

    # The campaign: the parking permit's weeks from 12 May far above its usual weeks.
    parking = _started_by_day(CAMPAIGN_SERVICE)
    weeks = Counter()
    for day, count in parking.items():
        weeks[day - dt.timedelta(days=day.weekday())] += count
    campaign = [weeks[dt.date(2025, 5, 12)], weeks[dt.date(2025, 5, 19)]]
    usual = [n for monday, n in weeks.items() if monday < dt.date(2025, 5, 5)]
    assert min(campaign) > 2 * statistics.median(usual)


def test_the_note_names_the_performance_staff():
    from dataclasses import replace

    from ecitizen.core.registry import DemoPerson
    from ecitizen.insights.demo import demo_note

    riverton = riverton_context(seed=2026)
    staff = (
        DemoPerson("service.manager", "Ana Lima", "service_manager", ("planning-building",)),
        DemoPerson("performance", "Kofi Boateng", "performance_officer"),
    )
    note = demo_note(replace(riverton, city=replace(riverton.city, staff=staff)))
    assert "/staff/insights/" in note
    assert "/performance/" in note
    assert "service.manager@riverton.example reads Planning & Building's figures" in note
    assert "performance@riverton.example reads every department's" in note

"""The insights part of the Riverton demo: two years of demand and satisfaction for every
published service, their costs and staffing, then the monthly figures and the forecasts.

**What is made how** (``docs/insights.md`` repeats it):

- *Through the real services*, by the loaders that run before this one: the cases of the
  last four months (``cases``, ``reports``, ``feedback``: drafts, submissions, workflow
  actions, payments, ratings). Their usage events (started, completed, decided) are the
  real ones.
- *As usage events*, here: 24 months of journeys ending today for every published service,
  street-report services included (they are cases too). Applying tens of thousands of
  times through the real services would take far too long, so only what a journey leaves
  in ``ServiceUsage`` is written
(:func:`ecitizen.cases.services.demo_support.usage_history_insert`):
  its start, its end (completed, through the online, assisted or counter channel, some on
  the not-eligible end page; or abandoned, deleted or expired after
  ``DRAFT_EXPIRY_DAYS``) and, for an eligible completion, its decision with the working
  days it took. No draft, case, payment or person stands behind them: the figures built
  from usage (journeys started and completed, completion rate, digital take-up, the demand
  that forecasts learn from) cover two years; those built from cases (backlog, SLA by
  ward, fees, more-information rounds) cover the real cases only.
- *As ratings*, here: a history of satisfaction ratings per service and month, about one
  eligible completion in ten rated (:func:`ecitizen.feedback.demo.ratings_history_insert`;
  no comments), a service's mood drifting over the two years and falling during the
  campaign.
- *Through the insights services* (:mod:`ecitizen.insights.services.costs`, audited, by the
  performance officer or else the platform administrator): the hourly cost of the staff
  roles, each service's fixed costs for the 24 full months before this one (start-up
  costs in the first three months of one service), and each service's staffing.
- *Computed* at the end by the nightly jobs' own functions: the monthly figures of the
  history's months (``kpis_refresh``) and the forecasts (``forecasts_refresh``), first as
  the job would have run on last week's Monday (its weekly series only), then today: last
  week is judged against the forecast stored before it, and flagged when it falls outside
  its 95% interval.

**The demand** of a service on a day is a Poisson draw around ``base`` (an ordinary
weekday) times the day of the week (Monday busiest, weekends quiet; street reports less quiet
at weekends), its yearly shape (peaks at given days of the year, a summer dip in
August), a trend, a holiday dip (public holidays of the platform's calendar,
:func:`ecitizen.cases.calendar.is_business_day`; the days between Christmas and New Year
quieter too) and one campaign spike of a few weeks on one service (the Riverside parking
zone: residents apply for permits when it is announced). The counter and assisted
channels are open on working days only; the online share grows over the two years.

Everything derives from the demo's seed (a numpy generator per service, seeded with the
seed and the service's slug, so that adding a service changes no other's history), and
from today's date. Idempotent: usage events are skipped by journey (draft id), ratings by
reference, and costs and staffing already entered are left as they are.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from ecitizen.accounts.selectors import user_by_email
from ecitizen.cases.calendar import is_business_day
from ecitizen.cases.services.demo_support import UsageHistoryRow, usage_history_insert
from ecitizen.catalogue.selectors import services_published, services_with_extension
from ecitizen.core.registry import DemoContext, registry
from ecitizen.feedback.demo import RatingHistoryRow, ratings_history_insert
from ecitizen.feedback.services import EXTENSION as COMPLAINT_EXTENSION
from ecitizen.insights.models import (
    Forecast,
    KpiMonth,
    RoleHourlyCost,
    ServiceMonthCost,
    ServiceStaffing,
)
from ecitizen.insights.services import costs, forecasts, kpis

#: How long the demand history is: this many months before the current one, and the
#: current month up to today.
HISTORY_MONTHS = 24
#: What the not-eligible end page records as a completion's outcome (cases' drafts).
NOT_ELIGIBLE = "not_eligible"
CHANNELS = ("online", "assisted", "counter")

#: Demand by day of the week (Monday first), for applications and for street reports.
APPLICATION_WEEK = (1.32, 1.12, 1.04, 0.98, 0.84, 0.30, 0.22)
REPORT_WEEK = (1.16, 1.05, 1.00, 0.98, 0.93, 0.74, 0.64)
#: Demand on a public holiday that falls on a weekday, against an ordinary weekday.
APPLICATION_HOLIDAY = 0.25
REPORT_HOLIDAY = 0.60
#: Demand on the other days from 24 December to 2 January.
CHRISTMAS = 0.55
#: When people start an online application, by hour (local time; none after 22:00, so
#: that a journey ends on the day it starts).
ONLINE_HOURS = (
    *(0.4, 0.2, 0.1, 0.1, 0.1, 0.3, 1.0, 2.6, 4.2, 5.6, 6.4, 6.6),
    *(6.2, 6.0, 5.8, 5.6, 5.4, 5.2, 5.6, 6.4, 6.8, 5.6, 3.6, 0.0),
)
#: The share of abandoned journeys that the applicant deletes (the others expire).
DELETED_SHARE = 0.25
#: Decisions (outcome, probability) of applications and of street reports.
APPLICATION_OUTCOMES = (("approved", 0.82), ("refused", 0.12), ("withdrawn", 0.06))
REPORT_OUTCOMES = (("approved", 0.86), ("refused", 0.05), ("ineligible", 0.05), ("withdrawn", 0.04))
#: The share of eligible completions that are rated.
RATED_SHARE = 0.10

#: The campaign: its service, and demand in each of its weeks against the usual.
CAMPAIGN_SERVICE = "residents-parking-permit"
CAMPAIGN_WEEKS = (2.3, 3.0, 2.1, 1.4)
#: Where the campaign starts in the history (its share of the way through).
CAMPAIGN_AT = 0.7
#: The service being built at the start of the history: its start-up costs by month.
STARTUP_SERVICE = "trading-licence"
STARTUP_COSTS = (Decimal("24000.00"), Decimal("16500.00"), Decimal("8000.00"))

#: What an hour of an official costs (salary, on-costs and overheads), by role; roles
#: that are not registered are left out.
ROLE_HOURLY_COSTS = {
    "case_officer": Decimal("31.80"),
    "supervisor": Decimal("42.50"),
    "department_admin": Decimal("39.20"),
    "finance_officer": Decimal("36.40"),
    "service_manager": Decimal("48.90"),
    "performance_officer": Decimal("45.10"),
    "publisher": Decimal("33.60"),
    "platform_admin": Decimal("47.30"),
}


@dataclass(frozen=True)
class Demand:
    """A service's demand and how its journeys go.

    ``base``: journeys started on an ordinary weekday at the start of the history;
    ``peaks``: (day of the year, extra share, width in days) of its yearly shape;
    ``summer_dip``: the share lost in mid-August; ``trend``: growth a year;
    ``completion``: the share of online journeys that reach an end page;
    ``not_eligible``: the share of those that end on the not-eligible page;
    ``decision_days``: mean working days to a decision; ``online``: the online share of
    working days' journeys at the start and at the end; ``assisted``: the assisted
    share; ``satisfaction``: weights of levels 1 to 5; ``mood``: how satisfaction moves
    over the two years (-1 worse to 1 better); ``officers``: the officers working it;
    ``fixed_costs``: its running costs a month.
    """

    base: float
    peaks: tuple[tuple[int, float, float], ...] = ()
    summer_dip: float = 0.2
    trend: float = 0.05
    completion: float = 0.82
    not_eligible: float = 0.07
    decision_days: float = 8.0
    online: tuple[float, float] = (0.68, 0.82)
    assisted: float = 0.08
    satisfaction: tuple[int, int, int, int, int] = (1, 2, 3, 9, 8)
    mood: float = 0.0
    officers: Decimal = Decimal("2.0")
    fixed_costs: Decimal = Decimal("1500.00")


#: Riverton's services. Street reports peak when their problem does: potholes after the
#: frosts, street lights on dark evenings, blocked drains when the leaves fall.
PROFILES: dict[str, Demand] = {
    "birth-certificate-copy": Demand(
        base=14,
        peaks=((140, 0.35, 30),),
        summer_dip=0.25,
        trend=0.04,
        completion=0.88,
        not_eligible=0.05,
        decision_days=4,
        online=(0.72, 0.85),
        assisted=0.07,
        satisfaction=(1, 1, 2, 8, 14),
        mood=0.2,
        officers=Decimal("3.5"),
        fixed_costs=Decimal("2400.00"),
    ),
    "building-permit": Demand(
        base=8,
        peaks=((100, 0.65, 32),),
        summer_dip=0.30,
        trend=0.08,
        completion=0.72,
        not_eligible=0.11,
        decision_days=22,
        online=(0.60, 0.77),
        assisted=0.10,
        satisfaction=(2, 3, 4, 8, 5),
        mood=0.6,
        officers=Decimal("2.0"),
        fixed_costs=Decimal("4200.00"),
    ),
    "freedom-of-information": Demand(
        base=3,
        summer_dip=0.20,
        trend=0.12,
        completion=0.90,
        not_eligible=0.03,
        decision_days=16,
        online=(0.90, 0.95),
        assisted=0.02,
        satisfaction=(2, 2, 4, 7, 5),
        mood=0.0,
        officers=Decimal("1.5"),
        fixed_costs=Decimal("900.00"),
    ),
    "complaint": Demand(
        base=2,
        summer_dip=0.15,
        trend=0.03,
        completion=0.92,
        not_eligible=0.02,
        decision_days=12,
        online=(0.85, 0.90),
        assisted=0.05,
        satisfaction=(3, 3, 3, 4, 3),
        mood=0.0,
        officers=Decimal("1.0"),
        fixed_costs=Decimal("600.00"),
    ),
    "renew-driving-licence": Demand(
        base=16,
        peaks=((20, 0.15, 30),),
        summer_dip=0.20,
        trend=0.03,
        completion=0.84,
        not_eligible=0.08,
        decision_days=7,
        online=(0.66, 0.82),
        assisted=0.08,
        satisfaction=(1, 2, 3, 9, 8),
        mood=0.3,
        officers=Decimal("3.0"),
        fixed_costs=Decimal("2900.00"),
    ),
    CAMPAIGN_SERVICE: Demand(
        base=10,
        peaks=((250, 0.30, 20),),
        summer_dip=0.25,
        trend=0.05,
        completion=0.86,
        not_eligible=0.06,
        decision_days=4,
        online=(0.74, 0.87),
        assisted=0.06,
        satisfaction=(1, 1, 3, 10, 9),
        mood=0.1,
        officers=Decimal("2.0"),
        fixed_costs=Decimal("1800.00"),
    ),
    STARTUP_SERVICE: Demand(
        base=4,
        peaks=((90, 0.50, 30),),
        summer_dip=0.30,
        trend=0.15,
        completion=0.78,
        not_eligible=0.09,
        decision_days=15,
        online=(0.55, 0.80),
        assisted=0.12,
        satisfaction=(1, 2, 4, 8, 6),
        mood=0.5,
        officers=Decimal("1.0"),
        fixed_costs=Decimal("1300.00"),
    ),
    "pothole": Demand(
        base=9,
        peaks=((45, 0.80, 30),),
        summer_dip=0.10,
        trend=0.06,
        completion=0.93,
        not_eligible=0.03,
        decision_days=6,
        online=(0.80, 0.88),
        assisted=0.05,
        satisfaction=(2, 2, 3, 7, 6),
        mood=0.0,
        officers=Decimal("2.5"),
        fixed_costs=Decimal("1250.00"),
    ),
    "streetlight": Demand(
        base=5,
        peaks=((350, 0.70, 40),),
        summer_dip=0.10,
        trend=0.02,
        completion=0.94,
        not_eligible=0.02,
        decision_days=5,
        online=(0.82, 0.90),
        assisted=0.04,
        satisfaction=(1, 2, 3, 8, 7),
        mood=0.0,
        officers=Decimal("1.0"),
        fixed_costs=Decimal("800.00"),
    ),
    "fly-tipping": Demand(
        base=7,
        peaks=((150, 0.40, 45),),
        summer_dip=0.10,
        trend=0.07,
        completion=0.92,
        not_eligible=0.03,
        decision_days=4,
        online=(0.80, 0.88),
        assisted=0.05,
        satisfaction=(2, 3, 3, 7, 5),
        mood=-0.3,
        officers=Decimal("2.0"),
        fixed_costs=Decimal("1100.00"),
    ),
    "graffiti": Demand(
        base=4,
        peaks=((200, 0.35, 40),),
        summer_dip=0.0,
        trend=0.04,
        completion=0.93,
        not_eligible=0.03,
        decision_days=7,
        online=(0.82, 0.90),
        assisted=0.04,
        satisfaction=(1, 2, 3, 8, 6),
        mood=0.0,
        officers=Decimal("1.0"),
        fixed_costs=Decimal("700.00"),
    ),
    "blocked-drain": Demand(
        base=4,
        peaks=((305, 0.60, 30),),
        summer_dip=0.10,
        trend=0.03,
        completion=0.92,
        not_eligible=0.04,
        decision_days=5,
        online=(0.78, 0.86),
        assisted=0.05,
        satisfaction=(1, 2, 3, 8, 6),
        mood=0.0,
        officers=Decimal("1.0"),
        fixed_costs=Decimal("750.00"),
    ),
    "overgrown-vegetation": Demand(
        base=3,
        peaks=((185, 1.20, 35),),
        summer_dip=0.0,
        trend=0.05,
        completion=0.93,
        not_eligible=0.04,
        decision_days=9,
        online=(0.82, 0.90),
        assisted=0.04,
        satisfaction=(1, 2, 3, 8, 6),
        mood=0.0,
        officers=Decimal("0.5"),
        fixed_costs=Decimal("500.00"),
    ),
    "damaged-sign": Demand(
        base=2,
        summer_dip=0.10,
        trend=0.02,
        completion=0.94,
        not_eligible=0.03,
        decision_days=8,
        online=(0.82, 0.90),
        assisted=0.04,
        satisfaction=(1, 2, 3, 8, 6),
        mood=0.0,
        officers=Decimal("0.5"),
        fixed_costs=Decimal("450.00"),
    ),
    "abandoned-vehicle": Demand(
        base=3,
        summer_dip=0.10,
        trend=0.02,
        completion=0.92,
        not_eligible=0.05,
        decision_days=10,
        online=(0.80, 0.88),
        assisted=0.05,
        satisfaction=(1, 2, 4, 8, 5),
        mood=0.0,
        officers=Decimal("1.0"),
        fixed_costs=Decimal("600.00"),
    ),
}


@dataclass(frozen=True)
class DemoService:
    """What the history of a service needs to know about it."""

    id: int
    slug: str
    department_id: int
    is_report: bool
    rated: bool


@dataclass
class History:
    """The made-up history of some services: usage events and ratings, in time order."""

    usage: list[UsageHistoryRow] = field(default_factory=list)
    ratings: list[RatingHistoryRow] = field(default_factory=list)


@dataclass
class InsightsDemoResult:
    """What :func:`insights_demo_load` wrote (0 for what was there already)."""

    first_day: date
    usage_events: int = 0
    ratings: int = 0
    role_costs: int = 0
    month_costs: int = 0
    staffing: int = 0
    actor: str = ""
    #: The months whose figures were computed, and the rows written.
    figure_months: int = 0
    figure_rows: int = 0
    #: The series forecast (those with history enough; the others too short).
    forecasts: int = 0
    forecasts_short: int = 0


# --- the calendar ------------------------------------------------------------------------


def history_first_day(today: date, months: int = HISTORY_MONTHS) -> date:
    """The first day of the month ``months`` months before ``today``'s."""
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def campaign_first_day(first: date, today: date) -> date:
    """The Monday the campaign starts: :data:`CAMPAIGN_AT` of the way through the
    history, early enough for all its weeks to lie in it when the history is long
    enough."""
    days = (today - first).days
    offset = min(int(days * CAMPAIGN_AT), max(0, days - 7 * len(CAMPAIGN_WEEKS)))
    start = first + timedelta(days=offset)
    return start - timedelta(days=start.weekday())


@dataclass
class Calendar:
    """The days of the history, as arrays indexed by day (0: ``first``)."""

    days: list[date]
    day_of_year: np.ndarray
    weekday: np.ndarray
    business: np.ndarray
    holiday: np.ndarray
    christmas: np.ndarray
    #: Years since ``first``, and the share of the way through the history.
    years: np.ndarray
    share_of_way: np.ndarray
    #: The month of each day (0: ``first``'s) and each month's first moment.
    month_of_day: np.ndarray
    month_starts: list[datetime]
    #: The days that are business days, ascending.
    business_days: np.ndarray
    midnights: list[datetime]
    #: The campaign's factor on each day (1 outside it) and the months it touches.
    campaign: np.ndarray
    campaign_months: set[int]


def history_calendar(first: date, today: date) -> Calendar:
    """The calendar of the days from ``first`` to ``today``: weekdays, public holidays
    (:func:`~ecitizen.cases.calendar.is_business_day`), Christmas, the campaign."""
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    weekday = np.array([d.weekday() for d in days])
    business = np.array([is_business_day(d) for d in days])
    holiday = (weekday < 5) & ~business
    christmas = np.array(
        [(d.month == 12 and d.day >= 24) or (d.month == 1 and d.day <= 2) for d in days]
    )
    month_of_day = np.array([(d.year - first.year) * 12 + d.month - first.month for d in days])
    tz = timezone.get_current_timezone()
    midnights = [datetime.combine(d, time(), tzinfo=tz) for d in days]
    campaign = np.ones(len(days))
    start = (campaign_first_day(first, today) - first).days
    for week, factor in enumerate(CAMPAIGN_WEEKS):
        campaign[max(start + 7 * week, 0) : max(start + 7 * week + 7, 0)] = factor
    return Calendar(
        days=days,
        day_of_year=np.array([d.timetuple().tm_yday for d in days], dtype=float),
        weekday=weekday,
        business=business,
        holiday=holiday,
        christmas=christmas & ~holiday,
        years=np.arange(len(days)) / 365.25,
        share_of_way=np.arange(len(days)) / max(len(days) - 1, 1),
        month_of_day=month_of_day,
        month_starts=[
            midnights[int(np.argmax(month_of_day == m))] for m in range(int(month_of_day[-1]) + 1)
        ],
        business_days=np.flatnonzero(business),
        midnights=midnights,
        campaign=campaign,
        campaign_months=set(month_of_day[campaign > 1].tolist()),
    )


def _made_up(slug: str, is_report: bool) -> Demand:
    """The demand of a service the demo has no profile for: small, with one yearly peak
    placed by its name."""
    code = zlib.crc32(slug.encode())
    return Demand(
        base=3.0 if is_report else 4.0,
        peaks=((code % 365 + 1, 0.4, 35),),
        online=(0.80, 0.88) if is_report else (0.65, 0.80),
        decision_days=6 if is_report else 10,
        officers=Decimal("1.0"),
        fixed_costs=Decimal("700.00") if is_report else Decimal("1200.00"),
    )


def demand_for(service: DemoService) -> Demand:
    """The service's profile (:data:`PROFILES`), or one made up from its slug."""
    return PROFILES.get(service.slug) or _made_up(service.slug, service.is_report)


def _bump(days: np.ndarray, peak: float, width: float) -> np.ndarray:
    """A bell of ``width`` days around the day of the year ``peak``, across the new year
    too."""
    gap = np.abs(days - peak) % 365.25
    return np.exp(-0.5 * (np.minimum(gap, 365.25 - gap) / width) ** 2)


def daily_demand(service: DemoService, calendar: Calendar) -> np.ndarray:
    """The expected number of journeys started on each day of the calendar."""
    demand = demand_for(service)
    week = np.array(REPORT_WEEK if service.is_report else APPLICATION_WEEK)
    yearly = np.ones(len(calendar.days))
    for peak, extra, width in demand.peaks:
        yearly += extra * _bump(calendar.day_of_year, peak, width)
    yearly *= 1 - demand.summer_dip * _bump(calendar.day_of_year, 222, 12)
    holiday = REPORT_HOLIDAY if service.is_report else APPLICATION_HOLIDAY
    rate = (
        demand.base
        * week[calendar.weekday]
        * yearly
        * (1 + demand.trend) ** calendar.years
        * np.where(calendar.holiday, holiday, 1.0)
        * np.where(calendar.christmas, CHRISTMAS, 1.0)
    )
    return rate * calendar.campaign if service.slug == CAMPAIGN_SERVICE else rate


# --- the history -------------------------------------------------------------------------


@dataclass
class Journeys:
    """The draws for each journey of a service (arrays indexed by journey). Every draw
    is made for every journey, whatever path it takes, so that the same seed gives the
    same history whatever changes further down."""

    day: np.ndarray
    channel: np.ndarray
    minute: np.ndarray
    completes: np.ndarray
    not_eligible: np.ndarray
    duration: np.ndarray
    deleted: np.ndarray
    deleted_after: np.ndarray
    working_days: np.ndarray
    decided_day: np.ndarray
    decided_known: np.ndarray
    decided_minute: np.ndarray
    outcome: np.ndarray
    ids: bytes


def _journeys(
    service: DemoService, calendar: Calendar, rng: np.random.Generator
) -> tuple[Journeys, tuple[tuple[str, float], ...]]:
    demand = demand_for(service)
    day = np.repeat(np.arange(len(calendar.days)), rng.poisson(daily_demand(service, calendar)))
    count = len(day)
    pick = rng.random(count)
    low, high = demand.online
    online = low + (high - low) * calendar.share_of_way[day]
    # The counter and the helpers are open on working days only.
    channel = np.where(
        ~calendar.business[day] | (pick < online),
        0,
        np.where(pick < online + demand.assisted, 1, 2),
    )
    hours = np.array(ONLINE_HOURS) / sum(ONLINE_HOURS)
    hour = np.where(channel == 0, rng.choice(24, size=count, p=hours), rng.integers(9, 16, count))
    completion = np.select(
        [channel == 0, channel == 1],
        [demand.completion, min(0.98, demand.completion + 0.08)],
        0.97,
    )
    completes = rng.random(count) < completion
    not_eligible = completes & (rng.random(count) < demand.not_eligible)
    short, usual = rng.integers(1, 7, count), rng.integers(4, 41, count)
    deleted = rng.random(count) < DELETED_SHARE
    deleted_after = rng.integers(10, 121, count)
    working_days = np.maximum(1, np.rint(rng.gamma(2.5, demand.decision_days / 2.5, count)))
    working_days = working_days.astype(int)
    # The decision's day: that many business days after the day of submission.
    business = calendar.business_days
    position = np.searchsorted(business, day, side="right") + working_days - 1
    decided_minute = rng.integers(9 * 60, 17 * 60, count)
    outcomes = REPORT_OUTCOMES if service.is_report else APPLICATION_OUTCOMES
    outcome = rng.choice(len(outcomes), size=count, p=[p for _, p in outcomes])
    journeys = Journeys(
        day=day,
        channel=channel,
        minute=hour * 60 + rng.integers(0, 60, count),
        completes=completes,
        not_eligible=not_eligible,
        duration=np.where(not_eligible, short, usual),
        deleted=deleted,
        deleted_after=deleted_after,
        working_days=working_days,
        decided_day=business[np.minimum(position, len(business) - 1)],
        decided_known=position < len(business),
        decided_minute=decided_minute,
        outcome=outcome,
        ids=rng.bytes(16 * count),
    )
    return journeys, outcomes


def _usage(
    service: DemoService,
    journeys: Journeys,
    outcomes: tuple[tuple[str, float], ...],
    calendar: Calendar,
    now: datetime,
) -> tuple[list[UsageHistoryRow], np.ndarray]:
    """The usage events of the journeys up to ``now``, and the eligible completions of
    each month (what is rated)."""
    rows: list[UsageHistoryRow] = []
    completed = np.zeros(len(calendar.month_starts), dtype=int)
    expiry = timedelta(days=settings.DRAFT_EXPIRY_DAYS)
    sid = service.id
    for j, (day, chosen, minute) in enumerate(
        zip(journeys.day.tolist(), journeys.channel.tolist(), journeys.minute.tolist(), strict=True)
    ):
        started = calendar.midnights[day] + timedelta(minutes=minute)
        if started > now:
            continue
        draft = uuid.UUID(bytes=journeys.ids[16 * j : 16 * j + 16], version=4)
        channel = CHANNELS[chosen]
        rows.append(UsageHistoryRow(sid, "started", channel, draft, "", None, started))
        if not journeys.completes[j]:
            after = timedelta(minutes=int(journeys.deleted_after[j]))
            gone = started + (after if journeys.deleted[j] else expiry)
            if gone <= now:
                rows.append(UsageHistoryRow(sid, "abandoned", channel, draft, "", None, gone))
            continue
        done = started + timedelta(minutes=int(journeys.duration[j]))
        if done > now:
            continue
        if journeys.not_eligible[j]:
            rows.append(UsageHistoryRow(sid, "completed", channel, draft, NOT_ELIGIBLE, None, done))
            continue
        rows.append(UsageHistoryRow(sid, "completed", channel, draft, "", None, done))
        completed[calendar.month_of_day[day]] += 1
        decided = calendar.midnights[int(journeys.decided_day[j])] + timedelta(
            minutes=int(journeys.decided_minute[j])
        )
        if journeys.decided_known[j] and decided <= now:
            outcome = outcomes[int(journeys.outcome[j])][0]
            days = int(journeys.working_days[j])
            rows.append(UsageHistoryRow(sid, "decided", channel, draft, outcome, days, decided))
    return rows, completed


def _ratings(
    *,
    service: DemoService,
    completed: np.ndarray,
    calendar: Calendar,
    now: datetime,
    rng: np.random.Generator,
) -> list[RatingHistoryRow]:
    """About :data:`RATED_SHARE` of each month's eligible completions rated, the levels
    drawn from the service's weights as its mood moves them."""
    demand = demand_for(service)
    rows: list[RatingHistoryRow] = []
    base = np.array(demand.satisfaction, dtype=float)
    tilt = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    starts = calendar.month_starts
    for month, start in enumerate(starts):
        mood = demand.mood * (2 * month / max(len(starts) - 1, 1) - 1)
        if service.slug == CAMPAIGN_SERVICE and month in calendar.campaign_months:
            mood -= 0.9  # queues and delays while everyone applies at once
        weights = base * np.exp(mood * tilt)
        rated = rng.binomial(int(completed[month]), RATED_SHARE)
        levels = rng.choice(5, size=rated, p=weights / weights.sum()) + 1
        end = starts[month + 1] if month + 1 < len(starts) else now
        seconds = max(int((min(end, now) - start).total_seconds()), 1)
        offsets = rng.integers(0, seconds, rated)
        rows += [
            RatingHistoryRow(
                step="report" if service.is_report else "application",
                reference=f"demo:history:{service.id}:{start:%Y-%m}:{n}",
                service_id=service.id,
                service_key=service.slug,
                department_id=service.department_id,
                level=level,
                at=start + timedelta(seconds=offset),
            )
            for n, (level, offset) in enumerate(zip(levels.tolist(), offsets.tolist(), strict=True))
        ]
    return rows


def demand_history(
    *, services: Sequence[DemoService], first: date, now: datetime, seed: int
) -> History:
    """The usage events and ratings of ``services`` from ``first`` to ``now`` (events
    after ``now`` are left out: those journeys are still going on), in time order.
    Reads only the holiday calendar, the time zone and ``DRAFT_EXPIRY_DAYS``."""
    calendar = history_calendar(first, timezone.localdate(now))
    history = History()
    for service in services:
        rng = np.random.default_rng([seed % 2**32, zlib.crc32(service.slug.encode())])
        journeys, outcomes = _journeys(service, calendar, rng)
        rows, completed = _usage(service, journeys, outcomes, calendar, now)
        history.usage += rows
        if service.rated:
            history.ratings += _ratings(
                service=service, completed=completed, calendar=calendar, now=now, rng=rng
            )
    history.usage.sort(key=lambda row: row.at)
    history.ratings.sort(key=lambda row: row.at)
    return history


# --- costs and staffing ------------------------------------------------------------------


def _actor(context: DemoContext) -> Any:
    """Who enters the demo's costs and staffing: the city's performance officer, else
    its platform administrator (both hold ``insights.costs`` and ``insights.plan``
    authority-wide); ``None`` when the city has neither."""
    for role in ("performance_officer", "platform_admin"):
        for person in context.city.staff:
            if person.role == role:
                user = user_by_email(email=context.city.email(person.local))
                if user is not None:
                    return user
    return None


def _financial_year(day: date) -> int:
    """The year in which ``day``'s financial year (April to March) starts."""
    return day.year - (day.month < 4)


def _costs_load(
    services: Sequence[Any], demo: dict[int, DemoService], first: date, today: date, actor: Any
) -> tuple[int, int, int]:
    """The hourly cost of each registered official role, each service's costs of the
    full months of the history and its staffing, each unless already entered."""
    roles = registry.staff_roles()
    have = set(RoleHourlyCost.objects.values_list("role", flat=True))
    role_costs = 0
    for role, amount in ROLE_HOURLY_COSTS.items():
        if role in roles and role not in have:
            costs.role_cost_set(role=role, hourly_cost=amount, actor=actor)
            role_costs += 1
    months: list[date] = []
    month = first
    while month < today.replace(day=1):
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    entered = set(
        ServiceMonthCost.objects.filter(month__gte=first).values_list("service_id", "month")
    )
    staffed = set(ServiceStaffing.objects.values_list("service_id", flat=True))
    month_costs = staffing = 0
    for service in services:
        demand = demand_for(demo[service.pk])
        for index, month in enumerate(months):
            if (service.pk, month) in entered:
                continue
            # Prices go up by 3% each April, at the start of the financial year.
            uplift = Decimal("1.03") ** (_financial_year(month) - _financial_year(first))
            startup = Decimal("0.00")
            note = ""
            if service.slug == STARTUP_SERVICE and index < len(STARTUP_COSTS):
                startup = STARTUP_COSTS[index]
                note = "Building the online service: design, development and user research."
            costs.service_cost_set(
                service=service,
                month=month,
                fixed_costs=(demand.fixed_costs * uplift).quantize(Decimal("0.01")),
                startup_costs=startup,
                note=note,
                actor=actor,
            )
            month_costs += 1
        if service.pk not in staffed:
            costs.staffing_set(
                service=service,
                officers=demand.officers,
                hours_per_week=Decimal("37.0"),
                productive_share=Decimal("0.75"),
                counter_hours_per_week=Decimal("35.0"),
                counter_minutes_per_visit=Decimal("8.0" if demo[service.pk].is_report else "12.0"),
                counter_wait_target_seconds=300,
                counter_service_level=Decimal("0.80"),
                actor=actor,
            )
            staffing += 1
    return role_costs, month_costs, staffing


# --- the loader --------------------------------------------------------------------------


def _extensions(service: Any) -> dict[str, Any]:
    version = service.current_version
    return dict((version.definition.get("extensions") or {}) if version else {})


def _services(only: Collection[str] | None) -> tuple[list[Any], dict[int, DemoService]]:
    reports = {service.pk for service in services_with_extension("report")}
    services = [
        service
        for service in services_published(listed=None)
        if only is None or service.slug in only
    ]
    demo = {
        service.pk: DemoService(
            id=service.pk,
            slug=service.slug,
            department_id=service.department_id,
            is_report=service.pk in reports,
            rated=COMPLAINT_EXTENSION not in _extensions(service),
        )
        for service in services
    }
    return services, demo


def insights_demo_load(
    context: DemoContext,
    *,
    months: int = HISTORY_MONTHS,
    only: Collection[str] | None = None,
    refresh: bool = True,
) -> InsightsDemoResult:
    """Write the demand history, ratings, costs and staffing of the published services
    (``only``: of those with these slugs) over ``months`` months before this one and
    this month up to the start of today, then (``refresh``) compute the monthly figures
    of those months (:func:`ecitizen.insights.services.kpis.kpis_refresh`) and the forecasts
    (:func:`ecitizen.insights.services.forecasts.forecasts_refresh`). See the module's
    docstring for what is made how.

    Preconditions: the services are published and the city's officials loaded. Side
    effects: usage events and ratings inserted in bulk (not audited: they stand for
    residents' journeys), costs and staffing through the insights services (audited),
    the analytical store in ``INSIGHTS_DIR`` brought up to date, the figures and the
    forecasts written.
    """
    today = timezone.localdate()
    first = history_first_day(today, months)
    services, demo = _services(only)
    # The history stops at the start of today: a second load on the same day adds nothing
    # (the figures, and the open data built from them, stay as they were); a load on a
    # later day adds the whole days since.
    history_end = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    history = demand_history(
        services=list(demo.values()), first=first, now=history_end, seed=context.seed
    )
    result = InsightsDemoResult(first_day=first)
    result.usage_events = usage_history_insert(rows=history.usage)
    result.ratings = ratings_history_insert(rows=history.ratings)
    actor = _actor(context)
    if actor is not None:
        result.actor = actor.email
        result.role_costs, result.month_costs, result.staffing = _costs_load(
            services, demo, first, today, actor
        )
    if refresh and _nothing_new(result) and _refreshed_since(history_end):
        # A second load on the same day: the figures and forecasts were computed today from
        # this same history. Computing them again would change nothing and cost a minute.
        refresh = False
    if refresh:
        figures = kpis.kpis_refresh(from_month=first)
        result.figure_months, result.figure_rows = len(figures.months), figures.rows_written
        # Last week's nightly run first, as if the job had run then: it stores the forecast
        # of last week, against which today's run judges it (an unexpected week is flagged
        # and its managers notified, as they would be on a real night). Only its weekly
        # series: they keep that forecast, and today's run rewrites every daily one.
        last_week = today - timedelta(days=today.weekday() + 7)
        forecasts.forecasts_refresh(today=last_week, frequencies=("week",))
        forecast = forecasts.forecasts_refresh()
        result.forecasts = forecast.forecast
        result.forecasts_short = len(forecast.series) - forecast.forecast
    return result


def _nothing_new(result: InsightsDemoResult) -> bool:
    """Whether this load wrote no history, cost or staffing."""
    return not (
        result.usage_events
        or result.ratings
        or result.role_costs
        or result.month_costs
        or result.staffing
    )


def _refreshed_since(moment: datetime) -> bool:
    """Whether the figures and the forecasts were both computed at or after ``moment``
    (a load stopped between the history and the refresh left them older, or none)."""
    return (
        Forecast.objects.filter(computed_at__gte=moment).exists()
        and KpiMonth.objects.filter(computed_at__gte=moment).exists()
    )


def demo_note(context: DemoContext) -> str:
    """What ``ecitizen demo`` prints about the performance pages, naming the city's
    service managers and performance officers (when it has them)."""
    names = {place.code: place.name for place in context.city.departments}
    who = []
    for person in context.city.staff:
        if person.role == "service_manager":
            where = ", ".join(names.get(slug, slug) for slug in person.departments)
            who.append(f"{context.city.email(person.local)} reads {where}'s figures")
        elif person.role == "performance_officer":
            who.append(f"{context.city.email(person.local)} reads every department's")
    return (
        "Performance: two years of demand for every service (made-up usage events, see "
        "src/ecitizen/insights/demo.py) with their costs and staffing, at /staff/insights/"
        + (f" ({'; '.join(who)})" if who else "")
        + ". Anyone reads /performance/. The residents' parking permit had a campaign spike "
        "when the Riverside parking zone was announced."
    )


def demo_insights_load(context: DemoContext) -> InsightsDemoResult:
    """The ``insights`` loader: 24 months of history for every published service, then
    its costs and staffing (see :func:`insights_demo_load`)."""
    result = insights_demo_load(context)
    context.notes.append(demo_note(context))
    return result

"""The monthly figures, against hand counts.

Four services in two departments go through four months of 2026 with the real services
(applications, eligibility end pages, decisions, fees, street reports, ratings), each
event placed in its month by time-machine; then every figure of every scope is compared
with what counting the events by hand gives (the counts are worked out next to each
expectation). Also: computing twice gives the same rows, a past month does not change
when later months bring new events, a month in the future is refused, and departments
and the authority add up to their services where a figure is additive.

Working days in January to April 2026 (England): Monday to Friday less 1 January, Good
Friday (3 April) and Easter Monday (6 April).
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from ecitizen.accounts.models import Role
from ecitizen.cases import services as cases
from ecitizen.cases.models import Case
from ecitizen.cases.services import ActionInput
from ecitizen.cases.services.drafts import draft_reach_ineligible
from ecitizen.cases.tests.support import SHED_ANSWERS, pdf_file
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.core.errors import PermissionDenied
from ecitizen.feedback.services import Completed, rating_record
from ecitizen.insights.kpis import QUERIES, cost_missing_text
from ecitizen.insights.models import ActionTime, KpiMonth, RoleHourlyCost, ServiceMonthCost
from ecitizen.insights.services import InsightsError
from ecitizen.insights.services.kpis import kpi_month_recompute, kpis_refresh
from tests.factories import DepartmentFactory, JurisdictionFactory, UserFactory
from tests.personas import _official

pytestmark = pytest.mark.django_db

CASES_FIXTURES = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures"
REPORTS_FIXTURES = Path(__file__).resolve().parents[2] / "reports" / "tests" / "fixtures"

JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)


def at(moment: str):
    """Travel to ``moment`` (UTC; London is on UTC until 29 March 2026, then UTC+1)."""
    return time_machine.travel(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


class World:
    """The authority of the tests: who and what the scenario uses."""

    def __init__(self, tmp_path: Path) -> None:
        self.works = DepartmentFactory(slug="public-works", name="Public Works")
        self.parks = DepartmentFactory(slug="parks", name="Parks")
        self.riverside = JurisdictionFactory(code="riverside", name="Riverside")
        self.hillside = JurisdictionFactory(code="hillside", name="Hillside")
        folder = tmp_path / "definitions"
        folder.mkdir()
        shutil.copy(CASES_FIXTURES / "shed-permit.yaml", folder)
        shutil.copy(CASES_FIXTURES / "garden-waste.yaml", folder)
        shutil.copy(REPORTS_FIXTURES / "pothole.yaml", folder)
        allotment = (
            (CASES_FIXTURES / "garden-waste.yaml")
            .read_text()
            .replace("slug: garden-waste-collection", "slug: allotment-plot")
            .replace("department: public-works", "department: parks")
            .replace("Sign up for garden waste collection", "Rent an allotment plot")
        )
        (folder / "allotment-plot.yaml").write_text(allotment)
        service_definitions_publish(directory=folder, actor=None)
        services = {service.slug: service for service in Service.objects.all()}
        self.shed = services["shed-permit"]
        self.garden = services["garden-waste-collection"]
        self.pothole = services["pothole"]
        self.allotment = services["allotment-plot"]
        self.officer = _official(Role.CASE_OFFICER, self.works, email="officer@example.test")
        self.supervisor = _official(Role.SUPERVISOR, self.works, email="super@example.test")
        self.parks_officer = _official(Role.CASE_OFFICER, self.parks, email="parks@example.test")
        self.helper = _official(Role.INTERMEDIARY, None, email="helper@example.test")
        self.residents = [UserFactory(email=f"r{n}@example.test") for n in range(1, 9)]
        self.cases: dict[str, Case] = {}
        # What the cost per transaction is built from.
        RoleHourlyCost.objects.create(role=Role.CASE_OFFICER, hourly_cost=Decimal("30.00"))
        for service, action, role, minutes in (
            (self.shed, "start_review", Role.CASE_OFFICER, "12"),
            (self.shed, "request_info", Role.CASE_OFFICER, "6"),
            (self.shed, "pass_first", Role.CASE_OFFICER, "15"),
            (self.shed, "approve", Role.SUPERVISOR, "10"),  # no hourly cost for supervisors
            (self.garden, "approve", Role.CASE_OFFICER, "5"),
        ):
            ActionTime.objects.create(
                service=service, action=action, role=role, minutes=Decimal(minutes), edited=True
            )
        ServiceMonthCost.objects.create(
            service=self.shed,
            month=JAN,
            fixed_costs=Decimal("100.00"),
            startup_costs=Decimal("500.00"),
        )

    def act(self, name: str, action: str, actor: Any, text: str = "") -> None:
        self.cases[name] = cases.case_transition(
            case=self.cases[name], action_id=action, actor=actor, given=ActionInput(text=text)
        )

    def pay(self, name: str) -> None:
        # What the BillPaid subscriber does once the payment commits.
        self.cases[name] = cases.case_fee_paid(case=self.cases[name])

    def rate(self, service: Service | None, reference: str, level: int) -> None:
        rating_record(
            completed=Completed(
                step="application",
                reference=reference,
                service_key=service.slug if service else "payments.fine",
                service_id=service.pk if service else None,
                department_id=(service.department_id if service else self.works.pk),
            ),
            level=level,
        )


def _shed_draft(world: World, resident: Any):
    draft = cases.draft_start(service=world.shed, applicant=resident, actor=resident)
    draft = cases.draft_save_answers(draft=draft, values=SHED_ANSWERS, actor=resident)
    return cases.draft_save_answers(
        draft=draft, values={}, files={"plan_files": [pdf_file()]}, actor=resident
    )


BINS = {"lives_in_riverton": True, "collection_address": "1 Mill Lane"}


def january(w: World) -> None:
    r1, r2, r3, r4, r5, r6, r7, r8 = w.residents
    # J1: shed permit sent online (riverside), a round of "more information", approved.
    with at("2026-01-05 10:00"):
        w.cases["J1"] = cases.draft_submit(
            draft=_shed_draft(w, r1), actor=r1, ward_id=w.riverside.pk
        )
        w.rate(w.shed, "J1", 5)
    with at("2026-01-06 10:00"):
        w.act("J1", "start_review", w.officer)
    with at("2026-01-07 10:00"):
        w.act("J1", "request_info", w.officer, "Send the plans again")
    # J2: not eligible first (an end page), then the answer is changed and it is sent:
    # one journey, completed as sent.
    with at("2026-01-08 10:00"):
        draft = cases.draft_start(service=w.shed, applicant=r2, actor=r2)
        draft = cases.draft_save_answers(draft=draft, values={"owns_property": False}, actor=r2)
        draft_reach_ineligible(draft=draft, question_id="owns_property")
    with at("2026-01-09 10:00"):
        w.cases["J2"] = cases.draft_submit(
            draft=_shed_draft(w, r2), actor=r2, ward_id=w.hillside.pk
        )
        w.rate(w.shed, "J2", 4)
    with at("2026-01-12 10:00"):
        w.act("J1", "reply", r1, "Here they are")
        w.act("J2", "start_review", w.officer)
    with at("2026-01-13 10:00"):
        w.act("J1", "pass_first", w.officer)
    with at("2026-01-14 10:00"):
        w.act("J1", "approve", w.supervisor)  # the fee (60.00, due after approval) billed
    # J3: a helper applies for r3 (assisted digital); r3 is not eligible.
    with at("2026-01-15 10:00"):
        draft = cases.draft_start(
            service=w.shed,
            applicant=r3,
            actor=w.helper,
            channel="assisted",
            consent_statement="Agreed in the library.",
        )
        draft = cases.draft_save_answers(
            draft=draft, values={"owns_property": False}, actor=w.helper
        )
        draft_reach_ineligible(draft=draft, question_id="owns_property")
        w.rate(w.shed, "J3", 2)
        w.rate(w.garden, "G-1", 3)
        w.rate(None, "FINE-1", 5)  # a fine paid: no service, Public Works
    # J4: garden waste started and deleted (abandoned).
    with at("2026-01-20 10:00"):
        j4 = cases.draft_start(service=w.garden, applicant=r4, actor=r4)
    with at("2026-01-21 10:00"):
        cases.draft_discard(draft=j4, actor=r4)
    # P1, P2: street reports; P1 fixed in 3 working days, P2 stays open.
    with at("2026-01-22 10:00"):
        draft = cases.draft_start(service=w.pothole, applicant=r6, actor=r6)
        draft = cases.draft_save_answers(draft=draft, values={"hazard": True}, actor=r6)
        w.cases["P1"] = cases.draft_submit(draft=draft, actor=r6, ward_id=w.riverside.pk)
    # J5: garden waste started in January, sent in February.
    with at("2026-01-26 10:00"):
        w.j5 = cases.draft_start(service=w.garden, applicant=r5, actor=r5)
    with at("2026-01-27 10:00"):
        w.act("P1", "fix", w.officer)
    with at("2026-01-28 10:00"):
        draft = cases.draft_start(service=w.pothole, applicant=r7, actor=r7)
        draft = cases.draft_save_answers(draft=draft, values={"hazard": False}, actor=r7)
        w.cases["P2"] = cases.draft_submit(draft=draft, actor=r7, ward_id=w.hillside.pk)
    # A1: an allotment at the Parks counter (no ward), its fee (45.00) paid the next day.
    with at("2026-01-29 10:00"):
        draft = cases.draft_start(
            service=w.allotment,
            applicant=r8,
            actor=w.parks_officer,
            channel="counter",
            consent_statement="Identity checked at the counter.",
        )
        draft = cases.draft_save_answers(
            draft=draft, values={**BINS, "bin_count": 1}, actor=w.parks_officer
        )
        w.cases["A1"] = cases.draft_submit(draft=draft, actor=w.parks_officer)
    with at("2026-01-30 10:00"):
        w.pay("A1")


def february(w: World) -> None:
    r1, r5 = w.residents[0], w.residents[4]
    with at("2026-02-02 10:00"):
        draft = cases.draft_save_answers(draft=w.j5, values={**BINS, "bin_count": 2}, actor=r5)
        w.cases["J5"] = cases.draft_submit(draft=draft, actor=r5, ward_id=w.riverside.pk)
    with at("2026-02-03 10:00"):
        w.pay("J1")
    with at("2026-02-04 10:00"):
        w.pay("J5")
    with at("2026-02-09 10:00"):
        w.act("J5", "approve", w.officer)
    with at("2026-02-10 10:00"):
        w.act("J2", "refuse", w.officer, "The shed is too tall")
        w.rate(w.shed, "S-2", 1)
    with at("2026-02-16 10:00"):
        cases.draft_start(service=w.garden, applicant=r1, actor=r1)  # J6: started only


def march(w: World) -> None:
    r2, r6 = w.residents[1], w.residents[5]
    with at("2026-03-02 10:00"):
        w.act("A1", "approve", w.parks_officer)
    with at("2026-03-16 10:00"):
        w.cases["J7"] = cases.draft_submit(
            draft=_shed_draft(w, r6), actor=r6, ward_id=w.riverside.pk
        )
    with at("2026-03-17 10:00"):
        w.act("J7", "start_review", w.officer)
    with at("2026-03-18 10:00"):
        w.act("J7", "request_info", w.officer, "Which wood?")  # the clock pauses
    # 23:30 UTC on 31 March is 00:30 on 1 April in London: an April start.
    with at("2026-03-31 23:30"):
        cases.draft_start(service=w.garden, applicant=r2, actor=r2)


@pytest.fixture
def world(db, tmp_path, settings):
    settings.INSIGHTS_DIR = tmp_path / "store"
    return World(tmp_path)


def _rows(month: date) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row.scope, row.key): row.figures for row in KpiMonth.objects.filter(month=month)}


def _same(actual: Any, expected: Any, path: str = "figures") -> None:
    """``actual`` equals ``expected``, floats to 1e-9, with the path of a difference."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert sorted(actual) == sorted(expected), (path, sorted(actual), sorted(expected))
        for key, value in expected.items():
            _same(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=1e-9), (path, actual, expected)
    else:
        assert actual == expected, (path, actual, expected)


def _figures(**changes: Any) -> dict[str, Any]:
    """A scope's figures with nothing in the month, with ``changes``."""
    figures = {
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
        "ratings": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
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
        "backlog_by_state": None,
        "backlog_by_age": {"0-5": 0, "6-10": 0, "11-20": 0, "21+": 0},
        "overdue": 0,
        "sla_by_ward": {},
        "fees_collected": "0.00",
        "fees_outstanding": "0.00",
        "currency": "GBP",
        "reports_opened": None,
        "reports_fixed": None,
        "fix_days_median": None,
        "cost": None,
    }
    figures.update(changes)
    return figures


# --- January, counted by hand ------------------------------------------------------------
#
# Shed permit: J1 (online, sent 5 Jan), J2 (online, not eligible 8 Jan then sent 9 Jan: one
# journey, sent), J3 (assisted, not eligible 15 Jan). Decided: J1 on 14 Jan, 7 working days
# after 5 Jan (6, 7, 8, 9, 12, 13, 14); its SLA clock ran 5-7 Jan (2) and 12-14 Jan (2) = 4
# <= 10. Backlog at the month's end: J2 (sent 9 Jan: 15 working days to Saturday 31 Jan; its
# clock ran all along: 15 > 10, overdue). J1's fee (60.00) was billed on approval and paid
# on 3 February: outstanding at the end of January.
# Staff cost: start_review 2 x 12 min, request_info 1 x 6, pass_first 1 x 15 at 30.00 an
# hour = 12.00 + 3.00 + 7.50 = 22.50; approve (a supervisor's) has no hourly cost; reply is
# the applicant's. Fixed 100.00: total 122.50 / 3 completed = 40.83; digital: (22.50 + 100
# x 2/3) / 2 = 44.58.
SHED_COST_JANUARY = {
    "staff": "22.50",
    "fixed": "100.00",
    "total": "122.50",
    "startup_excluded": "500.00",
    "per_transaction": "40.83",
    "per_digital_transaction": "44.58",
    "lines": [
        {
            "service": "shed-permit",
            "action": "approve",
            "role": "supervisor",
            "count": 1,
            "minutes": "10.0",
            "hourly_cost": None,
            "amount": None,
        },
        {
            "service": "shed-permit",
            "action": "pass_first",
            "role": "case_officer",
            "count": 1,
            "minutes": "15.0",
            "hourly_cost": "30.00",
            "amount": "7.50",
        },
        {
            "service": "shed-permit",
            "action": "request_info",
            "role": "case_officer",
            "count": 1,
            "minutes": "6.0",
            "hourly_cost": "30.00",
            "amount": "3.00",
        },
        {
            "service": "shed-permit",
            "action": "start_review",
            "role": "case_officer",
            "count": 2,
            "minutes": "12.0",
            "hourly_cost": "30.00",
            "amount": "12.00",
        },
    ],
    "missing": [{"kind": "hourly_cost", "service": "shed-permit", "role": "supervisor"}],
}

JANUARY = {
    ("service", "shed-permit"): _figures(
        started=3,
        completed=3,
        completed_online=2,
        completed_assisted=1,
        not_eligible=1,
        started_completed=3,
        completion_rate=1.0,
        digital_take_up=2 / 3,
        assisted_digital_share=1 / 3,
        ratings={"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
        rated=3,
        satisfaction=2 / 3,
        submitted=2,
        decided=1,
        decision_days_median=7.0,
        decision_days_p90=7.0,
        decided_with_sla=1,
        within_sla=1,
        within_sla_rate=1.0,
        refusal_rate=0.0,
        more_info_rounds=1,
        backlog=1,
        backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 1, "21+": 0},
        overdue=1,
        sla_by_ward={"riverside": {"decided": 1, "within_sla": 1}},
        fees_outstanding="60.00",
        cost=SHED_COST_JANUARY,
    ),
    # J4 started and deleted; J5 started (sent on 2 February: completed in February, and
    # of January's cohort, which settles on 3 March, 30 days after January's end).
    ("service", "garden-waste-collection"): _figures(
        started=2,
        abandoned=1,
        started_completed=1,
        completion_rate=0.5,
        ratings={"1": 0, "2": 0, "3": 1, "4": 0, "5": 0},
        rated=1,
        satisfaction=0.0,
    ),
    # P1 (22 Jan, riverside) fixed 27 Jan: 3 working days (23, 26, 27), its clock too;
    # P2 (28 Jan) open: 2 working days old on 31 Jan.
    ("service", "pothole"): _figures(
        started=2,
        completed=2,
        completed_online=2,
        started_completed=2,
        completion_rate=1.0,
        digital_take_up=1.0,
        assisted_digital_share=0.0,
        submitted=2,
        reports_opened=2,
        decided=1,
        decision_days_median=3.0,
        decision_days_p90=3.0,
        decided_with_sla=1,
        within_sla=1,
        within_sla_rate=1.0,
        refusal_rate=0.0,
        reports_fixed=1,
        fix_days_median=3.0,
        backlog=1,
        backlog_by_age={"0-5": 1, "6-10": 0, "11-20": 0, "21+": 0},
        sla_by_ward={"riverside": {"decided": 1, "within_sla": 1}},
    ),
    # A1 at the counter on 29 Jan, 45.00 paid on 30 Jan (the clock starts then); open.
    ("service", "allotment-plot"): _figures(
        started=1,
        completed=1,
        completed_counter=1,
        started_completed=1,
        completion_rate=1.0,
        digital_take_up=0.0,
        assisted_digital_share=0.0,
        submitted=1,
        backlog=1,
        backlog_by_age={"0-5": 1, "6-10": 0, "11-20": 0, "21+": 0},
        fees_collected="45.00",
    ),
}
# Public Works: its three services and a rated fine (level 5). Completion rate: of the 7
# journeys started, 6 completed (J4 abandoned). Decisions: 7 and 3 working days: median
# 5, 90th percentile 3 + 0.9 x (7 - 3) = 6.6.
JANUARY[("department", "public-works")] = _figures(
    started=7,
    completed=5,
    completed_online=4,
    completed_assisted=1,
    not_eligible=1,
    abandoned=1,
    started_completed=6,
    completion_rate=6 / 7,
    digital_take_up=4 / 5,
    assisted_digital_share=1 / 5,
    ratings={"1": 0, "2": 1, "3": 1, "4": 1, "5": 2},
    rated=5,
    satisfaction=3 / 5,
    submitted=4,
    reports_opened=2,
    decided=2,
    decision_days_median=5.0,
    decision_days_p90=6.6,
    decided_with_sla=2,
    within_sla=2,
    within_sla_rate=1.0,
    refusal_rate=0.0,
    more_info_rounds=1,
    reports_fixed=1,
    fix_days_median=3.0,
    backlog=2,
    backlog_by_age={"0-5": 1, "6-10": 0, "11-20": 1, "21+": 0},
    overdue=1,
    sla_by_ward={"riverside": {"decided": 2, "within_sla": 2}},
    fees_outstanding="60.00",
    cost={
        **SHED_COST_JANUARY,
        "missing": [
            *SHED_COST_JANUARY["missing"],
            {"kind": "no_costs", "service": "garden-waste-collection", "month": "2026-01"},
            {"kind": "no_costs", "service": "pothole", "month": "2026-01"},
        ],
    },
)
JANUARY[("department", "parks")] = {**JANUARY[("service", "allotment-plot")]}
JANUARY[("authority", "")] = {
    **JANUARY[("department", "public-works")],
    "started": 8,
    "completed": 6,
    "completed_counter": 1,
    "started_completed": 7,
    "completion_rate": 7 / 8,
    "digital_take_up": 4 / 6,
    "assisted_digital_share": 1 / 6,
    "submitted": 5,
    "backlog": 3,
    "backlog_by_age": {"0-5": 2, "6-10": 0, "11-20": 1, "21+": 0},
    "fees_collected": "45.00",
    "cost": {
        **SHED_COST_JANUARY,
        "missing": [
            *SHED_COST_JANUARY["missing"],
            {"kind": "no_costs", "service": "garden-waste-collection", "month": "2026-01"},
            {"kind": "no_costs", "service": "pothole", "month": "2026-01"},
            {"kind": "no_costs", "service": "allotment-plot", "month": "2026-01"},
        ],
    },
}


# January as computed on 1 February, before J5 (started in January) was sent on 2 February:
# the completion rate is a cohort rate, read with the completions recorded so far.
COHORT = ("started_completed", "completion_rate")
JANUARY_BEFORE_J5 = {
    **JANUARY,
    ("service", "garden-waste-collection"): {
        **JANUARY[("service", "garden-waste-collection")],
        "started_completed": 0,
        "completion_rate": 0.0,
    },
    ("department", "public-works"): {
        **JANUARY[("department", "public-works")],
        "started_completed": 5,
        "completion_rate": 5 / 7,
    },
    ("authority", ""): {
        **JANUARY[("authority", "")],
        "started_completed": 6,
        "completion_rate": 6 / 8,
    },
}


def _sorted_missing(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures with the cost's ``missing`` in a fixed order (services are listed in
    the order of their ids, which the test does not fix)."""
    cost = figures.get("cost")
    if cost:
        cost = {**cost, "missing": sorted(cost["missing"], key=lambda item: sorted(item.items()))}
        cost["lines"] = sorted(cost["lines"], key=lambda line: (line["service"], line["action"]))
        return {**figures, "cost": cost}
    return figures


def _check_month(month: date, expected: dict[tuple[str, str], dict[str, Any]]) -> None:
    rows = _rows(month)
    assert sorted(rows) == sorted(expected)
    for scope, figures in expected.items():
        _same(_sorted_missing(rows[scope]), _sorted_missing(figures), f"{month:%Y-%m} {scope}")


def test_every_figure_of_every_scope_equals_the_hand_count(world):
    january(world)
    february(world)
    march(world)
    with at("2026-04-15 12:00"):
        result = kpis_refresh(from_month=JAN)
    assert result.months == [JAN, FEB, MAR, APR]
    assert result.events_read["usage"] > 0
    assert result.events_read["cases"] == 7

    _check_month(JAN, JANUARY)

    # February. J5 sent 2 Feb (started in January), fee 90.00 paid 4 Feb, approved 9 Feb:
    # 5 working days (3, 4, 5, 6, 9), its clock ran from the payment: 3 days. J2 refused
    # 10 Feb: 22 working days after 9 Jan, its clock too: 22 > 10. J1's 60.00 paid 3 Feb.
    # At the month's end (Saturday 28 Feb): P2 22 working days old, A1 21 (its clock: 20
    # from the payment on 30 Jan), both overdue. J6 started 16 Feb, not sent: garden
    # waste completed 1 (J5, January's cohort) of 1 started (J6): a completion rate of 0,
    # not 1 (the rate is a cohort rate). Costs: G's approve
    # (5 min at 30.00 = 2.50, no fixed costs entered); S's refuse has no handling time and
    # S has no costs for February: no cost.
    garden_cost = {
        "staff": "2.50",
        "fixed": "0.00",
        "total": "2.50",
        "startup_excluded": "0.00",
        "per_transaction": "2.50",
        "per_digital_transaction": "2.50",
        "lines": [
            {
                "service": "garden-waste-collection",
                "action": "approve",
                "role": "case_officer",
                "count": 1,
                "minutes": "5.0",
                "hourly_cost": "30.00",
                "amount": "2.50",
            }
        ],
        "missing": [
            {"kind": "fixed_costs", "service": "garden-waste-collection", "month": "2026-02"}
        ],
    }
    february_expected = {
        ("service", "shed-permit"): _figures(
            ratings={"1": 1, "2": 0, "3": 0, "4": 0, "5": 0},
            rated=1,
            satisfaction=0.0,
            decided=1,
            decision_days_median=22.0,
            decision_days_p90=22.0,
            decided_with_sla=1,
            within_sla_rate=0.0,
            refused=1,
            refusal_rate=1.0,
            sla_by_ward={"hillside": {"decided": 1, "within_sla": 0}},
            fees_collected="60.00",
        ),
        ("service", "garden-waste-collection"): _figures(
            started=1,
            completed=1,
            completed_online=1,
            completion_rate=0.0,
            digital_take_up=1.0,
            assisted_digital_share=0.0,
            submitted=1,
            decided=1,
            decision_days_median=5.0,
            decision_days_p90=5.0,
            decided_with_sla=1,
            within_sla=1,
            within_sla_rate=1.0,
            refusal_rate=0.0,
            sla_by_ward={"riverside": {"decided": 1, "within_sla": 1}},
            fees_collected="90.00",
            cost=garden_cost,
        ),
        ("service", "pothole"): _figures(
            reports_opened=0,
            reports_fixed=0,
            backlog=1,
            backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 0, "21+": 1},
            overdue=1,
        ),
        ("service", "allotment-plot"): _figures(
            backlog=1,
            backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 0, "21+": 1},
            overdue=1,
        ),
    }
    february_expected[("department", "public-works")] = _figures(
        started=1,
        completed=1,
        completed_online=1,
        completion_rate=0.0,
        digital_take_up=1.0,
        assisted_digital_share=0.0,
        ratings={"1": 1, "2": 0, "3": 0, "4": 0, "5": 0},
        rated=1,
        satisfaction=0.0,
        submitted=1,
        reports_opened=0,
        reports_fixed=0,
        decided=2,
        decision_days_median=13.5,
        decision_days_p90=20.3,  # 5 + 0.9 x (22 - 5)
        decided_with_sla=2,
        within_sla=1,
        within_sla_rate=0.5,
        refused=1,
        refusal_rate=0.5,
        backlog=1,
        backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 0, "21+": 1},
        overdue=1,
        sla_by_ward={
            "hillside": {"decided": 1, "within_sla": 0},
            "riverside": {"decided": 1, "within_sla": 1},
        },
        fees_collected="150.00",
        cost={
            **garden_cost,
            "missing": [
                *garden_cost["missing"],
                {"kind": "no_costs", "service": "shed-permit", "month": "2026-02"},
                {"kind": "no_costs", "service": "pothole", "month": "2026-02"},
            ],
        },
    )
    february_expected[("department", "parks")] = february_expected[("service", "allotment-plot")]
    february_expected[("authority", "")] = {
        **february_expected[("department", "public-works")],
        "backlog": 2,
        "backlog_by_age": {"0-5": 0, "6-10": 0, "11-20": 0, "21+": 2},
        "overdue": 2,
        "cost": {
            **garden_cost,
            "missing": [
                *garden_cost["missing"],
                {"kind": "no_costs", "service": "shed-permit", "month": "2026-02"},
                {"kind": "no_costs", "service": "pothole", "month": "2026-02"},
                {"kind": "no_costs", "service": "allotment-plot", "month": "2026-02"},
            ],
        },
    }
    _check_month(FEB, february_expected)

    # March. A1 approved 2 Mar: 22 working days after 29 Jan (30 Jan, 20 in February,
    # 2 Mar), its clock 21 from the payment: late. J7 sent 16 Mar, paused 18 Mar: 11
    # working days old on 31 Mar, not overdue (waiting for the applicant); P2 44 days old.
    # The start at 00:30 on 1 April (London) is April's. Costs: J7's start_review (12 min)
    # and request_info (6 min) at 30.00 = 6.00 + 3.00, no fixed costs entered for March;
    # A1's approve has no handling time and the allotments no costs: no cost.
    shed_cost = {
        "staff": "9.00",
        "fixed": "0.00",
        "total": "9.00",
        "startup_excluded": "0.00",
        "per_transaction": "9.00",
        "per_digital_transaction": "9.00",
        "lines": [
            {
                "service": "shed-permit",
                "action": "request_info",
                "role": "case_officer",
                "count": 1,
                "minutes": "6.0",
                "hourly_cost": "30.00",
                "amount": "3.00",
            },
            {
                "service": "shed-permit",
                "action": "start_review",
                "role": "case_officer",
                "count": 1,
                "minutes": "12.0",
                "hourly_cost": "30.00",
                "amount": "6.00",
            },
        ],
        "missing": [{"kind": "fixed_costs", "service": "shed-permit", "month": "2026-03"}],
    }
    march_expected = {
        ("service", "shed-permit"): _figures(
            started=1,
            completed=1,
            completed_online=1,
            started_completed=1,
            completion_rate=1.0,
            digital_take_up=1.0,
            assisted_digital_share=0.0,
            submitted=1,
            backlog=1,
            backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 1, "21+": 0},
            cost=shed_cost,
        ),
        ("service", "pothole"): _figures(
            reports_opened=0,
            reports_fixed=0,
            backlog=1,
            backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 0, "21+": 1},
            overdue=1,
        ),
        ("service", "allotment-plot"): _figures(
            decided=1,
            decision_days_median=22.0,
            decision_days_p90=22.0,
            decided_with_sla=1,
            within_sla_rate=0.0,
            refusal_rate=0.0,
            sla_by_ward={"": {"decided": 1, "within_sla": 0}},
        ),
    }
    march_expected[("department", "public-works")] = {
        **march_expected[("service", "shed-permit")],
        "reports_opened": 0,
        "reports_fixed": 0,
        "backlog": 2,
        "backlog_by_age": {"0-5": 0, "6-10": 0, "11-20": 1, "21+": 1},
        "overdue": 1,
        "cost": {
            **shed_cost,
            "missing": [
                *shed_cost["missing"],
                {"kind": "no_costs", "service": "pothole", "month": "2026-03"},
            ],
        },
    }
    march_expected[("department", "parks")] = march_expected[("service", "allotment-plot")]
    march_expected[("authority", "")] = {
        **march_expected[("department", "public-works")],
        "decided": 1,
        "decision_days_median": 22.0,
        "decision_days_p90": 22.0,
        "decided_with_sla": 1,
        "within_sla_rate": 0.0,
        "refusal_rate": 0.0,
        "sla_by_ward": {"": {"decided": 1, "within_sla": 0}},
        "cost": {
            **shed_cost,
            "missing": [
                *shed_cost["missing"],
                {"kind": "no_costs", "service": "pothole", "month": "2026-03"},
                {"kind": "no_costs", "service": "allotment-plot", "month": "2026-03"},
            ],
        },
    }
    _check_month(MAR, march_expected)

    # April, the current month, taken on 15 April: P2 53 working days old (9 in April:
    # 1, 2, 7-10, 13-15) and overdue, J7 20 and waiting for the applicant. By state, as
    # it is now.
    april_expected = {
        ("service", "garden-waste-collection"): _figures(
            started=1, completion_rate=0.0, backlog_by_state={}
        ),
        ("service", "shed-permit"): _figures(
            backlog=1,
            backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 1, "21+": 0},
            backlog_by_state={"info_needed": 1},
        ),
        ("service", "pothole"): _figures(
            reports_opened=0,
            reports_fixed=0,
            backlog=1,
            backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 0, "21+": 1},
            backlog_by_state={"received": 1},
            overdue=1,
        ),
    }
    april_expected[("department", "public-works")] = _figures(
        started=1,
        completion_rate=0.0,
        reports_opened=0,
        reports_fixed=0,
        backlog=2,
        backlog_by_age={"0-5": 0, "6-10": 0, "11-20": 1, "21+": 1},
        backlog_by_state={"info_needed": 1, "received": 1},
        overdue=1,
    )
    april_expected[("authority", "")] = april_expected[("department", "public-works")]
    _check_month(APR, april_expected)
    # The current month's overdue cases are the cases app's: open, due date passed.
    with at("2026-04-15 12:00"):
        assert (
            Case.objects.filter(outcome="", due_date__lt=timezone.localdate()).count()
            == april_expected[("authority", "")]["overdue"]
        )


def test_computing_again_gives_the_same_rows_and_a_past_month_changes_only_its_cohort(world):
    """A past month's figures are final, but for its completion rate (a cohort rate):
    J5, started in January and sent on 2 February, raises January's rate computed again
    in April (January's cohort settled on 3 March), and nothing else of January."""
    january(world)
    with at("2026-02-01 12:00"):
        first = kpis_refresh()  # last month (January) and this month
    assert first.months == [JAN, FEB]
    january_then = _rows(JAN)
    _check_month(JAN, JANUARY_BEFORE_J5)
    february(world)
    march(world)
    # A row of a scope with nothing in March (written by an older computation) goes.
    KpiMonth.objects.create(
        scope="service", key="garden-waste-collection", service=world.garden, month=MAR
    )
    with at("2026-04-15 12:00"):
        again = kpis_refresh(from_month=JAN)
        rows_once = {month: _rows(month) for month in (JAN, FEB, MAR, APR)}
        twice = kpis_refresh(from_month=JAN)
    # Only the new events were read the second and third times.
    assert again.events_read["ratings"] == 1
    assert twice.events_read == {"usage": 0, "actions": 0, "ratings": 0, "cases": 0}
    assert twice.rows_written == again.rows_written == KpiMonth.objects.count()
    _check_month(JAN, JANUARY)

    def without_cohort(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[Any, Any]:
        return {
            scope: {key: value for key, value in figures.items() if key not in COHORT}
            for scope, figures in rows.items()
        }

    assert without_cohort(_rows(JAN)) == without_cohort(january_then)
    assert {month: _rows(month) for month in (JAN, FEB, MAR, APR)} == rows_once
    assert ("service", "garden-waste-collection") not in rows_once[MAR]


def test_the_completion_rate_is_of_the_month_s_starts_until_the_cohort_settles(world, settings):
    """Garden waste, made-up journeys (London is on UTC until 29 March 2026): A started 10
    January and sent 12 January; B started 12 January, sent 2 March at 23:00; C started 13
    January, sent 3 March at 00:30; D started 14 January, nothing since; E started 5
    February, not eligible on 6 February. January's cohort settles on 3 March at 00:00
    (January's end + 30 days), just after B and just before C.

    Computed on 15 February: January started 4, A completed of them (1/4); completed in
    January 1. February started 1 (E), completed 1 (E), 1/1.
    Computed on 2 March (up to its end): January 2 of 4 (A, B).
    Computed on 15 April: January still 2 of 4 (C completed after the cohort settled);
    March completed 2 (B, C) of no start: no rate. Transactions stay where they happened.
    With drafts that expire after 60 days, January's cohort settles on 2 April: 3 of 4."""
    from ecitizen.cases.services.demo_support import UsageHistoryRow, usage_history_insert
    from ecitizen.insights.kpis import cohort_settled_at

    def local(*parts: int) -> datetime:
        return timezone.make_aware(datetime(*parts))

    def journey(*events: tuple[str, str, datetime]) -> list[UsageHistoryRow]:
        draft = uuid.uuid4()
        return [
            UsageHistoryRow(world.garden.pk, kind, "online", draft, outcome, None, moment)
            for kind, outcome, moment in events
        ]

    usage_history_insert(
        rows=[
            *journey(
                ("started", "", local(2026, 1, 10, 9)), ("completed", "", local(2026, 1, 12, 9))
            ),
            *journey(
                ("started", "", local(2026, 1, 12, 9)), ("completed", "", local(2026, 3, 2, 23))
            ),
            *journey(
                ("started", "", local(2026, 1, 13, 9)), ("completed", "", local(2026, 3, 3, 0, 30))
            ),
            *journey(("started", "", local(2026, 1, 14, 9))),
            *journey(
                ("started", "", local(2026, 2, 5, 9)),
                ("completed", "not_eligible", local(2026, 2, 6, 9)),
            ),
        ]
    )
    assert cohort_settled_at(JAN) == datetime(2026, 3, 3)

    def garden(month: date) -> dict[str, Any]:
        figures = _rows(month)[("service", "garden-waste-collection")]
        return {
            key: figures[key]
            for key in (
                "started",
                "completed",
                "not_eligible",
                "started_completed",
                "completion_rate",
            )
        }

    kpis_refresh(from_month=JAN, today=date(2026, 2, 15))
    assert garden(JAN) == {
        "started": 4,
        "completed": 1,
        "not_eligible": 0,
        "started_completed": 1,
        "completion_rate": 0.25,
    }
    assert garden(FEB) == {
        "started": 1,
        "completed": 1,
        "not_eligible": 1,
        "started_completed": 1,
        "completion_rate": 1.0,
    }
    kpis_refresh(from_month=JAN, today=date(2026, 3, 2))
    assert garden(JAN)["started_completed"] == 2
    assert garden(JAN)["completion_rate"] == 0.5
    kpis_refresh(from_month=JAN, today=date(2026, 4, 15))
    assert garden(JAN) == {
        "started": 4,
        "completed": 1,
        "not_eligible": 0,
        "started_completed": 2,
        "completion_rate": 0.5,
    }
    assert garden(FEB)["completion_rate"] == 1.0
    assert garden(MAR) == {
        "started": 0,
        "completed": 2,
        "not_eligible": 0,
        "started_completed": 0,
        "completion_rate": None,
    }
    settings.DRAFT_EXPIRY_DAYS = 60
    assert cohort_settled_at(JAN) == datetime(2026, 4, 2)
    kpis_refresh(from_month=JAN, today=date(2026, 4, 15))
    assert garden(JAN)["started_completed"] == 3
    assert garden(JAN)["completion_rate"] == 0.75


def test_departments_and_the_authority_add_up_to_their_services(world):
    january(world)
    february(world)
    march(world)
    with at("2026-04-15 12:00"):
        kpis_refresh(from_month=JAN)
    additive = (
        "started",
        "completed",
        "completed_online",
        "completed_assisted",
        "completed_counter",
        "not_eligible",
        "abandoned",
        "started_completed",
        "submitted",
        "decided",
        "decided_with_sla",
        "within_sla",
        "refused",
        "more_info_rounds",
        "backlog",
        "overdue",
    )
    for month in (JAN, FEB, MAR, APR):
        rows = list(KpiMonth.objects.filter(month=month))
        services = [row for row in rows if row.scope == "service"]
        for parent in rows:
            if parent.scope == "service":
                continue
            members = [
                row
                for row in services
                if parent.scope == "authority" or row.department_id == parent.department_id
            ]
            for name in additive:
                assert parent.figures[name] == sum(row.figures[name] for row in members), (
                    month,
                    parent.key,
                    name,
                )
            for name in ("fees_collected", "fees_outstanding"):
                assert Decimal(parent.figures[name]) == sum(
                    (Decimal(row.figures[name]) for row in members), Decimal(0)
                )
            for band in ("0-5", "6-10", "11-20", "21+"):
                assert parent.figures["backlog_by_age"][band] == sum(
                    row.figures["backlog_by_age"][band] for row in members
                )
            costs = [row.figures["cost"] for row in members if row.figures["cost"]]
            if costs:
                for name in ("staff", "fixed", "total", "startup_excluded"):
                    assert Decimal(parent.figures["cost"][name]) == sum(
                        (Decimal(cost[name]) for cost in costs), Decimal(0)
                    )
            else:
                assert parent.figures["cost"] is None
        # Ratings outside the catalogue count in the department and the authority only.
        authority = next(row for row in rows if row.scope == "authority")
        outside = 1 if month == JAN else 0
        assert authority.figures["rated"] == sum(row.figures["rated"] for row in services) + (
            outside
        )


def test_a_month_in_the_future_is_refused_and_nothing_is_written(world):
    with at("2026-04-15 12:00"), pytest.raises(InsightsError) as refused:
        kpis_refresh(from_month=date(2026, 5, 1))
    assert refused.value.code == "future_month"
    assert "May 2026" in str(refused.value.message)
    assert not KpiMonth.objects.exists()


def test_a_month_before_the_first_event_has_empty_figures(world):
    with at("2026-04-15 12:00"):
        result = kpis_refresh(from_month=date(2025, 11, 1))
    assert result.months == [date(2025, 11, 1), date(2025, 12, 1), JAN, FEB, MAR, APR]
    for month in result.months:
        expected = {("authority", ""): _figures(reports_opened=0, reports_fixed=0)}
        if month == APR:
            expected[("authority", "")]["backlog_by_state"] = {}
        if month == JAN:
            # The shed permit's costs of January were entered: it has a row, with its
            # costs and no transactions to divide them by.
            cost = {
                "staff": "0.00",
                "fixed": "100.00",
                "total": "100.00",
                "startup_excluded": "500.00",
                "per_transaction": None,
                "per_digital_transaction": None,
                "lines": [],
                "missing": [],
            }
            expected[("service", "shed-permit")] = _figures(cost=cost)
            expected[("department", "public-works")] = _figures(
                reports_opened=0, reports_fixed=0, cost=cost
            )
            expected[("authority", "")]["cost"] = cost
        _check_month(month, expected)


def test_recomputing_a_month_on_demand_is_for_planners_and_audited(world, performance_officer):
    from ecitizen.core.models import AuditEvent

    january(world)
    with at("2026-02-01 12:00"):
        with pytest.raises(PermissionDenied):
            kpi_month_recompute(month=JAN, actor=world.officer)
        with pytest.raises(InsightsError) as future:
            kpi_month_recompute(month=MAR, actor=performance_officer)
        assert future.value.code == "future_month"
        assert not KpiMonth.objects.exists()
        result = kpi_month_recompute(month=date(2026, 1, 20), actor=performance_officer)
    assert result.months == [JAN]
    _check_month(JAN, JANUARY_BEFORE_J5)
    event = AuditEvent.objects.get(action="insights.month_recomputed")
    assert (event.actor_id, event.object_id) == (performance_officer.pk, "2026-01")
    assert event.changes["rows"] == result.rows_written == len(JANUARY)


def test_what_is_missing_from_a_cost_reads_in_the_active_language(world):
    from django.utils import translation

    item = {"kind": "fixed_costs", "service": "shed-permit", "month": "2026-02"}
    assert cost_missing_text(item) == "shed-permit: the fixed costs of February 2026"
    assert (
        cost_missing_text({"kind": "hourly_cost", "service": "shed-permit", "role": "supervisor"})
        == "The hourly cost of the role “supervisor”"
    )
    with translation.override("fr"):
        assert "2026" in cost_missing_text(item)


def test_every_family_has_one_documented_query_grouped_by_scope():
    for family, sql in QUERIES.items():
        assert sql.lstrip().startswith("-- "), family
        if family != "costs":
            assert "GROUPING SETS" in sql, family


def test_each_service_lists_its_end_pages_and_error_pages(world):
    from ecitizen.insights.pages import NOT_COMPLETED, NOT_ELIGIBLE, SENT, service_pages

    shed = service_pages(world.shed)
    assert [(page.title, page.url, page.counts_as) for page in shed.end_pages] == [
        ("Application sent", "/applications/<reference>/sent/", SENT),
        (
            "You cannot use this service",
            "/application/<application>/cannot-apply/owns_property/",
            NOT_ELIGIBLE,
        ),
    ]
    assert shed.end_pages[1].when == (
        "“Do you own the property?”: Only the owner of a property can apply."
    )
    errors = {page.status: page for page in shed.error_pages}
    assert {404, 500, 400, 403, 413, 410} <= set(errors)
    assert errors[410].url == "/application/<application>/"
    assert all(page.counts_as == NOT_COMPLETED for page in shed.error_pages)
    assert "/session/ended/" in [page.url for page in shed.error_pages]

    report = service_pages(world.pothole)
    assert [(page.title, page.url) for page in report.end_pages] == [
        ("Report sent", "/reports/new/sent/"),
        ("Report sent", "/reports/confirm/<token>/"),
    ]
    assert report.error_pages[-1].url == "/reports/confirm/<token>/"

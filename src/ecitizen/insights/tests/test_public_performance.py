"""The public performance page (``/performance/``) and its CSV, from monthly figures
written directly: small counts and the rates built from them withheld, only listed
published services and ended months, the CSV the same figures as the page (and safe in
a spreadsheet), a month that cannot be shown refused clearly, anyone allowed."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from ecitizen.catalogue.definitions import checksum
from ecitizen.catalogue.models import Service, ServiceVersion
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.insights import performance
from ecitizen.insights.models import KpiMonth
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

CASES_FIXTURES = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures"
NOW = "2026-03-15 12:00 +00:00"

#: A month with enough of everything: 30 of 40 completed (75%), 24 online (80%), 20 of
#: 25 satisfied (80%), costs entered in full; no count or complement below 5.
FULL = {
    "started": 40,
    "completed": 30,
    "completed_online": 24,
    "completed_assisted": 4,
    "completed_counter": 2,
    "ratings": {"1": 2, "2": 1, "3": 2, "4": 10, "5": 10},
    "rated": 25,
    "satisfaction": 0.8,
    "completion_rate": 0.75,
    "digital_take_up": 0.8,
    "currency": "GBP",
    "cost": {
        "staff": "300.00",
        "fixed": "75.00",
        "total": "375.00",
        "startup_excluded": "0.00",
        "per_transaction": "12.50",
        "per_digital_transaction": "15.63",
        "lines": [],
        "missing": [],
    },
}
#: A month of few: 4 completed of 12 started, 3 of them online, 3 ratings, no costs.
FEW = {
    "started": 12,
    "completed": 4,
    "completed_online": 3,
    "completed_assisted": 1,
    "completed_counter": 0,
    "ratings": {"5": 3},
    "rated": 3,
    "satisfaction": 1.0,
    "completion_rate": 0.333,
    "digital_take_up": 0.75,
    "currency": "GBP",
    "cost": None,
}


@pytest.fixture(autouse=True)
def _threshold(settings):
    """A threshold of 5 for everything public (it is the larger of the two settings)."""
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 5
    settings.CURRENCY = "GBP"


def _kpi(service: Service, month: date, figures: dict) -> KpiMonth:
    return KpiMonth.objects.create(
        scope=KpiMonth.Scope.SERVICE,
        key=service.slug,
        service=service,
        department=service.department,
        month=month,
        figures=figures,
    )


@pytest.fixture
def world(db):
    works = DepartmentFactory(slug="public-works", name="Public Works")
    service_definitions_publish(directory=CASES_FIXTURES, actor=None)
    shed = Service.objects.get(slug="shed-permit")
    garden = Service.objects.get(slug="garden-waste-collection")
    garden.listed = False  # used only through another journey: not on the page
    garden.save(update_fields=["listed"])
    unpublished = Service.objects.create(slug="not-yet-published", department=works)
    _kpi(shed, date(2026, 2, 1), FULL)
    _kpi(shed, date(2026, 1, 1), FEW)
    _kpi(shed, date(2026, 3, 1), FULL)  # the current month: not public until it ends
    _kpi(garden, date(2026, 2, 1), FULL)
    _kpi(unpublished, date(2026, 2, 1), FULL)
    return {"shed": shed, "garden": garden, "unpublished": unpublished}


def _get(client, url, **params):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, params)


def _cells(html: str) -> dict[str, dict[str, tuple[str, str]]]:
    """service slug -> figure name -> (status, text shown)."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for slug, row in re.findall(
        r'<tr class="govuk-table__row" data-service="([^"]+)">(.*?)</tr>', html, re.S
    ):
        found[slug] = {
            name: (status, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip())
            for name, status, text in re.findall(
                r'data-figure="(\w+)" data-status="(\w+)">(.*?)</td>', row, re.S
            )
        }
    return found


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


# --- the rule ----------------------------------------------------------------------------


def test_a_rate_is_withheld_when_its_numerator_or_denominator_is_small():
    assert performance.rate_figure(20, 25) == performance.Figure("published", 0.8)
    assert performance.rate_figure(5, 5) == performance.Figure("published", 1.0)
    assert performance.rate_figure(0, 30) == performance.Figure("published", 0.0)
    # 29 of 30 tells that one person did not: the complement is a small count too.
    assert performance.rate_figure(29, 30).status == "suppressed"
    assert performance.rate_figure(16, 20).status == "suppressed"
    assert performance.rate_figure(2, 30).status == "suppressed"  # few in the numerator
    assert performance.rate_figure(4, 4).status == "suppressed"
    assert performance.rate_figure(0, 0).status == "suppressed"
    assert performance.rate_figure(None, 30).status == "unavailable"
    assert performance.rate_figure(2, 3).value is None
    assert performance.count_figure(4).status == "suppressed"
    assert performance.count_figure(0).status == "suppressed"
    assert performance.count_figure(5) == performance.Figure("published", 5)


def test_a_cost_is_published_only_when_complete_and_over_enough_transactions():
    full = performance.cost_figure(FULL)
    assert full == performance.Figure("published", Decimal("12.50"))
    assert performance.cost_figure(FEW).status == "unavailable"  # no costs entered
    partial = {**FULL, "cost": {**FULL["cost"], "missing": ["hourly cost of case_officer"]}}
    assert performance.cost_figure(partial).status == "unavailable"
    few = {**FULL, "completed": 4}
    assert performance.cost_figure(few).status == "suppressed"


def test_the_threshold_is_a_setting(settings):
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 25
    assert performance.rate_figure(24, 30).status == "suppressed"
    assert performance.count_figure(30).status == "published"


def test_everything_public_has_one_threshold_the_larger_of_the_two_settings(settings):
    from ecitizen.opendata import platform

    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 10
    assert performance.small_count_threshold() == 10 == platform.threshold()
    assert performance.suppressed_count_label() == "<10" == platform.suppressed_label()
    assert performance.count_figure(7).status == "suppressed"  # not 7 here, <10 there
    assert performance.count_figure(10).status == "published"
    assert performance.rate_figure(7, 7).status == "suppressed"
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 12
    assert performance.small_count_threshold() == 12 == platform.threshold()
    assert platform.suppress({"a": 11, "b": 12}, limit=None) == {"a"}


def test_the_completion_rate_is_the_cohort_s_never_over_one():
    """Ten started in February and sent in March, twenty started in March of whom 15
    were sent: March's completions are 25, its cohort's 15 of 20."""
    march = {"started": 20, "completed": 25, "started_completed": 15}
    assert performance.completion_figure(march) == performance.Figure("published", 0.75)
    # Figures computed before the cohort rate: the month's completions stand in...
    assert performance.completion_figure({"started": 40, "completed": 30}).value == 0.75
    # ... unless they are more than the starts: no rate then.
    assert performance.completion_figure({"started": 20, "completed": 25}).status == ("unavailable")
    assert performance.service_figures(march)["completion_rate"].value == 0.75


def test_the_rate_rule_withholds_a_small_numerator_denominator_or_complement():
    assert not performance.rate_withheld(0, 5, limit=5)  # none of them
    assert not performance.rate_withheld(5, 5, limit=5)  # all of them
    assert performance.rate_withheld(4, 40, limit=5)  # four people
    assert performance.rate_withheld(36, 40, limit=5)  # the four who did not
    assert not performance.rate_withheld(35, 40, limit=5)
    assert performance.rate_withheld(0, 4, limit=5)  # too few in all


# --- the page ------------------------------------------------------------------------------


def test_anyone_sees_the_newest_ended_month_of_listed_published_services(client, world):
    response = _get(client, reverse("insights:performance"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Performance of each service in February 2026" in html
    cells = _cells(html)
    assert list(cells) == ["shed-permit"]  # not the unlisted, not the unpublished
    shed = cells["shed-permit"]
    assert shed["transactions"] == ("published", "30")
    assert shed["cost_per_transaction"] == ("published", "£12.50")
    assert shed["user_satisfaction"] == ("published", "80.0%")
    assert shed["completion_rate"] == ("published", "75.0%")
    assert shed["digital_take_up"] == ("published", "80.0%")
    assert "Apply for a garden shed permit" in html
    assert "Sign up for garden waste collection" not in html
    assert "Public Works" in html
    # The months offered: the ended ones with figures, newest first (not March).
    assert re.findall(r'<option value="(\d{4}-\d{2})"', html) == ["2026-02", "2026-01"]
    assert 'href="/dataset/service-kpis/"' in html
    assert f'href="{reverse("insights:performance_csv")}?month=2026-02"' in html
    for kpi in ("Cost per transaction", "User satisfaction", "Completion rate", "Digital take-up"):
        assert f'<dt class="govuk-summary-list__key">{kpi}</dt>' in html


def test_small_counts_say_there_is_not_enough_data(client, world):
    html = _get(client, reverse("insights:performance"), month="2026-01").content.decode()
    assert "Performance of each service in January 2026" in html
    shed = _cells(html)["shed-permit"]
    assert shed["transactions"] == ("suppressed", "Not enough data to publish")
    assert shed["completion_rate"] == ("suppressed", "Not enough data to publish")  # 4 of 12
    assert shed["digital_take_up"] == ("suppressed", "Not enough data to publish")  # 3 of 4
    assert shed["user_satisfaction"] == ("suppressed", "Not enough data to publish")  # 3 of 3
    assert shed["cost_per_transaction"] == ("unavailable", "Not available")


def test_the_page_reads_a_constant_number_of_queries(client, world, django_assert_num_queries):
    _get(client, reverse("insights:performance"))  # caches warmed
    # The listed services (once for both), the months with figures, the month's figures.
    with django_assert_num_queries(3):
        _get(client, reverse("insights:performance"))
    world["garden"].listed = True
    world["garden"].save(update_fields=["listed"])
    _kpi(world["garden"], date(2026, 1, 1), FEW)
    # Once more the first time: the newly listed service's definition, read once and
    # kept by its checksum.
    with django_assert_num_queries(4):
        _get(client, reverse("insights:performance"))
    with django_assert_num_queries(3):
        response = _get(client, reverse("insights:performance"))
    assert len(_cells(response.content.decode())) == 2


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "Enter the month as a year and a month, for example 2026-02"),
        ("February", "Enter the month as a year and a month, for example 2026-02"),
        ("2026-2", "Enter the month as a year and a month, for example 2026-02"),
        ("0000-01", "Enter the month as a year and a month, for example 2026-02"),
        ("1899-12", "Enter the month as a year and a month, for example 2026-02"),
        ("9999-12", "The month must not be in the future"),
        ("2026-05", "The month must not be in the future"),
        ("", "Choose a month"),
        ("2026-03", "The figures for March 2026 are published once the month has ended"),
        ("2025-06", "There are no figures for June 2025. Choose a month from the list"),
    ],
)
def test_a_month_that_cannot_be_shown_is_refused_clearly(client, world, month, message):
    response = _get(client, reverse("insights:performance"), month=month)
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert message in html
    assert 'href="#id_month"' in html  # the error summary links to the list
    assert "<table" not in html
    response = _get(client, reverse("insights:performance_csv"), month=month)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_before_any_figures_the_page_says_so(client, db):
    response = _get(client, reverse("insights:performance"))
    assert response.status_code == 200
    assert "No figures have been published yet" in response.content.decode()
    assert _get(client, reverse("insights:performance_csv")).status_code == 200


def test_the_page_in_arabic_is_right_to_left(client, world):
    client.cookies["django_language"] = "ar"
    response = _get(client, reverse("insights:performance"))
    assert response.status_code == 200
    assert 'dir="rtl"' in response.content.decode()
    assert "shed-permit" in _cells(response.content.decode())


# --- the CSV -------------------------------------------------------------------------------


def test_the_csv_has_the_same_figures_as_the_page(client, world):
    for month in ("2026-02", "2026-01"):
        page = _cells(_get(client, reverse("insights:performance"), month=month).content.decode())
        response = _get(client, reverse("insights:performance_csv"), month=month)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert f'filename="service-kpis-{month}.csv"' in response["Content-Disposition"]
        rows = _csv(response)
        assert [row["service"] for row in rows] == list(page)
        for row in rows:
            assert row["month"] == f"{month}-01"
            shown = page[row["service"]]
            for name in ("transactions", "cost_per_transaction", "user_satisfaction",
                         "completion_rate", "digital_take_up"):  # fmt: skip
                status, text = shown[name]
                cell = row[name]
                if status == "suppressed":
                    assert cell == ("<5" if name == "transactions" else "[c]")
                elif status == "unavailable":
                    assert cell == "[x]"
                elif name == "transactions":
                    assert text == cell
                elif name == "cost_per_transaction":
                    assert text == f"£{cell}"
                else:
                    assert text == f"{Decimal(cell) * 100:.1f}%"
    february = _csv(_get(client, reverse("insights:performance_csv"), month="2026-02"))
    assert february == [
        {
            "month": "2026-02-01",
            "service": "shed-permit",
            "service_title": "Apply for a garden shed permit",
            "department": "public-works",
            "transactions": "30",
            "cost_per_transaction": "12.50",
            "currency": "GBP",
            "user_satisfaction": "0.800",
            "completion_rate": "0.750",
            "digital_take_up": "0.800",
        }
    ]


def test_without_a_month_the_csv_is_the_pages_default_month(client, world):
    rows = _csv(_get(client, reverse("insights:performance_csv")))
    assert [row["month"] for row in rows] == ["2026-02-01"]


def test_the_csv_cannot_smuggle_a_formula_into_a_spreadsheet(client, world):
    version = world["shed"].current_version
    definition = dict(version.definition)
    definition["title"] = {"en": '=HYPERLINK("https://evil.example","Click")'}
    # (A version is never changed: this one is, with its checksum, as a new one would be.)
    ServiceVersion.objects.filter(pk=version.pk).update(
        definition=definition, checksum=checksum(definition)
    )
    rows = _csv(_get(client, reverse("insights:performance_csv"), month="2026-02"))
    assert rows[0]["service_title"] == '\'=HYPERLINK("https://evil.example","Click")'
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@"))

"""The performance dashboards of the authority, a department and a service: built from
``KpiMonth`` rows (their input, created here directly), within the reader's remit, with
every chart's data as CSV, small ward counts hidden, and the month checked."""

from __future__ import annotations

import csv
import gzip
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.urls import reverse

import ecitizen.cases.tests as cases_tests
from ecitizen.accounts import services as account_services
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.insights import dashboards, selectors
from ecitizen.insights.models import Anomaly, KpiMonth
from tests.factories import JurisdictionFactory, UserFactory
from tests.personas import TOTP_SECRET, sign_in_official

FIXTURES = Path(cases_tests.__file__).resolve().parent / "fixtures"
MONTH = date(2025, 3, 1)
MONTHS = [dashboards.month_add(MONTH, -offset) for offset in range(23, -1, -1)]


@pytest.fixture(autouse=True)
def _april_2025():
    """March 2025 is the latest month that is over: the one the pages open on."""
    with time_machine.travel("2025-04-10 12:00 +00:00", tick=False):
        yield


@pytest.fixture
def published(department, other_department, tmp_path):
    """The shed permit in Revenue (``shed-permit``) and the garden waste service in
    Planning (``garden-waste-collection``), from the cases tests' definitions."""
    for name, slug in (("shed-permit.yaml", "revenue"), ("garden-waste.yaml", "planning")):
        text = (FIXTURES / name).read_text()
        text = re.sub(r"^department: .*$", f"department: {slug}", text, flags=re.MULTILINE)
        (tmp_path / name).write_text(text)
    service_definitions_publish(directory=tmp_path, actor=None)
    return {
        "revenue": Service.objects.get(slug="shed-permit"),
        "planning": Service.objects.get(slug="garden-waste-collection"),
    }


@pytest.fixture
def wards(db):
    return {
        "north": JurisdictionFactory(code="north", name="North"),
        "south": JurisdictionFactory(code="south", name="South"),
    }


def _figures(index: int) -> dict:
    """A month's figures: month ``index`` of 24 (23 is March 2025)."""
    started = 100 + index * 2
    completed = int(started * 0.8)
    figures = {
        "started": started,
        "completed": completed,
        "completed_online": completed - 20,
        "completed_assisted": 12,
        "completed_counter": 8,
        "not_eligible": 4,
        "abandoned": 10,
        "completion_rate": completed / started,
        "digital_take_up": (completed - 20) / completed,
        "assisted_digital_share": 12 / completed,
        "ratings": {"1": 2, "2": 3, "3": 5, "4": 20, "5": 30},
        "rated": 60,
        "satisfaction": 50 / 60,
        "submitted": 90,
        "decided": 80,
        "decision_days_median": 6.5,
        "decision_days_p90": 14.0,
        "decided_with_sla": 80,
        "within_sla": 64,
        "within_sla_rate": 0.8,
        "refused": 8,
        "refusal_rate": 0.1,
        "more_info_rounds": 5,
        "backlog": 30,
        "backlog_by_state": None,
        "backlog_by_age": {"0-5": 12, "6-10": 9, "11-20": 6, "21+": 3},
        "overdue": 4,
        "sla_by_ward": {
            "north": {"decided": 20, "within_sla": 15},
            "south": {"decided": 3, "within_sla": 3},
            "": {"decided": 6, "within_sla": 3},
        },
        "fees_collected": "1234.50",
        "fees_outstanding": "80.00",
        "currency": "GBP",
        "reports_opened": None,
        "reports_fixed": None,
        "fix_days_median": None,
        "cost": None,
    }
    if index == 22:  # February 2025
        figures.update(
            started=150,
            completed=120,
            completion_rate=0.80,
            cost={
                "staff": "880.00",
                "fixed": "200.00",
                "total": "1080.00",
                "startup_excluded": "0.00",
                "per_transaction": "9.00",
                "per_digital_transaction": "8.00",
                "lines": [],
                "missing": [],
            },
        )
    if index == 23:  # March 2025
        figures.update(
            started=168,
            completed=139,
            completion_rate=0.83,
            backlog_by_state={"submitted": 18, "more_info": 12},
            cost={
                "staff": "900.00",
                "fixed": "212.00",
                "total": "1112.00",
                "startup_excluded": "500.00",
                "per_transaction": "8.00",
                "per_digital_transaction": "7.10",
                "lines": [],
                "missing": [],
            },
        )
    return figures


@pytest.fixture
def kpis(published, department, other_department):
    """24 months of figures of both services, both departments and the authority."""
    rows = []
    for index, month in enumerate(MONTHS):
        figures = _figures(index)
        for scope, key, service, dept in (
            ("service", "shed-permit", published["revenue"], department),
            ("service", "garden-waste-collection", published["planning"], other_department),
            ("department", "revenue", None, department),
            ("department", "planning", None, other_department),
            ("authority", "", None, None),
        ):
            rows.append(
                KpiMonth(
                    scope=scope,
                    key=key,
                    service=service,
                    department=dept,
                    month=month,
                    figures=figures,
                )
            )
    KpiMonth.objects.bulk_create(rows)


def _get(client, user, url):
    sign_in_official(client, user)
    return client.get(url)


def _text(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def _urls(published):
    return {
        "authority": reverse("staff:insights"),
        "revenue": reverse("staff:insights_department", args=["revenue"]),
        "planning": reverse("staff:insights_department", args=["planning"]),
        "shed": reverse("staff:insights_service", args=["shed-permit"]),
        "garden": reverse("staff:insights_service", args=["garden-waste-collection"]),
    }


# --- what each reader may see --------------------------------------------------------------


def test_a_service_manager_sees_their_department_and_its_services_and_nothing_else(
    client, service_manager, published, kpis
):
    urls = _urls(published)
    assert _get(client, service_manager, urls["revenue"]).status_code == 200
    assert client.get(urls["shed"]).status_code == 200
    for url in (
        urls["planning"],
        urls["garden"],
        reverse("staff:insights_department_csv", args=["planning", "volumes"]),
        reverse("staff:insights_service_csv", args=["garden-waste-collection", "volumes"]),
        reverse("staff:insights_csv", args=["departments"]),
    ):
        assert client.get(url).status_code == 404, url
    # The authority's page takes them to their department's.
    response = client.get(urls["authority"])
    assert response.status_code == 302
    assert response["Location"] == urls["revenue"]


def test_a_performance_officer_sees_everything(client, performance_officer, published, kpis):
    sign_in_official(client, performance_officer)
    for name, url in _urls(published).items():
        response = client.get(url)
        assert response.status_code == 200, name
    csv_response = client.get(reverse("staff:insights_csv", args=["departments"]))
    rows = _csv(csv_response)
    assert [row[0] for row in rows[1:]] == ["planning", "revenue"]
    # Each department's page lists its own services (every one, for an authority-wide
    # reader), and the authority's page its departments.
    rows = _csv(client.get(reverse("staff:insights_department_csv", args=["planning", "services"])))
    assert [row[0] for row in rows[1:]] == ["garden-waste-collection"]
    html = client.get(_urls(published)["revenue"]).content.decode()
    assert reverse("staff:insights_service", args=["shed-permit"]) + "?month=2025-03" in html
    html = client.get(_urls(published)["authority"]).content.decode()
    assert reverse("staff:insights_department", args=["planning"]) + "?month=2025-03" in html
    assert selectors.services_for_insights(user=performance_officer) == [
        published["planning"],
        published["revenue"],
    ]


@pytest.mark.parametrize("persona", ["case_officer", "resident", "department_admin"])
def test_officials_without_the_capability_and_residents_are_refused(
    client, request, published, kpis, persona
):
    user = request.getfixturevalue(persona)
    if persona == "resident":
        client.force_login(user)
    else:
        sign_in_official(client, user)
    for url in _urls(published).values():
        assert client.get(url).status_code == 403, url
    assert client.get(reverse("staff:insights_csv", args=["volumes"])).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, published, kpis):
    for url in _urls(published).values():
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_a_ward_limited_service_manager_sees_the_services_and_only_their_ward(
    client, department, published, kpis, wards
):
    user = UserFactory(email="ward.manager@example.test")
    account_services.role_assign(
        user=user,
        role="service_manager",
        department=department,
        jurisdiction=wards["north"],
        actor=None,
        system=True,
    )
    account_services.mfa_totp_activate(user=user, secret=TOTP_SECRET, actor=None)
    urls = _urls(published)
    # No department totals; the department's services, with their own ward's row only.
    assert _get(client, user, urls["revenue"]).status_code == 404
    assert client.get(urls["garden"]).status_code == 404
    page = client.get(urls["shed"])
    assert page.status_code == 200
    text = _text(page)
    assert "North" in text
    assert "South" not in text
    assert "No ward" not in text
    rows = _csv(
        client.get(reverse("staff:insights_service_csv", args=["shed-permit", "sla-by-ward"]))
    )
    assert [row[0] for row in rows[1:]] == ["north"]
    # The authority's page lists what they may open.
    listing = client.get(urls["authority"])
    assert listing.status_code == 200
    assert reverse("staff:insights_service", args=["shed-permit"]) in listing.content.decode()
    assert selectors.departments_for_insights(user=user) == []
    assert selectors.wards_for_insights(user=user, service=published["revenue"]) == {"north"}


# --- what the pages show ----------------------------------------------------------------------


def test_the_service_page_shows_the_four_kpis_against_last_month_and_last_year(
    client, service_manager, published, kpis
):
    text = _text(_get(client, service_manager, _urls(published)["shed"]))
    assert "Key performance indicators, March 2025" in text
    assert "Completion rate rose 3 percentage points on last month, from 80% to 83%." in text
    assert "Cost per transaction" in text
    assert "£8.00" in text
    assert "Per digital transaction: £7.10." in text
    assert "Cost per transaction fell 11% on last month, from £9.00 to £8.00." in text
    assert "Start-up costs of £500.00 are left out." in text
    # February 2025 and March 2024 are the comparisons.
    assert "February 2025" in text
    assert "March 2024" in text
    # Satisfaction: 50 of 60 ratings were 4 or 5.
    assert "83%" in text
    assert "Satisfied or very satisfied, of 60 ratings." in text
    # The trend sentence of the volumes chart.
    assert "Transactions started rose 12% on last month, from 150 to 168." in text
    # The end pages and error pages of the service.
    assert "End pages and error pages" in text
    assert "Application sent" in text
    assert "Page not found" in text
    # The way to the forecast (the manager covers the whole department).
    assert (
        reverse("staff:insights_forecast", args=["shed-permit"])
        in _get(client, service_manager, _urls(published)["shed"]).content.decode()
    )


def test_the_department_page_lists_its_services_with_their_kpis(
    client, service_manager, published, kpis
):
    response = _get(client, service_manager, _urls(published)["revenue"])
    html = response.content.decode()
    assert reverse("staff:insights_service", args=["shed-permit"]) + "?month=2025-03" in html
    assert "garden-waste-collection" not in html
    rows = _csv(client.get(reverse("staff:insights_department_csv", args=["revenue", "services"])))
    assert rows[0] == [
        "key",
        "name",
        "completed",
        "cost_per_transaction",
        "satisfaction",
        "completion_rate",
        "digital_take_up",
        "backlog",
    ]
    assert rows[1][:4] == ["shed-permit", "Apply for a garden shed permit", "139", "8.00"]
    assert rows[1][5] == "0.83"


def test_every_chart_is_an_accessible_svg_with_a_table_and_a_csv_link(
    client, performance_officer, published, kpis
):
    response = _get(client, performance_officer, _urls(published)["shed"])
    html = response.content.decode()
    slugs = re.findall(r'<section class="[^"]*" id="chart-([a-z-]+)"', html)
    assert slugs == [
        "volumes",
        "rates",
        "cost",
        "decision-days",
        "backlog",
        "sla-by-ward",
        "backlog-by-age",
        "backlog-by-state",
        "ratings",
    ]
    assert html.count('role="img"') == len(slugs)
    assert html.count('dir="ltr" direction="ltr"') == len(slugs)
    for slug in slugs:
        url = reverse("staff:insights_service_csv", args=["shed-permit", slug]) + "?month=2025-03"
        assert url in html
        assert f'aria-labelledby="chart-{slug}-svg-title"' in html
    # No inline style anywhere in the charts (the CSP allows none).
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL):
        assert "style=" not in svg
        assert "<script" not in svg


def test_a_chart_s_csv_holds_the_values_of_its_table(client, service_manager, published, kpis):
    sign_in_official(client, service_manager)
    page = dashboards.service_dashboard(
        user=service_manager, service=published["revenue"], month=MONTH
    )
    panel = next(p for p in page.trends if p.slug == "volumes")
    rows = _csv(
        client.get(
            reverse("staff:insights_service_csv", args=["shed-permit", "volumes"])
            + "?month=2025-03"
        )
    )
    assert rows[0] == ["month", "started", "completed", "submitted", "decided"]
    assert len(rows) - 1 == len(panel.chart.rows) == 24
    for (month_text, *values), (label, texts) in zip(rows[1:], panel.chart.rows, strict=True):
        year, month = (int(part) for part in month_text.split("-"))
        assert label == date(year, month, 1).strftime("%b %Y")
        assert [f"{int(v):,}" for v in values] == texts
    assert rows[-1] == ["2025-03", "168", "139", "90", "80"]
    assert rows[-2] == ["2025-02", "150", "120", "90", "80"]

    rates = _csv(client.get(reverse("staff:insights_service_csv", args=["shed-permit", "rates"])))
    assert rates[-1][:2] == ["2025-03", "0.83"]
    panel = next(p for p in page.trends if p.slug == "rates")
    assert panel.chart.rows[-1][1][0] == "83%"
    response = client.get(reverse("staff:insights_service_csv", args=["shed-permit", "rates"]))
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="performance-shed-permit-rates-2025-03.csv"'
    )
    # A chart the page does not have is not found.
    assert (
        client.get(
            reverse("staff:insights_service_csv", args=["shed-permit", "nothing"])
        ).status_code
        == 404
    )


def test_wards_with_few_decided_cases_are_shown_as_fewer_than_the_threshold(
    client, service_manager, published, kpis, wards, settings
):
    """North 20 decided (15 on time), South 3 (3), no ward 6 (3): 29 in all, which the
    page shows. South is under the threshold; with it alone hidden, 29 - 20 - 6 would give
    it back, so the next smallest (no ward, 6) is hidden too."""
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    page = dashboards.service_dashboard(
        user=service_manager, service=published["revenue"], month=MONTH
    )
    panel = next(p for p in page.breakdowns if p.slug == "sla-by-ward")
    assert panel.chart.rows == [
        ("North", ["75% (15 of 20 decided)"]),
        ("South", ["fewer than 5 decided"]),
        ("No ward", ["not shown"]),
    ]
    assert panel.note == (
        "1 ward had fewer than 5 decided cases: its figures are not shown, so that nobody "
        "can be recognised from them. 1 more ward is not shown, so that the service's total "
        "less the wards shown cannot give a small count away."
    )
    assert panel.summary == "North: 75% decided within the target time."
    # South's counts (3 of 3) appear nowhere: not in the chart, not in the CSV, and the
    # total less the wards shown is 9, South and no ward together.
    assert "3 of 3" not in str(panel.chart.svg)
    assert "3 of 6" not in str(panel.chart.svg)
    rows = _csv(
        _get(
            client,
            service_manager,
            reverse("staff:insights_service_csv", args=["shed-permit", "sla-by-ward"]),
        )
    )
    assert rows == [
        ["ward_code", "ward", "decided", "within_sla", "within_sla_rate"],
        ["north", "North", "20", "15", "0.75"],
        ["south", "South", "<5", "<5", ""],
        ["", "No ward", "[c]", "[c]", ""],
    ]
    # A higher threshold hides the ward without a name too; together they are 9 (under
    # 10), which 29 - 20 would tell: North goes as well.
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 10
    page = dashboards.service_dashboard(
        user=service_manager, service=published["revenue"], month=MONTH
    )
    panel = next(p for p in page.breakdowns if p.slug == "sla-by-ward")
    assert [texts for _label, texts in panel.chart.rows] == [
        ["not shown"],
        ["fewer than 10 decided"],
        ["fewer than 10 decided"],
    ]
    assert panel.summary == (
        "No ward's share can be shown: too few cases were decided in some wards, and the "
        "others are not shown so that the service's total cannot give those away."
    )
    # Every ward under the threshold: the chart stays, saying so for each.
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 50
    page = dashboards.service_dashboard(
        user=service_manager, service=published["revenue"], month=MONTH
    )
    panel = next(p for p in page.breakdowns if p.slug == "sla-by-ward")
    assert [texts for _label, texts in panel.chart.rows] == [["fewer than 50 decided"]] * 3
    assert panel.summary == "None of the 3 wards had enough decided cases to show their share."
    assert "3 wards had fewer than 50 decided cases" in panel.note
    assert "more ward" not in panel.note


def test_a_ward_limited_reader_s_ward_is_hidden_when_it_would_give_another_away(
    client, department, published, wards, settings
):
    """North 20 and South 3, 23 in all: a manager of North alone sees North's row "not
    shown" (23 - 20 would tell South's 3), as everyone does."""
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    figures = {
        **_figures(23),
        "sla_by_ward": {
            "north": {"decided": 20, "within_sla": 15},
            "south": {"decided": 3, "within_sla": 3},
        },
    }
    panel = dashboards.sla_by_ward_panel(figures, wards=frozenset({"north"}), month="March 2025")
    assert panel is not None
    assert panel.chart.rows == [("North", ["not shown"])]
    assert panel.csv.rows == [["north", "North", "[c]", "[c]", None]]
    assert panel.summary == (
        "The share of North is not shown, so that the service's total cannot give a "
        "smaller ward's count away."
    )
    assert panel.note == (
        "1 more ward is not shown, so that the service's total less the wards shown cannot "
        "give a small count away."
    )


def test_small_counts_hidden_against_their_totals():
    hide = dashboards.small_counts_hidden
    # One small cell: the next smallest with a count goes too (not the zero).
    assert hide({"a": 20, "b": 3, "c": 7, "d": 0}, [["a", "b", "c", "d"]], limit=5) == (
        {"b"},
        {"c"},
    )
    # Two small cells adding up to fewer than the threshold: one more.
    assert hide({"a": 20, "b": 1, "c": 2, "d": 9}, [["a", "b", "c", "d"]], limit=5) == (
        {"b", "c"},
        {"d"},
    )
    # Two small cells adding up to the threshold or more: enough.
    assert hide({"a": 20, "b": 2, "c": 3}, [["a", "b", "c"]], limit=5) == ({"b", "c"}, set())
    # A cell hidden for one total, alone in another, takes one more there.
    values = {"1": 1, "2": 0, "3": 9, "4": 6, "5": 30}
    small, secondary = hide(values, [["1", "2", "3", "4", "5"], ["5", "4"]], limit=5)
    assert (small, secondary) == ({"1"}, {"4", "5"})
    # The only counted cell: nothing to hide with it but the zeros.
    assert hide({"a": 3, "b": 0}, [["a", "b"]], limit=5) == ({"a"}, {"b"})
    assert hide({"a": 3}, [["a"]], limit=5) == ({"a"}, set())
    # Nothing small: nothing hidden, zeros shown.
    assert hide({"a": 0, "b": 10}, [["a", "b"]], limit=5) == (set(), set())


def _sla_summary(by_ward: dict) -> str:
    panel = dashboards.sla_by_ward_panel({"sla_by_ward": by_ward}, wards=None, month="March 2025")
    assert panel is not None
    return panel.summary


def test_the_sla_sentence_of_one_ward_names_it_once(wards, settings):
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    # One row: its share, not "highest … lowest" of the same ward.
    assert (
        _sla_summary({"": {"decided": 10, "within_sla": 8}})
        == "Cases with no ward: 80% decided within the target time."
    )
    assert (
        _sla_summary({"north": {"decided": 20, "within_sla": 15}})
        == "North: 75% decided within the target time."
    )
    # One ward withheld, and the other with it: the total less it would tell the first.
    assert _sla_summary(
        {"north": {"decided": 20, "within_sla": 15}, "south": {"decided": 3, "within_sla": 3}}
    ) == (
        "No ward's share can be shown: too few cases were decided in some wards, and the "
        "others are not shown so that the service's total cannot give those away."
    )
    # One ward withheld, another hidden with it, a third shown.
    assert (
        _sla_summary(
            {
                "north": {"decided": 20, "within_sla": 15},
                "south": {"decided": 3, "within_sla": 3},
                "": {"decided": 30, "within_sla": 24},
            }
        )
        == "Cases with no ward: 80% decided within the target time."
    )
    # Every row withheld.
    assert (
        _sla_summary({"north": {"decided": 3, "within_sla": 3}})
        == "Too few cases were decided in North to show its share."
    )
    assert (
        _sla_summary({"": {"decided": 2, "within_sla": 1}})
        == "Too few cases with no ward were decided to show their share."
    )
    assert (
        _sla_summary(
            {"north": {"decided": 3, "within_sla": 3}, "south": {"decided": 1, "within_sla": 0}}
        )
        == "None of the 2 wards had enough decided cases to show their share."
    )
    # Several wards with the same share.
    assert (
        _sla_summary(
            {"north": {"decided": 20, "within_sla": 16}, "": {"decided": 10, "within_sla": 8}}
        )
        == "Each of the 2 wards with a share shown decided 80% within the target time."
    )


def _march(published, **changes) -> None:
    """March 2025 of the shed permit with ``changes`` to its figures."""
    row = KpiMonth.objects.get(scope="service", key="shed-permit", month=MONTH)
    row.figures = {**row.figures, **changes}
    row.save()


def _ratings_csv(client, user) -> dict[str, str]:
    rows = _csv(
        _get(client, user, reverse("staff:insights_service_csv", args=["shed-permit", "ratings"]))
    )
    assert rows[0] == ["key", "label", "count"]
    return {row[0]: row[2] for row in rows[1:]}


def test_ratings_by_level_hide_small_counts_against_their_totals(
    client, service_manager, published, kpis, settings
):
    """March: 2 very dissatisfied, 3 dissatisfied, 5 neither, 20 satisfied, 30 very
    satisfied; 60 ratings, 50 satisfied (83%, shown: 10 were not). The 2 and the 3 are
    hidden; together they are 5, which 60 - 55 or 10 - 5 tells, and not a small count."""
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    assert _ratings_csv(client, service_manager) == {
        "5": "30",
        "4": "20",
        "3": "5",
        "2": "<5",
        "1": "<5",
    }
    page = dashboards.service_dashboard(
        user=service_manager, service=published["revenue"], month=MONTH
    )
    panel = next(p for p in page.breakdowns if p.slug == "ratings")
    assert panel.chart.rows == [
        ("Very satisfied", ["30"]),
        ("Satisfied", ["20"]),
        ("Neither satisfied nor dissatisfied", ["5"]),
        ("Dissatisfied", ["fewer than 5"]),
        ("Very dissatisfied", ["fewer than 5"]),
    ]
    assert panel.summary == "83% of 60 ratings were satisfied or very satisfied."
    assert panel.note == (
        "A level with fewer than 5 ratings shows “fewer than 5”, so that nobody can be "
        "recognised from it."
    )


def test_one_very_dissatisfied_rating_is_not_shown_nor_the_share_that_gives_it_away(
    client, service_manager, published, kpis, settings
):
    """1 very dissatisfied, 2 neither, 20 satisfied, 30 very satisfied: 53 ratings, 50
    satisfied. The 1 and the 2 are hidden; they add up to 3, which 53 - 50 would tell, so
    the next smallest (the 20 satisfied) goes too; and the share (50 of 53) is withheld,
    as the public page does (3 not satisfied is a small count)."""
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    _march(
        published,
        ratings={"1": 1, "2": 0, "3": 2, "4": 20, "5": 30},
        rated=53,
        satisfaction=50 / 53,
    )
    assert _ratings_csv(client, service_manager) == {
        "5": "30",
        "4": "[c]",
        "3": "<5",
        "2": "0",
        "1": "<5",
    }
    page = dashboards.service_dashboard(
        user=service_manager, service=published["revenue"], month=MONTH
    )
    panel = next(p for p in page.breakdowns if p.slug == "ratings")
    assert [texts for _label, texts in panel.chart.rows] == [
        ["30"],
        ["not shown"],
        ["fewer than 5"],
        ["0"],
        ["fewer than 5"],
    ]
    assert panel.summary == (
        "53 ratings; the share satisfied or very satisfied is not shown, as it could point "
        "at a person."
    )
    assert "1 more level is not shown, so that the totals cannot give a small count away." in (
        panel.note
    )
    (kpi,) = [k for k in page.kpis if k.key == "satisfaction"]
    assert kpi.value == "\N{EN DASH}"
    assert kpi.last_month == "83%"  # February: 50 of 60
    assert kpi.sentence.startswith("Not shown for this month: with fewer than 5 ratings")
    text = _text(_get(client, service_manager, _urls(published)["shed"]))
    assert "94%" not in text  # 50 of 53
    rates = _csv(client.get(reverse("staff:insights_service_csv", args=["shed-permit", "rates"])))
    march = rates[-1]
    assert march[0] == "2025-03"
    assert march[rates[0].index("satisfaction")] == ""
    assert rates[-2][rates[0].index("satisfaction")] == str(round(50 / 60, 6))
    # Likewise the department's table of its services.
    sign_in_official(client, service_manager)
    services = _csv(
        client.get(reverse("staff:insights_department_csv", args=["revenue", "services"]))
    )
    (shed,) = [row for row in services[1:] if row[0] == "shed-permit"]
    assert shed[services[0].index("satisfaction")] == ""


def test_the_completion_kpi_counts_the_month_s_cohort(client, service_manager, published, kpis):
    """March: 168 started, of whom 120 completed (whenever); 139 completions in March."""
    _march(published, started_completed=120, completion_rate=120 / 168)
    text = _text(_get(client, service_manager, _urls(published)["shed"]))
    assert "120 of 168 journeys started were completed." in text
    # Figures computed before the cohort rate have no cohort count: the month's
    # completions stand in.
    row = KpiMonth.objects.get(scope="service", key="shed-permit", month=MONTH)
    del row.figures["started_completed"]
    row.save()
    text = _text(client.get(_urls(published)["shed"]))
    assert "139 of 168 journeys started were completed." in text


def test_non_finite_amounts_are_shown_as_missing(client, performance_officer, published, kpis):
    """A JSON column refuses NaN and infinite numbers, but amounts are text: "NaN" and
    "Infinity" read as missing, on the page and in every CSV."""
    assert dashboards.money_text("NaN") == "\N{EN DASH}"
    assert dashboards.money_text("-Infinity") == "\N{EN DASH}"
    assert dashboards.money_text("inf") == "\N{EN DASH}"
    assert dashboards.money_text("12.5") == "£12.50"
    assert dashboards.money_value("sNaN") is None
    assert dashboards.money_value(True) is None
    assert dashboards.money_value("1234.50") == Decimal("1234.50")
    _march(
        published,
        fees_collected="NaN",
        fees_outstanding="Infinity",
        cost={
            "staff": "NaN",
            "fixed": "Infinity",
            "total": "NaN",
            "startup_excluded": "0.00",
            "per_transaction": "NaN",
            "per_digital_transaction": "-Infinity",
            "lines": [],
            "missing": [],
        },
    )
    non_finite = re.compile(r"\b(nan|-?inf|-?infinity)\b|∞", re.IGNORECASE)
    text = _text(_get(client, performance_officer, _urls(published)["shed"]))
    assert not non_finite.search(text)
    dash = "\N{EN DASH}"
    assert f"Staff time {dash} and fixed costs {dash}: {dash} in all." in text
    for slug in ("figures", "cost", "rates", "volumes"):
        body = client.get(
            reverse("staff:insights_service_csv", args=["shed-permit", slug])
        ).content.decode()
        assert not non_finite.search(body), slug
    figures = {
        row[0]: row[1:]
        for row in _csv(
            client.get(reverse("staff:insights_service_csv", args=["shed-permit", "figures"]))
        )
    }
    assert figures["fees_collected"] == ["", "1234.50", "1234.50"]
    cost = _csv(client.get(reverse("staff:insights_service_csv", args=["shed-permit", "cost"])))
    assert cost[-1] == ["2025-03", "", ""]
    assert cost[-2] == ["2025-02", "9.00", "8.00"]


def test_one_month_of_figures_has_a_volumes_table_and_its_csv(
    client, service_manager, published, settings
):
    """The first month of a service: no line to draw, yet the volumes panel is listed with
    its table, and every chart listed downloads; a second month draws it, on a
    whole-number axis."""
    KpiMonth.objects.create(
        scope="service",
        key="shed-permit",
        service=published["revenue"],
        month=MONTH,
        figures={"started": 12, "completed": 10},
    )
    url = _urls(published)["shed"] + "?month=2025-03"
    response = _get(client, service_manager, url)
    html = response.content.decode()
    slugs = re.findall(r'<section class="[^"]*" id="chart-([a-z-]+)"', html)
    assert slugs == ["volumes"]
    text = _text(response)
    assert "A trend needs figures for two months or more" in text
    assert "Transactions started: 12; there is no figure for last month to compare with." in text
    assert "Mar 2025 12 10" in text  # the table: the one month with figures
    assert '<details class="govuk-details govuk-!-margin-bottom-2" open>' in html
    assert 'role="img"' not in html
    for slug in slugs:
        csv_url = reverse("staff:insights_service_csv", args=["shed-permit", slug])
        assert csv_url + "?month=2025-03" in html
        rows = _csv(client.get(csv_url + "?month=2025-03"))
        assert rows[0] == ["month", "started", "completed", "submitted", "decided"]
        assert len(rows) == 1 + 24
        assert rows[-1] == ["2025-03", "12", "10", "", ""]
    page = dashboards.service_dashboard(
        user=service_manager, service=published["revenue"], month=MONTH
    )
    panel = page.trends[0]
    assert str(panel.chart.svg) == ""
    assert panel.chart.rows == [("Mar 2025", ["12", "10"])]
    assert panel.chart.columns == ["Transactions started", "Transactions completed"]
    # A month before: a line, read against whole numbers (0, 5, 10, 15: no 2.5).
    KpiMonth.objects.create(
        scope="service",
        key="shed-permit",
        service=published["revenue"],
        month=date(2025, 2, 1),
        figures={"started": 3, "completed": 1},
    )
    page = dashboards.service_dashboard(
        user=service_manager, service=published["revenue"], month=MONTH
    )
    svg = str(page.trends[0].chart.svg)
    assert 'role="img"' in svg
    axis = re.findall(r'text-anchor="end" dominant-baseline="middle">([^<]*)</text>', svg)
    assert axis == ["0", "5", "10", "15"]
    assert page.trends[0].summary == "Transactions started rose 300% on last month, from 3 to 12."


def test_anomalies_of_the_services_in_view_are_flagged(client, service_manager, published, kpis):
    Anomaly.objects.create(
        service=published["revenue"],
        series="applications",
        week=date(2025, 3, 3),
        observed=80,
        expected=40,
        low95=30,
        high95=52,
    )
    Anomaly.objects.create(
        service=published["planning"],
        series="applications",
        week=date(2025, 3, 3),
        observed=5,
        expected=40,
        low95=30,
        high95=52,
    )
    text = _text(_get(client, service_manager, _urls(published)["revenue"]))
    assert "3 March 2025 Apply for a garden shed permit Applications 80 40 (30 to 52)" in text
    assert "Higher than expected" in text
    assert "Lower than expected" not in text  # Planning's is not Revenue's business


# --- the month ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2025-13", "Enter a month as its year and number, for example 2025-03."),
        ("March", "Enter a month as its year and number, for example 2025-03."),
        ("2025-05", "The month must be this month or earlier: there are no figures for"),
    ],
)
def test_a_bad_or_future_month_gets_a_clear_message(
    client, service_manager, published, kpis, month, message
):
    response = _get(client, service_manager, _urls(published)["shed"] + f"?month={month}")
    assert response.status_code == 200
    text = _text(response)
    assert "There is a problem" in text
    assert message in text
    assert 'href="#id_month"' in response.content.decode()
    # The page shows the latest month instead.
    assert "Key performance indicators, March 2025" in text
    csv_response = client.get(
        reverse("staff:insights_service_csv", args=["shed-permit", "volumes"]) + f"?month={month}"
    )
    assert csv_response.status_code == 400
    assert message in csv_response.content.decode()


def test_an_earlier_month_is_shown_and_a_month_without_figures_says_so(
    client, service_manager, published, kpis
):
    text = _text(_get(client, service_manager, _urls(published)["shed"] + "?month=2024-06"))
    assert "Key performance indicators, June 2024" in text
    text = _text(client.get(_urls(published)["shed"] + "?month=2019-01"))
    assert "There are no figures for January 2019 yet." in text
    assert "There is a problem" not in text


def test_the_pages_open_on_the_latest_month_that_is_over(client, service_manager, published, kpis):
    with time_machine.travel("2025-03-20 12:00 +00:00", tick=False):
        text = _text(_get(client, service_manager, _urls(published)["shed"]))
        assert "Key performance indicators, February 2025" in text
        assert "is not over" not in text
        text = _text(client.get(_urls(published)["shed"] + "?month=2025-03"))
        assert "Key performance indicators, March 2025" in text
        assert "March 2025 is not over: its figures are those up to last night" in text
    assert dashboards.month_default([], today=date(2025, 3, 20)) == date(2025, 3, 1)
    assert dashboards.month_default([date(2025, 3, 1)], today=date(2025, 3, 20)) == date(2025, 3, 1)


def test_month_parse():
    today = date(2025, 3, 15)
    assert dashboards.month_parse("2025-03", today=today) == date(2025, 3, 1)
    assert dashboards.month_parse(" 2024-12 ", today=today) == date(2024, 12, 1)
    for bad in ("2025-3", "2025-00", "25-03", "", "2025-03-01"):
        with pytest.raises(Exception, match="Enter a month") as caught:
            dashboards.month_parse(bad, today=today)
        assert caught.value.code == "bad_month"
    with pytest.raises(Exception, match="this month or earlier") as caught:
        dashboards.month_parse("2025-04", today=today)
    assert caught.value.code == "future_month"


# --- CSV safety ----------------------------------------------------------------------------------


def test_csv_file_names_are_safe():
    assert (
        dashboards.csv_filename(scope="service", key="a b/../c", slug="sla", month=MONTH)
        == "performance-a-b-c-sla-2025-03.csv"
    )


def test_a_ward_named_like_a_formula_is_neutralised_in_the_csv(
    client, performance_officer, published, kpis, wards
):
    wards["north"].name = "=cmd|' /C calc'!A0"
    wards["north"].save()
    rows = _csv(
        _get(
            client,
            performance_officer,
            reverse("staff:insights_service_csv", args=["shed-permit", "sla-by-ward"]),
        )
    )
    assert ["north", "'=cmd|' /C calc'!A0", "20", "15", "0.75"] in rows


# --- weight, queries, language -------------------------------------------------------------------


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def test_the_dashboards_stay_within_the_page_weight_budget(
    client, performance_officer, published, kpis, settings
):
    """The budget of tests/test_page_weight.py: 100 kB transferred (gzip of the HTML and
    of the CSS and JavaScript it links)."""
    sign_in_official(client, performance_officer)
    for url in _urls(published).values():
        response = client.get(url)
        html = response.content.decode()
        assets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
        assets += re.findall(r'<script[^>]+src="([^"]+)"', html)
        total = _gzip_size(response.content)
        for asset in set(assets):
            path = finders.find(asset.removeprefix(settings.STATIC_URL).split("?")[0])
            assert path, asset
            total += _gzip_size(Path(path).read_bytes())
        assert total <= 100 * 1024, f"{url}: {total / 1024:.1f} kB"


def test_the_dashboards_read_a_bounded_number_of_queries(
    client, performance_officer, service_manager, published, kpis, django_assert_max_num_queries
):
    sign_in_official(client, performance_officer)
    client.get(_urls(published)["authority"])  # sessions and caches warmed
    for url in _urls(published).values():
        with django_assert_max_num_queries(16):
            assert client.get(url).status_code == 200


def test_the_pages_are_right_to_left_in_arabic_and_the_charts_stay_left_to_right(
    client, service_manager, published, kpis
):
    sign_in_official(client, service_manager)
    client.cookies["django_language"] = "ar"
    response = client.get(_urls(published)["shed"], HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="ar"' in html
    assert 'dir="rtl"' in html
    assert html.count('dir="ltr" direction="ltr"') >= 5

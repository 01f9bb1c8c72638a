"""Insights in a real browser: a service manager signs in with their authenticator code,
opens "Performance", reads their department's dashboard (the four KPIs against last month
and a year before, a chart with its data table and trend sentence), downloads a chart's
data as CSV, opens a service's dashboard and its forecast with the staffing advice, and
cannot open another department's; the public performance page with a withheld figure;
the dashboard and the public page in Arabic (right to left, the charts left to right); a
department administrator enters a month's costs with a mistake, then correctly.

The figures are written directly (``KpiMonth`` and ``Forecast`` rows, staffing and
handling times through ``insights.services.costs``), for the month that ended last and
the 23 before it. Every page is checked with axe-core (WCAG 2.2 AA) and at 375 px by
``assert_accessible``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

import ecitizen.cases.tests as cases_tests
from ecitizen.accounts.services import preferences_update
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.insights.models import Forecast, KpiMonth, ServiceMonthCost
from ecitizen.insights.services.costs import action_time_set, staffing_set
from tests.browser.conftest import AccessibilityLedger, assert_accessible
from tests.browser.journeys import enter_totp_code, sign_in_by_keyboard
from tests.personas import TOTP_SECRET

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(cases_tests.__file__).resolve().parent / "fixtures"
SHED = "Apply for a garden shed permit"
#: What a dashboard shows for a month without the figure (an en dash).
NO_FIGURE = "\u2013"


def _month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


#: The month that ended last: the dashboards' and the public page's default month.
THIS = _month_add(timezone.localdate().replace(day=1), -1)
MONTHS = [_month_add(THIS, -offset) for offset in range(23, -1, -1)]


def _figures(index: int) -> dict:
    """Month ``index`` of 24 (23 is ``THIS``, 22 the month before, 11 a year before)."""
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
        "sla_by_ward": {"": {"decided": 80, "within_sla": 64}},
        "fees_collected": "1234.50",
        "fees_outstanding": "80.00",
        "currency": "GBP",
        "reports_opened": None,
        "reports_fixed": None,
        "fix_days_median": None,
        "cost": None,
    }
    if index == 22:
        figures.update(
            started=150,
            completed=120,
            completed_online=100,
            completion_rate=0.80,
            digital_take_up=100 / 120,
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
    if index == 23:
        figures.update(
            started=168,
            completed=139,
            completed_online=119,
            completion_rate=139 / 168,
            digital_take_up=119 / 139,
            backlog_by_state={"submitted": 18, "info_needed": 12},
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


#: Garden waste's month: 4 completed of 12 started, 3 ratings: too few to publish.
FEW = {
    "started": 12,
    "completed": 4,
    "completed_online": 3,
    "completed_assisted": 1,
    "completed_counter": 0,
    "ratings": {"5": 3},
    "rated": 3,
    "satisfaction": 1.0,
    "completion_rate": 4 / 12,
    "digital_take_up": 0.75,
    "currency": "GBP",
    "cost": None,
}


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 5
    settings.CURRENCY = "GBP"
    settings.INSIGHTS_DIR = tmp_path / "insights"


@pytest.fixture
def published(tmp_path, department, other_department):
    """The garden shed permit in Revenue (the personas' department) and garden waste in
    Planning & Building, both published and listed."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    for name, slug in (("shed-permit.yaml", "revenue"), ("garden-waste.yaml", "planning")):
        text = (FIXTURES / name).read_text(encoding="utf-8")
        text = re.sub(r"^department: .*$", f"department: {slug}", text, flags=re.MULTILINE)
        (folder / name).write_text(text, encoding="utf-8")
    service_definitions_publish(directory=folder, actor=None)
    return {
        "shed": Service.objects.get(slug="shed-permit"),
        "garden": Service.objects.get(slug="garden-waste-collection"),
    }


@pytest.fixture
def figures(published, department, other_department, service_manager):
    """24 months of figures of the shed permit, of both departments and of the authority;
    garden waste's last month (too few to publish); the shed permit's forecast and
    staffing."""
    shed, garden = published["shed"], published["garden"]
    rows = []
    for index, month in enumerate(MONTHS):
        for scope, key, service, dept in (
            ("service", "shed-permit", shed, department),
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
                    figures=_figures(index),
                )
            )
    rows.append(
        KpiMonth(
            scope="service",
            key="garden-waste-collection",
            service=garden,
            department=other_department,
            month=THIS,
            figures=FEW,
        )
    )
    KpiMonth.objects.bulk_create(rows)
    _forecasts(shed, service_manager)
    return published


def _forecasts(shed: Service, manager) -> date:
    """The shed permit's applications by week: AutoETS, MASE 0.83, 60 a week and 252 in
    week 12; 30 minutes of a case officer's time a case; 3 officers of 40 hours, 75% on
    cases (30 hours each): week 12 needs 252 * 0.5 h / 30 h = 4.2 officers."""
    start = timezone.localdate() + timedelta(days=7 - timezone.localdate().weekday())
    Forecast.objects.create(
        service=shed,
        series="applications",
        frequency="week",
        status="ok",
        history_points=104,
        needed_points=32,
        model="AutoETS",
        mase=0.83,
        backtest={
            "windows": 3,
            "horizon": 12,
            "candidates": [
                {"model": "SeasonalNaive", "mae": 10.0, "mase": 1.0},
                {"model": "AutoETS", "mae": 8.3, "mase": 0.83},
            ],
        },
        points=[
            {
                "date": (start + timedelta(weeks=week)).isoformat(),
                "mean": mean,
                "lo80": mean - 10,
                "hi80": mean + 12,
                "lo95": mean - 15,
                "hi95": mean + 20,
            }
            for week, mean in enumerate([60] * 11 + [252])
        ],
        history=[
            {"date": (start - timedelta(weeks=13 - week)).isoformat(), "value": 57 + week % 3}
            for week in range(13)
        ],
    )
    action_time_set(
        service=shed, action="start_review", minutes="30", role="case_officer", actor=manager
    )
    staffing_set(
        service=shed,
        officers="3",
        hours_per_week="40",
        productive_share="0.75",
        counter_hours_per_week="35",
        counter_minutes_per_visit="12",
        counter_wait_target_seconds=300,
        counter_service_level="0.80",
        actor=manager,
    )
    return start


def _sign_in(page: Page, user) -> None:
    sign_in_by_keyboard(page, user.email)
    assert_accessible(page)  # the code page
    enter_totp_code(page, TOTP_SECRET)
    assert_accessible(page)


def _text(locator) -> str:
    return re.sub(r"\s+", " ", locator.inner_text()).strip()


def _compared(card) -> dict[str, str]:
    """A KPI card's comparisons: month -> the figure shown for it."""
    rows = card.locator(".govuk-summary-list__row")
    return {
        _text(rows.nth(i).locator("dt")): _text(rows.nth(i).locator("dd"))
        for i in range(rows.count())
    }


# --- 1. a service manager ---------------------------------------------------------------


@pytest.mark.smoke
def test_a_service_manager_reads_the_dashboard_the_csv_and_the_forecast(
    page: Page, service_manager, figures
):
    this, last, year = (m.strftime("%B %Y") for m in (THIS, MONTHS[22], MONTHS[11]))
    _sign_in(page, service_manager)

    # "Performance" in the staff pages' navigation: the authority's page takes a service
    # manager to their department's.
    with page.expect_navigation():
        page.get_by_role("navigation", name="Menu").get_by_role("link", name="Staff").click()
    assert_accessible(page)
    staff_pages = page.get_by_role("navigation", name="Staff pages")
    with page.expect_navigation():
        staff_pages.get_by_role("link", name="Performance", exact=True).click()
    page.wait_for_url("**" + reverse("staff:insights_department", args=["revenue"]))
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Revenue")

    # The four KPIs of the month that ended, against the month before and a year before
    # (completion 139 of 168, 120 of 150, 97 of 122; online 119 of 139, 100 of 120, 77
    # of 97; 50 of 60 ratings satisfied; £1,112.00 over 139, £1,080.00 over 120, none).
    expect(page.locator("main h2#kpis")).to_have_text(f"Key performance indicators, {this}")
    expected = {
        "cost_per_transaction": ("£8.00", "£9.00", NO_FIGURE),
        "satisfaction": ("83%", "83%", "83%"),
        "completion_rate": ("83%", "80%", "80%"),
        "digital_take_up": ("86%", "83%", "79%"),
    }
    for key, (now, before, a_year_before) in expected.items():
        card = page.locator(f"#kpi-{key}")
        expect(card.locator(".govuk-heading-l")).to_have_text(now)
        assert _compared(card) == {last: before, year: a_year_before}, key
    expect(page.locator("#kpi-completion_rate")).to_contain_text(
        "Completion rate rose 3 percentage points on last month, from 80% to 83%."
    )
    expect(page.locator("#kpi-cost_per_transaction")).to_contain_text(
        "Cost per transaction fell 11% on last month, from £9.00 to £8.00."
    )
    expect(page.locator("#kpi-satisfaction")).to_contain_text(
        "Satisfied or very satisfied, of 60 ratings."
    )

    # A chart, its trend sentence and its data table (the chart's text alternative).
    volumes = page.locator("#chart-volumes")
    expect(volumes).to_contain_text("Transactions started rose 12% on last month, from 150 to 168.")
    expect(volumes.locator("svg[role=img]")).to_have_attribute("dir", "ltr")
    volumes.get_by_text("Show the chart's data as a table").click()
    table = volumes.get_by_role("table", name=re.compile("Data of the chart"))
    expect(table).to_be_visible()
    row = table.locator("tbody tr", has=page.locator("th", has_text=THIS.strftime("%b %Y")))
    cells = row.locator("td")
    expect(cells.nth(0)).to_have_text("168")
    shown_started = cells.nth(0).inner_text().strip()

    # Its data as CSV: the same figure as the table.
    with page.expect_download() as download_info:
        volumes.get_by_role("link", name=re.compile("Download the data")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    with open(download.path(), encoding="utf-8") as downloaded:
        rows = list(csv.reader(io.StringIO(downloaded.read())))
    assert rows[0] == ["month", "started", "completed", "submitted", "decided"]
    assert len(rows) == 1 + 24
    assert rows[-1] == [f"{THIS:%Y-%m}", "168", "139", "90", "80"]
    assert rows[-1][1] == shown_started

    # The department's services: the shed permit's own dashboard.
    services = page.get_by_role("table", name=re.compile("^The services of the department"))
    with page.expect_navigation():
        services.get_by_role("link", name=SHED).click()
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text(SHED)
    expect(page.locator("main")).to_contain_text(f"Key performance indicators, {this}")

    # Its forecast: the model and its measured error, the interval chart, the advice.
    with page.expect_navigation():
        page.get_by_role("link", name="Demand forecast and staffing advice").click()
    assert_accessible(page)
    main = page.locator("main")
    expect(main.locator("h1")).to_have_text("Demand forecast and staffing")
    expect(main).to_contain_text("AutoETS")
    expect(main).to_contain_text("MASE=0.83")
    expect(main.locator("svg[role=img]").first).to_be_visible()
    expect(main.locator("svg[role=img]").first).to_have_attribute("dir", "ltr")
    expect(main).to_contain_text("95% interval")
    advice = _text(main.locator(".govuk-inset-text").first)
    assert re.search(r"You need 4\.2 officers in week 12\b.*; you have 3\.", advice), advice

    # Another department's dashboard: as if it did not exist.
    with _tab_answering(page, 404) as tab:
        response = tab.goto(reverse("staff:insights_department", args=["planning"]))
        assert response is not None
        assert response.status == 404
        expect(tab.locator("main h1")).to_have_text("Page not found")
        assert_accessible(tab)


# --- 2. the public performance page --------------------------------------------------------


def test_anyone_reads_the_public_performance_page_and_downloads_its_csv(page: Page, figures):
    this = THIS.strftime("%B %Y")
    page.goto(reverse("insights:performance"))
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Service performance")
    table = page.get_by_role("table", name=f"Performance of each service in {this}")
    for column in (
        "Transactions",
        "Cost per transaction",
        "User satisfaction",
        "Completion rate",
        "Digital take-up",
    ):
        expect(table.get_by_role("columnheader", name=column, exact=True)).to_be_visible()
    shed = table.locator("tr[data-service=shed-permit] td")
    # 139 transactions; £1,112.00 ÷ 139 = £8.00; 50 of 60 satisfied; 139 of 168 completed;
    # 119 of 139 online.
    expect(shed).to_have_text(["139", "£8.00", "83.3%", "82.7%", "85.6%"])
    # Garden waste: 4 of 12 completed, 3 online, 3 ratings: too few to publish; no costs.
    garden = table.locator("tr[data-service=garden-waste-collection] td")
    withheld = "Not enough data to publish"
    expect(garden).to_have_text([withheld, "Not available", withheld, withheld, withheld])
    expect(page.locator("main")).to_contain_text("fewer than 5 people")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Download the figures for {this} (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"service-kpis-{THIS:%Y-%m}.csv"
    with open(download.path(), encoding="utf-8") as downloaded:
        rows = {row["service"]: row for row in csv.DictReader(downloaded)}
    assert rows["shed-permit"]["transactions"] == "139"
    assert rows["shed-permit"]["cost_per_transaction"] == "8.00"
    assert rows["shed-permit"]["completion_rate"] == "0.827"
    assert rows["garden-waste-collection"]["transactions"] == "<5"
    assert rows["garden-waste-collection"]["completion_rate"] == "[c]"


# --- 3. in Arabic ------------------------------------------------------------------------


def test_the_dashboard_and_the_public_page_in_arabic(
    page: Page, live_server, service_manager, figures
):
    preferences_update(user=service_manager, language="ar")
    page.context.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    page.goto(reverse("insights:performance"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("tr[data-service=shed-permit] td").first).to_contain_text("139")
    assert_accessible(page)

    _sign_in(page, service_manager)
    page.goto(reverse("staff:insights_department", args=["revenue"]))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    charts = page.locator("main svg[role=img]")
    assert charts.count() >= 5
    for index in range(charts.count()):
        # Time and the bars still run left to right inside a right-to-left page.
        expect(charts.nth(index)).to_have_attribute("dir", "ltr")
    expect(page.locator("#kpi-completion_rate")).to_contain_text("83")
    assert_accessible(page)

    page.goto(reverse("staff:insights_forecast", args=["shed-permit"]))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("main svg[role=img]").first).to_have_attribute("dir", "ltr")
    expect(page.locator("main")).to_contain_text("MASE=0.83")
    assert_accessible(page)


# --- 4. costs -------------------------------------------------------------------------------


def test_a_department_administrator_enters_a_month_s_costs(page: Page, department_admin, published):
    this = THIS.strftime("%B %Y")
    _sign_in(page, department_admin)
    with page.expect_navigation():
        page.get_by_role("link", name="Costs of services").first.click()
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name=re.compile(SHED)).first.click()
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Costs of a month")
    costs_url = page.url

    # A negative amount: the form answers 400 (which Chromium reports in the console),
    # so it is sent from a second tab of the same browser.
    with _tab_answering(page, 400) as tab:
        tab.goto(costs_url)
        assert_accessible(tab)
        tab.fill("#id_month_month", str(THIS.month))
        tab.fill("#id_month_year", str(THIS.year))
        tab.fill("#id_fixed_costs", "-250")
        tab.fill("#id_startup_costs", "0")
        tab.fill("#id_note", "Hosting and postage")
        with tab.expect_navigation():
            tab.get_by_role("button", name="Save the costs").click()
        assert_accessible(tab)
        summary = tab.locator(".govuk-error-summary")
        expect(summary).to_contain_text("There is a problem")
        link = summary.get_by_role("link", name=re.compile("The fixed costs must be 0 or more"))
        expect(link).to_have_attribute("href", "#id_fixed_costs")
        expect(tab.locator("#id_fixed_costs")).to_have_value("-250")
        expect(tab.locator("#id_note")).to_have_value("Hosting and postage")
        expect(tab).to_have_title(re.compile("^Error:"))
        assert not ServiceMonthCost.objects.exists()
        # The summary's link takes the keyboard to the field.
        link.click()
        expect(tab.locator("#id_fixed_costs")).to_be_focused()

        tab.fill("#id_fixed_costs", "250")
        with tab.expect_navigation():
            tab.get_by_role("button", name="Save the costs").click()
        assert_accessible(tab)
        expect(tab.locator(".govuk-notification-banner--success")).to_contain_text(
            f"The costs of {this} are saved."
        )
        expect(tab.locator(".govuk-error-summary")).to_have_count(0)
        months = tab.get_by_role("table", name="Costs entered for each month, latest first")
        row = months.locator("tbody tr").first
        expect(row.locator("th")).to_have_text(this)
        expect(row.locator("td").first).to_have_text("£250.00")
    saved = ServiceMonthCost.objects.get()
    assert (saved.service, saved.month, saved.fixed_costs, saved.note) == (
        published["shed"],
        THIS,
        Decimal("250.00"),
        "Hosting and postage",
    )
    assert saved.entered_by == department_admin


@contextmanager
def _tab_answering(page: Page, status: int) -> Iterator[Page]:
    """A second tab of the same browser (signed in the same) for pages that answer with an
    error ``status``: Chromium reports such an answer in the console, which the ``page``
    fixture counts as an error. Every page the tab loads must still be checked with axe,
    and the console may hold nothing else."""
    tab = page.context.new_page()
    ledger = AccessibilityLedger()
    tab.ecitizen_ledger = ledger  # type: ignore[attr-defined]
    tab.ecitizen_browser = page.ecitizen_browser  # type: ignore[attr-defined]
    tab.ecitizen_javascript = page.ecitizen_javascript  # type: ignore[attr-defined]
    tab.on("load", lambda loaded: ledger.loaded.append(loaded.url))
    errors: list[str] = []
    tab.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    try:
        yield tab
    finally:
        tab.close()
    assert not ledger.unchecked(), f"pages visited without an axe check: {ledger.unchecked()}"
    unexpected = [text for text in errors if f"status of {status}" not in text]
    assert not unexpected, f"errors in the browser console: {unexpected}"

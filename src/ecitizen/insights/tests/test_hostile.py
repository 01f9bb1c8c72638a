"""A hostile review of the insights app: residents, officials, attackers and a
performance officer checking the numbers try to break it.

Each test is a hardening check: either one that held from the start, or a defect the
review found (written first as the behaviour wanted, marked ``xfail(strict=True)``),
since fixed, which the test keeps fixed: months before 1900 or in other digits, a French
decimal comma, a cohort completion rate never above 100%, secondary suppression by ward
and by rating level, one public threshold for every dataset, rows committed late still
read by the store, counter loads beyond Erlang C's range, anomaly notices only to those
who can open their link."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts import services as account_services
from ecitizen.insights.models import (
    ActionTime,
    KpiMonth,
    RoleHourlyCost,
    ServiceMonthCost,
    ServiceStaffing,
)
from ecitizen.insights.tests import test_costs
from tests.factories import JurisdictionFactory, UserFactory
from tests.personas import TOTP_SECRET, sign_in_official

pytestmark = pytest.mark.django_db

# relief (Revenue, the personas' department) and extension (Planning & Building): two
# copies of the cases tests' shed permit.
services, relief, extension = test_costs.services, test_costs.relief, test_costs.extension


def _as(client, user):
    sign_in_official(client, user)
    return client


def _key(response, prefix: str = "") -> str:
    name = f"{prefix}-submission" if prefix else "submission"
    match = re.search(rf'name="{name}" value="([0-9a-f]{{32}})"', response.content.decode())
    assert match, f"no {name} on the page"
    return match[1]


def _last_month() -> date:
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def _ward_manager(department, ward, *, role: str = "service_manager"):
    user = UserFactory(email=f"ward.{role}.{ward.code}@example.test")
    account_services.role_assign(
        user=user, role=role, department=department, jurisdiction=ward, actor=None, system=True
    )
    account_services.mfa_totp_activate(user=user, secret=TOTP_SECRET, actor=None)
    return user


@pytest.fixture
def north(db):
    return JurisdictionFactory(code="north", name="North")


def _kpi(service, month: date, figures: dict) -> KpiMonth:
    return KpiMonth.objects.create(
        scope=KpiMonth.Scope.SERVICE,
        key=service.slug,
        service=service,
        department=service.department,
        month=month,
        figures=figures,
    )


def _full_figures(**changes) -> dict:
    """A month's figures with enough of everything (no count below 5)."""
    figures = {
        "started": 100,
        "completed": 80,
        "completed_online": 60,
        "completed_assisted": 12,
        "completed_counter": 8,
        "not_eligible": 4,
        "abandoned": 10,
        "completion_rate": 0.8,
        "digital_take_up": 0.75,
        "assisted_digital_share": 0.15,
        "ratings": {"1": 6, "2": 6, "3": 8, "4": 20, "5": 20},
        "rated": 60,
        "satisfaction": 40 / 60,
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
        "sla_by_ward": {"north": {"decided": 40, "within_sla": 30}},
        "fees_collected": "1234.50",
        "fees_outstanding": "80.00",
        "currency": "GBP",
        "reports_opened": None,
        "reports_fixed": None,
        "fix_days_median": None,
        "cost": None,
    }
    figures.update(changes)
    return figures


@pytest.fixture
def figures(services, department):
    """Figures of the last two months for relief, Revenue and the authority."""
    last = _last_month()
    for month in (last, (last - timedelta(days=1)).replace(day=1)):
        _kpi(services["relief"], month, _full_figures())
        KpiMonth.objects.create(
            scope="department",
            key="revenue",
            department=department,
            month=month,
            figures=_full_figures(),
        )
        KpiMonth.objects.create(scope="authority", key="", month=month, figures=_full_figures())
    return last


#: Every staff address of insights for the service ``relief`` / its department.
def _staff_urls(slug: str = "relief", department: str = "revenue") -> dict[str, str]:
    return {
        "authority": reverse("staff:insights"),
        "authority_csv": reverse("staff:insights_csv", args=["volumes"]),
        "department": reverse("staff:insights_department", args=[department]),
        "department_csv": reverse("staff:insights_department_csv", args=[department, "figures"]),
        "service": reverse("staff:insights_service", args=[slug]),
        "service_csv": reverse("staff:insights_service_csv", args=[slug, "figures"]),
        "forecast": reverse("staff:insights_forecast", args=[slug]),
        "forecast_csv": reverse("staff:insights_forecast_csv", args=[slug, "applications-week"]),
        "staffing": reverse("staff:insights_staffing", args=[slug]),
        "costs_home": reverse("staff:insights_costs_home"),
        "role_costs": reverse("staff:insights_role_costs"),
        "costs": reverse("staff:insights_costs", args=[slug]),
        "recompute": reverse("staff:insights_recompute"),
        "workload": reverse("staff:insights_workload"),
    }


# --- access -------------------------------------------------------------------------------------


def test_anonymous_visitors_get_nothing_but_the_sign_in_page(client, services):
    for name, url in _staff_urls().items():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, method)
            assert response["Location"].startswith(reverse("account_login")), name
    assert not KpiMonth.objects.exists()


@pytest.mark.parametrize("persona", ["resident", "outsider", "auditor"])
def test_residents_and_the_auditor_are_refused_every_staff_page(client, request, services, persona):
    user = request.getfixturevalue(persona)
    if persona == "auditor":
        sign_in_official(client, user)
    else:
        client.force_login(user)
    for name, url in _staff_urls().items():
        assert client.get(url).status_code == 403, name
        assert client.post(url, {"month_month": "1", "month_year": "2025"}).status_code == 403, name
    assert not KpiMonth.objects.exists()


def test_a_case_officer_sees_only_their_own_workload(client, case_officer, services):
    _as(client, case_officer)
    for name, url in _staff_urls().items():
        expected = 200 if name == "workload" else 403
        assert client.get(url).status_code == expected, name


def test_another_department_s_manager_gets_404_for_every_page_of_this_one(
    client, other_service_manager, services
):
    _as(client, other_service_manager)
    for name in (
        "department",
        "department_csv",
        "service",
        "service_csv",
        "forecast",
        "forecast_csv",
        "staffing",
    ):
        url = _staff_urls()[name]
        assert client.get(url).status_code == 404, name
    response = client.post(
        _staff_urls()["staffing"],
        {"part": "staffing", "staffing-submission": "a" * 32, "staffing-officers": "3"},
    )
    assert response.status_code == 404
    response = client.post(
        _staff_urls()["staffing"],
        {"part": "reset", "action": "start_review"},
    )
    assert response.status_code == 404
    assert not ServiceStaffing.objects.exists()


def test_a_ward_limited_manager_cannot_change_the_whole_service_s_staffing(
    client, department, services, north
):
    user = _ward_manager(department, north)
    _as(client, user)
    url = _staff_urls()["staffing"]
    assert client.get(url).status_code == 404
    response = client.post(
        url,
        {
            "part": "staffing",
            "staffing-submission": "b" * 32,
            "staffing-officers": "3",
            "staffing-hours_per_week": "37",
            "staffing-productive_percent": "75",
            "staffing-counter_hours_per_week": "35",
            "staffing-counter_minutes_per_visit": "12",
            "staffing-counter_wait_minutes": "5",
            "staffing-counter_service_percent": "80",
        },
    )
    assert response.status_code == 404
    assert not ServiceStaffing.objects.exists()
    assert client.get(_staff_urls()["department_csv"]).status_code == 404


def test_a_department_admin_enters_costs_in_their_department_only(
    client, department_admin, services
):
    _as(client, department_admin)
    urls = _staff_urls()
    assert client.get(urls["costs"]).status_code == 200
    assert client.get(_staff_urls("extension", "planning")["costs"]).status_code == 404
    assert client.get(urls["role_costs"]).status_code == 404
    response = client.post(urls["role_costs"], {"submission": "c" * 32, "role_case_officer": "1"})
    assert response.status_code == 404
    assert not RoleHourlyCost.objects.exists()
    # Nor the dashboards, the forecast, staffing or computing again.
    for name in ("authority", "department", "service", "forecast", "staffing", "recompute"):
        assert client.get(urls[name]).status_code == 403, name


@pytest.mark.parametrize("persona", ["case_officer", "department_admin", "auditor"])
def test_recompute_is_refused_without_insights_plan(
    client, request, services, persona, settings, tmp_path
):
    settings.INSIGHTS_DIR = tmp_path / "store"
    _as(client, request.getfixturevalue(persona))
    month = _last_month()
    response = client.post(
        reverse("staff:insights_recompute"),
        {"submission": "d" * 32, "month_month": str(month.month), "month_year": str(month.year)},
    )
    assert response.status_code == 403
    assert not KpiMonth.objects.exists()
    assert not (tmp_path / "store").exists()


def _staffing_post(key: str) -> dict[str, str]:
    return {
        "part": "staffing",
        "staffing-submission": key,
        "staffing-officers": "3",
        "staffing-hours_per_week": "37",
        "staffing-productive_percent": "75",
        "staffing-counter_hours_per_week": "35",
        "staffing-counter_minutes_per_visit": "12",
        "staffing-counter_wait_minutes": "5",
        "staffing-counter_service_percent": "80",
    }


def test_every_form_needs_its_csrf_token(performance_officer, services, settings, tmp_path):
    settings.INSIGHTS_DIR = tmp_path / "store"
    client = Client(enforce_csrf_checks=True)
    _as(client, performance_officer)
    month = _last_month()
    month_fields = {"month_month": str(month.month), "month_year": str(month.year)}
    posts = {
        reverse("staff:insights_recompute"): {"submission": "e" * 32, **month_fields},
        reverse("staff:insights_costs", args=["relief"]): {
            "submission": "f" * 32,
            **month_fields,
            "fixed_costs": "10",
            "startup_costs": "0",
        },
        reverse("staff:insights_role_costs"): {"submission": "1" * 32, "role_case_officer": "9"},
        reverse("staff:insights_staffing", args=["relief"]): _staffing_post("2" * 32),
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    assert not KpiMonth.objects.exists()
    assert not ServiceMonthCost.objects.exists()
    assert not RoleHourlyCost.objects.exists()
    assert not ServiceStaffing.objects.exists()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "http://testserver@evil.example/",
    ],
)
def test_recompute_never_sends_anyone_to_another_site(
    client, service_manager, services, settings, tmp_path, target
):
    settings.INSIGHTS_DIR = tmp_path / "store"
    _as(client, service_manager)
    url = reverse("staff:insights_recompute")
    page = client.get(url, {"next": target})
    assert page.status_code == 200
    month = _last_month()
    response = client.post(
        url,
        {
            "submission": _key(page),
            "month_month": str(month.month),
            "month_year": str(month.year),
            "next": target,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:insights")


def test_a_service_without_a_published_version_is_404_everywhere(
    client, performance_officer, services, department
):
    from ecitizen.catalogue.models import Service

    hidden = Service.objects.create(slug="not-yet-published", department=department)
    _kpi(hidden, _last_month(), {"started": 50, "completed": 40})
    _as(client, performance_officer)
    for name, url in _staff_urls("not-yet-published").items():
        if "not-yet-published" in url:
            assert client.get(url).status_code == 404, name
    page = client.get(reverse("insights:performance"))
    assert "not-yet-published" not in page.content.decode()


# --- bad input ----------------------------------------------------------------------------------

BAD_MONTHS = [
    "2026-13",
    "2026-00",
    "0000-01",
    "0001-01",
    "9999-12",
    "2026-1",
    "99999-01",
    "-2025-01",
    "",
    " ",
    "2025-03\x00",
    "\x00",
    "2025-03" + "x" * 5000,
    "9" * 5000,
    "2025\u201003",  # a Unicode hyphen
    "NaN",
    "2025-03-01",
]


@pytest.mark.parametrize("month", BAD_MONTHS, ids=range(len(BAD_MONTHS)))
def test_a_bad_month_on_a_dashboard_is_a_clear_refusal_never_an_error(
    client, performance_officer, figures, month
):
    _as(client, performance_officer)
    for name in ("authority", "department", "service"):
        response = client.get(_staff_urls()[name], {"month": month})
        assert response.status_code in (200, 400), name
    for name in ("authority_csv", "department_csv", "service_csv"):
        response = client.get(_staff_urls()[name], {"month": month})
        if month:
            assert response.status_code == 400, (name, response.status_code)
            assert response.content.decode().strip(), name
        else:
            assert response.status_code == 200, name


def test_a_month_given_twice_or_as_an_array_is_not_an_error(client, performance_officer, figures):
    _as(client, performance_officer)
    for query in ("month=2025-01&month=2025-02", "month[]=2025-01", "month=2025-01&month=x"):
        for name in ("authority", "service", "service_csv"):
            response = client.get(f"{_staff_urls()[name]}?{query}")
            # A CSV of a month without figures is 404.
            assert response.status_code in (200, 400, 404), (name, query)
        response = client.get(f"{reverse('insights:performance')}?{query}")
        assert response.status_code in (200, 400), query
        response = client.get(f"{reverse('insights:performance_csv')}?{query}")
        assert response.status_code in (200, 400), query


#: Year 0 has a test of its own (a defect).
PUBLIC_BAD_MONTHS = [month for month in BAD_MONTHS if month != "0000-01"]


@pytest.mark.parametrize("month", PUBLIC_BAD_MONTHS, ids=range(len(PUBLIC_BAD_MONTHS)))
def test_a_bad_month_on_the_public_page_is_a_clear_400(client, figures, month):
    response = client.get(reverse("insights:performance"), {"month": month})
    assert response.status_code == 400
    assert "govuk-error-message" in response.content.decode()
    response = client.get(reverse("insights:performance_csv"), {"month": month})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().strip()


def _cost_form(key: str, month: date | None = None, **overrides: str) -> dict[str, str]:
    month = month or _last_month()
    return {
        "submission": key,
        "month_month": str(month.month),
        "month_year": str(month.year),
        "fixed_costs": "100",
        "startup_costs": "0",
        "note": "Hosting",
        **overrides,
    }


BAD_AMOUNTS = [
    "-5",
    "-0.01",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e309",
    "1E+400",
    "1e-400",
    "12.345",
    "0.001",
    "£-5",
    "$5",
    "5 EUR",
    "0x10",
    "1/2",
    "1" * 5000,
    "\x00",
    "5\x00",
    "١٢",  # Arabic-Indic digits: not refused everywhere, but never an error
    "",
    "   ",
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=range(len(BAD_AMOUNTS)))
def test_a_bad_cost_is_refused_clearly_and_changes_nothing(
    client, department_admin, relief, amount
):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    response = client.post(url, _cost_form(_key(client.get(url)), fixed_costs=amount))
    if amount == "١٢":
        assert response.status_code in (302, 400)
        return
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert not ServiceMonthCost.objects.exists()


@pytest.mark.parametrize(
    ("typed", "saved"),
    [("1,000.00", Decimal("1000.00")), ("£5", Decimal("5.00")), (" 7.5 ", Decimal("7.50"))],
)
def test_an_amount_typed_the_usual_ways_is_read(client, department_admin, relief, typed, saved):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    response = client.post(url, _cost_form(_key(client.get(url)), fixed_costs=typed))
    assert response.status_code == 302
    assert ServiceMonthCost.objects.get().fixed_costs == saved


BAD_MONTH_BOXES = [
    ("13", "2025"),
    ("0", "2025"),
    ("-1", "2025"),
    ("1.5", "2025"),
    ("1", "20255"),
    ("1", "9999"),
    ("\x00", "2025"),
    ("1", "2025\x00"),
    ("", "2025"),
    ("1", ""),
]
#: Month boxes that crash GovukMonthField.compress (year 0; digits ``isdigit`` accepts but
#: ``int`` does not; more digits than ``int`` reads).
CRASHING_MONTH_BOXES = [("1", "0000"), ("²", "2025"), ("1", "²²²²"), ("1" * 5000, "2025")]


@pytest.mark.parametrize(("month", "year"), BAD_MONTH_BOXES, ids=range(len(BAD_MONTH_BOXES)))
def test_a_bad_month_of_costs_is_refused_clearly(client, department_admin, relief, month, year):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    data = {**_cost_form(_key(client.get(url))), "month_month": month, "month_year": year}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert not ServiceMonthCost.objects.exists()


@pytest.mark.parametrize(("month", "year"), BAD_MONTH_BOXES, ids=range(len(BAD_MONTH_BOXES)))
def test_a_bad_month_to_compute_again_is_refused_clearly(
    client, service_manager, relief, settings, tmp_path, month, year
):
    settings.INSIGHTS_DIR = tmp_path / "store"
    _as(client, service_manager)
    url = reverse("staff:insights_recompute")
    response = client.post(
        url, {"submission": _key(client.get(url)), "month_month": month, "month_year": year}
    )
    assert response.status_code == 400
    assert not KpiMonth.objects.exists()


@pytest.mark.parametrize("year", ["1000", "1600", "0001"])
def test_computing_a_month_centuries_ago_is_refused_or_empty_never_an_error(
    client, service_manager, relief, settings, tmp_path, year
):
    settings.INSIGHTS_DIR = tmp_path / "store"
    _as(client, service_manager)
    url = reverse("staff:insights_recompute")
    response = client.post(
        url, {"submission": _key(client.get(url)), "month_month": "1", "month_year": year}
    )
    assert response.status_code in (302, 400)


BAD_STAFFING = [
    ("officers", "-1"),
    ("officers", "100000"),
    ("officers", "1e9"),
    ("officers", "NaN"),
    ("hours_per_week", "0"),
    ("hours_per_week", "169"),
    ("hours_per_week", "81"),
    ("productive_percent", "101"),
    ("productive_percent", "1000"),
    ("productive_percent", "0"),
    ("productive_percent", "75.5"),
    ("counter_hours_per_week", "169"),
    ("counter_minutes_per_visit", "-1"),
    ("counter_minutes_per_visit", "0"),
    ("counter_wait_minutes", "0"),
    ("counter_wait_minutes", "Infinity"),
    ("counter_service_percent", "100"),
    ("counter_service_percent", "0"),
    ("counter_service_percent", "-80"),
]


@pytest.mark.parametrize(("field", "value"), BAD_STAFFING, ids=range(len(BAD_STAFFING)))
def test_absurd_staffing_is_refused_and_changes_nothing(
    client, service_manager, relief, field, value
):
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    data = {**_staffing_post(_key(client.get(url), "staffing")), f"staffing-{field}": value}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert not ServiceStaffing.objects.exists()


def test_zero_officers_is_an_answer(client, service_manager, relief):
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    data = {**_staffing_post(_key(client.get(url), "staffing")), "staffing-officers": "0"}
    assert client.post(url, data).status_code == 302
    assert ServiceStaffing.objects.get().officers == Decimal("0")


@pytest.mark.parametrize("minutes", ["-1", "-0.1", "NaN", "1e9", "100000", "12.25", "\x00"])
def test_a_negative_or_absurd_handling_time_is_refused(client, service_manager, relief, minutes):
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    page = client.get(url)
    response = client.post(
        url,
        {
            "part": "times",
            "times-submission": _key(page, "times"),
            "times-minutes_start_review": minutes,
            "times-role_start_review": "case_officer",
        },
    )
    assert response.status_code == 400
    assert not ActionTime.objects.exists()


def test_a_handling_time_with_a_role_that_does_not_exist_is_refused(
    client, service_manager, relief
):
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    page = client.get(url)
    for role in ("resident", "platform_admin_x", "", "\x00"):
        response = client.post(
            url,
            {
                "part": "times",
                "times-submission": _key(page, "times"),
                "times-minutes_start_review": "5",
                "times-role_start_review": role,
            },
        )
        assert response.status_code == 400, role
    assert not ActionTime.objects.exists()


def test_resetting_an_action_that_does_not_exist_is_404(client, service_manager, relief):
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    for action in ("no-such-action", "reply", "", "\x00", "x" * 5000):
        response = client.post(url, {"part": "reset", "action": action})
        assert response.status_code == 404, action
    assert not ActionTime.objects.exists()


def test_a_cost_sent_twice_is_saved_once(client, department_admin, relief):
    from ecitizen.core.models import AuditEvent

    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    key = _key(client.get(url))
    first = client.post(url, _cost_form(key))
    second = client.post(url, _cost_form(key, fixed_costs="999"))
    assert (first.status_code, second.status_code) == (302, 302)
    assert ServiceMonthCost.objects.get().fixed_costs == Decimal("100.00")
    assert AuditEvent.objects.filter(action="insights.service_cost_set").count() == 1


def test_a_cost_note_with_a_nul_byte_or_too_long_is_refused(client, department_admin, relief):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    for note in ("a\x00b", "x" * 2001):
        response = client.post(url, _cost_form(_key(client.get(url)), note=note))
        assert response.status_code in (302, 400), note
        if response.status_code == 302:
            assert "\x00" not in ServiceMonthCost.objects.get().note
            ServiceMonthCost.objects.all().delete()


def test_year_zero_on_the_public_page_is_a_400(client, figures):
    response = client.get(reverse("insights:performance"), {"month": "0000-01"})
    assert response.status_code == 400
    response = client.get(reverse("insights:performance_csv"), {"month": "0000-01"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("month", "year"), CRASHING_MONTH_BOXES, ids=range(len(CRASHING_MONTH_BOXES))
)
def test_a_month_of_costs_in_year_zero_or_odd_digits_is_refused_not_a_500(
    client, department_admin, relief, month, year
):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    data = {**_cost_form(_key(client.get(url))), "month_month": month, "month_year": year}
    response = client.post(url, data)
    assert response.status_code == 400
    assert not ServiceMonthCost.objects.exists()


@pytest.mark.parametrize(
    ("month", "year"), CRASHING_MONTH_BOXES, ids=range(len(CRASHING_MONTH_BOXES))
)
def test_a_month_to_compute_in_year_zero_or_odd_digits_is_refused_not_a_500(
    client, service_manager, relief, settings, tmp_path, month, year
):
    settings.INSIGHTS_DIR = tmp_path / "store"
    _as(client, service_manager)
    url = reverse("staff:insights_recompute")
    response = client.post(
        url, {"submission": _key(client.get(url)), "month_month": month, "month_year": year}
    )
    assert response.status_code == 400
    assert not KpiMonth.objects.exists()


def test_a_decimal_comma_is_not_read_as_a_thousands_separator(client, department_admin, relief):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    headers = {"HTTP_ACCEPT_LANGUAGE": "fr"}
    page = client.get(url, **headers)
    assert 'lang="fr"' in page.content.decode()
    response = client.post(url, _cost_form(_key(page), fixed_costs="12,50"), **headers)
    # Either read as 12.50 (the French way) or refused as ambiguous: never 1,250.00.
    if response.status_code == 302:
        assert ServiceMonthCost.objects.get().fixed_costs == Decimal("12.50")
    else:
        assert response.status_code == 400
        assert not ServiceMonthCost.objects.exists()


@pytest.mark.parametrize("value", ["2026-13", "26-01", "2026-1", "x", "2026-01\x00"])
def test_the_refresh_command_refuses_a_bad_month_with_a_message(value, settings, tmp_path):
    from django.core.management import CommandError, call_command

    settings.INSIGHTS_DIR = tmp_path / "store"
    with pytest.raises(CommandError):
        call_command("insights", "refresh", "--from", value)
    assert not KpiMonth.objects.exists()


@pytest.mark.parametrize("value", ["0000-01", "1000-01", "0001-01"])
def test_the_refresh_command_refuses_a_month_centuries_ago(value, settings, tmp_path):
    from django.core.management import CommandError, call_command

    settings.INSIGHTS_DIR = tmp_path / "store"
    with contextlib.suppress(CommandError):
        call_command("insights", "refresh", "--from", value, stdout=io.StringIO())
    assert not KpiMonth.objects.filter(month__lt=date(1900, 1, 1)).exists()


# --- the numbers, counted by hand -------------------------------------------------------------


def _local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return timezone.make_aware(
        datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute)
    )


def _journey(service, *events, channel: str = "online"):
    """Usage rows of one application (one draft): ``events`` of (kind, outcome, aware time)."""
    from ecitizen.cases.services.demo_support import UsageHistoryRow

    draft = uuid.uuid4()
    return [
        UsageHistoryRow(service.pk, kind, channel, draft, outcome, None, at)
        for kind, outcome, at in events
    ]


def _refresh(first: date, today: date) -> dict[tuple[str, str, date], dict]:
    from ecitizen.insights.services.kpis import kpis_refresh

    kpis_refresh(from_month=first, today=today)
    return {(row.scope, row.key, row.month): row.figures for row in KpiMonth.objects.all()}


def test_journeys_counted_by_hand(relief, settings, tmp_path):
    """One month (March 2025), journeys of relief:
    A online: started, not eligible, then sent: completed once, as sent;
    B assisted: started, sent: completed, not digital;
    C online: started, deleted (abandoned); D online: started again the next day, sent;
    E counter: started, not eligible (completed: an end page);
    F online: started only.
    Started 6, completed 4 (A, B, D, E), online 2 (A, D), assisted 1, counter 1, not
    eligible 1 (E), abandoned 1 (C): completion 4/6, digital take-up 2/4."""
    from ecitizen.cases.services.demo_support import usage_history_insert

    settings.INSIGHTS_DIR = tmp_path / "store"
    day = date(2025, 3, 3)
    rows = [
        *_journey(
            relief,
            ("started", "", _local(day)),
            ("completed", "not_eligible", _local(day, 11)),
            ("completed", "", _local(day, 12)),
        ),
        *_journey(
            relief,
            ("started", "", _local(day)),
            ("completed", "", _local(day, 12)),
            channel="assisted",
        ),
        *_journey(relief, ("started", "", _local(day)), ("abandoned", "", _local(day, 13))),
        *_journey(
            relief,
            ("started", "", _local(day + timedelta(days=1))),
            ("completed", "", _local(day + timedelta(days=1), 12)),
        ),
        *_journey(
            relief,
            ("started", "", _local(day)),
            ("completed", "not_eligible", _local(day, 12)),
            channel="counter",
        ),
        *_journey(relief, ("started", "", _local(day))),
    ]
    usage_history_insert(rows=rows)
    figures = _refresh(date(2025, 3, 1), date(2025, 4, 15))[("service", "relief", date(2025, 3, 1))]
    assert {
        key: figures[key]
        for key in (
            "started",
            "completed",
            "completed_online",
            "completed_assisted",
            "completed_counter",
            "not_eligible",
            "abandoned",
        )
    } == {
        "started": 6,
        "completed": 4,
        "completed_online": 2,
        "completed_assisted": 1,
        "completed_counter": 1,
        "not_eligible": 1,
        "abandoned": 1,
    }
    assert figures["completion_rate"] == pytest.approx(4 / 6)
    assert figures["digital_take_up"] == pytest.approx(2 / 4)
    assert figures["assisted_digital_share"] == pytest.approx(1 / 4)


def test_a_journey_is_in_the_month_of_local_time_not_utc(relief, settings, tmp_path):
    """23:30 UTC on 31 May 2025 is 00:30 on 1 June in London (summer time): a June start;
    23:30 local on 31 October (GMT) is still October."""
    from ecitizen.cases.services.demo_support import usage_history_insert

    settings.INSIGHTS_DIR = tmp_path / "store"
    june = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)
    october = _local(date(2025, 10, 31), 23, 30)
    usage_history_insert(
        rows=[
            *_journey(relief, ("started", "", june)),
            *_journey(relief, ("started", "", october)),
        ]
    )
    found = _refresh(date(2025, 5, 1), date(2025, 11, 15))
    assert found[("service", "relief", date(2025, 6, 1))]["started"] == 1
    assert ("service", "relief", date(2025, 5, 1)) not in found
    assert found[("service", "relief", date(2025, 10, 1))]["started"] == 1
    assert ("service", "relief", date(2025, 11, 1)) not in found


def test_the_completion_rate_never_exceeds_100_percent(client, relief, settings, tmp_path):
    """Ten applications started on 28 February and sent on 3 March; five started in March
    and not sent yet. Of the people who started in March none has finished, and of those
    who started in February all have: no month has finished more than it started."""
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 5
    from ecitizen.cases.services.demo_support import usage_history_insert

    settings.INSIGHTS_DIR = tmp_path / "store"
    rows = []
    for _ in range(10):
        rows += _journey(
            relief,
            ("started", "", _local(date(2025, 2, 28))),
            ("completed", "", _local(date(2025, 3, 3))),
        )
    for _ in range(5):
        rows += _journey(relief, ("started", "", _local(date(2025, 3, 4))))
    usage_history_insert(rows=rows)
    found = _refresh(date(2025, 2, 1), date(2025, 4, 15))
    for month in (date(2025, 2, 1), date(2025, 3, 1)):
        rate = found[("service", "relief", month)]["completion_rate"]
        assert rate is None or 0 <= rate <= 1, (month, rate)
    with time_machine.travel("2025-04-15 12:00 +00:00", tick=False):
        rows = list(
            csv.DictReader(
                io.StringIO(
                    client.get(
                        reverse("insights:performance_csv"), {"month": "2025-03"}
                    ).content.decode()
                )
            )
        )
    rates = [row["completion_rate"] for row in rows if row["service"] == "relief"]
    assert all(rate in ("[c]", "[x]") or float(rate) <= 1 for rate in rates), rates


def _travel(moment: str):
    return time_machine.travel(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


def test_a_case_decided_exactly_at_its_target_is_within_it_and_a_day_later_is_not(
    relief, case_officer, supervisor, settings, tmp_path
):
    """relief's target is 10 working days. Three cases sent on Monday 5 January 2026
    (GMT), checked on 6 January: A passed on and approved on Monday 19 January (10 working
    days: 6-9, 12-16, 19), B approved on Tuesday 20 January (11), C refused on Thursday 8
    January (3). Decided 3, within the target 2 (A at the limit, C), refused 1; median
    time to decision 10 working days. Computed twice: the same figures."""
    from ecitizen.cases import services as cases
    from ecitizen.cases.tests.support import submit_shed

    settings.INSIGHTS_DIR = tmp_path / "store"
    with _travel("2026-01-05 10:00"):
        sent = {name: submit_shed(relief, UserFactory()) for name in "abc"}
    with _travel("2026-01-06 10:00"):
        for name in list(sent):
            sent[name] = cases.case_transition(
                case=sent[name], action_id="start_review", actor=case_officer
            )
            if name != "c":
                sent[name] = cases.case_transition(
                    case=sent[name], action_id="pass_first", actor=case_officer
                )
    assert sent["a"].due_date == date(2026, 1, 19)  # the cases app's own due date
    with _travel("2026-01-08 10:00"):
        c = cases.case_transition(
            case=sent["c"],
            action_id="refuse",
            actor=case_officer,
            given=cases.ActionInput(text="No"),
        )
    with _travel("2026-01-19 10:00"):
        a = cases.case_transition(case=sent["a"], action_id="approve", actor=supervisor)
    with _travel("2026-01-20 10:00"):
        b = cases.case_transition(case=sent["b"], action_id="approve", actor=supervisor)
    assert (a.sla_days_used, b.sla_days_used, c.sla_days_used) == (10, 11, 3)
    with _travel("2026-02-10 10:00"):
        first = _refresh(date(2026, 1, 1), date(2026, 2, 10))
        again = _refresh(date(2026, 1, 1), date(2026, 2, 10))
    assert first == again
    figures = first[("service", "relief", date(2026, 1, 1))]
    assert (figures["decided"], figures["decided_with_sla"], figures["within_sla"]) == (3, 3, 2)
    assert figures["within_sla_rate"] == pytest.approx(2 / 3)
    assert (figures["refused"], figures["refusal_rate"]) == (1, pytest.approx(1 / 3))
    assert figures["decision_days_median"] == 10.0
    assert figures["backlog"] == 0


def test_satisfaction_counted_by_hand(relief, settings, tmp_path):
    """Five ratings of relief in March 2025 (5, 4, 3, 1, 5) and one of a fine (no
    service, Revenue): relief 3 satisfied of 5; Revenue 4 of 6."""
    from ecitizen.feedback.services import Completed, rating_record

    settings.INSIGHTS_DIR = tmp_path / "store"
    with _travel("2025-03-10 10:00"):
        for n, level in enumerate((5, 4, 3, 1, 5)):
            rating_record(
                completed=Completed(
                    step="application",
                    reference=f"RL-{n}",
                    service_key=relief.slug,
                    service_id=relief.pk,
                    department_id=relief.department_id,
                ),
                level=level,
            )
        rating_record(
            completed=Completed(
                step="payment",
                reference="FINE-1",
                service_key="payments.fine",
                service_id=None,
                department_id=relief.department_id,
            ),
            level=4,
        )
    found = _refresh(date(2025, 3, 1), date(2025, 4, 15))
    service = found[("service", "relief", date(2025, 3, 1))]
    assert service["ratings"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 2}
    assert (service["rated"], service["satisfaction"]) == (5, pytest.approx(3 / 5))
    revenue = found[("department", "revenue", date(2025, 3, 1))]
    assert (revenue["rated"], revenue["satisfaction"]) == (6, pytest.approx(4 / 6))


def test_a_decision_just_after_local_midnight_is_in_the_new_month(
    relief, case_officer, supervisor, settings, tmp_path
):
    """Sent on 14 April 2026; approved at 23:30 UTC on 30 April, 00:30 on 1 May in London
    (summer time): a May decision."""
    from ecitizen.cases import services as cases
    from ecitizen.cases.tests.support import submit_shed

    settings.INSIGHTS_DIR = tmp_path / "store"
    with _travel("2026-04-14 10:00"):
        case = submit_shed(relief, UserFactory())
        case = cases.case_transition(case=case, action_id="start_review", actor=case_officer)
        case = cases.case_transition(case=case, action_id="pass_first", actor=case_officer)
    with _travel("2026-04-30 23:30"):
        cases.case_transition(case=case, action_id="approve", actor=supervisor)
    with _travel("2026-05-20 10:00"):
        found = _refresh(date(2026, 4, 1), date(2026, 5, 20))
    assert found[("service", "relief", date(2026, 4, 1))]["decided"] == 0
    assert found[("service", "relief", date(2026, 4, 1))]["backlog"] == 1
    assert found[("service", "relief", date(2026, 5, 1))]["decided"] == 1


# --- small counts -----------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_suppressed_ward_cannot_be_worked_out_from_the_totals(
    client, service_manager, relief, north
):
    """30 decided, 24 on time: North 20 (15), no ward 7 (6) and South 3 (3) — South is
    under the threshold, but 30 - 20 - 7 = 3 and 24 - 15 - 6 = 3."""
    JurisdictionFactory(code="south", name="South")
    month = _last_month()
    _kpi(
        relief,
        month,
        _full_figures(
            decided=30,
            decided_with_sla=30,
            within_sla=24,
            within_sla_rate=0.8,
            sla_by_ward={
                "north": {"decided": 20, "within_sla": 15},
                "south": {"decided": 3, "within_sla": 3},
                "": {"decided": 7, "within_sla": 6},
            },
        ),
    )
    _as(client, service_manager)
    query = {"month": f"{month:%Y-%m}"}
    wards = _csv_rows(
        client.get(reverse("staff:insights_service_csv", args=["relief", "sla-by-ward"]), query)
    )
    totals = {
        row[0]: row[1]
        for row in _csv_rows(
            client.get(reverse("staff:insights_service_csv", args=["relief", "figures"]), query)
        )[1:]
    }
    hidden = [row for row in wards[1:] if not row[2].isdigit()]
    assert hidden  # South is withheld on the chart
    shown = sum(int(row[2]) for row in wards[1:] if row[2].isdigit())
    # With one ward withheld and the total published, the total less the others is it.
    given_away = len(hidden) == 1 and totals.get("decided", "").isdigit()
    assert not given_away, int(totals["decided"]) - shown


def test_ratings_by_level_suppress_small_counts(client, service_manager, relief):
    month = _last_month()
    _kpi(
        relief,
        month,
        _full_figures(ratings={"1": 1, "2": 0, "3": 2, "4": 20, "5": 30}, rated=53),
    )
    _as(client, service_manager)
    rows = _csv_rows(
        client.get(
            reverse("staff:insights_service_csv", args=["relief", "ratings"]),
            {"month": f"{month:%Y-%m}"},
        )
    )
    counts = {row[0]: row[2] for row in rows[1:]}
    assert counts["1"] != "1"  # one resident very dissatisfied
    assert counts["3"] != "2"


def test_a_ward_limited_manager_s_csvs_hold_only_their_ward(client, department, relief, north):
    JurisdictionFactory(code="south", name="South")
    month = _last_month()
    _kpi(
        relief,
        month,
        _full_figures(
            sla_by_ward={
                "north": {"decided": 20, "within_sla": 15},
                "south": {"decided": 30, "within_sla": 20},
                "": {"decided": 30, "within_sla": 29},
            }
        ),
    )
    _as(client, _ward_manager(department, north))
    query = {"month": f"{month:%Y-%m}"}
    wards = _csv_rows(
        client.get(reverse("staff:insights_service_csv", args=["relief", "sla-by-ward"]), query)
    )
    assert [row[0] for row in wards[1:]] == ["north"]
    page = client.get(reverse("staff:insights_service", args=["relief"]), query)
    assert "South" not in page.content.decode()
    assert client.get(reverse("staff:insights_forecast", args=["relief"])).status_code == 404


def test_a_department_with_no_services_has_a_page_that_says_so(client, performance_officer, relief):
    from tests.factories import DepartmentFactory

    DepartmentFactory(slug="empty-department", name="Empty Department")
    _as(client, performance_officer)
    response = client.get(reverse("staff:insights_department", args=["empty-department"]))
    assert response.status_code == 200
    response = client.get(
        reverse("staff:insights_department_csv", args=["empty-department", "services"])
    )
    assert response.status_code in (200, 404)
    response = client.get(reverse("staff:insights"))
    assert response.status_code == 200


def test_open_datasets_do_not_publish_what_another_withholds(relief, settings, tmp_path):
    """Seven applications sent online in March 2025: the open dataset service-performance
    writes them "<10"; the dataset service-kpis must not then publish 7 (nor a rate of 7
    of 7)."""
    from ecitizen.cases.services.demo_support import usage_history_insert
    from ecitizen.opendata import platform

    settings.INSIGHTS_DIR = tmp_path / "store"
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 10
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    rows = []
    for k in range(7):
        day = date(2025, 3, 3 + k)
        rows += _journey(relief, ("started", "", _local(day)), ("completed", "", _local(day, 11)))
    usage_history_insert(rows=rows)
    _refresh(date(2025, 3, 1), date(2025, 4, 15))
    with time_machine.travel("2025-04-15 12:00 +00:00", tick=False):
        performance_rows = platform.services_table().rows
        kpi_rows = platform.service_kpis_table().rows
    (withheld,) = [row for row in performance_rows if row["service"] == "relief"]
    (published,) = [row for row in kpi_rows if row["service"] == "relief"]
    # The same seven completions: withheld in one dataset, they must not be in the other.
    if not withheld["completed"].isdigit():
        assert not published["transactions"].isdigit(), (withheld, published)
        assert published["digital_take_up"] in ("", "[c]", "[x]"), published
    assert withheld["completed"] == published["transactions"] or not (
        withheld["completed"].isdigit() and published["transactions"].isdigit()
    )


# --- the analytical store ---------------------------------------------------------------------


def test_two_refreshes_at_once_wait_for_each_other(settings, tmp_path):
    from ecitizen.insights.store import store_open

    settings.INSIGHTS_DIR = tmp_path / "store"
    entered = threading.Event()

    def second() -> None:
        with store_open():
            entered.set()

    with store_open() as connection:
        connection.execute("SELECT count(*) FROM usage").fetchall()
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.5)
        assert not entered.is_set()  # it waits for the lock
    other.join(timeout=30)
    assert entered.is_set()


def test_a_sync_cut_off_inside_a_batch_leaves_the_store_as_it_was(
    relief, settings, tmp_path, monkeypatch
):
    from ecitizen.cases import services as cases
    from ecitizen.insights import store

    settings.INSIGHTS_DIR = tmp_path / "store"
    for _ in range(3):
        resident = UserFactory()
        cases.draft_start(service=relief, applicant=resident, actor=resident)
    real_append = store._append

    def fail_in_the_middle(connection, table, frame):
        real_append(connection, table, frame)
        raise RuntimeError("the machine stopped")

    monkeypatch.setattr(store, "_append", fail_in_the_middle)
    with store.store_open() as connection, pytest.raises(RuntimeError):
        store.store_sync(connection)
    monkeypatch.setattr(store, "_append", real_append)
    with store.store_open() as connection:
        assert connection.execute("SELECT count(*) FROM usage").fetchall()[0][0] == 0
        assert store.store_sync(connection).rows["usage"] == 3
        assert connection.execute("SELECT count(*) FROM usage").fetchall()[0][0] == 3


def test_a_usage_row_committed_late_is_still_read(relief, settings, tmp_path):
    """Three starts take ids 1, 2, 3; the transaction of id 2 commits after a sync read 1
    and 3 (PostgreSQL hands out ids before commit). The next sync must still read it."""
    from ecitizen.cases import services as cases
    from ecitizen.cases.models import ServiceUsage
    from ecitizen.insights.store import store_open, store_sync

    settings.INSIGHTS_DIR = tmp_path / "store"
    for _ in range(3):
        resident = UserFactory()
        cases.draft_start(service=relief, applicant=resident, actor=resident)
    first, late, last = ServiceUsage.objects.order_by("pk")
    values = {f.attname: getattr(late, f.attname) for f in ServiceUsage._meta.concrete_fields}
    late.delete()  # not committed yet when the sync runs
    with store_open() as connection:
        store_sync(connection)
    ServiceUsage.objects.create(**values)  # now it commits, with its id 2
    with store_open() as connection:
        store_sync(connection)
        ids = sorted(r[0] for r in connection.execute("SELECT id FROM usage").fetchall())
    assert ids == [first.pk, values["id"], last.pk]


def test_a_case_change_committed_late_is_still_read(relief, case_officer, settings, tmp_path):
    """Case B is reviewed at 10:00:00 in a transaction that commits at 10:00:06; case A is
    reviewed at 10:00:05 and commits at once; the sync at 10:00:05.5 reads A. B's change,
    stamped 10:00:00, must still reach the store."""
    from ecitizen.cases import services as cases
    from ecitizen.cases.tests.support import submit_shed
    from ecitizen.insights.store import store_open, store_sync

    settings.INSIGHTS_DIR = tmp_path / "store"
    with _travel("2026-01-05 09:00"):
        a = submit_shed(relief, UserFactory())
        b = submit_shed(relief, UserFactory())
    with store_open() as connection:
        store_sync(connection)
    with _travel("2026-01-05 10:00:05"):
        cases.case_transition(case=a, action_id="start_review", actor=case_officer)
    with store_open() as connection:
        store_sync(connection)
    with _travel("2026-01-05 10:00:00"):
        cases.case_transition(case=b, action_id="start_review", actor=case_officer)
    with store_open() as connection:
        store_sync(connection)
        states = dict(connection.execute("SELECT id, state FROM cases").fetchall())
    assert states == {a.pk: "first_review", b.pk: "first_review"}


def test_a_changed_case_replaces_its_copy_and_a_reset_database_rebuilds(
    relief, case_officer, settings, tmp_path
):
    from ecitizen.cases import services as cases
    from ecitizen.cases.models import ServiceUsage
    from ecitizen.cases.tests.support import submit_shed
    from ecitizen.insights.store import store_open, store_sync

    settings.INSIGHTS_DIR = tmp_path / "store"
    case = submit_shed(relief, UserFactory())
    with store_open() as connection:
        store_sync(connection)
    cases.case_transition(case=case, action_id="start_review", actor=case_officer)
    with store_open() as connection:
        store_sync(connection)
        assert connection.execute("SELECT id, state FROM cases").fetchall() == [
            (case.pk, "first_review")
        ]
    ServiceUsage.objects.all().delete()  # the database goes back to before these events
    with store_open() as connection:
        synced = store_sync(connection)
        assert synced.rebuilt
        assert connection.execute("SELECT count(*) FROM usage").fetchall()[0][0] == 0
        assert connection.execute("SELECT count(*) FROM cases").fetchall()[0][0] == 1


# --- personal data ----------------------------------------------------------------------------

#: Column names that would hold something about a person rather than a count.
PERSONAL_COLUMNS = re.compile(
    r"name|email|mail|phone|answer|address|comment|text|reason|note|reference|applicant|birth",
    re.IGNORECASE,
)


def test_no_resident_s_data_reaches_the_figures_the_csvs_or_the_store(client, tmp_path, settings):
    """The known-answer world of test_kpis (January to March 2026, real applications,
    replies, refusals, ratings): no resident's email, name, answer or reason, and no case
    reference, in the figures, any CSV of any page, the open dataset, the forecasts, or any
    column or value of the analytical store; the store's columns hold no such thing."""
    from ecitizen.cases.models import Case
    from ecitizen.insights.models import Anomaly, Forecast
    from ecitizen.insights.services.forecasts import forecasts_refresh
    from ecitizen.insights.store import store_open
    from ecitizen.insights.tests.test_kpis import World, february, january, march
    from ecitizen.opendata import platform
    from tests.personas import _official

    settings.INSIGHTS_DIR = tmp_path / "store"
    world = World(tmp_path)
    january(world)
    february(world)
    march(world)
    with _travel("2026-04-10 10:00"):
        _refresh(date(2026, 1, 1), date(2026, 4, 10))
        forecasts_refresh(today=date(2026, 4, 10))
        public_csv = client.get(reverse("insights:performance_csv"), {"month": "2026-03"})
        dataset = platform.service_kpis_table().rows
    secrets = {
        *(resident.email for resident in world.residents),
        *(resident.full_name for resident in world.residents if resident.full_name),
        *Case.objects.values_list("reference", flat=True),
        "Alex Morgan",
        "Mill Lane",
        "Send the plans again",
        "Here they are",
        "Which wood?",
        "The shed is too tall",
        "Agreed in the library.",
        "Identity checked at the counter.",
    }
    texts = [
        str(list(KpiMonth.objects.values_list("figures", flat=True))),
        str(list(Forecast.objects.values_list("backtest", "points", "history"))),
        str(list(Anomaly.objects.values())),
        public_csv.content.decode(),
        str(dataset),
    ]
    officer = _official("performance_officer", email="performance@example.test")
    sign_in_official(client, officer)
    with _travel("2026-04-10 10:00"):
        pages = [
            ("staff:insights", []),
            ("staff:insights_department", ["public-works"]),
            ("staff:insights_service", ["shed-permit"]),
        ]
        for name, args in pages:
            page = client.get(reverse(name, args=args), {"month": "2026-01"})
            assert page.status_code == 200
            texts.append(page.content.decode())
            for slug in re.findall(r"/csv/([a-z0-9-]+)\.csv", page.content.decode()):
                csv_name = {
                    "staff:insights": "staff:insights_csv",
                    "staff:insights_department": "staff:insights_department_csv",
                    "staff:insights_service": "staff:insights_service_csv",
                }[name]
                response = client.get(reverse(csv_name, args=[*args, slug]), {"month": "2026-01"})
                assert response.status_code == 200, slug
                texts.append(response.content.decode())
    with store_open() as connection:
        tables = [row[0] for row in connection.execute("SHOW TABLES").fetchall()]
        for table in tables:
            columns = [row[0] for row in connection.execute(f"DESCRIBE {table}").fetchall()]
            assert not [c for c in columns if PERSONAL_COLUMNS.search(c)], (table, columns)
            texts.append(str(connection.execute(f"SELECT * FROM {table}").fetchall()))  # noqa: S608
    assert Case.objects.count() >= 7
    assert len(texts) > 5 + 3 + 10  # the CSVs were read
    assert KpiMonth.objects.filter(month=date(2026, 1, 1)).count() >= 5
    everything = "\n".join(texts)
    found = sorted(secret for secret in secrets if secret and secret in everything)
    assert found == []
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w+", "\n".join(texts[:5]))


# --- forecasts and staffing -------------------------------------------------------------------

HOSTILE_SERIES = {
    "zeros": [0.0] * 260,
    "constant": [5.0] * 260,
    "one huge spike": [10.0] * 200 + [1e9] + [10.0] * 59,
    "spike on the last day": [10.0] * 259 + [1e9],
    "alternating": [0.0 if k % 2 else 1000.0 for k in range(260)],
}


@pytest.mark.parametrize("name", list(HOSTILE_SERIES))
def test_hostile_series_give_finite_forecasts_with_a_measured_error(name):
    import json
    import math

    from ecitizen.insights.forecasting import forecast_series

    start = date(2024, 1, 1)
    values = HOSTILE_SERIES[name]
    for freq in ("day", "week"):
        result = forecast_series(
            [(start + timedelta(days=k), v) for k, v in enumerate(values)],
            freq=freq,
            holidays=lambda day: day.month == 5 and day.day == 6,
        )
        assert result.status == "ok", (name, freq)
        assert result.mase is not None
        assert math.isfinite(result.mase)
        assert result.mase >= 0
        assert re.fullmatch(r"MASE=\d+\.\d\d", f"MASE={result.mase:.2f}")
        json.dumps(
            [result.points_json(), result.backtest_json(), result.history_json()], allow_nan=False
        )
        for point in result.points:
            assert 0 <= point.lo95 <= point.lo80 <= point.mean <= point.hi80 <= point.hi95
        if name == "zeros":
            assert result.baseline_chosen
            assert result.mase == 1.0
            assert all(point.hi95 == 0 for point in result.points)


def test_a_series_with_no_history_says_how_much_is_needed():
    from ecitizen.insights.forecasting import forecast_series

    for freq, needed in (("day", 196), ("week", 32)):
        result = forecast_series([], freq=freq)
        assert (result.status, result.history_points, result.needed_points) == (
            "short",
            0,
            needed,
        )
        assert result.points == ()


def _weekly_points(start: date, mean: float) -> list[dict]:
    return [
        {
            "date": (start + timedelta(weeks=i)).isoformat(),
            "mean": mean,
            "lo80": mean * 0.9,
            "hi80": mean * 1.1,
            "lo95": mean * 0.8,
            "hi95": mean * 1.2,
        }
        for i in range(12)
    ]


def _forecast_rows(service, *, applications: float, counter: float) -> None:
    from ecitizen.insights.models import Forecast

    start = timezone.localdate() + timedelta(days=7 - timezone.localdate().weekday())
    for series, mean in (("applications", applications), ("counter", counter)):
        Forecast.objects.create(
            service=service,
            series=series,
            frequency="week",
            status="ok",
            history_points=104,
            needed_points=32,
            model="AutoETS",
            mase=0.83,
            backtest={"windows": 3, "horizon": 12, "candidates": []},
            points=_weekly_points(start, mean),
            history=[],
        )


def test_counter_staffing_the_form_accepts_never_breaks_the_forecast_page(
    client, service_manager, relief
):
    """1,500 counter visits a week (a town hall's counter), the counter entered as open 1
    hour a week and 480 minutes a visit — values the staffing form accepts: 12,000
    erlangs. The page must still open (and say the counter cannot cope)."""
    _forecast_rows(relief, applications=60, counter=1500)
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    data = {
        **_staffing_post(_key(client.get(url), "staffing")),
        "staffing-counter_hours_per_week": "1",
        "staffing-counter_minutes_per_visit": "480",
    }
    assert client.post(url, data).status_code == 302
    response = client.get(reverse("staff:insights_forecast", args=["relief"]))
    assert response.status_code == 200


def test_huge_forecast_values_never_print_nan_or_infinity(client, performance_officer, relief):
    _forecast_rows(relief, applications=1e300, counter=0)
    _as(client, performance_officer)
    response = client.get(reverse("staff:insights_forecast", args=["relief"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert not re.search(r"\b(nan|NaN|inf|Infinity)\b", page)
    csv_response = client.get(
        reverse("staff:insights_forecast_csv", args=["relief", "applications-week"])
    )
    assert not re.search(
        r"\b(nan|-?inf|-?infinity)\b", csv_response.content.decode(), re.IGNORECASE
    )


def test_everyone_notified_of_an_unusual_week_can_open_the_page_it_links_to(
    client, tmp_path, settings
):
    import shutil

    from ecitizen.accounts.models import Role
    from ecitizen.catalogue.models import Service
    from ecitizen.catalogue.services import service_definitions_publish
    from ecitizen.insights.services.forecasts import forecasts_refresh
    from ecitizen.insights.tests import test_forecast_service as fs
    from ecitizen.notifications.models import Notification
    from tests.factories import DepartmentFactory
    from tests.personas import _official

    settings.INSIGHTS_DIR = tmp_path / "store"
    works = DepartmentFactory(slug="public-works", name="Public Works")
    folder = tmp_path / "definitions"
    folder.mkdir()
    for name in ("shed-permit.yaml", "garden-waste.yaml"):
        shutil.copy(fs.CASES_FIXTURES / name, folder)
    service_definitions_publish(directory=folder, actor=None)
    published = {
        "shed": Service.objects.get(slug="shed-permit"),
        "garden": Service.objects.get(slug="garden-waste-collection"),
    }
    _official("service_manager", works, email="manager@example.test")
    _official(Role.CASE_OFFICER, works, email="officer@example.test")
    ward_manager = _ward_manager(works, JurisdictionFactory(code="east", name="East"))
    fs._history(published)
    stored = forecasts_refresh(today=fs.FIRST_RUN)
    assert stored.forecast == 4
    from ecitizen.cases.services.demo_support import usage_history_insert
    from ecitizen.insights.models import Forecast

    weekly = Forecast.objects.get(
        service=published["shed"], series="applications", frequency="week"
    )
    spike = int(weekly.backtest["ahead"][fs.FIRST_RUN.isoformat()]["hi95"] * 2) + 10
    usage_history_insert(
        rows=[
            row
            for k in range(7)
            for row in fs._rows(
                published["shed"], fs.FIRST_RUN + timedelta(days=k), spike // 7 + (k < spike % 7)
            )
        ]
    )
    assert forecasts_refresh(today=fs.THIS_MONDAY).anomalies >= 1
    notices = Notification.objects.filter(event="insights_anomaly", channel="email")
    assert notices.exists()
    # Notified or not (East's manager), whoever is notified can open what it links to.
    assert ward_manager.role_assignments.get().jurisdiction.code == "east"
    for notice in notices:
        sign_in_official(client, notice.recipient)
        for path in re.findall(r"/staff/insights/[\w/-]+", notice.body):
            assert client.get(path).status_code == 200, (notice.recipient.email, path)


def test_sla_by_ward_counts_the_same_cases_as_the_share_decided_within_target(
    relief, department, case_officer, supervisor, north, settings, tmp_path
):
    """Revenue has relief (a 10-day target) and no-target (the same workflow without a
    target). One case of each, in North, both decided in 2 working days: Revenue decided
    2, 1 of them with a target, within it: 100%. North's row must say the same (1 of 1),
    not 1 of 2."""
    from ecitizen.cases import services as cases
    from ecitizen.cases.tests.support import SHED_ANSWERS, pdf_file
    from ecitizen.catalogue.models import Service
    from ecitizen.catalogue.services import service_definitions_publish

    settings.INSIGHTS_DIR = tmp_path / "store"
    folder = tmp_path / "no-target"
    folder.mkdir()
    text = test_costs.SHED.read_text(encoding="utf-8")
    text = (
        text.replace("slug: shed-permit", "slug: no-target")
        .replace("department: public-works", "department: revenue")
        .replace("reference_code: SP", "reference_code: NT")
        .replace("sla:\n  business_days: 10\n  warn_business_days_before: 2\n", "")
    )
    assert "business_days" not in text
    (folder / "no-target.yaml").write_text(text, encoding="utf-8")
    service_definitions_publish(directory=folder, actor=None)
    no_target = Service.objects.get(slug="no-target")
    decided = []
    for service in (relief, no_target):
        with _travel("2026-01-05 10:00"):
            resident = UserFactory()
            draft = cases.draft_start(service=service, applicant=resident, actor=resident)
            draft = cases.draft_save_answers(draft=draft, values=SHED_ANSWERS, actor=resident)
            draft = cases.draft_save_answers(
                draft=draft, values={}, files={"plan_files": [pdf_file()]}, actor=resident
            )
            case = cases.draft_submit(draft=draft, actor=resident, ward_id=north.pk)
            case = cases.case_transition(case=case, action_id="start_review", actor=case_officer)
            case = cases.case_transition(case=case, action_id="pass_first", actor=case_officer)
        with _travel("2026-01-07 10:00"):
            decided.append(cases.case_transition(case=case, action_id="approve", actor=supervisor))
    with _travel("2026-02-10 10:00"):
        found = _refresh(date(2026, 1, 1), date(2026, 2, 10))
    revenue = found[("department", "revenue", date(2026, 1, 1))]
    assert (revenue["decided"], revenue["decided_with_sla"], revenue["within_sla"]) == (2, 1, 1)
    assert revenue["within_sla_rate"] == 1.0
    for scope, figures in found.items():
        by_ward = figures["sla_by_ward"]
        if by_ward:
            assert sum(row["decided"] for row in by_ward.values()) == figures["decided_with_sla"], (
                scope,
                by_ward,
            )


def test_non_finite_amounts_never_reach_a_page_or_a_csv(client, performance_officer, relief):
    month = _last_month()
    _kpi(
        relief,
        month,
        _full_figures(
            # A JSON column refuses NaN and infinite numbers; amounts are text, though.
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
        ),
    )
    _as(client, performance_officer)
    query = {"month": f"{month:%Y-%m}"}
    page = client.get(reverse("staff:insights_service", args=["relief"]), query)
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", " ", page.content.decode())
    assert not re.search(r"\b(nan|NaN|inf|Infinity)\b|∞", text)
    for slug in ("figures", "rates", "cost"):
        response = client.get(reverse("staff:insights_service_csv", args=["relief", slug]), query)
        if response.status_code == 200:
            assert not re.search(
                r"\b(nan|-?inf|-?infinity)\b", response.content.decode(), re.IGNORECASE
            ), slug


def test_an_old_but_valid_month_opens_empty(client, performance_officer, figures):
    _as(client, performance_officer)
    for name in ("authority", "department", "service"):
        response = client.get(_staff_urls()[name], {"month": "1900-01"})
        assert response.status_code == 200, name
    response = client.get(reverse("insights:performance"), {"month": "1900-01"})
    assert response.status_code == 400
    assert "There are no figures for" in response.content.decode()


def test_the_public_page_its_csv_and_the_open_dataset_withhold_the_same_figures(
    client, services, settings
):
    """relief: 30 completed of 40 started; 26 of them online (4 not: withheld, the
    complement rule); 20 satisfied of 25 (5 not: published). extension: 4 completed (a
    small count: withheld, and every rate built on it)."""
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 5
    from ecitizen.opendata import platform

    month = _last_month()
    _kpi(
        services["relief"],
        month,
        _full_figures(
            started=40,
            completed=30,
            completed_online=26,
            ratings={"1": 5, "2": 0, "3": 0, "4": 10, "5": 10},
            rated=25,
        ),
    )
    _kpi(
        services["extension"],
        month,
        _full_figures(started=12, completed=4, completed_online=4, ratings={"5": 30}, rated=30),
    )
    page = client.get(reverse("insights:performance"), {"month": f"{month:%Y-%m}"})
    assert page.status_code == 200
    statuses = {
        (slug, name): status
        for slug, row in re.findall(
            r'<tr class="govuk-table__row" data-service="([^"]+)">(.*?)</tr>',
            page.content.decode(),
            re.S,
        )
        for name, status in re.findall(r'data-figure="(\w+)" data-status="(\w+)"', row)
    }
    public_csv = {
        row["service"]: row
        for row in csv.DictReader(
            io.StringIO(
                client.get(
                    reverse("insights:performance_csv"), {"month": f"{month:%Y-%m}"}
                ).content.decode()
            )
        )
    }
    dataset = {
        row["service"]: row
        for row in platform.service_kpis_table().rows
        if row["month"] == month.isoformat()
    }
    expected = {
        ("relief", "transactions"): ("published", "30"),
        ("relief", "completion_rate"): ("published", "0.750"),
        ("relief", "digital_take_up"): ("suppressed", "[c]"),
        ("relief", "user_satisfaction"): ("published", "0.800"),
        ("extension", "transactions"): ("suppressed", "<5"),
        ("extension", "completion_rate"): ("suppressed", "[c]"),
        ("extension", "digital_take_up"): ("suppressed", "[c]"),
        ("extension", "user_satisfaction"): ("published", "1.000"),
    }
    for (slug, name), (status, cell) in expected.items():
        assert statuses[(slug, name)] == status, (slug, name)
        assert public_csv[slug][name] == cell, (slug, name)
        assert dataset[slug][name] == cell, (slug, name)

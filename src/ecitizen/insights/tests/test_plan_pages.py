"""The officials' planning pages: costs, hourly costs of roles, staffing and handling
times, computing a month again, and the forecast with its CSV.

Who may open what: a service manager their department's services (another department's:
404), the performance officer every service, a department administrator the costs of their
department only, a case officer none (403). Bad input gets a clear message, keeps what was
typed and changes nothing; the same form sent twice is done once.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.insights.models import ActionTime, RoleHourlyCost, ServiceMonthCost, ServiceStaffing
from ecitizen.insights.tests import test_costs
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db

# The services of the costs tests: relief (Revenue, the personas' department) and
# extension (Planning & Building).
services, relief, extension = test_costs.services, test_costs.relief, test_costs.extension


def _as(client, user):
    sign_in_official(client, user)
    return client


def _key(response, prefix: str = "") -> str:
    """The one-off key of the page's form (``prefix``: the form's prefix)."""
    name = f"{prefix}-submission" if prefix else "submission"
    match = re.search(rf'name="{name}" value="([0-9a-f]{{32}})"', response.content.decode())
    assert match, f"no {name} on the page"
    return match[1]


def _last_month():
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def _next_month():
    return (timezone.localdate().replace(day=28) + timedelta(days=7)).replace(day=1)


def _audits(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def _cost_form(key: str, month=None, **overrides) -> dict:
    month = month or _last_month()
    return {
        "submission": key,
        "month_month": str(month.month),
        "month_year": str(month.year),
        "fixed_costs": "1,250.50",
        "startup_costs": "0",
        "note": "Hosting",
        **overrides,
    }


# --- who may open what ------------------------------------------------------------------------

PAGES = {
    "costs_home": lambda s: reverse("staff:insights_costs_home"),
    "role_costs": lambda s: reverse("staff:insights_role_costs"),
    "costs": lambda s: reverse("staff:insights_costs", args=[s]),
    "staffing": lambda s: reverse("staff:insights_staffing", args=[s]),
    "forecast": lambda s: reverse("staff:insights_forecast", args=[s]),
    "forecast_csv": lambda s: reverse("staff:insights_forecast_csv", args=[s, "applications-week"]),
    "recompute": lambda s: reverse("staff:insights_recompute"),
}

#: persona -> page -> (status for relief in Revenue, status for extension in Planning)
EXPECTED = {
    "service_manager": {
        "costs_home": (403, 403),
        "role_costs": (403, 403),
        "costs": (403, 403),
        "staffing": (200, 404),
        "forecast": (200, 404),
        "forecast_csv": (200, 404),
        "recompute": (200, 200),
    },
    "other_service_manager": {
        "staffing": (404, 200),
        "forecast": (404, 200),
        "forecast_csv": (404, 200),
        "costs": (403, 403),
    },
    "performance_officer": {
        "costs_home": (200, 200),
        "role_costs": (200, 200),
        "costs": (200, 200),
        "staffing": (200, 200),
        "forecast": (200, 200),
        "forecast_csv": (200, 200),
        "recompute": (200, 200),
    },
    "department_admin": {
        "costs_home": (200, 200),
        "role_costs": (404, 404),  # hourly costs are set authority-wide
        "costs": (200, 404),
        "staffing": (403, 403),
        "forecast": (403, 403),
        "recompute": (403, 403),
    },
    "case_officer": {
        "costs_home": (403, 403),
        "role_costs": (403, 403),
        "costs": (403, 403),
        "staffing": (403, 403),
        "forecast": (403, 403),
        "forecast_csv": (403, 403),
        "recompute": (403, 403),
    },
}

CASES = [
    (persona, page, expected)
    for persona, pages in EXPECTED.items()
    for page, expected in pages.items()
]


@pytest.mark.parametrize(
    ("persona", "page", "expected"), CASES, ids=[f"{p}-{g}" for p, g, _e in CASES]
)
def test_access_and_remit(client, request, services, persona, page, expected):
    from ecitizen.insights.models import Forecast

    for service in services.values():  # a forecast to download
        Forecast.objects.create(
            service=service,
            series="applications",
            frequency="week",
            status="short",
            history_points=10,
            needed_points=104,
        )
    _as(client, request.getfixturevalue(persona))
    got = tuple(client.get(PAGES[page](slug)).status_code for slug in ("relief", "extension"))
    assert got == expected


def test_anonymous_visitors_are_sent_to_sign_in(client, relief):
    response = client.get(reverse("staff:insights_costs", args=["relief"]))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_an_unknown_service_is_404(client, performance_officer, services):
    _as(client, performance_officer)
    for name in ("staff:insights_costs", "staff:insights_staffing", "staff:insights_forecast"):
        assert client.get(reverse(name, args=["no-such-service"])).status_code == 404


def test_the_costs_home_lists_the_department_s_services_only(client, department_admin, services):
    _as(client, department_admin)
    page = client.get(reverse("staff:insights_costs_home")).content.decode()
    assert reverse("staff:insights_costs", args=["relief"]) in page
    assert reverse("staff:insights_costs", args=["extension"]) not in page
    assert reverse("staff:insights_role_costs") not in page  # not theirs to change
    assert "The performance officer sets the hourly costs" in page


# --- a service's costs ----------------------------------------------------------------------


def test_costs_are_saved_once_and_the_page_lists_them(client, department_admin, relief):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    key = _key(client.get(url))
    response = client.post(url, _cost_form(key))
    assert response.status_code == 302
    assert response["Location"] == url
    row = ServiceMonthCost.objects.get()
    assert (row.month, row.fixed_costs, row.startup_costs, row.note) == (
        _last_month(),
        Decimal("1250.50"),
        Decimal("0"),
        "Hosting",
    )
    # The same form again (a double click, a reload), even with another amount: done once.
    again = client.post(url, _cost_form(key, fixed_costs="9"))
    assert again.status_code == 302
    assert ServiceMonthCost.objects.get().fixed_costs == Decimal("1250.50")
    assert _audits("insights.service_cost_set") == 1
    page = client.get(url).content.decode()
    assert "The costs of" in page  # the success message
    assert "£1,250.50" in page
    assert f"?month={_last_month():%Y-%m}" in page


def test_a_month_entered_opens_with_its_costs(client, department_admin, relief):
    ServiceMonthCost.objects.create(
        service=relief, month=_last_month(), fixed_costs=Decimal("80"), startup_costs=Decimal("5")
    )
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    page = client.get(f"{url}?month={_last_month():%Y-%m}").content.decode()
    assert 'name="fixed_costs" value="80.00"' in page
    assert f'name="month_year" value="{_last_month().year}"' in page


@pytest.mark.parametrize(
    ("overrides", "message", "kept"),
    [
        ({"fixed_costs": "-10"}, "The fixed costs must be 0 or more", 'value="-10"'),
        ({"startup_costs": "-0.01"}, "The start-up costs must be 0 or more", 'value="-0.01"'),
        ({"fixed_costs": ""}, "Enter the fixed costs, or 0 if there were none", 'value="0"'),
        ({"startup_costs": ""}, "Enter the start-up costs, or 0 if there were none", None),
        ({"fixed_costs": "12.345"}, "no more than 2 decimal places", 'value="12.345"'),
        ({"fixed_costs": "lots"}, "Enter the fixed costs as an amount", 'value="lots"'),
        ({"month_month": "", "month_year": ""}, "Enter the month and year of the costs", None),
        ({"month_month": "13"}, "The month must be a number from 1 to 12", 'value="13"'),
        ({"month_year": "25"}, "The year must include 4 numbers", 'value="25"'),
        ({"month_year": ""}, "The month must include a year", None),
    ],
)
def test_bad_costs_are_explained_kept_and_change_nothing(
    client, department_admin, relief, overrides, message, kept
):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    response = client.post(url, _cost_form(_key(client.get(url)), **overrides))
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert "<title>Error:" in page
    assert message in page
    if kept:
        assert kept in page
    assert 'value="Hosting"' not in page  # a textarea keeps it as its content
    assert ">\nHosting</textarea>" in page
    assert not ServiceMonthCost.objects.exists()
    assert _audits("insights.service_cost_set") == 0


@pytest.mark.parametrize(
    ("language", "typed", "saved"),
    [
        ("en", "1,250.50", Decimal("1250.50")),
        ("en", "1,250", Decimal("1250.00")),  # a comma and 3 digits: thousands in English
        ("en", "12,50", Decimal("12.50")),  # a comma and 2 digits: a decimal comma anywhere
        ("en", "12,5", Decimal("12.50")),
        ("en", "1.250,50", Decimal("1250.50")),
        ("en", "1,250,000", Decimal("1250000.00")),
        ("fr", "12,50", Decimal("12.50")),
        ("fr", "1 250,50", Decimal("1250.50")),
        ("fr", "1\u202f250,50", Decimal("1250.50")),
        ("fr", "1,250", Decimal("1.25")),  # French writes a decimal comma
        ("fr", "12.50", Decimal("12.50")),  # a single point is a decimal point everywhere
        # The site writes an amount in Arabic as 1,250.50 (a decimal point): read so.
        ("ar", "1,250.50", Decimal("1250.50")),
        ("ar", "1,250", Decimal("1250.00")),
        ("ar", "12,50", Decimal("12.50")),
        ("ar", "\u0661\u0662\u066b\u0665", Decimal("12.50")),  # Arabic-Indic 12.5
    ],
)
def test_an_amount_is_read_the_reader_s_way_and_a_comma_never_dropped(
    client, department_admin, relief, language, typed, saved
):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    page = client.get(url, **headers)
    assert f'lang="{language}"' in page.content.decode()
    response = client.post(url, _cost_form(_key(page), fixed_costs=typed), **headers)
    assert response.status_code == 302
    assert ServiceMonthCost.objects.get().fixed_costs == saved


@pytest.mark.parametrize("typed", ["1,25,0", "01,250.50", "1,2345.5", "1.250.000", "1,250.5,0"])
def test_separators_that_make_no_sense_are_refused_with_an_example(
    client, department_admin, relief, typed
):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    response = client.post(url, _cost_form(_key(client.get(url)), fixed_costs=typed))
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        "Separate the thousands in groups of 3 digits, like 1,250.50, or do not separate "
        "them, like 1250.50"
    ) in page
    assert not ServiceMonthCost.objects.exists()


def test_three_decimals_after_a_french_comma_are_too_many_not_thousands(
    client, department_admin, relief
):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    headers = {"HTTP_ACCEPT_LANGUAGE": "fr"}
    response = client.post(
        url, _cost_form(_key(client.get(url, **headers)), fixed_costs="1,255"), **headers
    )
    assert response.status_code == 400
    assert not ServiceMonthCost.objects.exists()


@pytest.mark.parametrize(
    ("month", "year", "message"),
    [
        ("1", "1899", "The year must be 1900 or later"),
        ("1", "0000", "The year must be 1900 or later"),
        ("1", "\u0662\u0660\u0662\u0665", "Enter the month as a number from 1 to 12"),
        ("\u00b2", "2025", "Enter the month as a number from 1 to 12"),
        ("123", "2025", "The month must be a number from 1 to 12"),
    ],
)
def test_a_month_before_1900_or_in_other_digits_is_refused_clearly(
    client, department_admin, relief, month, year, message
):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    data = {**_cost_form(_key(client.get(url))), "month_month": month, "month_year": year}
    response = client.post(url, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ServiceMonthCost.objects.exists()


def test_the_first_month_accepted_is_january_1900(client, department_admin, relief):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    data = {**_cost_form(_key(client.get(url))), "month_month": "1", "month_year": "1900"}
    assert client.post(url, data).status_code == 302
    assert ServiceMonthCost.objects.get().month == date(1900, 1, 1)


@pytest.mark.parametrize("month", ["0000-01", "1899-12", "\u0662\u0660\u0662\u0665-01"])
def test_a_month_in_the_address_that_is_not_one_opens_an_empty_form(
    client, department_admin, relief, month
):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    response = client.get(url, {"month": month})
    assert response.status_code == 200
    assert 'name="month_year" value=' not in response.content.decode()


def test_a_future_month_is_refused_with_a_clear_message(client, department_admin, relief):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["relief"])
    response = client.post(url, _cost_form(_key(client.get(url)), month=_next_month()))
    assert response.status_code == 400
    page = response.content.decode()
    assert "The month must be this month or in the past" in page
    assert 'href="#id_month_month"' in page  # the summary links to the month box
    assert not ServiceMonthCost.objects.exists()


def test_another_department_s_costs_cannot_be_posted(client, department_admin, extension):
    _as(client, department_admin)
    url = reverse("staff:insights_costs", args=["extension"])
    assert client.post(url, _cost_form("a" * 32)).status_code == 404
    assert not ServiceMonthCost.objects.exists()


# --- hourly costs of roles -------------------------------------------------------------------


def test_hourly_costs_of_the_roles_the_workflows_use(client, performance_officer, relief):
    _as(client, performance_officer)
    url = reverse("staff:insights_role_costs")
    page = client.get(url)
    text = page.content.decode()
    for role in ("role_case_officer", "role_supervisor"):
        assert f'name="{role}"' in text
    assert 'name="role_auditor"' not in text  # no workflow action is an auditor's
    key = _key(page)
    response = client.post(
        url, {"submission": key, "role_case_officer": "£35.50", "role_supervisor": ""}
    )
    assert response.status_code == 302
    assert dict(RoleHourlyCost.objects.values_list("role", "hourly_cost")) == {
        "case_officer": Decimal("35.50")
    }
    # Once set, a cost cannot be emptied; a negative one is refused; nothing changes.
    key = _key(client.get(url))
    response = client.post(
        url, {"submission": key, "role_case_officer": "", "role_supervisor": "-4"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Enter the hourly cost of the role “Case officer”" in text
    assert "The hourly cost of the role “Supervisor” must be 0 or more" in text
    assert dict(RoleHourlyCost.objects.values_list("role", "hourly_cost")) == {
        "case_officer": Decimal("35.50")
    }
    assert _audits("insights.role_cost_set") == 1


# --- staffing and handling times -----------------------------------------------------------

STAFFING = {
    "part": "staffing",
    "staffing-officers": "3",
    "staffing-hours_per_week": "37",
    "staffing-productive_percent": "75",
    "staffing-counter_hours_per_week": "35",
    "staffing-counter_minutes_per_visit": "12",
    "staffing-counter_wait_minutes": "5",
    "staffing-counter_service_percent": "80",
}


def test_staffing_is_saved_once(client, service_manager, relief):
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    key = _key(client.get(url), "staffing")
    response = client.post(url, {**STAFFING, "staffing-submission": key})
    assert response.status_code == 302
    row = ServiceStaffing.objects.get()
    assert (row.officers, row.productive_share, row.counter_wait_target_seconds) == (
        Decimal("3.0"),
        Decimal("0.75"),
        300,
    )
    assert row.counter_service_level == Decimal("0.80")
    client.post(url, {**STAFFING, "staffing-submission": key, "staffing-officers": "7"})
    assert ServiceStaffing.objects.get().officers == Decimal("3.0")
    assert _audits("insights.staffing_set") == 1
    page = client.get(url).content.decode()
    assert 'name="staffing-productive_percent" value="75"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("staffing-officers", "-1", "The number of officers must be 0 or more"),
        ("staffing-officers", "", "Enter the number of officers, or 0"),
        ("staffing-hours_per_week", "90", "The hours a week must be between 1 and 80"),
        ("staffing-productive_percent", "0", "between 5 and 100"),
        (
            "staffing-counter_service_percent",
            "100",
            "The share of visitors must be between 5 and 99",
        ),
    ],
)
def test_bad_staffing_is_explained_and_changes_nothing(
    client, service_manager, relief, field, value, message
):
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    key = _key(client.get(url), "staffing")
    response = client.post(url, {**STAFFING, "staffing-submission": key, field: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert message in page
    assert f'name="{field}" value="{value}"' in page or value == ""
    assert not ServiceStaffing.objects.exists()


def test_handling_times_edited_and_reset(client, service_manager, relief):
    ActionTime.objects.create(
        service=relief,
        action="approve",
        role="supervisor",
        minutes=Decimal("6.5"),
        measured_minutes=Decimal("6.5"),
    )
    _as(client, service_manager)
    url = reverse("staff:insights_staffing", args=["relief"])
    page = client.get(url)
    text = page.content.decode()
    assert "Measured: 6.5 minutes." in text
    assert 'name="times-minutes_reply"' not in text  # the applicant's action
    data = {
        "part": "times",
        "times-submission": _key(page, "times"),
        "times-minutes_approve": "6.5",
        "times-role_approve": "supervisor",
        "times-minutes_start_review": "4",
        "times-role_start_review": "case_officer",
    }
    for action in ("request_info", "pass_first", "refuse"):
        data[f"times-role_{action}"] = "case_officer"
    assert client.post(url, data).status_code == 302
    times = {t.action: (t.minutes, t.edited) for t in ActionTime.objects.all()}
    # Unchanged: still the measurement. Entered: edited.
    assert times == {"approve": (Decimal("6.5"), False), "start_review": (Decimal("4.0"), True)}

    key = _key(client.get(url), "times")
    bad = {**data, "times-submission": key, "times-minutes_approve": "-2"}
    response = client.post(url, bad)
    assert response.status_code == 400
    assert "The minutes to “Approve” must be 0 or more" in response.content.decode()
    assert ActionTime.objects.get(action="approve").minutes == Decimal("6.5")

    client.post(url, {**data, "times-submission": key, "times-minutes_approve": "20"})
    assert ActionTime.objects.get(action="approve").edited
    page = client.get(url).content.decode()
    assert "Use the measured 6.5 minutes for “Approve”" in page
    assert client.post(url, {"part": "reset", "action": "approve"}).status_code == 302
    row = ActionTime.objects.get(action="approve")
    assert (row.minutes, row.edited) == (Decimal("6.5"), False)


# --- computing a month again -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "year", "message"),
    [
        ("", "", "Enter the month and year of the figures to compute"),
        ("13", "2025", "The month must be a number from 1 to 12"),
        ("April", "2025", "Enter the month as a number from 1 to 12"),
        (None, None, "You can only compute the figures of this month or a past month"),
    ],
)
def test_recompute_refuses_a_bad_month_clearly(client, service_manager, month, year, message):
    from ecitizen.insights.models import KpiMonth

    if month is None:
        month, year = str(_next_month().month), str(_next_month().year)
    _as(client, service_manager)
    url = reverse("staff:insights_recompute")
    response = client.post(
        url,
        {"submission": _key(client.get(url)), "month_month": month, "month_year": year},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not KpiMonth.objects.exists()
    assert _audits("insights.month_recomputed") == 0


@pytest.mark.parametrize("year", ["1899", "1000", "0001"])
def test_recompute_refuses_a_month_before_1900(client, service_manager, year):
    from ecitizen.insights.models import KpiMonth

    _as(client, service_manager)
    url = reverse("staff:insights_recompute")
    response = client.post(
        url, {"submission": _key(client.get(url)), "month_month": "1", "month_year": year}
    )
    assert response.status_code == 400
    assert "The year must be 1900 or later" in response.content.decode()
    assert not KpiMonth.objects.exists()


@pytest.mark.parametrize("month", [date(1899, 12, 1), date(1600, 1, 1), date(1, 1, 1)])
def test_the_service_refuses_a_month_before_1900_whoever_calls_it(
    service_manager, settings, tmp_path, month
):
    from ecitizen.insights.models import KpiMonth
    from ecitizen.insights.services import InsightsError
    from ecitizen.insights.services.kpis import kpi_month_recompute, kpis_refresh

    settings.INSIGHTS_DIR = tmp_path / "store"
    with pytest.raises(InsightsError) as refused:
        kpi_month_recompute(month=month, actor=service_manager)
    assert refused.value.code == "month_too_early"
    assert "There are no figures before January 1900" in str(refused.value.message)
    with pytest.raises(InsightsError) as refused:
        kpis_refresh(from_month=month)
    assert refused.value.code == "month_too_early"
    assert not KpiMonth.objects.exists()
    assert _audits("insights.month_recomputed") == 0
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1899-12", "--from must be 1900-01 or later"),
        ("0000-01", "--from must be 1900-01 or later"),
        ("\u0662\u0660\u0662\u0665-01", "--from must be a month written YYYY-MM"),
        ("2025-01\n", "--from must be a month written YYYY-MM"),
    ],
)
def test_the_refresh_command_refuses_a_month_before_1900_with_a_message(
    settings, tmp_path, value, message
):
    from django.core.management import CommandError, call_command

    from ecitizen.insights.models import KpiMonth

    settings.INSIGHTS_DIR = tmp_path / "store"
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("insights", "refresh", "--from", value)
    assert not KpiMonth.objects.exists()


def test_recompute_a_past_month(client, service_manager, relief, settings, tmp_path):
    settings.INSIGHTS_DIR = tmp_path / "store"
    _as(client, service_manager)
    url = reverse("staff:insights_recompute")
    back = reverse("staff:insights_costs_home")
    key = _key(client.get(f"{url}?next={back}"))
    month = _last_month()
    data = {
        "submission": key,
        "month_month": str(month.month),
        "month_year": str(month.year),
        "next": back,
    }
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == back
    assert _audits("insights.month_recomputed") == 1
    assert client.post(url, data).status_code == 302  # sent twice: done once
    assert _audits("insights.month_recomputed") == 1
    # Somewhere else than this site is not where it goes next.
    data = {**data, "submission": _key(client.get(url)), "next": "https://evil.example/"}
    assert client.post(url, data)["Location"] == reverse("staff:insights")


# --- the forecast and the staffing advice ----------------------------------------------------


def _monday_after(day):
    return day + timedelta(days=7 - day.weekday())


def _weekly(start, means):
    return [
        {
            "date": (start + timedelta(weeks=i)).isoformat(),
            "mean": mean,
            "lo80": mean - 10,
            "hi80": mean + 12,
            "lo95": mean - 15,
            "hi95": mean + 20,
        }
        for i, mean in enumerate(means)
    ]


@pytest.fixture
def forecasts(relief):
    """Applications of relief by week: AutoETS, MASE 0.83; 60 cases a week, then 252 in
    week 12. By day: too little history. Counter visits by week: 350 a week; by day: the
    seasonal naive, which no model beat."""
    from ecitizen.insights.models import Forecast

    start = _monday_after(timezone.localdate())
    history = [
        {"date": (start - timedelta(weeks=13 - i)).isoformat(), "value": 57 + i % 3}
        for i in range(13)
    ]
    Forecast.objects.create(
        service=relief,
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
                {"model": "Theta", "mae": 9.1, "mase": 0.91},
            ],
        },
        points=_weekly(start, [60] * 11 + [252]),
        history=history,
    )
    Forecast.objects.create(
        service=relief,
        series="applications",
        frequency="day",
        status="short",
        history_points=120,
        needed_points=196,
    )
    Forecast.objects.create(
        service=relief,
        series="counter",
        frequency="week",
        status="ok",
        history_points=104,
        needed_points=32,
        model="AutoETS",
        mase=0.9,
        backtest={"windows": 3, "horizon": 12, "candidates": []},
        points=_weekly(start, [350] * 12),
        history=[],
    )
    Forecast.objects.create(
        service=relief,
        series="counter",
        frequency="day",
        status="ok",
        history_points=700,
        needed_points=196,
        model="SeasonalNaive",
        mase=1.0,
        backtest={"windows": 3, "horizon": 84, "candidates": []},
        points=[
            {
                "date": (start + timedelta(days=i)).isoformat(),
                "mean": 70,
                "lo80": 60,
                "hi80": 80,
                "lo95": 55,
                "hi95": 85,
            }
            for i in range(84)
        ],
        history=[],
    )
    # 30 minutes of officers' time a case; 3 officers of 40 hours, 75% on cases: 30 hours
    # each. Week 12: 252 cases x 0.5 h = 126 h = 4.2 officers. The counter: 350 visits over
    # 35 hours = 10 an hour of 12 minutes: 2 Erlangs; 80% seen within 5 minutes needs 4.
    ActionTime.objects.create(
        service=relief, action="start_review", role="case_officer", minutes=Decimal("30")
    )
    ServiceStaffing.objects.create(
        service=relief,
        officers=Decimal("3"),
        hours_per_week=Decimal("40"),
        productive_share=Decimal("0.75"),
        counter_hours_per_week=Decimal("35"),
        counter_minutes_per_visit=Decimal("12"),
        counter_wait_target_seconds=300,
        counter_service_level=Decimal("0.80"),
    )
    return start


def test_the_forecast_page(client, service_manager, relief, forecasts):
    _as(client, service_manager)
    response = client.get(reverse("staff:insights_forecast", args=["relief"]))
    assert response.status_code == 200
    page = response.content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    # The staffing advice, as the issue words it, and what to change.
    assert re.search(r"You need 4\.2 officers in week 12\b.*; you have 3\.", text)
    assert "Add 1.2 officers" in text
    assert "staff 4 desks in week 1" in text  # Erlang C
    # Each series: the model and its measured error, in words too.
    assert "MASE=0.83" in text
    assert "17% smaller than those of the seasonal naive forecast" in text
    assert "Too little history to forecast: 120 days of 196 needed." in text
    assert "The seasonal naive forecast is shown because no model beat it" in text
    # The chart with its two bands, its data table and its CSV.
    assert page.count("<svg") >= 3
    assert "95% interval: low" in text
    assert "80% interval: high" in text
    csv_url = reverse("staff:insights_forecast_csv", args=["relief", "applications-week"])
    assert f'href="{csv_url}"' in page
    assert "Change the staffing and handling times" in text


def test_a_service_never_forecast_says_so(client, performance_officer, relief):
    _as(client, performance_officer)
    page = client.get(reverse("staff:insights_forecast", args=["relief"])).content.decode()
    assert "Nothing has been forecast for this service yet" in page
    assert "There is no staffing advice yet" in page


def test_forecast_csv(client, service_manager, relief, forecasts):
    _as(client, service_manager)
    url = reverse("staff:insights_forecast_csv", args=["relief", "applications-week"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "relief-applications-week-forecast.csv" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0] == "date,recorded,forecast,lo80,hi80,lo95,hi95"
    assert len(lines) == 1 + 13 + 12
    first_history = forecasts - timedelta(weeks=13)
    assert lines[1] == f"{first_history.isoformat()},57,,,,,"
    assert lines[14] == f"{forecasts.isoformat()},,60,50,72,45,80"
    assert lines[-1] == f"{(forecasts + timedelta(weeks=11)).isoformat()},,252,242,264,237,272"
    missing = reverse("staff:insights_forecast_csv", args=["relief", "reports-week"])
    assert client.get(missing).status_code == 404

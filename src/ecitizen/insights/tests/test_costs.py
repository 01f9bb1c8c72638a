"""The costs, handling times and staffing officials enter (insights.services.costs): who
may enter what, what is refused (with its code) and changes nothing, the audit trail, and
the handling times measured from the analytical store, with known answers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.core.errors import PermissionDenied
from ecitizen.core.models import AuditEvent
from ecitizen.insights.models import ActionTime, RoleHourlyCost, ServiceMonthCost, ServiceStaffing
from ecitizen.insights.services import InsightsError
from ecitizen.insights.services.costs import (
    SESSION_GAP_MINUTES,
    action_time_reset,
    action_time_set,
    action_times_measure,
    official_actions,
    role_cost_set,
    service_cost_set,
    staffing_set,
)
from ecitizen.insights.store import store_open

SHED = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures" / "shed-permit.yaml"


def publish_services(directory: Path) -> dict:
    """Two copies of the cases tests' shed permit: ``relief`` in Revenue (the personas'
    department) and ``extension`` in Planning & Building."""
    from ecitizen.catalogue.models import Service

    text = SHED.read_text(encoding="utf-8")
    for slug, dept, code in (("relief", "revenue", "RL"), ("extension", "planning", "EX")):
        changed = (
            text.replace("slug: shed-permit", f"slug: {slug}")
            .replace("department: public-works", f"department: {dept}")
            .replace("reference_code: SP", f"reference_code: {code}")
        )
        (directory / f"{slug}.yaml").write_text(changed, encoding="utf-8")
    service_definitions_publish(directory=directory, actor=None)
    return {service.slug: service for service in Service.objects.all()}


@pytest.fixture
def services(tmp_path, department, other_department):
    folder = tmp_path / "definitions"
    folder.mkdir()
    return publish_services(folder)


@pytest.fixture
def relief(services):
    return services["relief"]


@pytest.fixture
def extension(services):
    return services["extension"]


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def _last_month() -> date:
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


# --- hourly costs of roles ----------------------------------------------------------------


def test_role_cost_set_by_the_performance_officer_is_audited_and_idempotent(performance_officer):
    row = role_cost_set(role="case_officer", hourly_cost=Decimal("35.5"), actor=performance_officer)
    assert row.hourly_cost == Decimal("35.50")
    assert row.updated_by == performance_officer
    events = _events("insights.role_cost_set")
    assert len(events) == 1
    assert events[0].actor_id == performance_officer.pk
    assert events[0].changes["role"] == "case_officer"
    assert events[0].changes["hourly_cost"] == {"before": None, "after": "35.50"}

    role_cost_set(role="case_officer", hourly_cost="35.50", actor=performance_officer)
    assert len(_events("insights.role_cost_set")) == 1  # the same again: nothing written

    role_cost_set(role="case_officer", hourly_cost="40", actor=performance_officer)
    events = _events("insights.role_cost_set")
    assert len(events) == 2
    assert events[1].changes["hourly_cost"] == {"before": "35.50", "after": "40.00"}
    assert RoleHourlyCost.objects.get(role="case_officer").hourly_cost == Decimal("40.00")


def test_role_cost_zero_is_an_amount(platform_admin):
    assert role_cost_set(role="supervisor", hourly_cost="0", actor=platform_admin).hourly_cost == 0


def test_role_costs_need_an_authority_wide_assignment(department_admin, service_manager):
    for actor in (department_admin, service_manager):
        with pytest.raises(PermissionDenied):
            role_cost_set(role="case_officer", hourly_cost="30", actor=actor)
    assert not RoleHourlyCost.objects.exists()
    assert not _events("insights.role_cost_set")


@pytest.mark.parametrize(
    ("role", "amount", "code"),
    [
        ("case_officer", "-1", "negative_cost"),
        ("case_officer", None, "missing_cost"),
        ("case_officer", "  ", "missing_cost"),
        ("case_officer", "abc", "invalid_number"),
        ("case_officer", "NaN", "invalid_number"),
        ("case_officer", "12.345", "too_precise"),
        ("case_officer", "100000000", "too_large"),
        ("resident", "30", "unknown_role"),
        ("no_such_role", "30", "unknown_role"),
    ],
)
def test_role_cost_refusals_change_nothing(performance_officer, role, amount, code):
    with pytest.raises(InsightsError) as refused:
        role_cost_set(role=role, hourly_cost=amount, actor=performance_officer)
    assert refused.value.code == code
    assert not RoleHourlyCost.objects.exists()
    assert not _events("insights.role_cost_set")


# --- a service's costs of a month ------------------------------------------------------------


def test_service_cost_set_by_the_department_admin(relief, department_admin):
    month = _last_month()
    row = service_cost_set(
        service=relief,
        month=month.replace(day=17),
        fixed_costs=Decimal("1200"),
        startup_costs=Decimal("0"),
        note="Hosting and postage",
        actor=department_admin,
    )
    assert row.month == month  # any day of the month: its first day
    assert (row.fixed_costs, row.startup_costs, row.note) == (
        Decimal("1200.00"),
        0,
        "Hosting and postage",
    )
    assert row.entered_by == department_admin
    events = _events("insights.service_cost_set")
    assert len(events) == 1
    assert events[0].changes["service"] == "relief"
    assert events[0].changes["month"] == f"{month:%Y-%m}"
    assert events[0].changes["fixed_costs"] == {"before": None, "after": "1200.00"}

    # The same again: nothing written. A change: one row, the change audited.
    service_cost_set(
        service=relief,
        month=month,
        fixed_costs="1200.00",
        startup_costs="0",
        note="Hosting and postage",
        actor=department_admin,
    )
    assert len(_events("insights.service_cost_set")) == 1
    service_cost_set(
        service=relief,
        month=month,
        fixed_costs="1300",
        startup_costs="500",
        note="Hosting and postage",
        actor=department_admin,
    )
    assert ServiceMonthCost.objects.count() == 1
    last = _events("insights.service_cost_set")[-1]
    assert last.changes["fixed_costs"] == {"before": "1200.00", "after": "1300.00"}
    assert last.changes["startup_costs"] == {"before": "0.00", "after": "500.00"}
    assert "note" not in last.changes


def test_this_month_is_allowed(relief, performance_officer):
    this_month = timezone.localdate().replace(day=1)
    row = service_cost_set(
        service=relief,
        month=timezone.localdate(),
        fixed_costs="10",
        startup_costs="0",
        note="",
        actor=performance_officer,
    )
    assert row.month == this_month


def test_service_costs_remit(
    relief, extension, department_admin, other_service_manager, service_manager
):
    month = _last_month()
    # A department administrator of Revenue: not Planning's services.
    with pytest.raises(PermissionDenied):
        service_cost_set(
            service=extension,
            month=month,
            fixed_costs="1",
            startup_costs="0",
            note="",
            actor=department_admin,
        )
    # Service managers plan; they do not enter costs.
    with pytest.raises(PermissionDenied):
        service_cost_set(
            service=relief,
            month=month,
            fixed_costs="1",
            startup_costs="0",
            note="",
            actor=service_manager,
        )
    assert not ServiceMonthCost.objects.exists()


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"fixed_costs": "-0.01"}, "negative_cost", "fixed_costs"),
        ({"startup_costs": "-5"}, "negative_cost", "startup_costs"),
        ({"fixed_costs": None}, "missing_cost", "fixed_costs"),
        ({"startup_costs": ""}, "missing_cost", "startup_costs"),
        ({"fixed_costs": "1.005"}, "too_precise", "fixed_costs"),
        ({"month": None}, "missing_month", "month"),
        ({"note": "x" * 2001}, "too_long", "note"),
    ],
)
def test_service_cost_refusals_change_nothing(relief, department_admin, changes, code, field):
    values = {
        "month": _last_month(),
        "fixed_costs": "10",
        "startup_costs": "0",
        "note": "",
        **changes,
    }
    with pytest.raises(InsightsError) as refused:
        service_cost_set(service=relief, actor=department_admin, **values)
    assert refused.value.code == code
    assert refused.value.field == field
    assert not ServiceMonthCost.objects.exists()
    assert not _events("insights.service_cost_set")


def test_a_future_month_is_refused_and_changes_nothing(relief, department_admin):
    month = _last_month()
    service_cost_set(
        service=relief,
        month=month,
        fixed_costs="10",
        startup_costs="0",
        note="",
        actor=department_admin,
    )
    next_month = (timezone.localdate().replace(day=28) + timedelta(days=7)).replace(day=1)
    with pytest.raises(InsightsError) as refused:
        service_cost_set(
            service=relief,
            month=next_month,
            fixed_costs="10",
            startup_costs="0",
            note="",
            actor=department_admin,
        )
    assert refused.value.code == "future_month"
    assert list(ServiceMonthCost.objects.values_list("month", flat=True)) == [month]
    assert len(_events("insights.service_cost_set")) == 1


# --- handling times and staffing -------------------------------------------------------------


def test_official_actions_leave_out_the_applicants(relief):
    assert [a["id"] for a in official_actions(relief)] == [
        "start_review",
        "request_info",
        "pass_first",
        "approve",
        "refuse",
    ]


def test_action_time_set_marks_edited_and_is_audited(relief, service_manager):
    row = action_time_set(
        service=relief, action="approve", minutes="12.5", role="supervisor", actor=service_manager
    )
    assert (row.minutes, row.role, row.edited) == (Decimal("12.5"), "supervisor", True)
    assert row.measured_minutes is None
    event = _events("insights.action_time_set")[-1]
    assert event.changes["action"] == "approve"
    assert event.changes["minutes"] == {"before": None, "after": "12.5"}
    action_time_set(
        service=relief, action="approve", minutes="12.5", role="supervisor", actor=service_manager
    )
    assert len(_events("insights.action_time_set")) == 1


@pytest.mark.parametrize(
    ("action", "minutes", "role", "code"),
    [
        ("approve", "-1", "supervisor", "negative_minutes"),
        ("approve", None, "supervisor", "missing_minutes"),
        ("approve", "1.25", "supervisor", "too_precise"),
        ("approve", "5", "resident", "unknown_role"),
        ("reply", "5", "case_officer", "unknown_action"),  # the applicant's action
        ("no_such_action", "5", "case_officer", "unknown_action"),
    ],
)
def test_action_time_refusals_change_nothing(relief, service_manager, action, minutes, role, code):
    with pytest.raises(InsightsError) as refused:
        action_time_set(
            service=relief, action=action, minutes=minutes, role=role, actor=service_manager
        )
    assert refused.value.code == code
    assert not ActionTime.objects.exists()


def test_action_times_remit(
    relief, extension, service_manager, department_admin, performance_officer
):
    with pytest.raises(PermissionDenied):  # another department
        action_time_set(
            service=extension,
            action="approve",
            minutes="5",
            role="supervisor",
            actor=service_manager,
        )
    with pytest.raises(PermissionDenied):  # costs, not planning
        action_time_set(
            service=relief, action="approve", minutes="5", role="supervisor", actor=department_admin
        )
    assert not ActionTime.objects.exists()
    action_time_set(
        service=extension,
        action="approve",
        minutes="5",
        role="supervisor",
        actor=performance_officer,
    )
    assert ActionTime.objects.get().service == extension


def test_action_time_reset_goes_back_to_the_measurement(relief, service_manager):
    ActionTime.objects.create(
        service=relief,
        action="approve",
        role="supervisor",
        minutes=Decimal("6.5"),
        measured_minutes=Decimal("6.5"),
    )
    action_time_set(
        service=relief, action="approve", minutes="30", role="case_officer", actor=service_manager
    )
    row = action_time_reset(service=relief, action="approve", actor=service_manager)
    assert row is not None
    assert (row.minutes, row.role, row.edited) == (Decimal("6.5"), "supervisor", False)
    assert _events("insights.action_time_reset")[-1].changes["minutes"] == {
        "before": "30.0",
        "after": "6.5",
    }
    assert action_time_reset(service=relief, action="start_review", actor=service_manager) is None


STAFFING = {
    "officers": "3",
    "hours_per_week": "37",
    "productive_share": "0.75",
    "counter_hours_per_week": "35",
    "counter_minutes_per_visit": "12",
    "counter_wait_target_seconds": 300,
    "counter_service_level": "0.8",
}


def test_staffing_set_and_audit(relief, service_manager):
    row = staffing_set(service=relief, actor=service_manager, **STAFFING)
    assert row.officers == Decimal("3.0")
    assert row.productive_share == Decimal("0.75")
    assert row.counter_wait_target_seconds == 300
    assert _events("insights.staffing_set")[-1].changes["officers"] == {
        "before": None,
        "after": "3.0",
    }
    staffing_set(service=relief, actor=service_manager, **STAFFING)
    assert len(_events("insights.staffing_set")) == 1
    staffing_set(service=relief, actor=service_manager, **{**STAFFING, "officers": "0"})
    assert ServiceStaffing.objects.get().officers == 0
    assert len(_events("insights.staffing_set")) == 2


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("officers", "-1", "negative_value"),
        ("hours_per_week", "0.5", "out_of_range"),
        ("hours_per_week", "81", "out_of_range"),
        ("productive_share", "1.5", "out_of_range"),
        ("productive_share", "0.01", "out_of_range"),
        ("counter_service_level", "1", "out_of_range"),
        ("counter_minutes_per_visit", "0.2", "out_of_range"),
        ("counter_wait_target_seconds", 0, "out_of_range"),
        ("counter_wait_target_seconds", "1.5", "too_precise"),
        ("officers", None, "missing_value"),
    ],
)
def test_staffing_refusals_change_nothing(relief, service_manager, field, value, code):
    with pytest.raises(InsightsError) as refused:
        staffing_set(service=relief, actor=service_manager, **{**STAFFING, field: value})
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not ServiceStaffing.objects.exists()
    assert not _events("insights.staffing_set")


def test_staffing_remit(extension, service_manager):
    with pytest.raises(PermissionDenied):
        staffing_set(service=extension, actor=service_manager, **STAFFING)


# --- measured handling times -----------------------------------------------------------------


def _action_rows(relief, extension) -> list[tuple]:
    """Two officers' days. Gaps (minutes) since the same officer's previous action:

    officer 10: 09:00 start_review (first: no gap), 09:10 start_review (10), 09:30
    pass_first (20), 09:36 start_review (6), 13:00 pass_first (204: a break, left out),
    13:08 pass_first (8), 15:08 start_review (120: left out, not under two hours).
    officer 11: 10:00 approve (first), 10:05 approve (5), 10:12 refuse on *extension*
    (7), 10:20 approve (8: since the extension action, any case counts), 10:30
    old_action (10: not in the definition). Resident 20: replies (not an official action).

    relief: start_review median(10, 6) = 8.0; pass_first median(20, 8) = 14.0;
    approve median(5, 8) = 6.5. extension: refuse 7.0.
    """
    day = datetime(2025, 3, 4)

    def at(hours: int, minutes: int) -> datetime:
        return day + timedelta(hours=hours, minutes=minutes)

    r, e = relief.pk, extension.pk
    return [
        (1, 1, r, "start_review", 10, at(9, 0)),
        (2, 2, r, "start_review", 10, at(9, 10)),
        (3, 1, r, "pass_first", 10, at(9, 30)),
        (4, 3, r, "start_review", 10, at(9, 36)),
        (5, 2, r, "pass_first", 10, at(13, 0)),
        (6, 3, r, "pass_first", 10, at(13, 8)),
        (7, 5, r, "start_review", 10, at(15, 8)),
        (8, 1, r, "approve", 11, at(10, 0)),
        (9, 2, r, "approve", 11, at(10, 5)),
        (10, 9, e, "refuse", 11, at(10, 12)),
        (11, 3, r, "approve", 11, at(10, 20)),
        (12, 4, r, "old_action", 11, at(10, 30)),
        (13, 6, r, "reply", 20, at(10, 31)),
        (14, 7, r, "reply", 20, at(10, 40)),
    ]


def test_action_times_measured_with_known_answers(tmp_path, relief, extension):
    assert SESSION_GAP_MINUTES == 120
    # An official set "approve" by hand: the measurement is recorded next to it.
    ActionTime.objects.create(
        service=relief, action="approve", role="case_officer", minutes=Decimal("30"), edited=True
    )
    with store_open(tmp_path / "store.duckdb") as connection:
        connection.executemany(
            "INSERT INTO actions (id, case_id, service_id, action, actor_id, occurred_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            _action_rows(relief, extension),
        )
        result = action_times_measure(connection=connection)
        again = action_times_measure(connection=connection)

    rows = {(t.service.slug, t.action): t for t in ActionTime.objects.select_related("service")}
    assert set(rows) == {
        ("relief", "start_review"),
        ("relief", "pass_first"),
        ("relief", "approve"),
        ("extension", "refuse"),
    }
    got = {key: (t.minutes, t.measured_minutes, t.role, t.edited) for key, t in rows.items()}
    assert got[("relief", "start_review")] == (
        Decimal("8.0"),
        Decimal("8.0"),
        "case_officer",
        False,
    )
    assert got[("relief", "pass_first")] == (
        Decimal("14.0"),
        Decimal("14.0"),
        "case_officer",
        False,
    )
    # Edited: minutes and role kept, the measurement beside them.
    assert got[("relief", "approve")] == (Decimal("30.0"), Decimal("6.5"), "case_officer", True)
    # The first of the action's roles (case_officer, supervisor).
    assert got[("extension", "refuse")] == (Decimal("7.0"), Decimal("7.0"), "case_officer", False)
    assert (result.measured, result.created, result.updated) == (4, 3, 1)
    assert (again.measured, again.created, again.updated) == (4, 0, 0)  # idempotent


def test_a_new_measurement_replaces_an_unedited_time(tmp_path, relief, extension):
    ActionTime.objects.create(
        service=relief,
        action="start_review",
        role="supervisor",
        minutes=Decimal("99"),
        measured_minutes=Decimal("99"),
    )
    with store_open(tmp_path / "store.duckdb") as connection:
        connection.executemany(
            "INSERT INTO actions VALUES (?, ?, ?, ?, ?, ?)", _action_rows(relief, extension)
        )
        action_times_measure(connection=connection)
    row = ActionTime.objects.get(service=relief, action="start_review")
    assert (row.minutes, row.measured_minutes, row.role) == (
        Decimal("8.0"),
        Decimal("8.0"),
        "case_officer",
    )


def test_an_empty_store_measures_nothing(tmp_path, relief):
    with store_open(tmp_path / "store.duckdb") as connection:
        result = action_times_measure(connection=connection)
    assert (result.measured, result.created, result.updated) == (0, 0, 0)
    assert not ActionTime.objects.exists()

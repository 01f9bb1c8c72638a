"""What officials enter for the cost per transaction and the staffing advice, and the
handling times measured from the cases' history.

- :func:`role_cost_set`: what an hour of an official in a role costs (authority-wide: the
  same post costs the same in every department). Needs ``insights.costs`` from an
  authority-wide assignment (performance officer, platform administrator).
- :func:`service_cost_set`: a service's fixed and start-up costs of one month. Needs
  ``insights.costs`` covering the service's department (its department administrator).
- :func:`action_time_set` / :func:`action_time_reset`: how long one workflow action takes
  and which role does it; :func:`staffing_set`: the officers, their hours and the counter's
  parameters. Need ``insights.plan`` covering the service's department.
- :func:`action_times_measure`: called by the KPI refresh with the analytical store open.

Every change an official makes is written to the audit trail with what changed; a change
that changes nothing writes nothing (a form sent twice is done once). Amounts are
validated here as well as in the forms: a negative or missing amount, a month in the
future or a role that does not exist raises :class:`InsightsInputError` (an
:class:`~ecitizen.insights.services.InsightsError`) with a stable ``code`` and the name of
the ``field`` it is about.

**Measured handling times** (:func:`action_times_measure`). The case history records when
each action was taken and by whom, not how long the official worked on it. The time an
action took is estimated as the gap since the same official's previous action, on any case
of any service: officials work through cases one after another, so within a working
session that gap is the time spent on this one (reading the case, checking, writing the
decision). Gaps of :data:`SESSION_GAP_MINUTES` or more are breaks, meetings, the end of the
day or the first action of a session, and are left out. A service's action is measured as
the **median** of its gaps (robust to the odd interruption under two hours). The estimate
counts only the time between recorded actions: work that leaves no action (a phone call)
is not in it, which is why the times stay editable; an edited time is kept when measured
again, and the measurement is shown next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import remit_covers
from ecitizen.catalogue.selectors import service_spec, services_published
from ecitizen.core.errors import PermissionDenied
from ecitizen.core.registry import registry
from ecitizen.core.services import audit_changes, audit_record
from ecitizen.core.text import clean_free_text
from ecitizen.insights.models import ActionTime, RoleHourlyCost, ServiceMonthCost, ServiceStaffing
from ecitizen.insights.services import INSIGHTS_COSTS, INSIGHTS_PLAN, InsightsError

#: A gap between an official's actions this long or longer is not working time on the
#: second action (see the module's docstring).
SESSION_GAP_MINUTES = 120
#: Longest note on a month's costs.
NOTE_MAX_LENGTH = 2000
#: Largest amounts the columns hold (``max_digits`` - ``decimal_places``).
MAX_HOURLY_COST = Decimal("99999999.99")
MAX_MONTH_COST = Decimal("999999999999.99")
MAX_MINUTES = Decimal("99999.9")

#: The ranges of the staffing parameters: (lowest, highest, decimal places).
STAFFING_RANGES: dict[str, tuple[Decimal, Decimal, int]] = {
    "officers": (Decimal("0"), Decimal("9999.9"), 1),
    "hours_per_week": (Decimal("1"), Decimal("80"), 1),
    "productive_share": (Decimal("0.05"), Decimal("1"), 2),
    "counter_hours_per_week": (Decimal("1"), Decimal("168"), 1),
    "counter_minutes_per_visit": (Decimal("0.5"), Decimal("480"), 1),
    "counter_wait_target_seconds": (Decimal("1"), Decimal("86400"), 0),
    # Erlang C: a share of 1 (everyone seen at once) would need endless officers.
    "counter_service_level": (Decimal("0.05"), Decimal("0.99"), 2),
}


class InsightsInputError(InsightsError):
    """A value an official entered is refused: ``code`` says why (``missing_cost``,
    ``negative_cost``, ``future_month``, ``out_of_range``...), ``field`` which value (the
    service function's argument name), so that a form can show it next to the box."""

    def __init__(self, message: object, *, code: str, field: str = "") -> None:
        super().__init__(message, code=code)
        self.field = field


def _amount(
    value: Any,
    *,
    field: str,
    places: int,
    highest: Decimal,
    missing: str,
    negative: str,
    code_prefix: str = "",
) -> Decimal:
    """``value`` as a Decimal with at most ``places`` decimals, 0 to ``highest``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InsightsInputError(missing, code=f"missing_{code_prefix or 'value'}", field=field)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InsightsInputError(
            _("Enter a number, like 12.50"), code="invalid_number", field=field
        ) from None
    if not amount.is_finite():
        raise InsightsInputError(
            _("Enter a number, like 12.50"), code="invalid_number", field=field
        )
    if amount < 0:
        raise InsightsInputError(negative, code=f"negative_{code_prefix or 'value'}", field=field)
    if amount > highest:
        raise InsightsInputError(
            _("Enter an amount of %(highest)s or less") % {"highest": highest},
            code="too_large",
            field=field,
        )
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise InsightsInputError(
            _("Enter a number with no more than %(places)d decimal places") % {"places": places},
            code="too_precise",
            field=field,
        )
    return amount.quantize(Decimal(1).scaleb(-places))


def _may(actor: Any, capability: str, department_id: int | None) -> bool:
    return remit_covers(actor, capability, departments=department_id, ward_id=None)


def _require(actor: Any, capability: str, service: Any) -> None:
    if not _may(actor, capability, service.department_id):
        raise PermissionDenied(_("You cannot change the figures of this service."))


def may_set_role_costs(actor: Any) -> bool:
    """Whether ``actor`` sets the hourly cost of roles: ``insights.costs`` held from an
    authority-wide assignment (the same post costs the same in every department)."""
    return _may(actor, INSIGHTS_COSTS, None)


def may_set_service_costs(actor: Any, service: Any) -> bool:
    """Whether ``actor`` enters the monthly costs of ``service``."""
    return _may(actor, INSIGHTS_COSTS, service.department_id)


def may_plan(actor: Any, service: Any) -> bool:
    """Whether ``actor`` sets the staffing and handling times of ``service``."""
    return _may(actor, INSIGHTS_PLAN, service.department_id)


def staff_roles() -> list[tuple[str, Any]]:
    """(code, label) of the registered official roles, in their order: the roles an
    hourly cost or a handling time can name."""
    officials = registry.staff_roles()
    return [(code, label) for code, label in registry.role_choices() if code in officials]


def _role(role: str, *, field: str = "role") -> str:
    if role not in registry.staff_roles():
        raise InsightsInputError(_("Choose a role from the list"), code="unknown_role", field=field)
    return role


def month_start(value: date) -> date:
    """The first day of ``value``'s month."""
    return value.replace(day=1)


def _past_month(month: Any) -> date:
    if not isinstance(month, date):
        raise InsightsInputError(
            _("Enter the month and year of the costs"), code="missing_month", field="month"
        )
    first = month_start(month)
    if first > month_start(timezone.localdate()):
        raise InsightsInputError(
            _("The month must be this month or in the past"), code="future_month", field="month"
        )
    return first


# --- hourly cost of roles ----------------------------------------------------------------


@transaction.atomic
def role_cost_set(*, role: str, hourly_cost: Any, actor: Any) -> RoleHourlyCost:
    """Set what an hour of an official in ``role`` (a registered official role) costs.
    ``actor`` must hold ``insights.costs`` authority-wide. Audited
    (``insights.role_cost_set``); setting the same amount again changes nothing."""
    if not may_set_role_costs(actor):
        raise PermissionDenied(_("Only an authority-wide administrator sets the cost of roles."))
    role = _role(role)
    amount = _amount(
        hourly_cost,
        field="hourly_cost",
        places=2,
        highest=MAX_HOURLY_COST,
        missing=_("Enter the hourly cost"),
        negative=_("The hourly cost must be 0 or more"),
        code_prefix="cost",
    )
    row = RoleHourlyCost.objects.select_for_update().filter(role=role).first()
    before = {"hourly_cost": row.hourly_cost} if row else {}
    if row is not None and row.hourly_cost == amount:
        return row
    if row is None:
        row = RoleHourlyCost(role=role)
    row.hourly_cost = amount
    row.updated_at = timezone.now()
    row.updated_by = actor
    row.save()
    audit_record(
        action="insights.role_cost_set",
        actor=actor,
        obj=row,
        changes={"role": role, **audit_changes(before, {"hourly_cost": amount})},
    )
    return row


# --- a service's costs of a month --------------------------------------------------------


@transaction.atomic
def service_cost_set(
    *,
    service: Any,
    month: date,
    fixed_costs: Any,
    startup_costs: Any,
    note: str,
    actor: Any,
) -> ServiceMonthCost:
    """Enter ``service``'s fixed and start-up costs of ``month`` (any day of it; this
    month or a past one), replacing what was entered for that month. 0 is an amount;
    missing or negative amounts are refused. ``actor`` must hold ``insights.costs`` in
    the service's department. Audited (``insights.service_cost_set``); entering the same
    again changes nothing."""
    _require(actor, INSIGHTS_COSTS, service)
    first = _past_month(month)
    fixed = _amount(
        fixed_costs,
        field="fixed_costs",
        places=2,
        highest=MAX_MONTH_COST,
        missing=_("Enter the fixed costs, or 0 if there were none"),
        negative=_("The fixed costs must be 0 or more"),
        code_prefix="cost",
    )
    startup = _amount(
        startup_costs,
        field="startup_costs",
        places=2,
        highest=MAX_MONTH_COST,
        missing=_("Enter the start-up costs, or 0 if there were none"),
        negative=_("The start-up costs must be 0 or more"),
        code_prefix="cost",
    )
    text = clean_free_text(note or "").strip()
    if len(text) > NOTE_MAX_LENGTH:
        raise InsightsInputError(
            _("The note must be %(max)d characters or fewer") % {"max": NOTE_MAX_LENGTH},
            code="too_long",
            field="note",
        )
    row = ServiceMonthCost.objects.select_for_update().filter(service=service, month=first).first()
    after = {"fixed_costs": fixed, "startup_costs": startup, "note": text}
    before = (
        {"fixed_costs": row.fixed_costs, "startup_costs": row.startup_costs, "note": row.note}
        if row
        else {}
    )
    changes = audit_changes(before, after)
    if row is not None and not changes:
        return row
    if row is None:
        row = ServiceMonthCost(service=service, month=first)
    row.fixed_costs, row.startup_costs, row.note = fixed, startup, text
    row.entered_at = timezone.now()
    row.entered_by = actor
    row.save()
    audit_record(
        action="insights.service_cost_set",
        actor=actor,
        obj=row,
        changes={"service": service.slug, "month": f"{first:%Y-%m}", **changes},
    )
    return row


# --- handling times ----------------------------------------------------------------------


def official_actions(service: Any) -> list[dict[str, Any]]:
    """The actions of the service's current definition that officials take (those with
    ``by.roles``), in the definition's order. The applicant's own actions (a reply, a
    withdrawal) cost the authority no officer time."""
    spec = service_spec(service)
    return [a for a in spec.actions.values() if (a.get("by") or {}).get("roles")]


def _official_action(service: Any, action: str) -> dict[str, Any]:
    for found in official_actions(service):
        if found["id"] == action:
            return found
    raise InsightsInputError(
        _("This service has no action an official takes called “%(action)s”") % {"action": action},
        code="unknown_action",
        field="action",
    )


@transaction.atomic
def action_time_set(
    *, service: Any, action: str, minutes: Any, role: str, actor: Any
) -> ActionTime:
    """Set how many minutes ``action`` (one of the service's official actions) takes and
    the role whose hourly cost prices it; the time is marked edited, so a measurement no
    longer replaces it. ``actor`` must hold ``insights.plan`` in the service's
    department. Audited (``insights.action_time_set``)."""
    _require(actor, INSIGHTS_PLAN, service)
    _official_action(service, action)
    role = _role(role)
    value = _amount(
        minutes,
        field="minutes",
        places=1,
        highest=MAX_MINUTES,
        missing=_("Enter the minutes the action takes"),
        negative=_("The minutes must be 0 or more"),
        code_prefix="minutes",
    )
    row = ActionTime.objects.select_for_update().filter(service=service, action=action).first()
    before = (
        {"minutes": row.minutes, "role": row.role, "edited": row.edited} if row is not None else {}
    )
    changes = audit_changes(before, {"minutes": value, "role": role, "edited": True})
    if row is not None and not changes:
        return row
    if row is None:
        row = ActionTime(service=service, action=action)
    row.minutes, row.role, row.edited = value, role, True
    row.updated_at = timezone.now()
    row.updated_by = actor
    row.save()
    audit_record(
        action="insights.action_time_set",
        actor=actor,
        obj=row,
        changes={"service": service.slug, "action": action, **changes},
    )
    return row


@transaction.atomic
def action_time_reset(*, service: Any, action: str, actor: Any) -> ActionTime | None:
    """Go back to the measured time of ``action`` (and the role the definition names
    first): the time is no longer edited. Nothing to do (``None``) when the action has
    no row. Same rights as :func:`action_time_set`. Audited when something changed."""
    _require(actor, INSIGHTS_PLAN, service)
    spec_action = _official_action(service, action)
    row = ActionTime.objects.select_for_update().filter(service=service, action=action).first()
    if row is None:
        return None
    role = str(spec_action["by"]["roles"][0])
    minutes = row.measured_minutes if row.measured_minutes is not None else row.minutes
    before = {"minutes": row.minutes, "role": row.role, "edited": row.edited}
    changes = audit_changes(before, {"minutes": minutes, "role": role, "edited": False})
    if not changes:
        return row
    row.minutes, row.role, row.edited = minutes, role, False
    row.updated_at = timezone.now()
    row.updated_by = actor
    row.save()
    audit_record(
        action="insights.action_time_reset",
        actor=actor,
        obj=row,
        changes={"service": service.slug, "action": action, **changes},
    )
    return row


# --- staffing ----------------------------------------------------------------------------


@transaction.atomic
def staffing_set(
    *,
    service: Any,
    officers: Any,
    hours_per_week: Any,
    productive_share: Any,
    counter_hours_per_week: Any,
    counter_minutes_per_visit: Any,
    counter_wait_target_seconds: Any,
    counter_service_level: Any,
    actor: Any,
) -> ServiceStaffing:
    """Set what the staffing advice of ``service`` starts from: its officers (full-time
    equivalents), one officer's weekly hours and the share of them spent on cases, and
    the counter's weekly opening hours, minutes a visit, waiting-time target (seconds) and
    the share of visitors to be seen within it. Each value must lie in
    :data:`STAFFING_RANGES` (code ``out_of_range``). ``actor`` must hold
    ``insights.plan`` in the service's department. Audited (``insights.staffing_set``)."""
    _require(actor, INSIGHTS_PLAN, service)
    given = {
        "officers": officers,
        "hours_per_week": hours_per_week,
        "productive_share": productive_share,
        "counter_hours_per_week": counter_hours_per_week,
        "counter_minutes_per_visit": counter_minutes_per_visit,
        "counter_wait_target_seconds": counter_wait_target_seconds,
        "counter_service_level": counter_service_level,
    }
    values: dict[str, Decimal] = {}
    for name, value in given.items():
        lowest, highest, places = STAFFING_RANGES[name]
        amount = _amount(
            value,
            field=name,
            places=places,
            highest=Decimal("1e9"),
            missing=_("Enter a value"),
            negative=_("Enter a value of 0 or more"),
        )
        if not lowest <= amount <= highest:
            raise InsightsInputError(
                _("Enter a value from %(lowest)s to %(highest)s")
                % {"lowest": lowest, "highest": highest},
                code="out_of_range",
                field=name,
            )
        values[name] = amount
    row = ServiceStaffing.objects.select_for_update().filter(service=service).first()
    after: dict[str, Any] = {
        **values,
        "counter_wait_target_seconds": int(values["counter_wait_target_seconds"]),
    }
    before = {name: getattr(row, name) for name in after} if row is not None else {}
    changes = audit_changes(before, after)
    if row is not None and not changes:
        return row
    if row is None:
        row = ServiceStaffing(service=service)
    for name, value in after.items():
        setattr(row, name, value)
    row.updated_at = timezone.now()
    row.updated_by = actor
    row.save()
    audit_record(
        action="insights.staffing_set",
        actor=actor,
        obj=row,
        changes={"service": service.slug, **changes},
    )
    return row


# --- measuring handling times ------------------------------------------------------------

#: Per service and action: the median gap since the same official's previous action, when
#: under the session gap, and how many gaps it is the median of.
MEASURE_SQL = """
WITH ordered AS (
    SELECT service_id, action, occurred_at,
           LAG(occurred_at) OVER (PARTITION BY actor_id ORDER BY occurred_at, id) AS previous_at
    FROM actions
    WHERE actor_id IS NOT NULL
), gaps AS (
    SELECT service_id, action, epoch(occurred_at - previous_at) / 60.0 AS minutes
    FROM ordered
    WHERE previous_at IS NOT NULL
)
SELECT service_id, action, median(minutes) AS minutes, count(*) AS gaps
FROM gaps
WHERE minutes < ?
GROUP BY service_id, action
"""


@dataclass
class MeasureResult:
    """What one measurement did: actions measured, rows created and rows updated."""

    measured: int = 0
    created: int = 0
    updated: int = 0


@transaction.atomic
def action_times_measure(*, connection: Any) -> MeasureResult:
    """Measure every published service's official actions from the analytical store's
    ``actions`` table (``connection``: an open :func:`ecitizen.insights.store.store_open`
    connection) and write :attr:`ActionTime.measured_minutes` (rounded to 0.1 minute),
    and ``minutes`` too unless an official edited it. A new row takes the role the
    definition names first for the action. Rows are created only for actions of the
    current definitions that were measured; an action with no measurement keeps its row
    as it is. Not audited: a computation, like the monthly figures."""
    measured: dict[tuple[int, str], Decimal] = {}
    for service_id, action, minutes, _gaps in connection.execute(
        MEASURE_SQL, [SESSION_GAP_MINUTES]
    ).fetchall():
        if minutes is not None:
            measured[(int(service_id), str(action))] = Decimal(str(minutes)).quantize(
                Decimal("0.1")
            )
    result = MeasureResult()
    for service in services_published(listed=None):
        if service.current_version is None:
            continue
        rows = {
            row.action: row
            for row in ActionTime.objects.select_for_update().filter(service=service)
        }
        for spec_action in official_actions(service):
            minutes = measured.get((service.pk, spec_action["id"]))
            if minutes is None:
                continue
            result.measured += 1
            role = str(spec_action["by"]["roles"][0])
            row = rows.get(spec_action["id"])
            if row is None:
                ActionTime.objects.create(
                    service=service,
                    action=spec_action["id"],
                    role=role,
                    minutes=minutes,
                    measured_minutes=minutes,
                )
                result.created += 1
                continue
            fields: dict[str, Any] = {"measured_minutes": minutes}
            if not row.edited:
                fields.update(minutes=minutes, role=role)
            if any(getattr(row, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(row, name, value)
                row.updated_at = timezone.now()
                row.save(update_fields=[*fields, "updated_at"])
                result.updated += 1
    return result

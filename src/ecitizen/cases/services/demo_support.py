"""For demo data and tests only, never for a real case: backdating a case's history, and
a made-up history of usage events.

``ecitizen demo`` (``cases/demo.py``) makes its cases with the real services in one run,
then spreads each one's history over the months before it with
:func:`case_history_backdate`. The insights part of the demo (``insights/demo.py``) needs
two years of demand, tens of thousands of journeys, which applying through the real
services would take far too long to make: it writes their usage events only, with
:func:`usage_history_insert`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple, cast

from django.db import connections, models, router, transaction
from django.utils import timezone

from ecitizen.cases.calendar import business_days_between
from ecitizen.cases.models import Case, CaseEvent, Channel, Draft, ServiceUsage
from ecitizen.cases.services.common import _lock_case, spec_for
from ecitizen.cases.services.workflow import _clock_enter


@transaction.atomic
def case_history_backdate(*, case: Case, submitted_at: Any, actor: Any = None) -> Case:
    """Spread a case's history between ``submitted_at`` and now, and replay its SLA
    clock over those dates. For demo data only (``ecitizen demo`` builds months of
    history in one run); the audit trail keeps the real times of the changes.

    Precondition: the case was created by :func:`draft_submit` and moved only by
    :func:`case_transition` in this same run.
    """
    case = _lock_case(case)
    spec = spec_for(case.service_version)
    events = list(case.events.order_by("created_at", "pk"))
    now = timezone.now()
    step = (now - submitted_at) / (len(events) + 1)
    case.sla_days_used = 0
    case.sla_running_since = None
    case.due_date = None
    case.escalation_level = 0
    case.submitted_at = submitted_at
    for index, event in enumerate(events):
        when = submitted_at + step * index
        CaseEvent.objects.filter(pk=event.pk).update(created_at=when)
        state = (
            event.to_state
            if event.kind in (CaseEvent.Kind.SUBMITTED, CaseEvent.Kind.ACTION)
            else ""
        )
        if state:
            _clock_enter(case, spec, state, timezone.localdate(when))
            if spec.is_terminal(state):
                case.decided_at = when
    case.save()
    draft_id = Draft.objects.filter(case=case).values_list("pk", flat=True).first()
    usage = ServiceUsage.objects.filter(draft_id=draft_id)
    usage.exclude(kind=ServiceUsage.Kind.DECIDED).update(at=submitted_at)
    if case.decided_at:
        usage.filter(kind=ServiceUsage.Kind.DECIDED).update(
            at=case.decided_at,
            business_days=business_days_between(
                timezone.localdate(submitted_at), timezone.localdate(case.decided_at)
            ),
        )
    if draft_id is not None:
        Draft.objects.filter(pk=draft_id).update(created_at=submitted_at, updated_at=submitted_at)
    return case


class UsageHistoryRow(NamedTuple):
    """One usage event of a made-up history: a journey of ``draft_id`` started, completed
    (``outcome`` ``"not_eligible"`` for the not-eligible end page, else empty), abandoned,
    or decided (``outcome`` the decision, ``business_days`` from submission to decision),
    at ``at`` (an aware time)."""

    service_id: int
    kind: str
    channel: str
    draft_id: uuid.UUID
    outcome: str
    business_days: int | None
    at: datetime


#: Rows inserted per statement.
USAGE_HISTORY_CHUNK = 5000


@transaction.atomic
def usage_history_insert(
    *, rows: Iterable[UsageHistoryRow], chunk_size: int = USAGE_HISTORY_CHUNK
) -> int:
    """Insert made-up usage events with the times they carry, for demo data and tests
    only: journeys that no draft or case stands behind. Returns how many were inserted.

    Idempotent by journey: a row whose ``draft_id`` already has usage events is skipped,
    so inserting the same history again adds nothing. (This reads every draft id of the
    table once: fine for a demo's few hundred thousand rows.)

    The rows are inserted by ``executemany`` rather than ``bulk_create``, because ``at``
    is ``auto_now_add``: ``bulk_create`` would stamp every row with the present time, and
    backdating them afterwards with one update per row takes minutes for two years of
    demand. Values are converted for the database as the model's fields do it.

    Raises ``ValueError`` for a kind or channel that is not one of the model's choices
    or a naive time (nothing is inserted then).
    """
    kinds = set(ServiceUsage.Kind.values)
    channels = set(Channel.values)
    existing = {
        str(value)
        for value in ServiceUsage.objects.filter(draft_id__isnull=False)
        .values_list("draft_id", flat=True)
        .distinct()
    }
    # The connection itself, not the ``connection`` proxy: a hundred thousand rows make
    # its per-attribute look-up cost seconds.
    connection = connections[router.db_for_write(ServiceUsage)]
    meta = ServiceUsage._meta
    names = ("service", "kind", "channel", "draft_id", "outcome", "business_days", "at")
    fields = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in names]
    draft_field, at_field = fields[3], fields[6]
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608 - names from the model, values as parameters
    values: list[tuple[Any, ...]] = []
    for row in rows:
        if row.kind not in kinds:
            raise ValueError(f"unknown usage kind {row.kind!r}")
        if row.channel not in channels:
            raise ValueError(f"unknown channel {row.channel!r}")
        if timezone.is_naive(row.at):
            raise ValueError("usage times must be aware")
        if str(row.draft_id) in existing:
            continue
        values.append(
            (
                row.service_id,
                row.kind,
                row.channel,
                draft_field.get_db_prep_value(row.draft_id, connection),
                row.outcome,
                row.business_days,
                at_field.get_db_prep_value(row.at, connection, prepared=True),
            )
        )
    with connection.cursor() as cursor:
        for start in range(0, len(values), chunk_size):
            cursor.executemany(sql, values[start : start + chunk_size])
    return len(values)

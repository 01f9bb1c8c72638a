"""For demo data and tests only, never for a real case: backdating a case's history.

``ecitizen demo`` (``demo/cases.py``) makes its cases with the real services in one run,
then spreads each one's history over the months before it with
:func:`case_history_backdate`."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ecitizen.cases.calendar import business_days_between
from ecitizen.cases.models import Case, CaseEvent, Draft, ServiceUsage
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

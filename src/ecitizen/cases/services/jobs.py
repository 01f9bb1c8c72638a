"""Periodic jobs (``ecitizen cases tick``): SLA escalation to supervisors, and the
reminder and expiry of applications in progress. Each is idempotent."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import Role, User
from ecitizen.cases.calendar import add_business_days, business_days_between
from ecitizen.cases.models import Case, CaseEvent, Draft, ServiceUsage
from ecitizen.cases.services.common import _base_url, _send_notification, _today, spec_for
from ecitizen.cases.services.drafts import _draft_files_delete
from ecitizen.core.services import audit_record


def _supervisors(department_id: int) -> list[User]:
    return list(
        User.objects.filter(
            role_assignments__role=Role.SUPERVISOR,
            role_assignments__department_id=department_id,
            is_active=True,
        ).distinct()
    )


@transaction.atomic
def cases_escalate(*, today: date | None = None) -> int:
    """Tell supervisors about cases nearly due (within the service's warning days) and
    overdue. Idempotent: each case is escalated once per level, and again only after
    its clock restarts. Returns how many escalations were made."""
    today = today or _today()
    horizon = add_business_days(today, 10)
    candidates = (
        Case.objects.select_for_update(of=("self",))
        .filter(due_date__isnull=False, due_date__lte=horizon, escalation_level__lt=2, outcome="")
        .select_related("service_version")
    )
    made = 0
    for case in candidates:
        spec = spec_for(case.service_version)
        assert case.due_date is not None  # filtered above
        level = (
            2
            if case.due_date < today
            else (1 if business_days_between(today, case.due_date) <= spec.sla_warn_days else 0)
        )
        if level <= case.escalation_level:
            continue
        before, case.escalation_level = case.escalation_level, level
        case.save(update_fields=["escalation_level", "updated_at"])
        audit_record(
            action="cases.escalated",
            actor=None,
            obj=case,
            changes={"escalation_level": {"before": before, "after": level}},
        )
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.ESCALATED,
            action="overdue" if level == 2 else "nearly_due",
            visible_to_applicant=False,
        )
        for supervisor in _supervisors(case.department_id):
            _send_notification(
                recipient=supervisor,
                event="case_escalated",
                context={
                    "reference": case.reference,
                    "service": spec.title(),
                    "due_date": case.due_date.isoformat(),
                    "state": spec.staff_state_label(case.state),
                    "url": _base_url() + reverse("staff:case_detail", args=[case.reference]),
                },
                channels=["email", "inbox"],
            )
        made += 1
    return made


@transaction.atomic
def drafts_expire(*, now: Any = None) -> tuple[int, int]:
    """Remind residents of applications about to expire, and expire those past their
    date (their answers are erased; counted as abandoned). Idempotent. Returns
    (reminded, expired)."""
    now = now or timezone.now()
    reminded = 0
    soon = now + timedelta(days=settings.DRAFT_REMINDER_DAYS)
    for draft in (
        # The drafts only: locking their applicants too would wait on (and deadlock
        # with) any resident's request that holds their own account row.
        Draft.objects.select_for_update(of=("self",))
        .filter(
            status=Draft.Status.OPEN,
            reminded_at__isnull=True,
            expires_at__lte=soon,
            expires_at__gt=now,
        )
        .select_related("service_version", "applicant")
    ):
        spec = spec_for(draft.service_version)
        _send_notification(
            recipient=draft.applicant,
            event="draft_expiring",
            context={
                "service": spec.title(),
                "expires_on": timezone.localdate(draft.expires_at).isoformat(),
                "url": _base_url() + reverse("cases:draft_resume", args=[draft.pk]),
            },
            channels=["email", "inbox"],
        )
        draft.reminded_at = now
        draft.save(update_fields=["reminded_at"])
        reminded += 1
    expired = 0
    for draft in (
        Draft.objects.select_for_update(of=("self",))
        .filter(status=Draft.Status.OPEN, expires_at__lte=now)
        .select_related("service_version")
    ):
        draft.status = Draft.Status.EXPIRED
        draft.answers = {}
        draft.save(update_fields=["status", "answers_json"])
        _draft_files_delete(draft, actor=None)
        ServiceUsage.objects.create(
            service_id=draft.service_version.service_id,
            kind=ServiceUsage.Kind.ABANDONED,
            channel=draft.channel,
            draft_id=draft.id,
        )
        expired += 1
    return reminded, expired

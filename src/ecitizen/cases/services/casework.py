"""Officials' work on a case: who may work or assign it, assignment, internal notes,
messages to the applicant, the record of an official opening it; and the applicant's
rating of the service."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from ecitizen.accounts.models import User
from ecitizen.accounts.selectors import user_acting_as
from ecitizen.cases.models import Case, CaseEvent
from ecitizen.cases.services.common import (
    CASES_SUPERVISE,
    CASES_WORK,
    MESSAGE_MAX_LENGTH,
    CaseError,
    _actor_label,
    _base_url,
    _covers,
    _lock_case,
    _send_notification,
    spec_for,
)
from ecitizen.core.errors import PermissionDenied
from ecitizen.core.services import audit_record


def staff_supervises(user: User, case: Case) -> bool:
    """Whether a supervisor or department administrator assignment of the user covers
    the case's department and ward (they may assign it to others)."""
    return _covers(user, CASES_SUPERVISE, case.department_id, case)


def staff_may_work(user: User, case: Case) -> bool:
    """Whether one casework role assignment of the official covers the case: the
    service's department (or a department one of its actions names) and, when the
    assignment is limited to a ward, the case's ward. Platform administrators cover
    every case."""
    spec = spec_for(case.service_version)
    departments = {spec.department} | {spec.action_department(a) for a in spec.actions.values()}
    return _covers(user, CASES_WORK, departments, case)


@transaction.atomic
def case_assign(*, case: Case, assignee: User | None, actor: User) -> Case:
    """Assign the case. An official may take an unassigned case (or one already theirs);
    a supervisor may give it to any official who may work it, or unassign it."""
    case = _lock_case(case)
    supervisor = staff_supervises(actor, case)
    if assignee is None:
        if not supervisor and case.assigned_to_id != actor.pk:
            raise PermissionDenied(_("Only a supervisor can unassign someone else's case."))
    elif assignee.pk == actor.pk:
        if not staff_may_work(actor, case):
            raise PermissionDenied(_("You cannot work on this case."))
        if case.assigned_to_id not in (None, actor.pk) and not supervisor:
            raise CaseError(
                _("This case is already assigned to someone else. Ask a supervisor."),
                code="assigned",
            )
    else:
        if not supervisor:
            raise PermissionDenied(_("Only a supervisor can assign cases to others."))
        if not staff_may_work(assignee, case):
            raise CaseError(_("That person cannot work on this case."), code="not_eligible")
    before = case.assigned_to_id
    case.assigned_to = assignee
    case.save(update_fields=["assigned_to", "updated_at"])
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.ASSIGNED,
        actor=actor,
        actor_label=_actor_label(case, actor),
        text=(assignee.full_name or assignee.email) if assignee else None,
        visible_to_applicant=False,
    )
    audit_record(
        action="cases.assigned",
        actor=actor,
        obj=case,
        changes={"assigned_to": {"before": before, "after": getattr(assignee, "pk", None)}},
    )
    return case


@transaction.atomic
def case_note_add(*, case: Case, text: str, actor: User) -> CaseEvent:
    """An internal note: officials only, never shown to the applicant."""
    case = _lock_case(case)
    if not staff_may_work(actor, case):
        raise PermissionDenied(_("You cannot work on this case."))
    text = text.strip()
    if not text:
        raise CaseError(_("Enter the note"), code="empty")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise CaseError(
            _("The note must be %(max)s characters or fewer") % {"max": MESSAGE_MAX_LENGTH},
            code="too_long",
        )
    event = CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.NOTE,
        actor=actor,
        actor_label=_actor_label(case, actor),
        text=text,
        visible_to_applicant=False,
    )
    audit_record(action="cases.note_added", actor=actor, obj=case)
    return event


@transaction.atomic
def case_message_send(*, case: Case, text: str, actor: User) -> CaseEvent:
    """An official writes to the applicant (shown on the case and notified)."""
    case = _lock_case(case)
    if not staff_may_work(actor, case):
        raise PermissionDenied(_("You cannot work on this case."))
    text = text.strip()
    if not text:
        raise CaseError(_("Enter the message"), code="empty")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise CaseError(
            _("The message must be %(max)s characters or fewer") % {"max": MESSAGE_MAX_LENGTH},
            code="too_long",
        )
    event = CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.MESSAGE,
        actor=actor,
        actor_label=_actor_label(case, actor),
        text=text,
    )
    audit_record(
        action="cases.message_sent", actor=actor, obj=case, subject_user_id=case.applicant_id
    )
    spec = spec_for(case.service_version)
    _send_notification(
        recipient=case.applicant,
        event="case_message",
        context={
            "reference": case.reference,
            "service": spec.title(),
            "url": _base_url() + reverse("cases:case_detail", args=[case.reference]),
        },
        channels=["email", "inbox"],
    )
    return event


def case_viewed(*, case: Case, actor: User) -> None:
    """Record that an official opened the case (answers and files are the applicant's
    personal data): an audit event the applicant sees in their data tracker."""
    audit_record(
        action="personal_data.viewed",
        actor=actor,
        actor_role=user_acting_as(actor, CASES_WORK),
        obj=case,
        subject_user_id=case.applicant_id,
    )

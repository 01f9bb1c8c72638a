"""The workflow engine and what it sets in motion: the SLA clock, the actions a user may
take, a transition and its domain events, the fee's bill and its payment, and the issued
document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.models import User
from ecitizen.accounts.selectors import user_acting_as
from ecitizen.cases.calendar import add_business_days, business_days_between
from ecitizen.cases.models import Case, CaseEvent, CaseFile, Draft, ServiceUsage
from ecitizen.cases.services.answers import format_answer
from ecitizen.cases.services.common import (
    CASES_WORK,
    MESSAGE_MAX_LENGTH,
    CaseError,
    _actor_label,
    _base_url,
    _covers,
    _notify,
    _send_notification,
    _today,
    spec_for,
)
from ecitizen.catalogue.spec import ServiceSpec, extension_names, localised
from ecitizen.core.errors import PermissionDenied
from ecitizen.core.events import (
    BillPaid,
    CaseDecided,
    CaseStateChanged,
    event_publish,
)
from ecitizen.core.services import audit_record
from ecitizen.core.tasks import enqueue_with_change
from ecitizen.documents.services import upload_store

# --- SLA clock ----------------------------------------------------------------------------


def _clock_enter(case: Case, spec: ServiceSpec, state: str, today: date) -> None:
    """Update the SLA clock for the case entering ``state`` on ``today``.

    Days are counted only while the clock runs; a pause (waiting for the resident) keeps
    the days used, and the due date moves by the length of the pause on resumption.
    """
    limit = spec.sla_business_days
    if limit is None:
        case.due_date = None
        return
    clock = spec.sla_clock(state)
    if case.sla_running_since is not None and clock != "running":
        case.sla_days_used += business_days_between(case.sla_running_since, today)
        case.sla_running_since = None
        case.due_date = None
    elif case.sla_running_since is None and clock == "running":
        case.sla_running_since = today
        case.due_date = add_business_days(today, max(limit - case.sla_days_used, 0))
        case.escalation_level = 0


# --- the workflow engine ------------------------------------------------------------------


def staff_may_act(user: User, case: Case, spec: ServiceSpec, action: Mapping[str, Any]) -> bool:
    roles = set(action["by"].get("roles", []))
    return bool(roles) and _covers(user, roles, spec.action_department(action), case)


def actions_for(user: User, case: Case) -> list[dict[str, Any]]:
    """The workflow actions ``user`` may take on the case now. While a fee due on
    applying is unpaid, officials can take none."""
    spec = spec_for(case.service_version)
    held = case.payment_status == "due" and spec.fee_due == "before_submission"
    allowed = []
    for action in spec.actions_from(case.state):
        if user.pk == case.applicant_id:
            if action["by"].get("resident"):
                allowed.append(action)
        elif not held and staff_may_act(user, case, spec, action):
            allowed.append(action)
    return allowed


@dataclass(frozen=True)
class ActionInput:
    """What an official or the applicant gives with an action."""

    text: str = ""
    files: Sequence[UploadedFile] = ()
    publish: bool = False


@transaction.atomic
def case_transition(  # noqa: PLR0912 - the checks and effects of one transition, in order
    *, case: Case, action_id: str, actor: User, given: ActionInput = ActionInput()
) -> Case:
    """Take workflow action ``action_id`` on the case.

    Preconditions, checked under a row lock: the action exists in the case's definition
    version, leaves the case's current state, and ``actor`` may take it (the applicant
    for resident actions; otherwise a role named by the action in its department, within
    the official's wards). A reason is required when the action says so.

    Side effects: state, outcome, SLA clock, assignment; a history line (the text is shown
    to the applicant as the reason or message); files attached; an audit event; the
    action's notifications on commit; the issued document on commit when the new state
    is the one the definition names; the ``CaseStateChanged`` event (and ``CaseDecided``
    on the first outcome).
    """
    # The case's row only, not the joined service version and applicant (see _lock_case).
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("service_version", "applicant")
        .get(pk=case.pk)
    )
    spec = spec_for(case.service_version)
    action = spec.actions.get(action_id)
    if action is None or case.state not in action["from"]:
        raise CaseError(
            _("This action is no longer possible: the case has moved on. Check its status."),
            code="stale_action",
        )
    as_applicant = actor.pk == case.applicant_id
    if as_applicant:
        if not action["by"].get("resident"):
            raise PermissionDenied(_("Only an official can do this."))
    elif not staff_may_act(actor, case, spec, action):
        raise PermissionDenied(_("Your role does not allow this action on this case."))
    elif case.payment_status == "due" and spec.fee_due == "before_submission":
        raise CaseError(_("The applicant has not paid the fee yet."), code="payment_due")
    text = given.text.strip()
    if action.get("reason_required") and not text:
        raise CaseError(_("Enter a reason or message"), code="reason_required")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise CaseError(
            _("The message must be %(max)s characters or fewer") % {"max": MESSAGE_MAX_LENGTH},
            code="too_long",
        )
    if given.files and not action.get("attachments"):
        raise CaseError(_("Files cannot be attached to this action."), code="no_attachments")
    before = case.state
    today = _today()
    case.state = action["to"]
    case.outcome = spec.outcome(case.state)
    _clock_enter(case, spec, case.state, today)
    decided = bool(case.outcome and case.decided_at is None)
    if decided:
        case.decided_at = timezone.now()
        ServiceUsage.objects.create(
            service_id=case.service_id,
            kind=ServiceUsage.Kind.DECIDED,
            channel=case.channel,
            draft_id=Draft.objects.filter(case=case).values_list("pk", flat=True).first(),
            outcome=case.outcome,
            business_days=business_days_between(timezone.localdate(case.submitted_at), today),
        )
    if action.get("assign_to_actor") and not as_applicant:
        case.assigned_to = actor
    case.save()
    if (
        case.outcome == "approved"
        and case.fee_amount
        and spec.fee_due == "after_approval"
        and not case.bill_reference
    ):
        _fee_bill(case, spec)
    event = CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.ACTION,
        action=action_id,
        from_state=before,
        to_state=case.state,
        actor=actor,
        actor_label=_actor_label(case, actor),
        text=text or None,
    )
    for item in given.files:
        upload = upload_store(
            owner=case.applicant,
            file=item,
            allowed_types=["application/pdf", "image/jpeg", "image/png"],
            max_bytes=settings.UPLOAD_MAX_MB * 1024 * 1024,
            actor=actor,
        )
        CaseFile.objects.create(
            case=case,
            event=event,
            upload=upload,
            published=bool(given.publish and action.get("publish_records")),
        )
    audit_record(
        action="cases.transition",
        actor=actor,
        actor_role="applicant" if as_applicant else user_acting_as(actor, CASES_WORK),
        obj=case,
        subject_user_id=case.applicant_id,
        changes={"state": {"before": before, "after": case.state}, "action": action_id},
    )
    _notify(case, spec, action.get("notify", []), extra={"reason": text, "message": text})
    document = spec.definition.get("issued_document")
    if document and document["on_state"] == case.state and case.payment_status != "due":
        _issue_document_with_change(case)
    _publish_transition(
        case, spec=spec, action_id=action_id, before=before, actor=actor, decided=decided
    )
    return case


def _publish_transition(
    case: Case, *, spec: ServiceSpec, action_id: str, before: str, actor: User, decided: bool
) -> None:
    """The domain events of a transition: ``CaseStateChanged``, and ``CaseDecided`` when
    the case reached its first outcome."""
    event_publish(
        CaseStateChanged(
            case_id=case.pk,
            reference=case.reference,
            service_slug=spec.slug,
            department_id=case.department_id,
            action=action_id,
            from_state=before,
            to_state=case.state,
            actor_id=actor.pk,
            service_extensions=extension_names(spec.definition),
        )
    )
    if decided:
        event_publish(
            CaseDecided(
                case_id=case.pk,
                reference=case.reference,
                service_slug=spec.slug,
                department_id=case.department_id,
                outcome=case.outcome,
                state=case.state,
            )
        )


def _issue_document_with_change(case: Case) -> None:
    """Queue the document's task with the change that earns it (``enqueue_with_change``:
    committed with the change or not at all)."""
    from ecitizen.cases.tasks import issue_case_document

    enqueue_with_change(issue_case_document, case.pk)


def _fee_bill(case: Case, spec: ServiceSpec) -> None:
    """The bill of the case's fee. A fee due before submission holds the case: its SLA
    clock starts once paid. Side effect: the bill and its ledger charge."""
    from ecitizen.payments.money import to_minor
    from ecitizen.payments.services import BILL_KIND_FEE, BillSpec, LineSpec, bill_create
    from ecitizen.payments.texts import site_languages

    assert case.fee_amount is not None
    title = spec.title(settings.LANGUAGE_CODE)
    # The service's title in each language its definition gives (not the English
    # fallback: a reader of another language then sees the authority's text, marked so).
    titles = {
        code: spec.title(code) for code in site_languages() if spec.definition["title"].get(code)
    }
    bill = bill_create(
        spec=BillSpec(
            reference=f"{case.reference}-F",
            kind=BILL_KIND_FEE,
            description=f"{title} ({case.reference})",
            descriptions={code: f"{text} ({case.reference})" for code, text in titles.items()},
            department_id=case.department_id,
            due_date=_today() + timedelta(days=30),
            lines=[LineSpec(title, to_minor(case.fee_amount), "fee", titles)],
            payer_id=case.applicant_id,
            source_reference=case.reference,
            source_key=f"case:{case.reference}:fee",
        ),
        actor=None,
    )
    case.payment_status = "due"
    case.bill_reference = bill.reference
    if spec.fee_due == "before_submission":
        case.sla_days_used, case.sla_running_since, case.due_date = 0, None, None
    case.save()


def bill_is_case_fee(event: BillPaid) -> bool:
    """Whether the bill paid is a case's fee: the condition :func:`case_fee_paid_on_bill_paid`
    subscribes with, so that paying a tax bill or a fine queues no delivery for it."""
    return event.source_key.startswith("case:")


def case_fee_paid_on_bill_paid(event: BillPaid) -> None:
    """Subscriber of ``BillPaid`` (run by a worker once the payment committed, retried if
    it fails): a case waiting for its fee moves on by itself. Bills that are not a case's
    fee are ignored; a bill paid again changes nothing (:func:`case_fee_paid` is
    idempotent)."""
    if not bill_is_case_fee(event):
        return
    case = Case.objects.filter(reference=event.source_reference).first()
    if case is not None:
        case_fee_paid(case=case)


# A subscriber is named by its dotted path in the queued deliveries (``core.events``):
# this one keeps the path it had before ``cases.services`` became a package (the package
# re-exports it), so that deliveries queued by one version are run by the other too.
case_fee_paid_on_bill_paid.__module__ = "ecitizen.cases.services"


@transaction.atomic
def case_fee_paid(*, case: Case) -> Case:
    """The fee is paid: the case moves on (SLA clock started for a fee paid on applying;
    the document issued for a fee paid after approval). Idempotent."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("service_version")
        .get(pk=case.pk)
    )
    if case.payment_status != "due":
        return case
    spec = spec_for(case.service_version)
    case.payment_status = "paid"
    if spec.fee_due == "before_submission" and not case.outcome:
        _clock_enter(case, spec, case.state, _today())
    case.save()
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.PAID)
    audit_record(action="cases.fee_paid", actor=None, obj=case, subject_user_id=case.applicant_id)
    document = spec.definition.get("issued_document")
    if document and document["on_state"] == case.state:
        _issue_document_with_change(case)
    return case


@transaction.atomic
def case_document_issue(*, case: Case) -> Any:
    """Issue the definition's document for a case in the state that earns it (run by a
    task after the decision commits; idempotent: the documents app returns the document
    already issued for the same reference)."""
    from ecitizen.documents.services import document_issue

    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("service_version", "applicant")
        .get(pk=case.pk)
    )
    spec = spec_for(case.service_version)
    definition = spec.definition.get("issued_document")
    if not definition or case.state != definition["on_state"]:
        return None
    profile = getattr(case.applicant, "profile", None)
    language = case.applicant.language or settings.LANGUAGE_CODE
    answers = case.answers
    printed = [
        (
            localised(item["label"], language),
            format_answer(spec, item["answer"], answers.get(item["answer"]), language),
        )
        for item in definition.get("prints", [])
        if item["answer"] in answers
    ]
    holder = getattr(profile, "legal_name", "") or case.applicant.full_name or case.applicant.email
    already = case.events.filter(kind=CaseEvent.Kind.DOCUMENT).exists()
    document = document_issue(
        owner=case.applicant,
        template=definition["template"],
        title=localised(definition.get("title") or spec.definition["title"], language),
        reference=case.reference,
        holder_name=holder,
        printed=printed,
        valid_for_days=definition.get("valid_for_days"),
        language=language,
        actor=None,
        department=case.department,
        ward=case.ward,
    )
    if not already:
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.DOCUMENT, text=document.code)
        _send_notification(
            recipient=case.applicant,
            event="document_issued",
            context={
                "reference": case.reference,
                "title": document.title,
                "service": spec.title(language),
                "url": _base_url() + reverse("documents:list"),
            },
            channels=["email", "inbox"],
        )
    return document

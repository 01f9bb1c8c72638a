"""Writes of the cases app: drafts, submission, the workflow engine, assignment, notes.

Every change to a case goes through a function here; each locks the case row, checks
the rule of the service's definition version, writes a :class:`CaseEvent` and an audit
event, and sends notifications on commit (through the notifications app, which itself
delivers after commit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ecitizen.accounts.models import Role, User
from ecitizen.accounts.selectors import user_acting_as, user_has_role
from ecitizen.cases.calendar import add_business_days, business_days_between
from ecitizen.cases.expected import decision_expected, decision_expected_sentence
from ecitizen.cases.models import (
    AssistConsent,
    Case,
    CaseEvent,
    CaseFile,
    Channel,
    Draft,
    DraftFile,
    ReferenceCounter,
    ServiceUsage,
)
from ecitizen.catalogue.spec import ServiceSpec, localised
from ecitizen.core.errors import DomainError, PermissionDenied
from ecitizen.core.events import (
    BillPaid,
    CaseDecided,
    CaseStateChanged,
    CaseSubmitted,
    event_publish,
)
from ecitizen.core.services import audit_record
from ecitizen.documents.services import upload_delete, upload_store
from ecitizen.payments.money import format_money

if TYPE_CHECKING:  # types only: other apps' models are theirs to query
    from ecitizen.catalogue.models import Service

logger = logging.getLogger(__name__)

#: Roles that work cases in a department.
#: Capabilities of this app (roles holding them: ``CasesConfig.ready``).
#: Opening and working cases within one's remit (department and ward).
CASES_WORK = "cases.work"
#: Assigning cases to officials.
CASES_SUPERVISE = "cases.supervise"
#: Applying for a resident with their consent.
CASES_APPLY_FOR_OTHERS = "cases.apply_for_others"
#: Recording an identity check made in person instead of a consent code.
CASES_IDENTITY_CHECK = "cases.identity_check"
MESSAGE_MAX_LENGTH = 5000


class CaseError(DomainError):
    code = "case_error"


def spec_for(version: Any) -> ServiceSpec:
    return ServiceSpec(version.definition)


def _today() -> date:
    return timezone.localdate()


def _base_url() -> str:
    return str(settings.PUBLIC_BASE_URL).rstrip("/")


# --- drafts -------------------------------------------------------------------------------


def _draft_expiry() -> Any:
    return timezone.now() + timedelta(days=settings.DRAFT_EXPIRY_DAYS)


@transaction.atomic
def draft_start(
    *,
    service: Service,
    applicant: User,
    actor: User,
    channel: str = Channel.ONLINE,
    consent_statement: str = "",
) -> Draft:
    """An application in progress for ``applicant``: the open one this person already
    has for the service (so a second "Start now" resumes it), or a new one under the
    service's current version. Records a start for the service's statistics.

    ``actor`` fills it in: the applicant online, or an intermediary (``assisted``, with
    ``consent_statement`` recording what the resident agreed to) or a clerk (``counter``).
    """
    if service.current_version is None:
        raise CaseError(_("This service is not available at the moment."))
    if channel != Channel.ONLINE and not consent_statement.strip():
        raise CaseError(_("Record the resident's consent before applying for them."))
    existing = (
        Draft.objects.select_for_update()
        .filter(
            applicant=applicant,
            entered_by=actor,
            service_version__service=service,
            status=Draft.Status.OPEN,
        )
        .first()
    )
    if existing is not None:
        return existing
    draft = Draft(
        service_version=service.current_version,
        applicant=applicant,
        entered_by=actor,
        channel=channel,
        consent_statement=consent_statement.strip(),
        expires_at=_draft_expiry(),
    )
    draft.answers = {}
    draft.save()
    ServiceUsage.objects.create(
        service=service, kind=ServiceUsage.Kind.STARTED, channel=channel, draft_id=draft.id
    )
    return draft


def _lock_open_draft(draft: Draft) -> Draft:
    locked = Draft.objects.select_for_update().get(pk=draft.pk)
    if locked.status != Draft.Status.OPEN:
        raise CaseError(_("This application has already been sent or is closed."), code="closed")
    return locked


@transaction.atomic
def draft_save_answers(
    *,
    draft: Draft,
    values: Mapping[str, Any],
    files: Mapping[str, Sequence[UploadedFile]] | None = None,
    actor: User,
) -> Draft:
    """Store answers (already validated by the page form) and upload new files for file
    questions. Extends the draft's life. Files are refused with ``UploadRejected`` (a
    DomainError) before anything is saved when one of them is not acceptable."""
    draft = _lock_open_draft(draft)
    spec = spec_for(draft.service_version)
    answers = draft.answers
    for question_id, uploaded in (files or {}).items():
        question = spec.questions[question_id]
        rules = question["file"]
        existing = list(draft.files.filter(question=question_id).values_list("upload", flat=True))
        if len(existing) + len(uploaded) > rules.get("max_count", 1):
            limit = rules.get("max_count", 1)
            raise CaseError(
                ngettext(
                    "You can upload only %(count)s file here.",
                    "You can upload at most %(count)s files here.",
                    limit,
                )
                % {"count": limit},
                code="too_many_files",
            )
        for item in uploaded:
            upload = upload_store(
                owner=draft.applicant,
                file=item,
                allowed_types=rules["formats"],
                max_bytes=int(min(rules["max_size_mb"], settings.UPLOAD_MAX_MB) * 1024 * 1024),
                actor=actor,
            )
            DraftFile.objects.create(draft=draft, question=question_id, upload=upload)
            existing.append(upload.pk)
        answers[question_id] = [str(pk) for pk in existing]
    answers.update(values)
    draft.answers = answers
    draft.expires_at = _draft_expiry()
    draft.reminded_at = None
    draft.save()
    return draft


@transaction.atomic
def draft_remove_file(*, draft: Draft, draft_file_id: int, actor: User) -> Draft:
    """Take a file off a draft and delete it: the upload's row now, its stored file once
    the transaction commits (``documents.upload_delete``)."""
    draft = _lock_open_draft(draft)
    item = draft.files.select_related("upload").filter(pk=draft_file_id).first()
    if item is None:
        raise CaseError(_("That file is not part of this application."), code="no_file")
    item.delete()
    upload_delete(upload=item.upload, actor=actor)
    answers = draft.answers
    remaining = [
        str(pk)
        for pk in draft.files.filter(question=item.question).values_list("upload", flat=True)
    ]
    if remaining:
        answers[item.question] = remaining
    else:
        answers.pop(item.question, None)
    draft.answers = answers
    draft.save()
    return draft


@transaction.atomic
def draft_discard(*, draft: Draft, actor: User) -> None:
    """The resident deletes an application in progress (counted as abandoned): its
    answers and files are deleted (the stored files once the transaction commits)."""
    draft = _lock_open_draft(draft)
    draft.status = Draft.Status.DISCARDED
    draft.answers = {}
    draft.save()
    _draft_files_delete(draft, actor=actor)
    ServiceUsage.objects.create(
        service_id=draft.service_version.service_id,
        kind=ServiceUsage.Kind.ABANDONED,
        channel=draft.channel,
        draft_id=draft.id,
    )


def _draft_files_delete(draft: Draft, *, actor: User | None) -> None:
    """Delete a closed draft's files: the links, the uploads' rows and (on commit) the
    stored files."""
    items = list(draft.files.select_related("upload"))
    DraftFile.objects.filter(pk__in=[item.pk for item in items]).delete()
    for item in items:
        upload_delete(upload=item.upload, actor=actor)


def draft_problems(draft: Draft) -> list[str]:
    """Why the draft cannot be submitted yet (empty when it can)."""
    spec = spec_for(draft.service_version)
    answers = draft.answers
    problems = []
    for question in spec.eligibility:
        if answers.get(question["id"]) not in question["eligible_answers"]:
            problems.append(_("Answer the questions about whether you can use this service."))
            break
    if spec.first_unanswered_page(answers) is not None:
        problems.append(_("Answer all the questions before sending your application."))
    return problems


def _next_reference(code: str, year: int) -> str:
    counter, _created = ReferenceCounter.objects.select_for_update().get_or_create(
        code=code, year=year
    )
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{settings.CASE_REFERENCE_PREFIX}-{code}-{year}-{counter.last:06d}"


def _applicant_ward_id(applicant: User) -> int | None:
    profile = getattr(applicant, "profile", None)
    return getattr(profile, "ward_id", None)


@transaction.atomic
def draft_submit(*, draft: Draft, actor: User) -> Case:
    """Turn the draft into a case, exactly once.

    The draft row is locked; a second submission of the same draft (double click,
    refresh, second tab) returns the case the first one created. Raises
    :class:`CaseError` when questions are unanswered or the applicant is not eligible.
    Side effects: reference allocated, files moved to the case, SLA clock started,
    audit event, completion recorded, "submitted" notifications on commit, and the
    ``CaseSubmitted`` event.
    """
    locked = Draft.objects.select_for_update().get(pk=draft.pk)
    if locked.status == Draft.Status.SUBMITTED and locked.case_id:
        return Case.objects.get(pk=locked.case_id)
    if locked.status != Draft.Status.OPEN:
        raise CaseError(_("This application has expired or was deleted."), code="closed")
    problems = draft_problems(locked)
    if problems:
        raise CaseError(problems[0], code="incomplete")
    spec = spec_for(locked.service_version)
    answers = spec.relevant_answers(locked.answers)
    service = locked.service_version.service
    now = timezone.now()
    fee = spec.fee(answers)
    case = Case(
        reference=_next_reference(spec.reference_code, timezone.localdate(now).year),
        service=service,
        service_version=locked.service_version,
        department_id=service.department_id,
        ward_id=_applicant_ward_id(locked.applicant),
        applicant=locked.applicant,
        submitted_by=actor,
        channel=locked.channel,
        consent_statement=locked.consent_statement,
        state=spec.initial_state,
        fee_amount=fee,
        fee_currency=settings.CURRENCY if fee is not None else "",
        submitted_at=now,
    )
    case.answers = answers
    _clock_enter(case, spec, spec.initial_state, _today())
    case.save()
    if fee and spec.fee_due == "before_submission":
        _fee_bill(case, spec)
    kept_uploads = {
        str(pk) for value in answers.values() if isinstance(value, list) for pk in value
    }
    for item in locked.files.all():
        if str(item.upload_id) in kept_uploads:
            CaseFile.objects.create(case=case, question=item.question, upload_id=item.upload_id)
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.SUBMITTED,
        to_state=case.state,
        actor=actor,
        actor_label=_actor_label(case, actor),
    )
    locked.status = Draft.Status.SUBMITTED
    locked.case = case
    locked.save(update_fields=["status", "case", "updated_at"])
    ServiceUsage.objects.create(
        service=service,
        kind=ServiceUsage.Kind.COMPLETED,
        channel=locked.channel,
        draft_id=locked.id,
    )
    audit_record(
        action="cases.submitted",
        actor=actor,
        obj=case,
        subject_user_id=case.applicant_id,
        changes={"state": {"before": None, "after": case.state}, "channel": case.channel},
    )
    _notify(case, spec, spec.definition["workflow"].get("on_submit_notify", []), extra={})
    event_publish(
        CaseSubmitted(
            case_id=case.pk,
            reference=case.reference,
            service_slug=spec.slug,
            department_id=case.department_id,
            state=case.state,
            channel=case.channel,
        )
    )
    return case


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


def _actor_label(case: Case, actor: User | None) -> str:
    """The office and role an official acted as ("Planning & Building — Case officer"),
    written once in the platform's language like the audit trail. Empty for the system,
    the applicant and their helper: the pages name those in the reader's language."""
    if actor is None or actor.pk == case.applicant_id:
        return ""
    if case.channel == Channel.ASSISTED and actor.pk == case.submitted_by_id:
        return ""
    with translation.override(settings.LANGUAGE_CODE):
        return user_acting_as(actor, CASES_WORK) or user_acting_as(actor)


def _covers(
    user: User, roles: str | set[str] | frozenset[str], departments: Any, case: Case
) -> bool:
    """Whether one role assignment of the user holding one of ``roles`` covers the case:
    its department (or one of ``departments``) and its ward. Reads the role assignments
    cached on the user: no query per action or per case."""
    from ecitizen.accounts.selectors import remit_covers

    return remit_covers(user, roles, departments=departments, ward_id=case.ward_id)


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


def _send_notification(
    *,
    recipient: User,
    event: str,
    context: Mapping[str, Any],
    channels: Sequence[str],
    actor: Any = None,
) -> None:
    """Send ``event`` with the part of ``context`` its templates use (each event's
    templates take a fixed set of placeholders)."""
    from ecitizen.notifications.selectors import notification_event_placeholders
    from ecitizen.notifications.services import notification_send

    wanted = notification_event_placeholders(event)
    notification_send(
        recipient=recipient,
        event=event,
        context={key: value for key, value in context.items() if key in wanted},
        channels=list(channels),
        actor=actor,
    )


def _notify(
    case: Case, spec: ServiceSpec, notification_ids: Iterable[str], extra: Mapping[str, Any]
) -> None:
    applicant = case.applicant
    language = applicant.language or settings.LANGUAGE_CODE
    for notification_id in notification_ids:
        definition = spec.notifications[notification_id]
        context = {
            "reference": case.reference,
            "service": spec.title(language),
            "status": spec.state_label(case.state, language),
            "url": _base_url() + reverse("cases:case_detail", args=[case.reference]),
            # A whole sentence, so that no message says "a decision by ." (no date yet).
            "expected_decision": decision_expected_sentence(
                decision_expected(case, spec, today=_today())
            ),
            **extra,
        }
        _send_notification(
            recipient=applicant,
            event=definition["template"],
            context=context,
            channels=definition["channels"],
            actor=None,
        )


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
    case = (
        Case.objects.select_for_update()
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
        _issue_document_on_commit(case)
    _publish_transition(
        case, slug=spec.slug, action_id=action_id, before=before, actor=actor, decided=decided
    )
    return case


def _publish_transition(
    case: Case, *, slug: str, action_id: str, before: str, actor: User, decided: bool
) -> None:
    """The domain events of a transition: ``CaseStateChanged``, and ``CaseDecided`` when
    the case reached its first outcome."""
    event_publish(
        CaseStateChanged(
            case_id=case.pk,
            reference=case.reference,
            service_slug=slug,
            department_id=case.department_id,
            action=action_id,
            from_state=before,
            to_state=case.state,
            actor_id=actor.pk,
        )
    )
    if decided:
        event_publish(
            CaseDecided(
                case_id=case.pk,
                reference=case.reference,
                service_slug=slug,
                department_id=case.department_id,
                outcome=case.outcome,
                state=case.state,
            )
        )


def _issue_document_on_commit(case: Case) -> None:
    from ecitizen.cases.tasks import issue_case_document

    case_id = case.pk
    transaction.on_commit(lambda: issue_case_document.enqueue(case_id))


def _fee_bill(case: Case, spec: ServiceSpec) -> None:
    """The bill of the case's fee. A fee due before submission holds the case: its SLA
    clock starts once paid. Side effect: the bill and its ledger charge."""
    from ecitizen.payments.money import to_minor
    from ecitizen.payments.services import BILL_KIND_FEE, BillSpec, LineSpec, bill_create

    assert case.fee_amount is not None
    title = spec.title(settings.LANGUAGE_CODE)
    bill = bill_create(
        spec=BillSpec(
            reference=f"{case.reference}-F",
            kind=BILL_KIND_FEE,
            description=f"{title} ({case.reference})",
            department_id=case.department_id,
            due_date=_today() + timedelta(days=30),
            lines=[LineSpec(title, to_minor(case.fee_amount), "fee")],
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


def case_fee_paid_on_bill_paid(event: BillPaid) -> None:
    """Subscriber of ``BillPaid`` (run by a worker once the payment committed, retried if
    it fails): a case waiting for its fee moves on by itself. Bills that are not a case's
    fee are ignored; a bill paid again changes nothing (:func:`case_fee_paid` is
    idempotent)."""
    if not event.source_key.startswith("case:"):
        return
    case = Case.objects.filter(reference=event.source_reference).first()
    if case is not None:
        case_fee_paid(case=case)


@transaction.atomic
def case_fee_paid(*, case: Case) -> Case:
    """The fee is paid: the case moves on (SLA clock started for a fee paid on applying;
    the document issued for a fee paid after approval). Idempotent."""
    case = Case.objects.select_for_update().select_related("service_version").get(pk=case.pk)
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
        _issue_document_on_commit(case)
    return case


@transaction.atomic
def case_document_issue(*, case: Case) -> Any:
    """Issue the definition's document for a case in the state that earns it (run by a
    task after the decision commits; idempotent: the documents app returns the document
    already issued for the same reference)."""
    from ecitizen.documents.services import document_issue

    case = (
        Case.objects.select_for_update()
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


def format_answer(  # noqa: PLR0911 - one return per kind of answer
    spec: ServiceSpec, question_id: str, value: Any, language: str | None = None
) -> str:
    """An answer as a person reads it (choice labels, Yes/No, amounts)."""
    question = spec.questions.get(question_id) or spec.eligibility_question(question_id) or {}
    kind = question.get("type", "single_choice" if question.get("choices") else "")
    if value is None or value in ("", []):
        return _("Not given")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if kind in {"single_choice", "multiple_choice"}:
        labels = {c["value"]: localised(c["label"], language) for c in question.get("choices", [])}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in values)
    if kind == "money":
        return format_money(str(value), language=language)
    if kind == "date":
        from django.utils.formats import date_format

        return date_format(date.fromisoformat(value), "j F Y")
    if kind == "file":
        return ngettext("%(count)s file", "%(count)s files", len(value)) % {"count": len(value)}
    return str(value)


# --- casework -------------------------------------------------------------------------------


def _lock_case(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("service_version").get(pk=case.pk)


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


# --- periodic jobs ----------------------------------------------------------------------------


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
        Case.objects.select_for_update()
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
        Draft.objects.select_for_update()
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
        Draft.objects.select_for_update()
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


@transaction.atomic
def case_rate(*, case: Case, score: int, comment: str, actor: User) -> Any:
    """The applicant rates the service once per case (a second rating replaces nothing:
    it raises :class:`CaseError`)."""
    from ecitizen.cases.models import ServiceRating

    case = _lock_case(case)
    if actor.pk != case.applicant_id:
        raise PermissionDenied(_("Only the applicant can rate this application."))
    if ServiceRating.objects.filter(case=case).exists():
        raise CaseError(
            _("You have already given feedback on this application. Thank you."), code="rated"
        )
    if score not in range(1, 6):
        raise CaseError(_("Select how you felt about the service"), code="score")
    return ServiceRating.objects.create(
        case=case, service_id=case.service_id, score=score, comment=comment.strip() or None
    )


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


# --- applying for someone: the resident's consent -------------------------------------------

#: How long a consent code can be used, and how many wrong codes end it.
ASSIST_CODE_MINUTES = 15
ASSIST_CODE_ATTEMPTS = 5
#: Officials who may record an identity check made in person instead of a code (an
#: assisted-digital helper cannot: they are not trained or accountable for ID checks).
#: The identity documents an official may record having checked in person.
IDENTITY_DOCUMENTS = {
    "passport": gettext_lazy("Passport"),
    "national_id_card": gettext_lazy("National identity card"),
    "driving_licence": gettext_lazy("Driving licence"),
    "residence_permit": gettext_lazy("Residence permit"),
}


def _assist_code_hash(consent_id: Any, code: str) -> str:
    from django.utils.crypto import salted_hmac

    return salted_hmac("ecitizen.cases.assist_consent", f"{consent_id}:{code}").hexdigest()


@transaction.atomic
def assist_consent_request(
    *, service: Service, resident_email: str, actor: User, ip_address: str | None = None
) -> AssistConsent:
    """Start applying for a resident: if an active account (other than the actor's) has
    ``resident_email``, send its holder a one-time code to read out to the actor.

    The answer is the same whether or not the account exists, so the form cannot tell
    which addresses have accounts. Side effects: the request row, an audit event
    ``cases.assist_consent_requested`` (on the resident's record when there is one) and,
    once committed, the code by email, text message (when they chose it) and inbox.
    """
    import secrets
    import uuid

    from ecitizen.notifications.selectors import notification_language

    resident = (
        User.objects.filter(email__iexact=resident_email.strip(), is_active=True)
        .exclude(pk=actor.pk)
        .first()
    )
    now = timezone.now()
    consent_id = uuid.uuid4()
    code = f"{secrets.randbelow(10**6):06d}"
    consent = AssistConsent.objects.create(
        id=consent_id,
        service=service,
        helper=actor,
        resident=resident,
        channel=Channel.ASSISTED if user_has_role(actor, {Role.INTERMEDIARY}) else Channel.COUNTER,
        code_hash=_assist_code_hash(consent_id, code),
        created_at=now,
        expires_at=now + timedelta(minutes=ASSIST_CODE_MINUTES),
    )
    audit_record(
        action="cases.assist_consent_requested",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=consent,
        subject_user_id=resident.pk if resident else None,
        ip_address=ip_address,
    )
    if resident is not None:
        language = notification_language(resident)
        with translation.override(language):
            _send_notification(
                recipient=resident,
                event="assist_consent_code",
                context={
                    "code": code,
                    "helper": user_acting_as(actor) or actor.full_name,
                    "service": spec_for(service.current_version).title(language),
                    "minutes": ASSIST_CODE_MINUTES,
                    # Where they see who used their details (made absolute when sent).
                    "url": reverse("accounts:data_tracker"),
                },
                channels=["email", "sms", "inbox"],
                actor=actor,
            )
    return consent


class AssistConsentError(CaseError):
    code = "assist_consent"


def assist_consent_get(*, consent_id: Any, actor: User) -> AssistConsent:
    """The actor's own consent request, or ``AssistConsentError`` with code
    ``not_found`` (anyone else's is unknown to them)."""
    consent = (
        AssistConsent.objects.select_related("service", "draft").filter(pk=consent_id, helper=actor)
    ).first()
    if consent is None:
        raise AssistConsentError(_("This request was not found."), code="not_found")
    return consent


def assist_consent_confirm(
    *,
    consent_id: Any,
    actor: User,
    code: str = "",
    identity_document: str = "",
    ip_address: str | None = None,
) -> Draft:
    """Grant the consent with the one-time code the resident read out, or, for an
    official holding one of :data:`CASES_IDENTITY_CHECK`, with the identity document
    they checked in person (``identity_document`` names its kind), then start the
    application for the resident (with their details prefilled from then on).

    Idempotent: a consent already granted returns its draft. Raises
    :class:`AssistConsentError`: ``code_wrong`` (a wrong code counts as an attempt, and
    is answered the same whether or not an account exists), ``code_expired`` (too late
    or too many wrong codes), ``not_allowed`` (in person without the role),
    ``not_found``. Side effects: the attempt count; on success an audit event
    ``cases.assist_consent_granted`` that the resident sees among those who used their
    details, and the draft.
    """
    outcome = _assist_consent_try(
        consent_id=consent_id,
        actor=actor,
        code=code,
        identity_document=identity_document,
        ip_address=ip_address,
    )
    if isinstance(outcome, AssistConsentError):
        raise outcome
    return outcome


@transaction.atomic
def _assist_consent_try(
    *,
    consent_id: Any,
    actor: User,
    code: str,
    identity_document: str,
    ip_address: str | None,
) -> Draft | AssistConsentError:
    """One attempt under a row lock; a refusal is returned, not raised, so that the
    attempt it used commits."""
    from django.utils.crypto import constant_time_compare

    found = assist_consent_get(consent_id=consent_id, actor=actor)
    consent = AssistConsent.objects.select_for_update().get(pk=found.pk)
    if consent.granted_at is not None and consent.draft_id is not None:
        return Draft.objects.get(pk=consent.draft_id)
    in_person = bool(identity_document.strip())
    if in_person and not user_has_role(actor, CASES_IDENTITY_CHECK):
        return AssistConsentError(
            _("Only a case officer or supervisor can record an identity check in person."),
            code="not_allowed",
        )
    if not in_person:
        if timezone.now() >= consent.expires_at or consent.attempts >= ASSIST_CODE_ATTEMPTS:
            return AssistConsentError(
                _("This code can no longer be used. Start again to send the resident a new code."),
                code="code_expired",
            )
        consent.attempts += 1
        consent.save(update_fields=["attempts"])
        matches = constant_time_compare(
            _assist_code_hash(consent.pk, code.strip()), consent.code_hash
        )
        if consent.resident_id is None or not matches:
            return AssistConsentError(
                _("The code is not right. Check it with the resident and enter it again."),
                code="code_wrong",
            )
    elif consent.resident_id is None:
        return AssistConsentError(
            _(
                "We could not start an application with these details. Check the email "
                "address with the resident: they need an account."
            ),
            code="no_account",
        )
    resident = User.objects.get(pk=consent.resident_id)
    method = AssistConsent.Method.IN_PERSON if in_person else AssistConsent.Method.CODE
    helper_label = user_acting_as(actor) or actor.full_name
    if in_person:
        statement = _(
            "The resident proved who they are in person (%(document)s) and agreed that "
            "%(helper)s applies for them."
        ) % {
            "document": IDENTITY_DOCUMENTS.get(identity_document.strip(), identity_document),
            "helper": helper_label,
        }
    else:
        statement = _(
            "The resident read out the one-time code we sent them and agreed that "
            "%(helper)s applies for them."
        ) % {"helper": helper_label}
    draft = draft_start(
        service=consent.service,
        applicant=resident,
        actor=actor,
        channel=consent.channel,
        consent_statement=statement,
    )
    consent.granted_at = timezone.now()
    consent.method = method
    consent.identity_document = identity_document.strip()[:40]
    consent.draft = draft
    consent.save(update_fields=["granted_at", "method", "identity_document", "draft"])
    audit_record(
        action="cases.assist_consent_granted",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=consent,
        subject_user_id=resident.pk,
        changes={"method": method, "service": consent.service.slug},
        ip_address=ip_address,
    )
    return draft

"""Writes of the feedback app: a transaction rated, a compliment, suggestion or complaint
sent (and its email address confirmed), a complaint followed through its stages, a
"You said, we did" change published or withdrawn.

A complaint is a case of the complaint service (a definition with an
``extensions.complaint`` block: ``definitions/complaint.yaml``), opened through the cases
app's own services, so that officials work it in the case queue with its SLA, history
and messages. This app keeps the statutory figures: the deadlines of each stage, and
when each was reached, followed through the case's ``CaseStateChanged`` events. The
deadlines count working days with the cases app's calendar (``cases.calendar``: no
model, the same public holidays as the SLA clocks), so that they agree with the queue.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecitizen.accounts.models import Department, User
from ecitizen.accounts.selectors import remit_covers, user_by_email
from ecitizen.accounts.services import preferences_update, user_create
from ecitizen.cases.calendar import add_business_days
from ecitizen.cases.services import (
    ActionInput,
    case_transition,
    draft_save_answers,
    draft_start,
    draft_submit,
    spec_for,
)
from ecitizen.catalogue.selectors import services_with_extension
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.core.errors import DomainError, PermissionDenied
from ecitizen.core.events import CaseStateChanged
from ecitizen.core.services import audit_record
from ecitizen.core.text import clean_free_text
from ecitizen.feedback.models import Kind, Level, Rating, ServiceChange, Step, Submission
from ecitizen.feedback.redaction import redact
from ecitizen.notifications.services import notification_send

#: Capabilities of this app (roles holding them: ``FeedbackConfig.ready``).
#: Reading satisfaction figures, comments and complaint figures within one's department.
FEEDBACK_READ = "feedback.read"
#: Publishing "You said, we did" changes for the services of one's department.
FEEDBACK_PUBLISH = "feedback.publish"
#: The extension block that makes a service definition the complaints procedure.
EXTENSION = "complaint"

COMMENT_MAX_LENGTH = 1200
TEXT_MAX_LENGTH = 2000
CHANGE_MAX_LENGTH = 1000
#: How long the satisfaction question of a confirmation page can be answered.
RATING_LINK_DAYS = 90
#: How long the emailed link that confirms a visitor's address works.
CONFIRMATION_HOURS = 72

_RATING_SALT = "ecitizen.feedback.rating"
_COMPLAINT_SALT = "ecitizen.feedback.complaint"


class FeedbackError(DomainError):
    code = "feedback_error"


# --- rating a transaction -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Completed:
    """A completed transaction, as its confirmation page knows it: the step, its
    reference, and the service and department it belongs to (``service_key``: the
    catalogue slug, or a key of this app for what the catalogue does not list, such as
    ``payments.fine``)."""

    step: str
    reference: str
    service_key: str
    service_id: int | None = None
    department_id: int | None = None


def rating_token(completed: Completed) -> str:
    """The signed form of ``transaction`` that the satisfaction form posts back: nobody
    can rate a transaction they were not shown (the signature uses ``SECRET_KEY``), and
    the form stops working after :data:`RATING_LINK_DAYS`."""
    return signing.dumps(dataclasses.astuple(completed), salt=_RATING_SALT, compress=True)


def rating_token_read(token: str) -> Completed:
    """The transaction a token names. Raises :class:`FeedbackError` for a token that was
    changed (``bad_link``) or is too old (``expired_link``)."""
    try:
        values = signing.loads(token, salt=_RATING_SALT, max_age=timedelta(days=RATING_LINK_DAYS))
    except signing.SignatureExpired:
        raise FeedbackError(
            _("This feedback form has expired. You can still tell us what you think."),
            code="expired_link",
        ) from None
    except signing.BadSignature:
        raise FeedbackError(
            _("We could not tell which service this feedback is about."), code="bad_link"
        ) from None
    try:
        completed = Completed(*values)
    except TypeError:
        raise FeedbackError(
            _("We could not tell which service this feedback is about."), code="bad_link"
        ) from None
    if completed.step not in Step.values:
        raise FeedbackError(
            _("We could not tell which service this feedback is about."), code="bad_link"
        )
    return completed


def _already_rated() -> FeedbackError:
    return FeedbackError(
        _("You have already told us what you thought of this. Thank you."), code="already_rated"
    )


def _redacted_text(text: str, *, limit: int) -> tuple[str, int]:
    cleaned = clean_free_text(text).strip()
    if len(cleaned) > limit:
        raise FeedbackError(
            _("Your comment must be %(limit_value)d characters or fewer") % {"limit_value": limit},
            code="too_long",
        )
    result = redact(cleaned)
    return result.text, result.removed


@transaction.atomic
def rating_record(
    *,
    completed: Completed,
    level: int,
    comment: str = "",
    source: str = Rating.Source.WEB,
    at: datetime | None = None,
) -> Rating:
    """Record how satisfied someone was with the ``completed`` transaction, once.

    The comment is screened and only its redacted text is stored (``feedback.redaction``).
    Nothing about the person is recorded, so the rating is not audited either (an audit
    event would name them). ``at``: when it was given, for ratings copied from the past.

    Raises :class:`FeedbackError`: ``level`` for a value off the scale, ``too_long`` for
    a comment over :data:`COMMENT_MAX_LENGTH`, ``already_rated`` when the transaction was
    rated before (also when two submissions race: the unique constraint decides).
    """
    if level not in Level.values:
        raise FeedbackError(_("Select how satisfied you were with this service"), code="level")
    text, removed = _redacted_text(comment, limit=COMMENT_MAX_LENGTH)
    if Rating.objects.filter(step=completed.step, reference=completed.reference).exists():
        raise _already_rated()
    try:
        with _savepoint():
            return Rating.objects.create(
                step=completed.step,
                reference=completed.reference,
                service_id=completed.service_id,
                service_key=completed.service_key,
                department_id=completed.department_id,
                level=level,
                comment=text,
                redactions=removed,
                source=source,
                created_at=at or timezone.now(),
            )
    except IntegrityError:
        raise _already_rated() from None


def _savepoint() -> Any:
    """A savepoint, so that a unique-constraint failure leaves the outer transaction
    usable (PostgreSQL aborts a transaction on any error otherwise)."""
    return transaction.atomic()


# --- compliments, suggestions, complaints ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class About:
    """What a compliment, suggestion or complaint is about: a department, or one of its
    services."""

    department: Department
    service: Any = None


def author_for_email(*, email: str, name: str) -> User:
    """The account with this email address, or a new one that cannot sign in (no
    password; its owner may set one with "forgot your password"): sending feedback needs
    someone to answer, not a sign-up. A new account keeps the visitor's language, so
    that the messages it gets are in it."""
    existing = user_by_email(email=email)
    if existing is not None:
        return existing
    try:
        with _savepoint():
            full_name = name.strip() or email.split("@", maxsplit=1)[0]
            user = user_create(email=email, full_name=full_name, password=None)
    except IntegrityError:  # the same address, sent twice at once
        found = user_by_email(email=email)
        assert found is not None
        return found
    return preferences_update(user=user, language=translation.get_language() or "")


def token_hash(token: str) -> str:
    """The SHA-256 of a confirmation link's token: only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _existing_for_key(author: User, form_key: str) -> Submission | None:
    if not form_key:
        return None
    return Submission.objects.filter(author=author, form_key=form_key).first()


def _create_submission(*, author: User, form_key: str, **fields: Any) -> tuple[Submission, bool]:
    """The new submission, or the one this form already made (a double submit: the form's
    key is unique per author). Returns it and whether it is new."""
    existing = _existing_for_key(author, form_key)
    if existing is not None:
        return existing, False
    try:
        with _savepoint():
            return (
                Submission.objects.create(author=author, form_key=form_key or None, **fields),
                True,
            )
    except IntegrityError:
        again = _existing_for_key(author, form_key)
        if again is None:
            raise
        return again, False


KIND_WHAT = {
    Kind.COMPLIMENT: gettext_lazy("your compliment"),
    Kind.SUGGESTION: gettext_lazy("your suggestion"),
    Kind.COMPLAINT: gettext_lazy("your complaint"),
}


def _confirmation_send(submission: Submission) -> None:
    token = secrets.token_urlsafe(32)
    submission.confirm_token_hash = token_hash(token)
    submission.confirm_expires_at = timezone.now() + timedelta(hours=CONFIRMATION_HOURS)
    submission.save(update_fields=["confirm_token_hash", "confirm_expires_at"])
    notification_send(
        recipient=submission.author,
        event="feedback_confirm",
        context={
            "what": KIND_WHAT[Kind(submission.kind)],
            "hours": CONFIRMATION_HOURS,
            "url": reverse("feedback:confirm", args=[token]),
        },
        channels=["email"],
    )


@transaction.atomic
def remark_send(
    *,
    kind: str,
    about: About,
    text: str,
    author: User,
    confirmed: bool,
    form_key: str = "",
    at: datetime | None = None,
) -> Submission:
    """A compliment or a suggestion. Its text is redacted before it is stored. Received
    at once when ``confirmed`` (a signed-in author); otherwise a link is emailed to the
    author and it is received once they follow it (:func:`submission_confirm`).

    A second call with the same ``form_key`` (a double submit) returns the first one.
    Raises :class:`FeedbackError` for an empty or overlong text.
    """
    if kind not in (Kind.COMPLIMENT, Kind.SUGGESTION):
        raise FeedbackError(_("Select what you want to tell us"), code="kind")
    body, removed = _redacted_text(text, limit=TEXT_MAX_LENGTH)
    if not body:
        raise FeedbackError(_("Enter what you would like to tell us"), code="empty")
    now = at or timezone.now()
    submission, created = _create_submission(
        author=author,
        form_key=form_key,
        kind=kind,
        about_department=about.department,
        about_service=about.service,
        text=body,
        redactions=removed,
        created_at=now,
    )
    if not created:
        return submission
    if confirmed:
        _receive(submission, at=now)
    else:
        _confirmation_send(submission)
    return submission


@dataclasses.dataclass(frozen=True)
class ComplaintAnswers:
    """What a complainant tells (the complaint service's questions)."""

    what_happened: str
    put_right: str = ""

    def as_answers(self) -> dict[str, str]:
        return {
            "what_happened": self.what_happened.strip(),
            "put_right": self.put_right.strip(),
        }


@transaction.atomic
def complaint_send(
    *,
    about: About,
    answers: ComplaintAnswers,
    author: User,
    confirmed: bool,
    form_key: str = "",
) -> Submission:
    """A complaint: its case is opened at once when ``confirmed`` (a signed-in author),
    else once the emailed link is followed. Its answers wait encrypted meanwhile.

    A second call with the same ``form_key`` returns the first one. Raises
    :class:`FeedbackError` (nothing stored) when no complaint service is published
    (``no_complaints``) or the details are missing.
    """
    complaint_service()  # refuses before anything is stored
    if len(answers.what_happened.strip()) < 10:
        raise FeedbackError(_("Tell us what happened"), code="empty")
    values = answers.as_answers()
    submission, created = _create_submission(
        author=author,
        form_key=form_key,
        kind=Kind.COMPLAINT,
        about_department=about.department,
        about_service=about.service,
        pending_answers=values,
    )
    if not created:
        return submission
    if confirmed:
        _receive(submission, at=timezone.now())
    else:
        _confirmation_send(submission)
    return submission


def complaint_service() -> Any:
    """The published complaint service (the first, by slug, whose definition has an
    ``extensions.complaint`` block). Raises :class:`FeedbackError` when there is none."""
    found = services_with_extension(EXTENSION)
    if not found:
        raise FeedbackError(
            _("Complaints cannot be made online at the moment. Contact us instead."),
            code="no_complaints",
        )
    return found[0]


@dataclasses.dataclass(frozen=True)
class ComplaintRules:
    """The statutory limits and the stages' states of a complaint definition."""

    acknowledge_days: int
    respond_days: int
    stage2_days: int
    #: stage (acknowledged, responded, stage2_requested, stage2_responded) -> state
    states: Mapping[str, str]

    def stage_of(self, state: str) -> str:
        return next((stage for stage, name in self.states.items() if name == state), "")


STAGES = ("acknowledged", "responded", "stage2_requested", "stage2_responded")


def complaint_rules(spec: ServiceSpec) -> ComplaintRules:
    """The extension block of a complaint definition, with its defaults (5, 20 and 20
    working days; states named after the stages)."""
    block = dict(spec.definition.get("extensions", {}).get(EXTENSION, {}))
    states = {stage: stage for stage in STAGES} | dict(block.get("states", {}))
    return ComplaintRules(
        acknowledge_days=int(block.get("acknowledge_business_days", 5)),
        respond_days=int(block.get("respond_business_days", 20)),
        stage2_days=int(block.get("stage2_respond_business_days", 20)),
        states=states,
    )


def complaint_definition_problems(spec: ServiceSpec) -> list[str]:
    """What is wrong with a complaint definition's extension block (empty when
    nothing): each stage's state must exist, and the complainant must be able to ask for
    stage 2 from the stage 1 reply."""
    rules = complaint_rules(spec)
    problems = [
        f"extensions.complaint.states.{stage}: {state!r} is not a state of the workflow"
        for stage, state in rules.states.items()
        if state not in spec.states
    ]
    if not problems and _escalation_action(spec, rules) is None:
        problems.append(
            "no action of the complainant leads from the "
            f"{rules.states['responded']!r} state to {rules.states['stage2_requested']!r}"
        )
    return problems


def _escalation_action(spec: ServiceSpec, rules: ComplaintRules) -> str | None:
    for action in spec.actions_from(rules.states["responded"]):
        if action["by"].get("resident") and action["to"] == rules.states["stage2_requested"]:
            return str(action["id"])
    return None


def _receive(submission: Submission, *, at: datetime) -> None:
    submission.status = Submission.Status.RECEIVED
    submission.received_at = at
    submission.confirm_token_hash = None
    submission.confirm_expires_at = None
    submission.save()
    if submission.kind == Kind.COMPLAINT:
        _complaint_open(submission)
    audit_record(
        action="feedback.received",
        actor=submission.author,
        obj=submission,
        subject_user_id=submission.author_id,
        changes={"kind": submission.kind},
    )


def _complaint_open(submission: Submission) -> None:
    """Open the complaint's case from its waiting answers, and set its deadlines."""
    service = complaint_service()
    author = submission.author
    draft = draft_start(service=service, applicant=author, actor=author)
    draft = draft_save_answers(
        draft=draft, values=dict(submission.pending_answers or {}), actor=author
    )
    case = draft_submit(draft=draft, actor=author)
    rules = complaint_rules(spec_for(case.service_version))
    received = timezone.localdate(case.submitted_at)
    submission.case = case
    submission.state = case.state
    submission.pending_answers = None
    submission.acknowledge_by = add_business_days(received, rules.acknowledge_days)
    submission.respond_by = add_business_days(received, rules.respond_days)
    submission.save()
    _complaint_notify(submission, spec_for(case.service_version))


def complaint_link(submission: Submission) -> str:
    """The address of the complaint's own page, where its complainant follows it and
    asks for stage 2 without signing in. Signed (it cannot be guessed or changed), and
    the same in every message about the complaint."""
    token = signing.Signer(salt=_COMPLAINT_SALT).sign(str(submission.pk))
    return reverse("feedback:complaint", args=[token])


def complaint_link_read(token: str) -> int:
    """The submission id a complaint link names; :class:`FeedbackError` if it was
    changed."""
    try:
        return int(signing.Signer(salt=_COMPLAINT_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        raise FeedbackError(_("This link is not valid."), code="bad_link") from None


def _complaint_notify(submission: Submission, spec: ServiceSpec) -> None:
    author = submission.author
    assert submission.case is not None
    language = author.language or settings.LANGUAGE_CODE
    notification_send(
        recipient=author,
        event="complaint_update",
        context={
            "reference": submission.case.reference,
            "status": spec.state_label(submission.state, language),
            "url": complaint_link(submission),
        },
    )


@transaction.atomic
def submission_confirm(*, token: str) -> Submission:
    """Receive the submission whose emailed link this is (a complaint's case is opened
    then). A second use of the link returns the same submission. Raises
    :class:`FeedbackError` for an unknown (``bad_link``) or expired (``expired_link``)
    link."""
    submission = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("author")
        .filter(confirm_token_hash=token_hash(token))
        .first()
    )
    if submission is None:
        raise FeedbackError(
            _("This link is not valid. It may have been used already: check your email."),
            code="bad_link",
        )
    if submission.confirm_expires_at and submission.confirm_expires_at < timezone.now():
        raise FeedbackError(
            _("This link has expired. Send your feedback again."), code="expired_link"
        )
    _receive(submission, at=timezone.now())
    return submission


def submissions_prune() -> int:
    """Delete the submissions whose email address was never confirmed in time (a prune
    hook of ``ecitizen housekeeping``). Returns how many."""
    deleted, _by_model = Submission.objects.filter(
        status=Submission.Status.PENDING, confirm_expires_at__lt=timezone.now()
    ).delete()
    return deleted


# --- a complaint's stages ----------------------------------------------------------------------


@transaction.atomic
def complaint_state_record(
    *, case_id: int, state: str, at: datetime | None = None
) -> Submission | None:
    """The complaint's case reached ``state``: record when its stage was reached (and,
    for stage 2, the reply's deadline), and tell the complainant. ``None`` when the case
    is not a complaint.

    Idempotent: a state already recorded changes nothing and sends nothing (the
    ``CaseStateChanged`` subscriber may run again; the page that escalates records the
    state at once, and the event's delivery then finds it done).
    """
    submission = (
        # The submission's row only: not the case's (an official's transition holds it),
        # nor the service version's or the author's.
        Submission.objects.select_for_update(of=("self",))
        .select_related("author", "case__service_version")
        .filter(case_id=case_id)
        .first()
    )
    if submission is None or submission.case is None:
        return None
    spec = spec_for(submission.case.service_version)
    rules = complaint_rules(spec)
    when = at or timezone.now()
    stage = rules.stage_of(state)
    terminal = spec.is_terminal(state)
    if stage:
        field = f"{stage}_at"
        if getattr(submission, field) is not None:
            return submission
        setattr(submission, field, when)
        if stage == "stage2_requested":
            submission.stage2_respond_by = add_business_days(
                timezone.localdate(when), rules.stage2_days
            )
    elif not terminal or submission.closed_at is not None:
        return submission  # a state the figures do not count, or already closed
    if terminal:
        submission.closed_at = submission.closed_at or when
    submission.state = state
    submission.save()
    _complaint_notify(submission, spec)
    return submission


def is_complaint_case(event: CaseStateChanged) -> bool:
    """Whether the case is of a complaint service (its definition has the complaint
    block): the condition :func:`complaint_follow_case` subscribes with."""
    return EXTENSION in event.service_extensions


def complaint_follow_case(event: CaseStateChanged) -> None:
    """Subscriber of ``CaseStateChanged``: a complaint's case moved on (see
    :func:`complaint_state_record`). Other cases are ignored."""
    complaint_state_record(case_id=event.case_id, state=event.to_state)


@transaction.atomic
def complaint_escalate(*, submission: Submission, reason: str, actor: User) -> Submission:
    """The complainant asks for a stage 2 review, giving why they are not satisfied
    (``actor`` must be the complainant). Raises the case engine's errors when the
    complaint is not waiting for that (``stale_action``) or the reason is missing."""
    if submission.case is None:
        raise FeedbackError(_("This complaint has not been received yet."), code="not_received")
    if actor.pk != submission.author_id:
        raise PermissionDenied(_("Only the complainant can ask for a review."))
    spec = spec_for(submission.case.service_version)
    rules = complaint_rules(spec)
    action = _escalation_action(spec, rules)
    if action is None or submission.case.state != rules.states["responded"]:
        raise FeedbackError(
            _("You can ask for a review once we have replied to your complaint."),
            code="stale_action",
        )
    case = case_transition(
        case=submission.case, action_id=action, actor=actor, given=ActionInput(text=reason)
    )
    recorded = complaint_state_record(case_id=case.pk, state=case.state)
    assert recorded is not None
    return recorded


# --- "You said, we did" ----------------------------------------------------------------------


def _change_text(value: str, *, message: str, code: str) -> str:
    text = clean_free_text(value).strip()
    if not text:
        raise FeedbackError(message, code=code)
    if len(text) > CHANGE_MAX_LENGTH:
        raise FeedbackError(
            _("Each text must be %(max)s characters or fewer") % {"max": CHANGE_MAX_LENGTH},
            code="too_long",
        )
    return text


def may_publish(user: Any, department_id: int) -> bool:
    """Whether ``user`` publishes "You said, we did" changes for the department's
    services."""
    return remit_covers(user, FEEDBACK_PUBLISH, departments=department_id, ward_id=None)


@transaction.atomic
def change_publish(*, service: Any, you_said: str, we_did: str, actor: User) -> ServiceChange:
    """Publish a change made to ``service`` in answer to feedback, in the actor's
    language. ``actor`` must hold ``feedback.publish`` in the service's department.
    Audited."""
    if not may_publish(actor, service.department_id):
        raise PermissionDenied(_("You cannot publish changes for this service."))
    change = ServiceChange.objects.create(
        service=service,
        department_id=service.department_id,
        you_said=_change_text(you_said, message=_("Enter what people told you"), code="you_said"),
        we_did=_change_text(we_did, message=_("Enter what you changed"), code="we_did"),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        published_by=actor,
    )
    audit_record(
        action="feedback.change_published",
        actor=actor,
        obj=change,
        changes={"service": service.slug},
    )
    return change


@transaction.atomic
def change_withdraw(*, change: ServiceChange, actor: User) -> ServiceChange:
    """Take a published change off the public page (the record stays). Idempotent.
    ``actor`` must hold ``feedback.publish`` in its department. Audited."""
    change = ServiceChange.objects.select_for_update().get(pk=change.pk)
    if not may_publish(actor, change.department_id):
        raise PermissionDenied(_("You cannot withdraw changes for this service."))
    if change.withdrawn_at is None:
        change.withdrawn_at = timezone.now()
        change.withdrawn_by = actor
        change.save(update_fields=["withdrawn_at", "withdrawn_by"])
        audit_record(action="feedback.change_withdrawn", actor=actor, obj=change)
    return change


# --- the demo ----------------------------------------------------------------------------------


@transaction.atomic
def complaint_backdate(
    *,
    submission: Submission,
    received_at: datetime,
    reached: Mapping[str, datetime] | None = None,
) -> Submission:
    """For demo data only: the complaint was received at ``received_at`` and its case
    reached each state of ``reached`` at the time given (its case's history is
    backdated by the cases app's ``case_history_backdate``). The stages' times are set
    to those, whatever was recorded when the case moved, and the deadlines are worked
    out again from them."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    assert submission.case is not None
    spec = spec_for(submission.case.service_version)
    rules = complaint_rules(spec)
    received: date = timezone.localdate(received_at)
    submission.created_at = received_at
    submission.received_at = received_at
    submission.acknowledge_by = add_business_days(received, rules.acknowledge_days)
    submission.respond_by = add_business_days(received, rules.respond_days)
    for state, when in (reached or {}).items():
        stage = rules.stage_of(state)
        if stage:
            setattr(submission, f"{stage}_at", when)
        if stage == "stage2_requested":
            submission.stage2_respond_by = add_business_days(
                timezone.localdate(when), rules.stage2_days
            )
        if spec.is_terminal(state):
            submission.closed_at = when
    submission.save()
    return submission

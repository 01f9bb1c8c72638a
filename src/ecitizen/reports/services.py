"""Writes of the reports app: a report submitted (and confirmed), supported, hidden,
merged, followed as its case moves; the Open311 apps' keys.

A report opens a case of its category (a service definition with ``listed: false`` and
an ``extensions.report`` block) through the cases app's own services, so the queue, the
SLA, the history, the messages and the notifications are the case engine's (ADR 0015).
The report keeps what the public sees, and follows the case through its
``CaseStateChanged`` events.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecitizen.accounts.selectors import jurisdictions_by_code, user_by_email
from ecitizen.accounts.services import user_create
from ecitizen.cases.selectors import case_action_public_text
from ecitizen.cases.services import draft_save_answers, draft_start, draft_submit
from ecitizen.catalogue.selectors import service_spec, services_with_extension
from ecitizen.catalogue.spec import ServiceSpec, condition_met, localised
from ecitizen.core.errors import DomainError
from ecitizen.core.events import CaseStateChanged
from ecitizen.core.services import audit_record
from ecitizen.documents.services import upload_store
from ecitizen.notifications.services import notification_send
from ecitizen.reports import geo
from ecitizen.reports.models import (
    ApiClient,
    Report,
    ReportConfirmation,
    ReportPhoto,
    ReportSupporter,
    ReportUpdate,
)
from ecitizen.reports.photos import PhotoError, photo_prepare

#: Capabilities of this app (roles holding them: ``ReportsConfig.ready``).
REPORTS_MODERATE = "reports.moderate"
REPORTS_API_CLIENTS = "reports.api_clients"
EXTENSION = "report"
MAX_PHOTOS = 3
TITLE_MAX_LENGTH = 120
DESCRIPTION_MAX_LENGTH = 2000
CONFIRMATION_HOURS = 72
#: How far "is it one of these?" looks when a category does not say.
DEFAULT_DUPLICATE_RADIUS_M = 50


class ReportError(DomainError):
    code = "report_error"


# --- categories ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    """A kind of problem residents can report: a published service with a report block."""

    code: str
    spec: ServiceSpec
    service: Any

    @property
    def extension(self) -> Mapping[str, Any]:
        return dict(self.spec.definition.get("extensions", {}).get(EXTENSION, {}))

    def title(self, language: str | None = None) -> str:
        return self.spec.title(language)

    def group(self, language: str | None = None) -> str:
        return localised(self.extension.get("group"), language)

    @property
    def duplicate_radius_m(self) -> int:
        return int(self.extension.get("duplicate_radius_m", DEFAULT_DUPLICATE_RADIUS_M))


def categories() -> list[Category]:
    """Every category residents can report, in slug order."""
    return [
        Category(service.slug, service_spec(service), service)
        for service in services_with_extension(EXTENSION)
    ]


def category_get(code: str) -> Category:
    """The category with this code (its service's slug); :class:`ReportError` otherwise."""
    for category in categories():
        if category.code == code:
            return category
    raise ReportError(_("Select the kind of problem"), code="unknown_category")


# --- submitting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInput:
    """What a reporter gives, already parsed (a page's form or an Open311 POST)."""

    category: str
    latitude: float
    longitude: float
    title: str
    description: str
    address: str = ""
    #: Answers to the category's own questions, by question id.
    answers: Mapping[str, Any] = field(default_factory=dict)
    photos: Sequence[UploadedFile] = ()
    show_name: bool = False
    media_url: str = ""


@dataclass(frozen=True)
class Channel:
    """Where a report comes from: the website (signed in or not) or an Open311 app."""

    source: str = Report.Source.WEB
    api_client: ApiClient | None = None
    device_id: str = ""
    account_id: str = ""


def _check(data: ReportInput) -> tuple[Category, int | None]:
    category = category_get(data.category)
    if not data.title.strip():
        raise ReportError(_("Enter a summary of the problem"), code="title_missing")
    if len(data.title) > TITLE_MAX_LENGTH:
        raise ReportError(
            _("The summary must be %(count)s characters or fewer") % {"count": TITLE_MAX_LENGTH},
            code="title_too_long",
        )
    if not data.description.strip():
        raise ReportError(_("Enter details of the problem"), code="description_missing")
    if len(data.description) > DESCRIPTION_MAX_LENGTH:
        raise ReportError(
            _("The details must be %(count)s characters or fewer")
            % {"count": DESCRIPTION_MAX_LENGTH},
            code="description_too_long",
        )
    if len(data.photos) > MAX_PHOTOS:
        raise ReportError(
            _("You can add up to %(count)s photos") % {"count": MAX_PHOTOS}, code="too_many_photos"
        )
    ward_code = geo.area().ward_at(data.latitude, data.longitude)
    if ward_code is None:
        raise ReportError(geo.outside_message(), code="outside_area")
    ward = jurisdictions_by_code().get(ward_code)
    return category, ward.pk if ward is not None else None


def _answers_checked(category: Category, given: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to the category's questions, checked as the web pages check them (the
    cases app's question form): every required one given, each of its type and within its
    rules; an optional one not given is answered blank. Raises :class:`ReportError` with
    the first problem's message (which names the question)."""
    from ecitizen.cases.forms import QuestionPageForm

    answers: dict[str, Any] = {}
    for page in category.spec.pages:
        if not condition_met(page.get("show_if"), {**given, **answers}):
            continue  # a page these answers do not show asks nothing
        questions = category.spec.visible_questions(page, {**given, **answers})
        data: dict[str, Any] = {}
        for question in questions:
            data.update(_form_data(question, given.get(question["id"])))
        form = QuestionPageForm(data, page=page, questions=questions, files_present=set())
        if not form.is_valid():
            first = next(iter(form.errors.values()))[0]
            raise ReportError(str(first), code="answer_invalid")
        answers.update(form.answers())
    return answers


def _form_data(question: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """An answer as the question's form field reads it from a submitted page."""
    if value is None:
        return {}
    name = question["id"]
    if question["type"] == "yes_no" and isinstance(value, bool):
        return {name: "yes" if value else "no"}
    if question["type"] == "date" and isinstance(value, str):
        # The date field reads three boxes; an ISO date fills them, anything else is put
        # in the day box so that the field says what is wrong with it.
        match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value.strip())
        if match is None:
            return {f"{name}_day": value, f"{name}_month": "", f"{name}_year": ""}
        year, month, day = match.groups()
        return {f"{name}_day": day, f"{name}_month": month, f"{name}_year": year}
    return {name: value}


def _photos_store(
    report: Report, photos: Sequence[UploadedFile], *, owner: Any, actor: Any
) -> None:
    """Strip each photo's metadata and keep both copies encrypted. Raises
    :class:`ReportError` (and the caller's transaction stores nothing) on a bad photo."""
    for position, upload in enumerate(photos):
        try:
            prepared = photo_prepare(upload)
        except PhotoError as error:
            raise ReportError(str(error), code="bad_photo") from None
        stored = {}
        for name, data in (("original", prepared.original), ("display", prepared.display)):
            stored[name] = upload_store(
                owner=owner,
                file=SimpleUploadedFile(
                    f"photo-{position + 1}-{name}.{prepared.extension}",
                    data,
                    content_type=prepared.content_type,
                ),
                allowed_types=[prepared.content_type],
                max_bytes=len(data),
                actor=actor,
            )
        ReportPhoto.objects.create(
            report=report,
            position=position,
            original=stored["original"],
            display=stored["display"],
            width=prepared.width,
            height=prepared.height,
        )


@transaction.atomic
def report_submit(
    *,
    data: ReportInput,
    reporter: Any,
    actor: Any,
    channel: Channel | None = None,
    confirmed: bool = True,
) -> Report:
    """Record a report; open its case at once when ``confirmed`` (a signed-in reporter,
    an app with a key), else when the reporter follows the emailed link
    (:func:`report_confirm`).

    Raises :class:`ReportError` (nothing stored) for an unknown category, a place outside
    the authority's area, missing or overlong text, too many or unacceptable photos, or
    answers the category's questions refuse.
    """
    channel = channel or Channel()
    category, ward_id = _check(data)
    answers = _answers_checked(category, data.answers)
    report = Report.objects.create(
        reporter=reporter,
        category=category.code,
        latitude=data.latitude,
        longitude=data.longitude,
        ward_id=ward_id,
        address=data.address.strip()[:300],
        title=data.title.strip(),
        description=data.description.strip(),
        state=category.spec.initial_state,
        show_name=data.show_name,
        source=channel.source,
        api_client=channel.api_client,
        device_id=channel.device_id[:100],
        account_id=channel.account_id[:100],
        media_url=data.media_url,
    )
    _photos_store(report, data.photos, owner=reporter, actor=actor)
    if confirmed:
        _case_open(report, category, reporter=reporter, actor=actor, answers=answers)
    else:
        report.pending_answers = answers
        report.save(update_fields=["pending_answers"])
        _confirmation_send(report, reporter)
    audit_record(
        action="reports.submitted",
        actor=actor,
        obj=report,
        subject_user_id=getattr(reporter, "pk", None),
        changes={"category": category.code, "source": channel.source, "confirmed": confirmed},
    )
    return report


def _case_open(
    report: Report, category: Category, *, reporter: Any, actor: Any, answers: Mapping[str, Any]
) -> None:
    draft = draft_start(service=category.service, applicant=reporter, actor=actor)
    draft = draft_save_answers(draft=draft, values=dict(answers), actor=actor)
    case = draft_submit(draft=draft, actor=actor, ward_id=report.ward_id)
    now = timezone.now()
    report.case = case
    report.reference = case.reference
    report.state = case.state
    report.confirmed_at = now
    report.updated_at = now
    report.save(update_fields=["case", "reference", "state", "confirmed_at", "updated_at"])
    ReportUpdate.objects.create(
        report=report,
        state=case.state,
        is_open=True,
        text="",
        by_label=str(_("Reporter")),
    )
    notification_send(
        recipient=reporter,
        event="report_received",
        context={
            "reference": case.reference,
            "category": category.title(reporter.language or settings.LANGUAGE_CODE),
            "url": reverse("reports:detail", args=[case.reference]),
        },
    )


# --- anonymous reporters ---------------------------------------------------------------------


def reporter_for_email(*, email: str, name: str) -> Any:
    """The account of the person with this address, or a new one that cannot sign in
    (no password; they may set one later with "forgot your password"): a report needs
    someone to answer, not a sign-up."""
    existing = user_by_email(email=email)
    if existing is not None:
        return existing
    full_name = name.strip() or email.split("@", maxsplit=1)[0]
    return user_create(email=email, full_name=full_name, password=None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _confirmation_send(report: Report, reporter: Any) -> None:
    token = secrets.token_urlsafe(32)
    ReportConfirmation.objects.update_or_create(
        report=report,
        defaults={
            "token_hash": _token_hash(token),
            "expires_at": timezone.now() + timedelta(hours=CONFIRMATION_HOURS),
        },
    )
    category = category_get(report.category)
    notification_send(
        recipient=reporter,
        event="report_confirm",
        context={
            "category": category.title(reporter.language or settings.LANGUAGE_CODE),
            "hours": CONFIRMATION_HOURS,
            "url": reverse("reports:confirm", args=[token]),
        },
        channels=["email"],
    )


@transaction.atomic
def report_confirm(*, token: str) -> Report:
    """Open the case of the report whose emailed link this is (once: a second click
    returns the same report). Raises :class:`ReportError` for an unknown or expired link."""
    confirmation = (
        ReportConfirmation.objects.select_for_update()
        .select_related("report")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if confirmation is None:
        raise ReportError(_("This link is not valid. Report the problem again."), code="bad_link")
    report = Report.objects.select_for_update().get(pk=confirmation.report_id)
    if report.case_id is not None:
        return report
    if confirmation.expires_at < timezone.now():
        raise ReportError(
            _("This link has expired. Report the problem again."), code="expired_link"
        )
    reporter = report.reporter
    _case_open(
        report,
        category_get(report.category),
        reporter=reporter,
        actor=reporter,
        answers=report.pending_answers or {},
    )
    report.pending_answers = None
    report.save(update_fields=["pending_answers"])
    audit_record(
        action="reports.confirmed", actor=reporter, obj=report, subject_user_id=reporter.pk
    )
    return report


# --- following the case ----------------------------------------------------------------------


def report_follow_case(event: CaseStateChanged) -> None:
    """Subscriber of ``CaseStateChanged``: copy the case's new state onto its report, add
    the public update (the text the official wrote for the reporter, if any) and tell the
    supporters. Idempotent: a second delivery of the same event finds the update made."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(case_id=event.case_id).first()
        if report is None:
            return  # not a street report
        category = category_get(report.category)
        text = case_action_public_text(case_id=event.case_id, action=event.action)
        if report.updates.filter(state=event.to_state, case_event_id=text.event_id).exists():
            return
        now = timezone.now()
        report.state = event.to_state
        report.is_open = not category.spec.is_terminal(event.to_state)
        report.updated_at = now
        report.save(update_fields=["state", "is_open", "updated_at"])
        ReportUpdate.objects.create(
            report=report,
            state=event.to_state,
            is_open=report.is_open,
            text=text.text,
            by_label=text.by_label,
            case_event_id=text.event_id,
        )
        _tell_followers(report, category, event.to_state, text.text)


def _tell_followers(report: Report, category: Category, state: str, text: str) -> None:
    """The reporter and every supporter hear of the new status, each in their language,
    with what the team wrote for the public."""
    update = format_lazy(gettext_lazy("The team wrote: “{}”"), text) if text else ""
    recipients = [("report_status_changed", report.reporter)]
    recipients += [
        ("report_updated", supporter.user) for supporter in report.supporters.select_related("user")
    ]
    for event_name, person in recipients:
        language = person.language or settings.LANGUAGE_CODE
        notification_send(
            recipient=person,
            event=event_name,
            context={
                "reference": report.reference or "",
                "title": report.title,
                "status": category.spec.state_label(state, language),
                "update": update,
                "url": reverse("reports:detail", args=[report.reference]),
            },
        )


# --- me too, hiding, merging --------------------------------------------------------------------


@transaction.atomic
def report_support(*, report: Report, user: Any) -> Report:
    """``user`` has the same problem: counted once, and told of the report's updates.
    Supporting one's own report, or again, changes nothing."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    if not report.is_public or report.merged_into_id is not None:
        raise ReportError(_("This report cannot be supported."), code="not_public")
    if report.reporter_id == user.pk:
        return report
    _supporter, created = ReportSupporter.objects.get_or_create(report=report, user=user)
    if created:
        Report.objects.filter(pk=report.pk).update(supporters_count=F("supporters_count") + 1)
        report.refresh_from_db(fields=["supporters_count"])
        audit_record(action="reports.supported", actor=user, obj=report, subject_user_id=user.pk)
    return report


@transaction.atomic
def report_hide(*, report: Report, reason: str, actor: Any) -> Report:
    """Take a report off the public pages and Open311 (it stays in the queue), with the
    reason, audited."""
    if not reason.strip():
        raise ReportError(_("Enter why the report is hidden"), code="reason_missing")
    report = Report.objects.select_for_update().get(pk=report.pk)
    report.hidden_at = timezone.now()
    report.hidden_reason = reason.strip()[:300]
    report.updated_at = report.hidden_at
    report.save(update_fields=["hidden_at", "hidden_reason", "updated_at"])
    audit_record(
        action="reports.hidden", actor=actor, obj=report, changes={"reason": report.hidden_reason}
    )
    return report


@transaction.atomic
def report_photo_hide(*, photo: ReportPhoto, reason: str, actor: Any) -> ReportPhoto:
    """Stop showing one photo to the public (a face, a number plate), audited."""
    if not reason.strip():
        raise ReportError(_("Enter why the photo is hidden"), code="reason_missing")
    photo = ReportPhoto.objects.select_for_update().get(pk=photo.pk)
    photo.hidden_at = timezone.now()
    photo.hidden_reason = reason.strip()[:300]
    photo.save(update_fields=["hidden_at", "hidden_reason"])
    audit_record(
        action="reports.photo_hidden",
        actor=actor,
        obj=photo,
        changes={"report": photo.report_id, "reason": photo.hidden_reason},
    )
    return photo


@transaction.atomic
def report_merge(*, duplicate: Report, into: Report, actor: Any) -> Report:
    """Fold ``duplicate`` into ``into``: its reporter and supporters become supporters of
    the surviving report (and get its updates), and the duplicate points to it. The
    duplicate's case is closed by the official through its own workflow ("duplicate").
    """
    if duplicate.pk == into.pk:
        raise ReportError(_("A report cannot be merged into itself"), code="same_report")
    first, second = sorted([duplicate.pk, into.pk])
    locked = {r.pk: r for r in Report.objects.select_for_update().filter(pk__in=[first, second])}
    duplicate, into = locked[duplicate.pk], locked[into.pk]
    if into.merged_into_id is not None:
        raise ReportError(
            _("That report was itself merged into %(reference)s")
            % {"reference": into.merged_into.reference},  # type: ignore[union-attr]
            code="merged_target",
        )
    people = {duplicate.reporter_id, *duplicate.supporters.values_list("user_id", flat=True)}
    people.discard(into.reporter_id)
    added = 0
    for user_id in sorted(people):
        _row, created = ReportSupporter.objects.get_or_create(report=into, user_id=user_id)
        added += int(created)
    Report.objects.filter(pk=into.pk).update(supporters_count=F("supporters_count") + added)
    duplicate.merged_into = into
    duplicate.updated_at = timezone.now()
    duplicate.save(update_fields=["merged_into", "updated_at"])
    audit_record(
        action="reports.merged",
        actor=actor,
        obj=duplicate,
        changes={"into": into.reference, "supporters_added": added},
    )
    into.refresh_from_db()
    return into


# --- Open311 apps ------------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_client_issue(
    *, name: str, contact_email: str, hourly_limit: int, actor: Any
) -> tuple[ApiClient, str]:
    """A new app and its key, returned once (only its hash is kept)."""
    if not name.strip():
        raise ReportError(_("Enter the name of the app"), code="name_missing")
    key = secrets.token_urlsafe(32)
    client = ApiClient.objects.create(
        name=name.strip()[:120],
        contact_email=contact_email.strip(),
        key_prefix=key[:8],
        key_hash=_key_hash(key),
        hourly_limit=max(1, hourly_limit),
        created_by=actor,
    )
    audit_record(action="reports.api_client_issued", actor=actor, obj=client)
    return client, key


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor: Any) -> ApiClient:
    """Refuse the app's key from now on (its reports stay)."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
        audit_record(action="reports.api_client_revoked", actor=actor, obj=client)
    return client


def api_client_for_key(key: str) -> ApiClient | None:
    """The app whose key this is, unless revoked."""
    if not key:
        return None
    return ApiClient.objects.filter(key_hash=_key_hash(key), revoked_at__isnull=True).first()


def api_client_within_limit(client: ApiClient) -> bool:
    """Whether the app has posted fewer reports than its hourly limit in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    return client.reports.filter(requested_at__gte=since).count() < client.hourly_limit


# --- comments from apps -----------------------------------------------------------------------


@transaction.atomic
def report_comment_add(*, report: Report, text: str, actor: Any) -> ReportUpdate:
    """Add ``actor``'s public comment to a public report (an app's Open311
    ``servicerequestupdates`` POST). The report keeps its state: only officials move the
    case. The update shows "Reporter" when the reporter wrote it, else "Member of the
    public", never a name; the report's update time moves. Audited.

    Raises :class:`ReportError` for a report that is not public, and for empty or
    overlong text."""
    text = text.strip()
    if not text:
        raise ReportError(_("Enter your comment"), code="comment_missing")
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise ReportError(
            _("The comment must be %(count)s characters or fewer")
            % {"count": DESCRIPTION_MAX_LENGTH},
            code="comment_too_long",
        )
    report = Report.objects.select_for_update().get(pk=report.pk)
    if not report.is_public:
        raise ReportError(_("This report cannot be updated."), code="not_public")
    now = timezone.now()
    by_reporter = actor.pk == report.reporter_id
    update = ReportUpdate.objects.create(
        report=report,
        state=report.state,
        is_open=report.is_open,
        text=text,
        by_label=str(_("Reporter") if by_reporter else _("Member of the public")),
        created_at=now,
    )
    report.updated_at = now
    report.save(update_fields=["updated_at"])
    audit_record(
        action="reports.commented",
        actor=actor,
        obj=report,
        subject_user_id=actor.pk,
        changes={"update": update.pk},
    )
    return update

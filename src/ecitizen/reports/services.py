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
            # The link's secret only in the (encrypted) message, never in ``url``.
            "confirm_url": reverse("reports:confirm", args=[token]),
            "url": reverse("reports:list"),
        },
        channels=["email"],
    )


@transaction.atomic
def report_confirm(*, token: str) -> Report:
    """Open the case of the report whose emailed link this is (once: a second click
    returns the same report). Raises :class:`ReportError` for an unknown or expired link."""
    confirmation = (
        ReportConfirmation.objects.select_for_update()  # the report's row: locked next
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


def is_report_case(event: CaseStateChanged) -> bool:
    """Whether the case is of a street-report category (its definition has the report
    block): the condition :func:`report_follow_case` subscribes with."""
    return EXTENSION in event.service_extensions


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
    if duplicate.merged_into_id is not None:
        raise ReportError(
            _("This report is already merged into %(reference)s")
            % {"reference": duplicate.merged_into.reference},  # type: ignore[union-attr]
            code="already_merged",
        )
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


# --- email alerts ------------------------------------------------------------------------------
#
# "Tell me about new reports near me": an email when new reports become public in a ward,
# or within a distance of a place, optionally of one category. The ``reports alerts`` job
# (every 15 minutes) sends each active alert one message listing what became public since
# its last run. Alerts belong to an account: a resident's, or, for someone who is not
# signed in, the password-less account of the address they gave (as an anonymous
# reporter's), made when the confirmation link is sent, since messages go to accounts.
# The alert stores no address; the place an area alert watches is encrypted.

# This section's own imports, kept with it (the module's top belongs to the sections above).
import uuid  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

from django.core import signing  # noqa: E402
from django.db import IntegrityError  # noqa: E402
from django.utils import translation  # noqa: E402
from django.utils.translation import ngettext  # noqa: E402

from ecitizen.accounts.services import preferences_update  # noqa: E402
from ecitizen.notifications.selectors import notification_language  # noqa: E402
from ecitizen.reports.models import ReportAlert  # noqa: E402
from ecitizen.reports.selectors import reports_public, user_email_verified  # noqa: E402

#: The distances an area alert may watch around its place.
ALERT_RADII_M = (250, 500, 1000, 2000)
#: The most reports one alert email lists (the newest); it says how many there were.
ALERT_DIGEST_SIZE = 20
#: How often the job runs (its ``PeriodicJob``), said on the pages.
ALERT_EVERY = timedelta(minutes=15)
#: A report made public less than this long before a run waits for the next one: the
#: transaction that made it public may not have committed yet, and a run that moved past
#: its time without seeing it would never send it.
ALERT_SETTLE = timedelta(minutes=2)
#: Alerts one account may have (active or waiting for confirmation).
ALERT_MAX = 20
#: Alerts waiting for confirmation one address may have: a visitor cannot make us send
#: more links than this to someone else's address.
ALERT_MAX_PENDING = 5
#: A second identical request sooner than this (a double submit) sends no second link.
ALERT_RESEND_AFTER = timedelta(minutes=5)
#: Unconfirmed alerts are deleted this long after their link expired (until then the
#: link says it has expired rather than that it is unknown).
ALERT_PENDING_KEPT = timedelta(days=7)
_ALERT_UNSUBSCRIBE_SALT = "ecitizen.reports.alert.unsubscribe"
#: Two area alerts whose centres are this close watch the same place.
_ALERT_SAME_PLACE_M = 5.0


@dataclass(frozen=True)
class AlertSpec:
    """What an alert watches: a ward (``ward_code``), or the point ``latitude``,
    ``longitude`` named ``label`` with ``radius_m`` (one of :data:`ALERT_RADII_M`);
    ``category`` ("" for every category)."""

    ward_code: str = ""
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""
    radius_m: int | None = None
    category: str = ""


@dataclass(frozen=True)
class AlertsRun:
    """What one run of :func:`report_alerts_send` did."""

    alerts: int
    emails: int
    reports: int


def alert_radius_text(metres: int) -> str:
    """A radius in words, in the active language: "250 metres", "1 kilometre"."""
    if metres < 1000 or metres % 1000:
        return ngettext("%(count)s metre", "%(count)s metres", metres) % {"count": metres}
    kilometres = metres // 1000
    return ngettext("%(count)s kilometre", "%(count)s kilometres", kilometres) % {
        "count": kilometres
    }


def alert_area_text(alert: ReportAlert) -> str:
    """Where the alert looks, in the active language, to follow "new problems reported":
    "in Riverside ward", "within 500 metres of Towpath Road, RV2 2EB"."""
    if alert.kind == ReportAlert.Kind.WARD:
        return _("in %(ward)s ward") % {"ward": str(alert.ward)}
    place = alert.place or {}
    return _("within %(distance)s of %(place)s") % {
        "distance": alert_radius_text(alert.radius_m or 0),
        "place": place.get("label") or _("the place you chose"),
    }


def alert_problems_text(alert: ReportAlert) -> str:
    """Which problems the alert is about, in the active language."""
    if not alert.category:
        return _("all problems")
    try:
        return category_get(alert.category).title()
    except ReportError:
        return alert.category  # a category no longer published: its code


def alert_title(alert: ReportAlert) -> str:
    """The alert in one line, for its pages: "Problems reported in Riverside ward"."""
    return _("Problems reported %(area)s") % {"area": alert_area_text(alert)}


def _alert_checked(spec: AlertSpec) -> dict[str, Any]:
    """The alert's fields for ``spec``; :class:`ReportError` for an unknown category or
    ward, a place outside the area or a radius not offered."""
    fields: dict[str, Any] = {"category": ""}
    if spec.category:
        fields["category"] = category_get(spec.category).code
    if spec.ward_code:
        ward = (
            jurisdictions_by_code().get(spec.ward_code)
            if spec.ward_code in geo.area().ward_codes
            else None
        )
        if ward is None:
            raise ReportError(_("Select a ward"), code="ward_unknown")
        return {**fields, "kind": ReportAlert.Kind.WARD, "ward": ward}
    if spec.latitude is None or spec.longitude is None:
        raise ReportError(_("Select a ward or a place"), code="where_missing")
    if not geo.area().contains(spec.latitude, spec.longitude):
        raise ReportError(geo.outside_message(), code="outside_area")
    if spec.radius_m not in ALERT_RADII_M:
        raise ReportError(_("Select how far from the place"), code="radius_missing")
    place = {"lat": spec.latitude, "lon": spec.longitude, "label": spec.label.strip()[:300]}
    return {**fields, "kind": ReportAlert.Kind.AREA, "place": place, "radius_m": spec.radius_m}


def _alert_same(
    user: Any, fields: dict[str, Any], *, active_only: bool = False, exclude: int | None = None
) -> ReportAlert | None:
    """The user's alert watching exactly what ``fields`` describe, if they have one, an
    active one first (an area alert's place is encrypted: compared here, among the user's
    few alerts)."""
    candidates = ReportAlert.objects.filter(
        user=user,
        kind=fields["kind"],
        ward=fields.get("ward"),
        radius_m=fields.get("radius_m"),
        category=fields["category"],
    ).order_by(F("confirmed_at").desc(nulls_last=True), "pk")
    if active_only:
        candidates = candidates.filter(confirmed_at__isnull=False)
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude)
    for alert in candidates:
        if alert.kind == ReportAlert.Kind.WARD:
            return alert
        mine, theirs = fields["place"], alert.place or {}
        if "lat" in theirs and (
            geo.distance_m(mine["lat"], mine["lon"], theirs["lat"], theirs["lon"])
            <= _ALERT_SAME_PLACE_M
        ):
            return alert
    return None


def _alert_subscriber(email: str) -> Any:
    """The account of ``email`` (:func:`reporter_for_email`); a new one keeps the
    language of the page, so that the alerts are written in it."""
    existing = user_by_email(email=email)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            user = reporter_for_email(email=email, name="")
    except IntegrityError:  # the same address, sent twice at once
        found = user_by_email(email=email)
        assert found is not None
        return found
    language = translation.get_language() or ""
    if language in {code for code, _name in settings.LANGUAGES}:
        preferences_update(user=user, language=language)
    return user


def _alert_confirmation_send(alert: ReportAlert) -> None:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    alert.confirm_token_hash = _token_hash(token)
    alert.confirm_sent_at = now
    alert.confirm_expires_at = now + timedelta(hours=CONFIRMATION_HOURS)
    alert.save(update_fields=["confirm_token_hash", "confirm_sent_at", "confirm_expires_at"])
    with translation.override(notification_language(alert.user)):
        area, problems = alert_area_text(alert), alert_problems_text(alert)
    notification_send(
        recipient=alert.user,
        event="report_alert_confirm",
        context={
            "area": area,
            "problems": problems,
            "hours": CONFIRMATION_HOURS,
            # The link is only in the (encrypted) message; ``url`` is kept in clear.
            "confirm_url": reverse("reports:alert_confirm", args=[token]),
            "url": reverse("reports:list"),
        },
        channels=["email"],
    )


@transaction.atomic
def report_alert_subscribe(
    *, spec: AlertSpec, user: Any | None = None, email: str = ""
) -> ReportAlert:
    """Set up an email alert for ``spec``, for the signed-in ``user`` or else for the
    owner of ``email``.

    A signed-in resident whose address is verified gets an active alert at once; anyone
    else an alert that waits for them to follow the emailed link
    (:func:`report_alert_confirm`; the account of ``email`` is found or made without a
    password). Asking again for an alert one has returns that alert (an unconfirmed one
    gets a new link, unless one was sent minutes ago: a double submit sends one).

    Raises :class:`ReportError` for what :func:`_alert_checked` refuses, a missing
    address, a resident who already has this alert (``already_subscribed``) or
    :data:`ALERT_MAX` alerts, and an address with :data:`ALERT_MAX_PENDING` unconfirmed
    ones (nothing is stored or sent then). Audited.
    """
    fields = _alert_checked(spec)
    if user is not None:
        subscriber, verified = user, user_email_verified(user)
    else:
        email = email.strip()
        if not email:
            raise ReportError(_("Enter your email address"), code="email_missing")
        subscriber, verified = _alert_subscriber(email), False
    now = timezone.now()
    same = _alert_same(subscriber, fields)
    if same is not None:
        if same.is_active:
            if user is not None:
                raise ReportError(_("You already get these alerts"), code="already_subscribed")
            return same  # a visitor is not told what alerts an address has
        if verified:
            return _alert_activate(same, actor=user)
        if same.confirm_sent_at is None or now - same.confirm_sent_at >= ALERT_RESEND_AFTER:
            _alert_confirmation_send(same)
        return same
    mine = ReportAlert.objects.filter(user=subscriber)
    if user is not None and mine.count() >= ALERT_MAX:
        raise ReportError(
            _("You have %(count)s alerts, the most you can have. Stop one to set up another.")
            % {"count": ALERT_MAX},
            code="too_many_alerts",
        )
    if not verified and mine.filter(confirmed_at__isnull=True).count() >= ALERT_MAX_PENDING:
        raise ReportError(
            _(
                "We have already sent several links to this email address. Follow one of "
                "them, or try again in a few days."
            ),
            code="too_many_pending",
        )
    alert = ReportAlert.objects.create(
        user=subscriber,
        confirmed_at=now if verified else None,
        sent_up_to=now if verified else None,
        **fields,
    )
    if not verified:
        _alert_confirmation_send(alert)
    audit_record(
        action="reports.alert_created",
        actor=user,
        obj=alert,
        subject_user_id=subscriber.pk,
        changes={"kind": alert.kind, "category": alert.category, "active": verified},
    )
    return alert


def _alert_activate(alert: ReportAlert, *, actor: Any) -> ReportAlert:
    """Start ``alert`` now: reports made public from now on are sent."""
    now = timezone.now()
    alert.confirmed_at = now
    alert.sent_up_to = now
    alert.save(update_fields=["confirmed_at", "sent_up_to"])
    audit_record(
        action="reports.alert_confirmed", actor=actor, obj=alert, subject_user_id=alert.user_id
    )
    return alert


@transaction.atomic
def report_alert_confirm(*, token: str) -> ReportAlert:
    """Start the alert whose emailed link this is (once: a second click returns the same
    alert; when its owner already has the same alert, that one, and this copy goes).

    Raises :class:`ReportError` for an unknown link (``bad_link``), an expired one
    (``expired_link``), and an owner who has :data:`ALERT_MAX` active alerts."""
    alert = (
        ReportAlert.objects.select_for_update()
        .filter(confirm_token_hash=_token_hash(token))
        .first()
    )
    if alert is None:
        raise ReportError(_("This link is not valid. Set up the alert again."), code="bad_link")
    if alert.is_active:
        return alert
    if alert.confirm_expires_at is None or alert.confirm_expires_at < timezone.now():
        raise ReportError(_("This link has expired. Set up the alert again."), code="expired_link")
    active = ReportAlert.objects.filter(user_id=alert.user_id, confirmed_at__isnull=False)
    fields = {
        "kind": alert.kind,
        "ward": alert.ward,
        "place": alert.place,
        "radius_m": alert.radius_m,
        "category": alert.category,
    }
    twin = _alert_same(alert.user, fields, active_only=True, exclude=alert.pk)
    if twin is not None:
        alert.delete()
        return twin
    if active.count() >= ALERT_MAX:
        raise ReportError(
            _("You have %(count)s alerts, the most you can have. Stop one to set up another.")
            % {"count": ALERT_MAX},
            code="too_many_alerts",
        )
    return _alert_activate(alert, actor=alert.user)


def alert_unsubscribe_path(alert: ReportAlert) -> str:
    """The address of the one-click link that stops ``alert``: its random id, signed
    (HMAC with the site's secret key), so nothing secret is stored and a link cannot be
    made up for another alert."""
    token = signing.Signer(salt=_ALERT_UNSUBSCRIBE_SALT).sign(alert.public_id.hex)
    return reverse("reports:alert_unsubscribe", args=[token])


def report_alert_from_link(token: str) -> ReportAlert | None:
    """The alert an unsubscribe link stops, or ``None`` when it has been stopped already.
    Raises :class:`ReportError` (``bad_link``) for a link this site did not make."""
    try:
        public_id = uuid.UUID(hex=signing.Signer(salt=_ALERT_UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        raise ReportError(_("This link is not valid."), code="bad_link") from None
    return ReportAlert.objects.select_related("ward").filter(public_id=public_id).first()


def _alert_delete(alert: ReportAlert, *, actor: Any, how: str) -> None:
    ReportAlert.objects.filter(pk=alert.pk).delete()
    audit_record(
        action="reports.alert_stopped",
        actor=actor,
        object_type=ReportAlert._meta.label_lower,
        object_id=str(alert.pk),
        subject_user_id=alert.user_id,
        changes={"how": how},
    )


@transaction.atomic
def report_alert_unsubscribe(*, token: str) -> bool:
    """Stop the alert an emailed link names (deleted: nothing is kept). Returns whether it
    was still there (a second click changes nothing). Raises :class:`ReportError` for a
    link this site did not make."""
    alert = report_alert_from_link(token)
    if alert is None:
        return False
    _alert_delete(alert, actor=None, how="link")
    return True


@transaction.atomic
def report_alert_delete(*, alert: ReportAlert, actor: Any) -> None:
    """Stop one of ``actor``'s own alerts ("Your alerts"). Raises :class:`ReportError`
    for someone else's (the selector gives them a 404 before this)."""
    if alert.user_id != actor.pk:
        raise ReportError(_("This alert is not yours."), code="not_yours")
    _alert_delete(alert, actor=actor, how="your_alerts")


def _alert_matches(alert: ReportAlert, *, since: Any, until: Any) -> list[Report]:
    """Public reports made public after ``since`` and up to ``until`` that ``alert``
    watches, newest first: in its ward, or within its radius of its place (a bounding box
    on the location index first, then the exact distance); of its category if it has one.
    Merged reports and the subscriber's own are left out."""
    reports = (
        reports_public()
        .filter(confirmed_at__gt=since, confirmed_at__lte=until, merged_into__isnull=True)
        .exclude(reporter_id=alert.user_id)
        .select_related("ward")
        .order_by("-confirmed_at", "-pk")
    )
    if alert.category:
        reports = reports.filter(category=alert.category)
    if alert.kind == ReportAlert.Kind.WARD:
        return list(reports.filter(ward_id=alert.ward_id))
    place = alert.place or {}
    lat, lon, radius = float(place["lat"]), float(place["lon"]), float(alert.radius_m or 0)
    south, west, north, east = geo.bbox_around(lat, lon, radius)
    boxed = reports.filter(latitude__range=(south, north), longitude__range=(west, east))
    return [r for r in boxed if geo.distance_m(lat, lon, r.latitude, r.longitude) <= radius]


def _alert_list_path(alert: ReportAlert) -> str:
    """The public list of reports the alert is about: its ward's (an area alert: the ward
    of its place), of its category."""
    ward_code = alert.ward.code if alert.ward is not None else ""
    if alert.kind == ReportAlert.Kind.AREA and alert.place:
        ward_code = geo.area().ward_at(alert.place["lat"], alert.place["lon"]) or ""
    query = {
        key: value for key, value in (("ward", ward_code), ("category", alert.category)) if value
    }
    return reverse("reports:list") + (f"?{urlencode(query)}" if query else "")


def _alert_digest_send(
    alert: ReportAlert, reports: list[Report], by_code: Mapping[str, Category]
) -> None:
    """One email to the alert's owner, in their language: how many reports are new, the
    newest :data:`ALERT_DIGEST_SIZE` with their links, and the one-click unsubscribe."""
    base = str(settings.PUBLIC_BASE_URL).rstrip("/")
    shown = reports[:ALERT_DIGEST_SIZE]
    with translation.override(notification_language(alert.user)):
        entries = []
        for report in shown:
            category = by_code.get(report.category)
            kind = category.title() if category is not None else report.category
            ward = _("%(ward)s ward") % {"ward": str(report.ward)} if report.ward else ""
            where = ", ".join(part for part in (report.address, ward) if part)
            link = base + reverse("reports:detail", args=[report.reference])
            entries.append(
                "\n".join(line for line in (f"- {report.title} ({kind})", where, link) if line)
            )
        summary = ngettext(
            "%(count)s new problem has been reported.",
            "%(count)s new problems have been reported.",
            len(reports),
        ) % {"count": len(reports)}
        if len(reports) > len(shown):
            summary += " " + _("Here are the %(count)s most recent.") % {"count": len(shown)}
        area, problems = alert_area_text(alert), alert_problems_text(alert)
    notification_send(
        recipient=alert.user,
        event="report_alert",
        context={
            "area": area,
            "problems": problems,
            "summary": summary,
            "reports": "\n\n".join(entries),
            "url": _alert_list_path(alert),
            "unsubscribe_url": alert_unsubscribe_path(alert),
        },
        channels=["email"],
    )


def report_alerts_send(*, now: Any = None) -> AlertsRun:
    """The ``reports alerts`` job: email every active alert the reports that became
    public since its last run and that it watches, in one message per alert (none when
    nothing is new), then move its ``sent_up_to`` on.

    Idempotent and catching up: each alert is handled in its own transaction under a
    row lock, its message written with the move of ``sent_up_to`` (a rollback sends
    nothing, a rerun finds nothing new, the run after a missed one covers the whole gap).
    The window ends :data:`ALERT_SETTLE` before ``now`` (see there).
    """
    now = now or timezone.now()
    cutoff = now - ALERT_SETTLE
    due = list(
        ReportAlert.objects.filter(confirmed_at__isnull=False, sent_up_to__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    by_code: dict[str, Category] = {}
    emails = sent = 0
    for pk in due:
        with transaction.atomic():
            alert = (
                ReportAlert.objects.select_for_update(of=("self",))
                .select_related("user", "ward")
                .filter(pk=pk, confirmed_at__isnull=False)
                .first()
            )
            if alert is None or alert.sent_up_to is None or alert.sent_up_to >= cutoff:
                continue  # stopped meanwhile, or a concurrent run did it
            found = _alert_matches(alert, since=alert.sent_up_to, until=cutoff)
            if found:
                by_code = by_code or {category.code: category for category in categories()}
                _alert_digest_send(alert, found, by_code)
                alert.last_sent_at = now
                emails += 1
                sent += len(found)
            alert.sent_up_to = cutoff
            alert.save(update_fields=["sent_up_to", "last_sent_at"])
    return AlertsRun(alerts=len(due), emails=emails, reports=sent)


def report_alerts_prune() -> int:
    """Delete alerts never confirmed whose link expired :data:`ALERT_PENDING_KEPT` ago
    (``ecitizen housekeeping``); returns how many."""
    cutoff = timezone.now() - ALERT_PENDING_KEPT
    deleted, _by_model = ReportAlert.objects.filter(
        confirmed_at__isnull=True, confirm_expires_at__lt=cutoff
    ).delete()
    return deleted

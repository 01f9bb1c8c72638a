"""Applications in progress and their submission: start (or resume) a draft, save its
answers and files, remove a file, discard it, record that it reached a "you cannot use
this service" end page, and turn it into a case exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecitizen.accounts.models import User
from ecitizen.cases.models import (
    Case,
    CaseEvent,
    CaseFile,
    Channel,
    Draft,
    DraftFile,
    ReferenceCounter,
    ServiceUsage,
)
from ecitizen.cases.services.common import CaseError, _actor_label, _notify, _today, spec_for
from ecitizen.cases.services.workflow import _clock_enter, _fee_bill
from ecitizen.catalogue.selectors import service_identity_check
from ecitizen.core.compiled import CompiledQuery, CompiledUpdate
from ecitizen.core.events import CaseSubmitted, event_publish
from ecitizen.core.services import audit_record
from ecitizen.documents.services import upload_delete, upload_store

if TYPE_CHECKING:  # types only: other apps' models are theirs to query
    from ecitizen.catalogue.models import Service


#: The outcome of a completion recorded on a "you cannot use this service" end page.
NOT_ELIGIBLE = "not_eligible"


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
    # A service may require an identity verified by the national eID (its definition's
    # requires_verified_identity, minimum_acr): refused before anything is stored.
    service_identity_check(service=service, user=applicant)
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
        if existing.service_version_id == service.current_version.pk:
            # The version the caller read (with its definition), not read again.
            existing.service_version = service.current_version
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


#: Every question page's POST locks its draft: compiled once (core.compiled).
_DRAFT_LOCKED = CompiledQuery(
    Draft,
    # order_by(): one row, as get() reads it (Draft's default ordering would sort it).
    lambda pk: Draft.objects.select_for_update().order_by().filter(pk=pk),
    pk=(uuid.UUID(int=7_031_962_627), Draft._meta.get_field("id")),
)


#: Only what changed, by a statement written once: every question page's POST saves here.
#: Guarded by the draft's state and last change (``auto_now``: every write of its
#: answers moves it) for :func:`_answers_saved_unless_changed`.
_DRAFT_ANSWERS_SAVED = CompiledUpdate(
    Draft,
    ["answers_json", "expires_at", "reminded_at", "updated_at"],
    guards=["status", "updated_at"],
)


def _lock_draft(draft: Draft) -> Draft:
    """``draft`` read again and locked (``FOR UPDATE``); ``Draft.DoesNotExist`` when it
    is gone. Its service version is the one ``draft`` holds when ``draft`` has read it (a
    draft's version never changes): not read again with its whole definition."""
    locked = _DRAFT_LOCKED.first(pk=draft.pk)
    if locked is None:
        raise Draft.DoesNotExist(f"draft {draft.pk} is gone")
    if Draft.service_version.is_cached(draft) and locked.service_version_id == (
        draft.service_version_id
    ):
        locked.service_version = draft.service_version
    return locked


def _lock_open_draft(draft: Draft) -> Draft:
    """:func:`_lock_draft`, or ``CaseError`` when the draft is no longer open."""
    locked = _lock_draft(draft)
    if locked.status != Draft.Status.OPEN:
        raise CaseError(_("This application has already been sent or is closed."), code="closed")
    return locked


def draft_save_answers(
    *,
    draft: Draft,
    values: Mapping[str, Any],
    files: Mapping[str, Sequence[UploadedFile]] | None = None,
    actor: User,
) -> Draft:
    """Store answers (already validated by the page form) and upload new files for file
    questions. Extends the draft's life. Files are refused with ``UploadRejected`` (a
    DomainError) before anything is saved when one of them is not acceptable; a draft no
    longer open raises ``CaseError``. Returns the draft as saved.

    ``values`` are merged into the answers the draft has in the database at the write
    (another tab's answers are kept). Without files, that is one ``UPDATE`` when the
    draft is unchanged since ``draft`` was read (:func:`_answers_saved_unless_changed`,
    every question page's POST); otherwise, or when it changed, the draft is read again
    and locked first (:func:`_draft_save_answers_locked`)."""
    if not files and _answers_saved_unless_changed(draft, values):
        return draft
    return _draft_save_answers_locked(draft=draft, values=values, files=files, actor=actor)


#: What :func:`_answers_saved_unless_changed` needs of the draft as read.
_READ_FOR_SAVING = frozenset({"answers_json", "status", "updated_at"})


def _answers_saved_unless_changed(draft: Draft, values: Mapping[str, Any]) -> bool:
    """Merge ``values`` into ``draft``'s answers as read and write them, in one statement
    that writes only if the row is still open and unchanged since (its ``updated_at``).
    Returns whether it wrote; when not, ``draft`` holds the merged answers and a new
    ``updated_at`` that are not the database's (read it again). The lock the other path
    takes buys nothing here: whatever changed the row in between makes this write none."""
    if draft.status != Draft.Status.OPEN or _READ_FOR_SAVING & draft.get_deferred_fields():
        return False
    read_at = draft.updated_at
    draft.answers = {**draft.answers, **values}
    draft.expires_at = _draft_expiry()
    draft.reminded_at = None
    return _DRAFT_ANSWERS_SAVED.update_unless_changed(
        draft, expected={"status": Draft.Status.OPEN, "updated_at": read_at}
    )


@transaction.atomic
def _draft_save_answers_locked(
    *,
    draft: Draft,
    values: Mapping[str, Any],
    files: Mapping[str, Sequence[UploadedFile]] | None,
    actor: User,
) -> Draft:
    """:func:`draft_save_answers` on the draft read again and locked."""
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
    _DRAFT_ANSWERS_SAVED.update(draft)
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


@transaction.atomic
def draft_reach_ineligible(*, draft: Draft, question_id: str) -> bool:
    """The applicant reached the "you cannot use this service" end page of eligibility
    question ``question_id``: record it for the service's statistics as a completed
    journey with the outcome ``not_eligible`` (GOV.UK's completion rate counts an end
    page as completed whatever its outcome). Once per draft: a reload, or the page of
    another question later, adds nothing; if the applicant changes the answer and sends
    the application after all, :func:`draft_submit` records its own completion and the
    performance figures count the journey once, as sent. Returns whether a row was
    added.

    Raises :class:`CaseError`: ``closed`` when the draft is no longer open,
    ``not_ineligible`` when ``question_id`` is not an eligibility question of the
    service or the answer given to it does not make the applicant ineligible (the page
    must not be reached then)."""
    locked = _lock_open_draft(draft)
    question = spec_for(locked.service_version).eligibility_question(question_id)
    answers = locked.answers
    if (
        question is None
        or question_id not in answers
        or answers[question_id] in question["eligible_answers"]
    ):
        raise CaseError(
            _("Your answers do not stop you from using this service."), code="not_ineligible"
        )
    already = ServiceUsage.objects.filter(
        draft_id=locked.id, kind=ServiceUsage.Kind.COMPLETED, outcome=NOT_ELIGIBLE
    ).exists()
    if already:
        return False
    ServiceUsage.objects.create(
        service_id=locked.service_version.service_id,
        kind=ServiceUsage.Kind.COMPLETED,
        channel=locked.channel,
        draft_id=locked.id,
        outcome=NOT_ELIGIBLE,
    )
    return True


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
    """The next case reference of ``code`` in ``year``. Precondition: inside the
    submission's transaction, which holds the counter's row locked until it commits, so
    that no two cases get a number and none is skipped.

    The counter is moved on and read in one statement (``UPDATE ... RETURNING``, which
    PostgreSQL and SQLite 3.35+ run), rather than locked, read and written back: one
    statement instead of two on every submission. A code's first case of a year creates its row
    (``get_or_create``, which takes a row another submission created meanwhile)."""
    last = _counter_advanced(code, year)
    if last is None:
        ReferenceCounter.objects.get_or_create(code=code, year=year)
        last = _counter_advanced(code, year)
    return f"{settings.CASE_REFERENCE_PREFIX}-{code}-{year}-{last:06d}"


def _counter_advanced(code: str, year: int) -> int | None:
    """``last`` of the counter of ``code`` and ``year`` after adding one to it, or
    ``None`` when the counter has no row yet. Side effect: the row stays locked until the
    transaction ends."""
    database = connections[router.db_for_write(ReferenceCounter)]
    table, code_column, year_column, last = (
        database.ops.quote_name(name)
        for name in (ReferenceCounter._meta.db_table, "code", "year", "last")
    )
    with database.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {last} = {last} + 1"  # noqa: S608 - the model's own names
            f" WHERE {code_column} = %s AND {year_column} = %s RETURNING {last}",
            [code, year],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _applicant_ward_id(applicant: User) -> int | None:
    profile = getattr(applicant, "profile", None)
    return getattr(profile, "ward_id", None)


@transaction.atomic
def draft_submit(*, draft: Draft, actor: User, ward_id: int | None = None) -> Case:
    """Turn the draft into a case, exactly once.

    The case's ward is ``ward_id`` when the application is about a place (a street
    report: the ward the point lies in), else the applicant's home ward.

    The draft row is locked; a second submission of the same draft (double click,
    refresh, second tab) returns the case the first one created. Raises
    :class:`CaseError` when questions are unanswered or the applicant is not eligible.
    Side effects: reference allocated, files moved to the case, SLA clock started,
    audit event, completion recorded, "submitted" notifications on commit, and the
    ``CaseSubmitted`` event.
    """
    locked = _lock_draft(draft)
    if locked.status == Draft.Status.SUBMITTED and locked.case_id:
        return Case.objects.get(pk=locked.case_id)
    if actor.pk == locked.applicant_id:
        # A resident sending their own application: the account the request already
        # read, not read again (its home ward and the notifications read its profile).
        locked.applicant = actor
    if locked.status != Draft.Status.OPEN:
        raise CaseError(_("This application has expired or was deleted."), code="closed")
    problems = draft_problems(locked)
    if problems:
        raise CaseError(problems[0], code="incomplete")
    # Checked again at submission: the eID link may have been removed since the start.
    service_identity_check(
        service=locked.service_version.service,
        user=locked.applicant,
        definition=locked.service_version.definition,
    )
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
        ward_id=ward_id if ward_id is not None else _applicant_ward_id(locked.applicant),
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
    # The draft's files are read only when an answer keeps one: most applications have
    # none, and a file no answer keeps is not the case's.
    for item in locked.files.all() if kept_uploads else ():
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

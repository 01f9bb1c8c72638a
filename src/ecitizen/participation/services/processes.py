"""Writes about processes: creating and changing them, their phases, eligibility rules and
documents, publishing and archiving, invitations to the opted-in residents of their wards,
and residents' opt-in to participation news.

Every write is audited (``participation.<thing>.<verb>``); an organiser acts only within
their remit (the process's department, and one of its wards or no ward limit), which the
functions check again whatever the page did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ecitizen.accounts.models import Department, Jurisdiction, User
from ecitizen.accounts.selectors import user_acting_as
from ecitizen.core.services import audit_record
from ecitizen.documents.services import UploadRejected, upload_delete, upload_store
from ecitizen.notifications.selectors import notification_language
from ecitizen.notifications.services import notification_send
from ecitizen.participation.models import (
    Action,
    Ballot,
    EligibilityRule,
    Invitation,
    NewsSubscription,
    Phase,
    Process,
    ProcessDocument,
    Response,
    Support,
)
from ecitizen.participation.selectors import processes as selectors
from ecitizen.participation.selectors.processes import INVITATION_INTERVAL
from ecitizen.participation.services.common import PARTICIPATION_ORGANISE, ParticipationError

#: First parts of addresses under /participate/ and /staff/participation/ that are not a
#: process's: a process with one of them as its slug would clash with those pages.
RESERVED_SLUGS = frozenset(
    {
        "new",
        "yours",
        "news",
        "code-of-conduct",
        "paper",
        "answers",
        "moderation",
        "comments",
        "budgets",
    }
)
#: The fields of a process and of a phase that have translations.
PROCESS_TRANSLATED = ("title", "summary", "description")
PHASE_TRANSLATED = ("title", "description")
DOCUMENT_TRANSLATED = ("title",)
#: What a process document may be.
DOCUMENT_TYPES = ("application/pdf",)


def _role(actor: Any) -> str:
    return user_acting_as(actor, PARTICIPATION_ORGANISE) if actor is not None else ""


def _translations(
    given: Mapping[str, Mapping[str, str]] | None, fields: tuple[str, ...]
) -> dict[str, dict[str, str]]:
    """Only the site's other languages, only the translated fields, only non-empty texts."""
    languages = {code for code, _label in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    kept: dict[str, dict[str, str]] = {}
    for language, texts in (given or {}).items():
        if language not in languages:
            continue
        values = {
            field: str(texts[field]).strip()
            for field in fields
            if str(texts.get(field) or "").strip()
        }
        if values:
            kept[language] = values
    return kept


def _check_remit(actor: Any, *, department_id: int, ward_ids: list[int]) -> None:
    if not selectors.process_place_in_remit(
        actor, PARTICIPATION_ORGANISE, department_id=department_id, ward_ids=ward_ids
    ):
        raise ParticipationError(
            _(
                "You can only run processes of your department, in the wards you work in. "
                "Choose your department and your wards."
            ),
            code="outside_remit",
        )


def _slug_for(title: str, slug: str) -> str:
    """``slug`` when given (checked), else one made from the title that is free."""
    if slug:
        if slug in RESERVED_SLUGS:
            raise ParticipationError(
                _("This web address name is used by the site. Choose another."), code="slug_taken"
            )
        if Process.objects.filter(slug=slug).exists():
            raise ParticipationError(
                _("Another process has this web address name. Choose another."),
                code="slug_taken",
            )
        return slug
    base = (slugify(title) or "process")[:70].strip("-") or "process"
    candidate, number = base, 1
    while candidate in RESERVED_SLUGS or Process.objects.filter(slug=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


@transaction.atomic
def process_create(
    *,
    title: str,
    summary: str,
    description: str,
    department: Department,
    wards: list[Jurisdiction],
    actor: User,
    slug: str = "",
    support_threshold: int | None = None,
    translations: Mapping[str, Mapping[str, str]] | None = None,
) -> Process:
    """A new draft process of ``department`` about ``wards`` (none: the whole authority).

    Preconditions: ``actor`` holds :data:`PARTICIPATION_ORGANISE` for the department and
    one of the wards (or without a ward limit); else ``ParticipationError``
    (``outside_remit``). ``slug`` (the web address name) must be free and not one of the
    site's own (``slug_taken``); empty, one is made from the title. Side effect: an audit
    event ``participation.process.created``.
    """
    ward_ids = [ward.pk for ward in wards]
    _check_remit(actor, department_id=department.pk, ward_ids=ward_ids)
    process = Process.objects.create(
        slug=_slug_for(title, slug),
        title=title,
        summary=summary,
        description=description,
        department=department,
        support_threshold=support_threshold,
        translations=_translations(translations, PROCESS_TRANSLATED),
        created_by=actor,
    )
    process.wards.set(ward_ids)
    audit_record(
        action="participation.process.created",
        actor=actor,
        actor_role=_role(actor),
        obj=process,
        changes={"slug": process.slug, "department": department.slug, "wards": sorted(ward_ids)},
    )
    return process


def _locked(process: Process) -> Process:
    return Process.objects.select_for_update().get(pk=process.pk)


@transaction.atomic
def process_update(
    *,
    process: Process,
    title: str,
    summary: str,
    description: str,
    department: Department,
    wards: list[Jurisdiction],
    actor: User,
    support_threshold: int | None = None,
    translations: Mapping[str, Mapping[str, str]] | None = None,
) -> Process:
    """Change a process's texts, department, wards or support threshold (its web address
    stays). The actor must cover the process before and after the change
    (``outside_remit``). Side effect: an audit event ``participation.process.updated``
    naming the fields that changed."""
    if not selectors.process_in_remit(actor, PARTICIPATION_ORGANISE, process):
        raise ParticipationError(_("This process is not one of yours."), code="outside_remit")
    ward_ids = sorted(ward.pk for ward in wards)
    _check_remit(actor, department_id=department.pk, ward_ids=ward_ids)
    process = _locked(process)
    before_wards = sorted(process.wards.values_list("pk", flat=True))
    values = {
        "title": title,
        "summary": summary,
        "description": description,
        "department_id": department.pk,
        "support_threshold": support_threshold,
        "translations": _translations(translations, PROCESS_TRANSLATED),
    }
    changed = [name for name, value in values.items() if getattr(process, name) != value]
    for name, value in values.items():
        setattr(process, name, value)
    process.save()
    if before_wards != ward_ids:
        process.wards.set(ward_ids)
        changed.append("wards")
    if changed:
        audit_record(
            action="participation.process.updated",
            actor=actor,
            actor_role=_role(actor),
            obj=process,
            changes={"fields": changed},
        )
    return process


@transaction.atomic
def process_publish(*, process: Process, actor: User) -> Process:
    """Publish a draft process: its page, documents and phases become public.

    Refused (``ParticipationError``): a process that is not a draft (``not_draft``), or
    one without any phase (``no_phase``). Side effect: an audit event
    ``participation.process.published``."""
    process = _locked(process)
    if process.status != Process.Status.DRAFT:
        raise ParticipationError(_("Only a draft process can be published."), code="not_draft")
    if not process.phases.exists():
        raise ParticipationError(
            _("Add at least one phase with its dates before publishing the process."),
            code="no_phase",
        )
    process.status = Process.Status.PUBLISHED
    process.save(update_fields=["status"])
    audit_record(
        action="participation.process.published", actor=actor, actor_role=_role(actor), obj=process
    )
    return process


@transaction.atomic
def process_archive(*, process: Process, actor: User) -> Process:
    """Archive a published process: its page stays for the record, but nothing can be done
    in it any more (every action needs a published process). Refused for a draft
    (``not_published``). Side effect: an audit event ``participation.process.archived``."""
    process = _locked(process)
    if process.status != Process.Status.PUBLISHED:
        raise ParticipationError(
            _("Only a published process can be archived."), code="not_published"
        )
    process.status = Process.Status.ARCHIVED
    process.save(update_fields=["status"])
    audit_record(
        action="participation.process.archived", actor=actor, actor_role=_role(actor), obj=process
    )
    return process


# --- phases ------------------------------------------------------------------------------


def _phase_check(kind: str, starts_on: date, ends_on: date) -> None:
    if kind not in Phase.Kind.values:
        raise ParticipationError(_("Choose what kind of phase this is."), code="phase_kind")
    if ends_on < starts_on:
        raise ParticipationError(
            _("The end date must be the same as or after the start date."), code="phase_dates"
        )


@transaction.atomic
def phase_add(
    *,
    process: Process,
    kind: str,
    starts_on: date,
    ends_on: date,
    actor: User,
    title: str = "",
    description: str = "",
    translations: Mapping[str, Mapping[str, str]] | None = None,
) -> Phase:
    """A new phase of ``process`` from ``starts_on`` to ``ends_on`` (both included; phases
    may overlap, a debate during the proposals). Refused: an end before the start
    (``phase_dates``), an unknown kind (``phase_kind``). Side effect: an audit event
    ``participation.phase.added``."""
    _phase_check(kind, starts_on, ends_on)
    process = _locked(process)
    phase = Phase.objects.create(
        process=process,
        kind=kind,
        title=title,
        description=description,
        starts_on=starts_on,
        ends_on=ends_on,
        translations=_translations(translations, PHASE_TRANSLATED),
    )
    audit_record(
        action="participation.phase.added",
        actor=actor,
        actor_role=_role(actor),
        obj=phase,
        changes={"process": process.slug, "kind": kind, "dates": [str(starts_on), str(ends_on)]},
    )
    return phase


@transaction.atomic
def phase_update(
    *,
    phase: Phase,
    kind: str,
    starts_on: date,
    ends_on: date,
    actor: User,
    title: str = "",
    description: str = "",
    translations: Mapping[str, Mapping[str, str]] | None = None,
) -> Phase:
    """Change a phase's kind, dates or texts. A phase whose dates move forgets that it was
    announced when it now starts later (followers are told again when it begins). Refused
    as :func:`phase_add`. Side effect: an audit event ``participation.phase.updated``."""
    _phase_check(kind, starts_on, ends_on)
    _locked(phase.process)
    phase = Phase.objects.select_for_update().get(pk=phase.pk)
    before = {"kind": phase.kind, "dates": [str(phase.starts_on), str(phase.ends_on)]}
    if starts_on > phase.starts_on:
        phase.announced_at = None
    phase.kind, phase.starts_on, phase.ends_on = kind, starts_on, ends_on
    phase.title, phase.description = title, description
    phase.translations = _translations(translations, PHASE_TRANSLATED)
    phase.save()
    audit_record(
        action="participation.phase.updated",
        actor=actor,
        actor_role=_role(actor),
        obj=phase,
        changes={
            "before": before,
            "after": {"kind": kind, "dates": [str(starts_on), str(ends_on)]},
        },
    )
    return phase


@transaction.atomic
def phase_delete(*, phase: Phase, actor: User) -> None:
    """Delete a phase. Refused for the last phase of a published process, which must keep
    one (``last_phase``). Side effect: an audit event ``participation.phase.deleted``."""
    process = _locked(phase.process)
    if process.status != Process.Status.DRAFT and process.phases.count() <= 1:
        raise ParticipationError(
            _("A published process needs at least one phase: add another before deleting this."),
            code="last_phase",
        )
    audit_record(
        action="participation.phase.deleted",
        actor=actor,
        actor_role=_role(actor),
        obj=phase,
        changes={"process": process.slug, "kind": phase.kind},
    )
    phase.delete()


# --- eligibility rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """Who may do an action: every condition set must hold. ``census_only`` stands alone
    (the list is the organiser's, who checked the rest when building it);
    ``anonymous_allowed`` is for responding only."""

    email_verified: bool = False
    ward_resident: bool = False
    min_age: int | None = None
    census_only: bool = False
    anonymous_allowed: bool = False


def _rule_check(action: str, spec: RuleSpec) -> None:
    if action not in Action.values:
        raise ParticipationError(_("Choose an action from the list."), code="rule_action")
    if spec.min_age is not None and not 0 < spec.min_age <= 120:
        raise ParticipationError(
            _("The minimum age must be a whole number from 1 to 120."), code="rule_age"
        )
    if spec.anonymous_allowed and action != Action.RESPOND:
        raise ParticipationError(
            _("Only responses to consultations and surveys can be anonymous."),
            code="rule_anonymous",
        )
    if spec.census_only and (
        spec.email_verified or spec.ward_resident or spec.min_age or spec.anonymous_allowed
    ):
        raise ParticipationError(
            _(
                "A census list rule checks only the list: untick the other conditions, "
                "or do not limit it to the census list."
            ),
            code="rule_census_alone",
        )


@transaction.atomic
def rule_set(*, process: Process, action: str, spec: RuleSpec, actor: User) -> EligibilityRule:
    """Set who may do ``action`` in ``process`` (see :class:`RuleSpec`). Refused with
    ``ParticipationError``: an unknown action (``rule_action``), an age out of 1..120
    (``rule_age``), anonymous other than for responding (``rule_anonymous``), the census
    list with other conditions (``rule_census_alone``), a change once people responded,
    supported or voted here (``rule_in_use``: a rule changed then lets some count twice
    or treats them unequally). Side effect: an audit event ``participation.rule.set``
    with the rule when it changed."""
    _rule_check(action, spec)
    _locked(process)
    values = {
        "email_verified": spec.email_verified,
        "ward_resident": spec.ward_resident,
        "min_age": spec.min_age,
        "census_only": spec.census_only,
        "anonymous_allowed": spec.anonymous_allowed,
    }
    rule = EligibilityRule.objects.filter(process=process, action=action).first()
    if rule is not None and all(getattr(rule, name) == value for name, value in values.items()):
        return rule
    if _taken_part(process, action):
        raise ParticipationError(
            _("People have taken part already: who may %(action)s here can no longer change.")
            % {"action": Action(action).label.lower()},
            code="rule_in_use",
        )
    rule, _created = EligibilityRule.objects.update_or_create(
        process=process, action=action, defaults=values
    )
    audit_record(
        action="participation.rule.set",
        actor=actor,
        actor_role=_role(actor),
        obj=rule,
        changes={"process": process.slug, "action": action, **values},
    )
    return rule


def _taken_part(process: Process, action: str) -> bool:
    """Whether someone responded, supported or voted in ``process`` (for ``action``);
    proposing and commenting are open contributions whose rule may change."""
    if action == Action.RESPOND:
        return Response.objects.filter(consultation__process=process).exists()
    if action == Action.SUPPORT:
        return Support.objects.filter(proposal__process=process).exists()
    if action == Action.VOTE:
        return Ballot.objects.filter(heading__budget__process=process).exists()
    return False


@transaction.atomic
def rules_set(
    *, process: Process, rules: Mapping[str, RuleSpec], actor: User
) -> list[EligibilityRule]:
    """:func:`rule_set` for several actions at once: all are set, or none (the first
    refusal is raised)."""
    return [
        rule_set(process=process, action=action, spec=spec, actor=actor)
        for action, spec in rules.items()
    ]


# --- documents -----------------------------------------------------------------------------


@transaction.atomic
def document_add(
    *,
    process: Process,
    title: str,
    file: UploadedFile,
    actor: User,
    translations: Mapping[str, Mapping[str, str]] | None = None,
    ip_address: str | None = None,
) -> ProcessDocument:
    """Keep a PDF (checked and stored encrypted by the documents app) as a document of
    ``process``; anyone sees it once the process is published. Refused
    (``ParticipationError`` with the documents app's message and code): an empty file,
    one too big (``UPLOAD_MAX_MB``), not a PDF, or a PDF with scripts. Side effects: the
    upload, and audit events ``documents.upload_stored`` and
    ``participation.document.added``."""
    process = _locked(process)
    try:
        upload = upload_store(
            owner=None,
            file=file,
            allowed_types=DOCUMENT_TYPES,
            max_bytes=settings.UPLOAD_MAX_MB * 1024 * 1024,
            actor=actor,
            ip_address=ip_address,
        )
    except UploadRejected as error:
        raise ParticipationError(error.message, code=error.code) from None
    document = ProcessDocument.objects.create(
        process=process,
        title=title,
        upload=upload,
        translations=_translations(translations, DOCUMENT_TRANSLATED),
    )
    audit_record(
        action="participation.document.added",
        actor=actor,
        actor_role=_role(actor),
        obj=document,
        changes={"process": process.slug},
    )
    return document


@transaction.atomic
def document_remove(*, document: ProcessDocument, actor: User) -> None:
    """Take a document off its process and delete its file (once the transaction
    commits). Side effects: audit events ``participation.document.removed`` and
    ``documents.upload_deleted``."""
    _locked(document.process)
    upload = document.upload
    audit_record(
        action="participation.document.removed",
        actor=actor,
        actor_role=_role(actor),
        obj=document,
        changes={"process": document.process.slug},
    )
    document.delete()
    upload_delete(upload=upload, actor=actor)


# --- invitations ---------------------------------------------------------------------------


@transaction.atomic
def invitation_send(*, process: Process, actor: User) -> Invitation:
    """Invite to ``process`` the residents who opted in to participation news and live in
    its wards (:func:`~ecitizen.participation.selectors.processes.invitation_recipients`;
    nobody else), each in their language, through the notifications app (event
    ``participation_invitation``).

    Refused (``ParticipationError``): a process that is not published
    (``not_published``), or one whose residents were invited less than
    :data:`INVITATION_INTERVAL` ago (``invited_recently``). The process row is locked,
    so two organisers pressing at once send one invitation. Side effects: the
    notifications (queued, sent once committed), the :class:`Invitation` with how many it
    reached, and an audit event ``participation.invitation.sent`` (the count, no one's
    name).
    """
    process = _locked(process)
    if process.status != Process.Status.PUBLISHED:
        raise ParticipationError(
            _("Publish the process before inviting residents to it."), code="not_published"
        )
    now = timezone.now()
    last = process.invitations.filter(sent_at__gt=now - INVITATION_INTERVAL).first()
    if last is not None:
        again = timezone.localtime(last.sent_at + INVITATION_INTERVAL)
        raise ParticipationError(
            _(
                "Residents were already invited to this process in the last 24 hours. "
                "You can invite them again from %(time)s."
            )
            % {"time": formats.date_format(again, "j F Y, H:i")},
            code="invited_recently",
        )
    url = reverse("participation:process", args=[process.slug])
    count = 0
    for recipient in selectors.invitation_recipients(process).iterator():
        with translation.override(notification_language(recipient)):
            notification_send(
                recipient=recipient,
                event="participation_invitation",
                context={
                    "process": process.tr("title"),
                    "summary": process.tr("summary"),
                    "url": url,
                },
                actor=actor,
            )
        count += 1
    invitation = Invitation.objects.create(
        process=process, sent_at=now, sent_by=actor, recipients=count
    )
    audit_record(
        action="participation.invitation.sent",
        actor=actor,
        actor_role=_role(actor),
        obj=invitation,
        changes={"process": process.slug, "recipients": count},
    )
    return invitation


# --- news opt-in ---------------------------------------------------------------------------


@transaction.atomic
def news_subscribe(*, user: User, actor: User) -> NewsSubscription:
    """Opt ``user`` in to participation news: organisers may then invite them to the
    processes of their ward. Idempotent. Side effect (first time): an audit event
    ``participation.news.subscribed``."""
    subscription, created = NewsSubscription.objects.get_or_create(user=user)
    if created:
        audit_record(
            action="participation.news.subscribed",
            actor=actor,
            obj=subscription,
            subject_user_id=user.pk,
        )
    return subscription


@transaction.atomic
def news_unsubscribe(*, user: User, actor: User) -> bool:
    """Opt ``user`` out of participation news; ``False`` when they were not in. Side
    effect: an audit event ``participation.news.unsubscribed``."""
    subscription = NewsSubscription.objects.filter(user=user).first()
    if subscription is None:
        return False
    audit_record(
        action="participation.news.unsubscribed",
        actor=actor,
        obj=subscription,
        subject_user_id=user.pk,
    )
    subscription.delete()
    return True

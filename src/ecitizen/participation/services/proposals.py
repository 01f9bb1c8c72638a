"""Writes about proposals: residents submit them in a proposals phase, others support them
(one support per person, online, with a census code or on paper), the department answers
them (accepted, not accepted with a reason, already planned), moderators hide them.

**Supports.** ``support_count`` is kept by :func:`support_add` under a lock of the
proposal's row; the unique constraint on (proposal, person key) makes a second support of
the same person impossible even between two requests. At the process's
``support_threshold`` the proposal is owed an official answer: it comes first in the
department's queue (``selectors.proposals.proposals_for_answer``).

**Remit.** Answering and hiding are done within the official's remit (the process's
department, and the proposal's ward or the process's wards), checked here again whatever
the page did.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.models import Jurisdiction, User
from ecitizen.accounts.selectors import remit_covers, user_acting_as
from ecitizen.core.services import audit_record
from ecitizen.core.text import clean_free_text
from ecitizen.documents.services import UploadRejected, upload_store
from ecitizen.participation.models import Channel, Phase, Process, Proposal, Support, Target
from ecitizen.participation.screening import personal_data_find, personal_data_message
from ecitizen.participation.selectors.processes import SUPPORT_PHASES, process_in_remit
from ecitizen.participation.services.common import (
    PARTICIPATION_ANSWER,
    PARTICIPATION_MODERATE,
    ParticipationError,
    phase_open,
)
from ecitizen.participation.services.follows import follow_set, followers_notify, organiser_text
from ecitizen.reports.photos import PhotoError, photo_prepare

if TYPE_CHECKING:
    from ecitizen.documents.models import Upload

TITLE_MAX_LENGTH = 150
DESCRIPTION_MAX_LENGTH = 4000
ANSWER_MAX_LENGTH = 4000
REASON_MAX_LENGTH = 500
#: Letters and digits of proposal references, none that reads like another on paper.
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _reference() -> str:
    """A new reference, "P-" and six characters (a billion possibilities: tried again
    on the rare collision)."""
    for _attempt in range(10):
        reference = "P-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
        if not Proposal.objects.filter(reference=reference).exists():
            return reference
    raise RuntimeError("no free proposal reference after 10 attempts")


def _screen(*texts: str) -> None:
    """Refuse text with personal data in it (:mod:`ecitizen.participation.screening`)."""
    findings = [finding for text in texts for finding in personal_data_find(text)]
    if findings:
        raise ParticipationError(personal_data_message(findings), code="personal_data")


def _text(value: str, *, limit: int, empty: str, too_long: str, code: str) -> str:
    text = clean_free_text(value or "").strip()
    if not text:
        raise ParticipationError(empty, code=f"{code}_missing")
    if len(text) > limit:
        raise ParticipationError(too_long % {"limit": limit}, code=f"{code}_too_long")
    return text


def proposal_photo_store(*, file: UploadedFile, owner: User, actor: User) -> Upload:
    """Check a photo for a proposal and keep it encrypted, stripped of everything but its
    pixels (a phone photo's location, camera and time: :mod:`ecitizen.reports.photos`),
    at the size pages show. The upload is not yet any proposal's: a later
    :func:`proposal_submit` takes it (so that a form sent back with an error does not
    make the resident choose the photo again); one that never is, is swept away with
    the platform's unreferenced uploads.

    Raises :class:`ParticipationError` ``bad_photo`` with the message to show."""
    try:
        prepared = photo_prepare(file)
    except PhotoError as error:
        raise ParticipationError(str(error.message), code="bad_photo") from None
    try:
        return upload_store(
            owner=owner,
            file=SimpleUploadedFile(
                f"proposal-photo.{prepared.extension}",
                prepared.display,
                content_type=prepared.content_type,
            ),
            allowed_types=[prepared.content_type],
            max_bytes=len(prepared.display),
            actor=actor,
        )
    except UploadRejected as error:
        raise ParticipationError(str(error.message), code="bad_photo") from None


def _point(latitude: Decimal | None, longitude: Decimal | None) -> tuple[Any, Any]:
    if (latitude is None) != (longitude is None):
        raise ParticipationError(
            _("Give both the latitude and the longitude of the place, or neither."),
            code="point_incomplete",
        )
    if latitude is not None and longitude is not None:
        if not (Decimal(-90) <= latitude <= Decimal(90)) or not (
            Decimal(-180) <= longitude <= Decimal(180)
        ):
            raise ParticipationError(
                _(
                    "The place must have a latitude from -90 to 90 and a longitude from "
                    "-180 to 180."
                ),
                code="point_invalid",
            )
        return latitude.quantize(Decimal("0.000001")), longitude.quantize(Decimal("0.000001"))
    return None, None


@transaction.atomic
def proposal_submit(
    *,
    process: Process,
    title: str,
    description: str,
    ward: Jurisdiction | None,
    photo: Upload | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    author: User,
    actor: User,
) -> Proposal:
    """Publish ``author``'s proposal in ``process``.

    Preconditions: the caller checked that the author may propose (eligibility);
    ``photo`` is an upload of theirs from :func:`proposal_photo_store`. Raises
    :class:`ParticipationError`: ``proposals_closed`` (no proposals phase now, or the
    process is not published), ``title_missing``/``title_too_long``,
    ``description_missing``/``description_too_long``, ``personal_data`` (an email
    address, phone number... in the text), ``ward_required``/``ward_invalid`` (a
    process about some wards takes proposals about one of them), ``point_incomplete``/
    ``point_invalid``, ``bad_photo`` (an upload that is not the author's).

    Side effects: the proposal, the author following it (to hear of its answer), an
    audit event."""
    if not phase_open(process, Phase.Kind.PROPOSALS):
        raise ParticipationError(
            _("Proposals cannot be made in this process now."), code="proposals_closed"
        )
    title = _text(
        title,
        limit=TITLE_MAX_LENGTH,
        empty=_("Enter a title for your proposal"),
        too_long=_("The title must be %(limit)s characters or fewer"),
        code="title",
    )
    description = _text(
        description,
        limit=DESCRIPTION_MAX_LENGTH,
        empty=_("Describe your proposal"),
        too_long=_("The description must be %(limit)s characters or fewer"),
        code="description",
    )
    _screen(title, description)
    wards = {ward.pk for ward in process.wards.all()}
    if ward is None and wards:
        raise ParticipationError(_("Select the ward your proposal is for"), code="ward_required")
    if ward is not None and wards and ward.pk not in wards:
        raise ParticipationError(
            _("Select one of the wards this process is about"), code="ward_invalid"
        )
    if photo is not None and photo.owner_id != author.pk:
        raise ParticipationError(_("Choose the photo again."), code="bad_photo")
    latitude, longitude = _point(latitude, longitude)
    proposal = Proposal.objects.create(
        process=process,
        reference=_reference(),
        title=title,
        description=description,
        ward=ward,
        photo=photo,
        latitude=latitude,
        longitude=longitude,
        author=author,
    )
    audit_record(
        action="participation.proposal.submit",
        actor=actor,
        obj=proposal,
        subject_user_id=author.pk,
        changes={
            "process": process.pk,
            "ward": ward.pk if ward else None,
            "photo": photo is not None,
            "point": latitude is not None,
        },
    )
    follow_set(user=author, target_kind=Target.PROPOSAL, target_id=proposal.pk, following=True)
    return proposal


def _locked(proposal: Proposal) -> Proposal:
    """The proposal's row, locked, with its process read along (not locked: every support
    of every proposal of the process would wait on that one row; nothing here writes it)."""
    return (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("process")
        .get(pk=proposal.pk)
    )


@transaction.atomic
def support_add(
    *,
    proposal: Proposal,
    person_key: str,
    channel: str,
    entered_by: User | None = None,
    actor: User | None,
) -> Support:
    """Count one person's support of ``proposal``.

    Preconditions: the caller checked the person may support (eligibility) and, on paper
    (``entered_by``), who they are. Raises :class:`ParticipationError`:
    ``proposal_not_published`` (hidden, withdrawn, or its process is not published),
    ``support_closed`` (no proposals or debate phase now), ``already_supported`` (this
    person's support is counted already: a person supports a proposal once, whichever
    way they come).

    Side effects: the support, ``support_count`` one higher (the proposal's row locked),
    an audit event (the channel and the count: never the person key)."""
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    locked = _locked(proposal)
    process = locked.process
    if locked.status != Proposal.Status.PUBLISHED or process.status != Process.Status.PUBLISHED:
        raise ParticipationError(
            _("This proposal cannot be supported: it is not published."),
            code="proposal_not_published",
        )
    if not any(phase_open(process, kind) for kind in SUPPORT_PHASES):
        raise ParticipationError(
            _("Supports are closed: proposals can only be supported during their phase."),
            code="support_closed",
        )
    already = ParticipationError(
        _("This person has already supported this proposal. Each person can support it once.")
        if entered_by is not None
        else _("You have already supported this proposal. Each person can support it once."),
        code="already_supported",
    )
    if Support.objects.filter(proposal=locked, person_key=person_key).exists():
        raise already
    try:
        with transaction.atomic():
            support = Support.objects.create(
                proposal=locked, person_key=person_key, channel=channel, entered_by=entered_by
            )
    except IntegrityError:
        raise already from None
    Proposal.objects.filter(pk=locked.pk).update(support_count=F("support_count") + 1)
    locked.refresh_from_db(fields=["support_count"])
    proposal.support_count = locked.support_count
    threshold = process.support_threshold
    audit_record(
        action="participation.support.add",
        actor=actor,
        actor_role=user_acting_as(actor) if entered_by is not None else "",
        obj=locked,
        changes={
            "channel": channel,
            "support_count": locked.support_count,
            "threshold_reached": bool(threshold and locked.support_count == threshold),
        },
    )
    return support


def _check_remit(actor: Any, capability: str, proposal: Proposal) -> None:
    """A proposal is the remit of its process's department; one with a ward, of that
    ward's officials too (else of the process's wards)."""
    process = proposal.process
    covered = (
        remit_covers(actor, capability, departments=process.department_id, ward_id=proposal.ward_id)
        if proposal.ward_id is not None
        else process_in_remit(actor, capability, process)
    )
    if not covered:
        raise ParticipationError(_("This proposal is not within your remit."), code="outside_remit")


@transaction.atomic
def proposal_answer(*, proposal: Proposal, answer: str, text: str, actor: User) -> Proposal:
    """Give (or change) the department's official answer to ``proposal``, shown publicly.

    ``answer`` is one of :class:`Proposal.Answer`; ``text`` explains it and is required
    for "not accepted" (the reason). Raises :class:`ParticipationError`:
    ``answer_invalid``, ``reason_missing``, ``answer_too_long``, ``proposal_not_published``
    (a hidden or withdrawn proposal), ``outside_remit``.

    Side effects when the answer or its text changes (an identical answer sent again
    changes nothing): the answer, an audit event (``answer`` or ``answer_change``, with
    the previous answer), and a notice to the followers of the proposal and of its
    process (``participation_proposal_answered``), each once."""
    locked = _locked(proposal)
    _check_remit(actor, PARTICIPATION_ANSWER, locked)
    if answer not in Proposal.Answer.values:
        raise ParticipationError(_("Select the answer"), code="answer_invalid")
    if locked.status != Proposal.Status.PUBLISHED:
        raise ParticipationError(
            _("A hidden proposal cannot be answered. Show it again first."),
            code="proposal_not_published",
        )
    text = clean_free_text(text or "").strip()
    if answer == Proposal.Answer.NOT_ACCEPTED and not text:
        raise ParticipationError(
            _("Enter the reason the proposal is not accepted"), code="reason_missing"
        )
    if len(text) > ANSWER_MAX_LENGTH:
        raise ParticipationError(
            _("The answer must be %(limit)s characters or fewer") % {"limit": ANSWER_MAX_LENGTH},
            code="answer_too_long",
        )
    if locked.answer == answer and locked.answer_text == text:
        return locked
    previous = locked.answer
    locked.answer = answer
    locked.answer_text = text
    locked.answered_at = timezone.now()
    locked.answered_by = actor
    locked.save(update_fields=["answer", "answer_text", "answered_at", "answered_by"])
    audit_record(
        action="participation.proposal.answer_change"
        if previous
        else "participation.proposal.answer",
        actor=actor,
        actor_role=user_acting_as(actor, PARTICIPATION_ANSWER),
        obj=locked,
        changes={"answer": [previous or None, answer], "text": text},
    )
    followers_notify(
        process=locked.process,
        target_kind=Target.PROPOSAL,
        target_id=locked.pk,
        event="participation_proposal_answered",
        context={
            "proposal": organiser_text(locked, "title"),
            "answer": Proposal.Answer(answer).label,
            "url": reverse("participation:proposal", args=[locked.process.slug, locked.reference]),
        },
    )
    return locked


@transaction.atomic
def proposal_hide(*, proposal: Proposal, reason: str, actor: User) -> Proposal:
    """Hide ``proposal`` from the public for breaking the code of conduct; its page shows
    the moderator's ``reason`` instead of its text and photo, and it takes no supports.

    Raises :class:`ParticipationError` ``reason_missing``, ``reason_too_long``,
    ``already_hidden``, ``outside_remit``. Side effects: the status and reason, an audit
    event with the reason."""
    locked = _locked(proposal)
    _check_remit(actor, PARTICIPATION_MODERATE, locked)
    reason = _text(
        reason,
        limit=REASON_MAX_LENGTH,
        empty=_("Enter why the proposal is hidden: it is shown in its place"),
        too_long=_("The reason must be %(limit)s characters or fewer"),
        code="reason",
    )
    if locked.status == Proposal.Status.HIDDEN:
        raise ParticipationError(_("This proposal is hidden already."), code="already_hidden")
    locked.status = Proposal.Status.HIDDEN
    locked.moderation_reason = reason
    locked.save(update_fields=["status", "moderation_reason"])
    audit_record(
        action="participation.proposal.hide",
        actor=actor,
        actor_role=user_acting_as(actor, PARTICIPATION_MODERATE),
        obj=locked,
        changes={"reason": reason},
    )
    return locked


@transaction.atomic
def proposal_unhide(*, proposal: Proposal, actor: User) -> Proposal:
    """Show a hidden proposal again (a moderator's decision reversed). Raises
    :class:`ParticipationError` ``not_hidden``, ``outside_remit``. Side effects: the
    status, an audit event with the reason it had been hidden for."""
    locked = _locked(proposal)
    _check_remit(actor, PARTICIPATION_MODERATE, locked)
    if locked.status != Proposal.Status.HIDDEN:
        raise ParticipationError(_("This proposal is not hidden."), code="not_hidden")
    reason = locked.moderation_reason
    locked.status = Proposal.Status.PUBLISHED
    locked.moderation_reason = ""
    locked.save(update_fields=["status", "moderation_reason"])
    audit_record(
        action="participation.proposal.unhide",
        actor=actor,
        actor_role=user_acting_as(actor, PARTICIPATION_MODERATE),
        obj=locked,
        changes={"hidden_for": reason},
    )
    return locked

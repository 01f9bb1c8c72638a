"""Preparing an election, freezing it for its ceremonies, and opening it.

An election is written by its administrator while ``draft``: texts, questions, dates, who
may vote, who holds the key. ``election_freeze`` fixes all of that (state ``setup``): the
voter list is made, the server's key generated, and the trustees and the credential
authority are asked to do their part. ``election_open`` writes the archive's Setup event
once both are done: from then on nothing about the election can change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ecitizen.accounts.models import User
from ecitizen.accounts.selectors import remit_covers, user_by_email, user_has_role
from ecitizen.core import crypto
from ecitizen.core.services import audit_record
from ecitizen.notifications.services import notification_send
from ecitizen.participation.selectors.processes import people_eligible
from ecitizen.voting.models import Election, Question, Trustee, Voter
from ecitizen.voting.services.common import (
    GROUP,
    VOTING_ADMINISTER,
    VOTING_CREDENTIALS,
    VotingError,
)
from ecitizen.voting.services.record import record_append
from ecitizen_verify.credentials import new_uuid
from ecitizen_verify.election import Question as ProtocolQuestion
from ecitizen_verify.election import election_bytes
from ecitizen_verify.record import credentials_bytes, setup_members
from ecitizen_verify.serial import dumps
from ecitizen_verify.trustees import new_trustee_key, parse_trustees, trustees_bytes

EMAIL_INDEX_CONTEXT = "voting.voter-email"
#: At most this many answers to a question, and questions to an election: each answer is
#: one ciphertext and proof in every ballot.
MAX_ANSWERS = 20
MAX_QUESTIONS = 10


@dataclass(frozen=True)
class QuestionInput:
    """A question as the administrator writes it (``translations``: per language, its
    ``text`` and ``answers``)."""

    text: str
    answers: list[str]
    min: int
    max: int
    blank: bool
    translations: dict[str, Any]


def _draft_locked(election: Election) -> Election:
    locked = Election.objects.select_for_update().get(pk=election.pk)
    if locked.state != Election.State.DRAFT:
        raise VotingError(
            _("This election can no longer be changed: its voters and key are being set up."),
            code="not_draft",
        )
    return locked


def _check_remit(actor: Any, department_id: int, ward_id: int | None) -> None:
    if not remit_covers(actor, VOTING_ADMINISTER, departments=department_id, ward_id=ward_id):
        raise VotingError(
            _("You can only run elections of your own department and ward."), code="remit"
        )


def _check_dates(opens_at: datetime, closes_at: datetime) -> None:
    if closes_at <= opens_at:
        raise VotingError(_("Voting must close after it opens."), code="dates")


def _check_people(actor: Any, credential_authority: User | None) -> None:
    if credential_authority is None:
        return
    if credential_authority.pk == getattr(actor, "pk", None):
        raise VotingError(
            _(
                "The credential authority must be another official: whoever prepares the "
                "election must not be able to vote for anyone."
            ),
            code="same_person",
        )
    if not user_has_role(credential_authority, VOTING_CREDENTIALS):
        raise VotingError(
            _("%(email)s does not hold the credential authority role.")
            % {"email": credential_authority.email},
            code="not_authority",
        )


@transaction.atomic
def election_create(
    *,
    actor: Any,
    slug: str,
    title: str,
    description: str,
    department_id: int,
    ward_id: int | None,
    opens_at: datetime,
    closes_at: datetime,
    threshold: int,
    voters_from: str,
    process_id: int | None,
    credentials: str,
    credential_authority: User | None,
    translations: dict[str, Any],
    requires_verified_identity: bool = False,
    minimum_acr: str = "",
) -> Election:
    """A new election in ``draft``, administered by ``actor``. Raises VotingError for a
    slug in use, dates out of order, a department or ward outside the actor's remit, or
    a credential authority who is the actor or lacks the role. ``requires_verified_identity``
    (implied by ``minimum_acr``): only voters with an identity verified by the national
    eID may cast a ballot. Audited."""
    _check_remit(actor, department_id, ward_id)
    _check_dates(opens_at, closes_at)
    _check_people(actor, credential_authority)
    if Election.objects.filter(slug=slug).exists():
        raise VotingError(_("Another election already has this short name."), code="slug")
    # Two administrators choosing the same short name at the same moment: the unique
    # constraint decides, and the loser gets the same message (savepoint: the caller's
    # transaction stays usable).
    if voters_from == Election.Voters.ELIGIBLE and process_id is None:
        raise VotingError(
            _("Choose the process whose voting rule says who may vote."), code="process"
        )
    try:
        with transaction.atomic():
            election = Election.objects.create(
                slug=slug,
                uuid=new_uuid(),
                title=title,
                description=description,
                department_id=department_id,
                ward_id=ward_id,
                opens_at=opens_at,
                closes_at=closes_at,
                threshold=threshold,
                voters_from=voters_from,
                process_id=process_id if voters_from == Election.Voters.ELIGIBLE else None,
                credentials=credentials,
                administrator=actor,
                credential_authority=credential_authority,
                translations=translations,
                requires_verified_identity=requires_verified_identity or bool(minimum_acr),
                minimum_acr=minimum_acr,
            )
    except IntegrityError:
        raise VotingError(_("Another election already has this short name."), code="slug") from None
    audit_record(
        action="voting.election_created", actor=actor, obj=election, changes={"slug": slug}
    )
    return election


@transaction.atomic
def questions_set(*, election: Election, questions: list[QuestionInput], actor: Any) -> None:
    """Replace the draft election's questions. Raises VotingError for none, too many, an
    answer count or a min/max the protocol cannot encode."""
    election = _draft_locked(election)
    if not questions or len(questions) > MAX_QUESTIONS:
        raise VotingError(
            _("An election has between 1 and %(max)s questions.") % {"max": MAX_QUESTIONS},
            code="questions",
        )
    for number, question in enumerate(questions, 1):
        answers = [a.strip() for a in question.answers]
        if not question.text.strip() or len(answers) < 2 or len(answers) > MAX_ANSWERS:
            raise VotingError(
                _("Question %(n)s needs its text and between 2 and %(max)s answers.")
                % {"n": number, "max": MAX_ANSWERS},
                code="answers",
            )
        if len(set(answers)) != len(answers) or not all(answers):
            raise VotingError(
                _("Question %(n)s has an empty or repeated answer.") % {"n": number},
                code="answers",
            )
        if not 0 <= question.min <= question.max <= len(answers) or question.max == 0:
            raise VotingError(
                _(
                    "Question %(n)s: the fewest answers a voter chooses (%(min)s) must not be "
                    "more than the most (%(max)s), which must be between 1 and its number of "
                    "answers."
                )
                % {"n": number, "min": question.min, "max": question.max},
                code="min_max",
            )
    Question.objects.filter(election=election).delete()
    Question.objects.bulk_create(
        Question(
            election=election,
            position=position,
            text=question.text.strip(),
            answers=[a.strip() for a in question.answers],
            min=question.min,
            max=question.max,
            blank=question.blank,
            translations=question.translations,
        )
        for position, question in enumerate(questions, 1)
    )
    audit_record(
        action="voting.questions_set",
        actor=actor,
        obj=election,
        changes={"questions": len(questions)},
    )


def email_index(election: Election, email: str) -> str:
    """The voter list's key for an address (a keyed blind index, per election)."""
    normalised = email.strip().lower()
    return crypto.blind_index(f"{election.pk}:{normalised}", context=EMAIL_INDEX_CONTEXT)


def _voters_replace(election: Election, people: list[tuple[str, User | None]]) -> int:
    Voter.objects.filter(election=election).delete()
    seen: set[str] = set()
    rows: list[Voter] = []
    for email, user in people:
        index = email_index(election, email)
        if index in seen:
            continue
        seen.add(index)
        rows.append(
            Voter(
                election=election,
                user=user,
                email=email.strip().lower(),
                email_index=index,
                login=str(len(rows) + 1),
            )
        )
    Voter.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


@transaction.atomic
def voters_upload(*, election: Election, emails: list[str], actor: Any) -> int:
    """Replace the draft election's voter list with these addresses (one voter each;
    repeats count once). Addresses already used by an account are linked to it; the
    others are linked when their owner signs in with that verified address. Returns the
    number of voters. Audited (the count only)."""
    election = _draft_locked(election)
    if election.voters_from != Election.Voters.LIST:
        raise VotingError(
            _("This election's voters come from a process's rule."), code="voters_from"
        )
    people = [(email, user_by_email(email=email)) for email in emails]
    count = _voters_replace(election, people)
    audit_record(
        action="voting.voters_uploaded", actor=actor, obj=election, changes={"voters": count}
    )
    return count


@transaction.atomic
def trustees_set(*, election: Election, trustees: list[tuple[str, User]], actor: Any) -> None:
    """Replace the draft election's trustees (names, and the accounts they will sign in
    with). Raises VotingError unless there are at least two, each once, and the
    threshold is between 1 and their number."""
    election = _draft_locked(election)
    if len(trustees) < 2 or len({user.pk for _, user in trustees}) != len(trustees):
        raise VotingError(_("An election needs at least two different trustees."), code="trustees")
    if not 1 <= election.threshold <= len(trustees):
        raise VotingError(
            _("The trustees needed to decrypt (%(k)s) must be between 1 and the %(n)s trustees.")
            % {"k": election.threshold, "n": len(trustees)},
            code="threshold",
        )
    Trustee.objects.filter(election=election).delete()
    Trustee.objects.bulk_create(
        Trustee(election=election, position=position, name=name.strip(), user=user)
        for position, (name, user) in enumerate(trustees, 1)
    )
    audit_record(
        action="voting.trustees_set", actor=actor, obj=election, changes={"trustees": len(trustees)}
    )


@transaction.atomic
def election_freeze(*, election: Election, actor: Any) -> Election:
    """Fix the draft election and start its ceremonies: the voter list is made (from the
    process's rule when so chosen), the server's key is generated, and the trustees
    (round 1 of the key generation) and the credential authority are told. Raises
    VotingError when something the election needs is missing. Audited."""
    election = _draft_locked(election)
    problems = []
    if not election.questions.exists():
        problems.append(_("it has no question"))
    trustees = list(election.trustees.select_related("user"))
    if len(trustees) < 2 or election.threshold > len(trustees):
        problems.append(
            _("it needs at least two trustees, and no more trustees needed to decrypt than it has")
        )
    if election.credential_authority_id is None:
        problems.append(_("it has no credential authority"))
    if election.closes_at <= timezone.now():
        problems.append(_("its voting would already be over"))
    if election.voters_from == Election.Voters.ELIGIBLE:
        assert election.process is not None
        people = people_eligible(election.process, "vote")  # participation's Action.VOTE
        _voters_replace(election, [(person.email, person) for person in people])
    if not election.voters.exists():
        problems.append(_("nobody is on its voter list"))
    if problems:
        raise VotingError(
            _("The election cannot be set up yet: %(problems)s.")
            % {"problems": "; ".join(problems)},
            code="incomplete",
        )
    private, public = new_trustee_key(GROUP)
    election.server_private_key = str(private)
    election.server_public_key = _compact(public.to_json())
    election.state = Election.State.SETUP
    election.save(update_fields=["server_private_key", "server_public_key", "state"])
    for trustee in trustees:
        notification_send(
            recipient=trustee.user,
            event="voting_trustee_step",
            context={"election": election.title, "url": f"/voting/{election.slug}/trustee/"},
            actor=actor,
        )
    assert election.credential_authority is not None
    notification_send(
        recipient=election.credential_authority,
        event="voting_credentials_due",
        context={
            "election": election.title,
            "voters": election.voters.count(),
            "url": f"/staff/voting/{election.slug}/credentials/",
        },
        actor=actor,
    )
    audit_record(
        action="voting.election_frozen",
        actor=actor,
        obj=election,
        changes={"voters": election.voters.count(), "trustees": len(trustees)},
    )
    return election


def _compact(value: object) -> str:
    return dumps(value).decode()


def setup_ready(election: Election) -> list[str]:
    """What still stops ``election`` from opening (empty when it can open)."""
    missing = []
    if election.state != Election.State.SETUP:
        missing.append(_("it is not being set up"))
    if not election.threshold_parameters:
        missing.append(_("the trustees have not finished making the key"))
    if election.voters.filter(public_credential="").exists():
        missing.append(_("not every voter has a credential yet"))
    return missing


@transaction.atomic
def election_open(*, election: Election, actor: Any) -> Election:
    """Write the archive's Setup event (the election, its trustees, the voters' public
    credentials): from now on the election cannot change, and ballots are accepted from
    ``opens_at`` to ``closes_at``. Raises VotingError when a ceremony is unfinished.
    Audited."""
    election = Election.objects.select_for_update().get(pk=election.pk)
    missing = setup_ready(election)
    if missing:
        raise VotingError(
            _("The election cannot open yet: %(missing)s.") % {"missing": "; ".join(missing)},
            code="not_ready",
        )
    trustees_raw = trustees_bytes(
        [
            ("Single", json.loads(election.server_public_key)),
            ("Pedersen", json.loads(election.threshold_parameters)),
        ]
    )
    items = parse_trustees(GROUP, trustees_raw)
    questions = [
        ProtocolQuestion(q.text, tuple(q.answers), q.min, q.max, q.blank)
        for q in election.questions.all()
    ]
    # The archive holds one language: the authority's (pages show the others).
    with translation.override(settings.LANGUAGE_CODE):
        authority_name = _("Credential authority of %(department)s") % {
            "department": election.department.name
        }
    election_raw = election_bytes(
        uuid=election.uuid,
        name=election.title,
        description=election.description,
        group=GROUP,
        public_key=GROUP.multiply(*(item.sub_key for item in items)),
        questions=questions,
        administrator=election.department.name,
        credential_authority=authority_name,
    )
    publics = [int(c) for c in election.voters.values_list("public_credential", flat=True)]
    election.archive_timestamp = int(timezone.now().timestamp())
    election.state = Election.State.OPEN
    election.save(update_fields=["archive_timestamp", "state"])
    record_append(
        election, "Setup", *setup_members(election_raw, trustees_raw, credentials_bytes(publics))
    )
    audit_record(action="voting.election_opened", actor=actor, obj=election)
    return election

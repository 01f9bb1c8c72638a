"""What every participation service shares: the capabilities, the domain error, the
person key that counts each person once, and eligibility.

**Person keys.** A person takes part online (signed in), with a census code, or on paper
through an official; the key is the same each way so that they count once:

- a resident whose national identity number the national eID vouched for, and a paper
  entry made with that number (an official checked the identity document): the key of
  the number (:func:`person_key_for_national_id`);
- any other resident: the key of their account. A number typed into a profile proves
  nothing (anyone may type another person's), so it never makes its typist the person
  who voted on paper with it;
- a census entry: the key of the entry (the organiser's list stands for the person);
- an anonymous respondent: the key of their confirmed email address.

Each key is an HMAC (``core.crypto.blind_index``) under its own context, so a key names
no one to a reader of the database, and keys of different kinds never collide.
:func:`person_keys_of` gathers every key a resident took part under (for their data
rights).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.identity import national_id_index, validate_national_id
from ecitizen.accounts.selectors import (
    identity_verification_for,
    user_by_email,
    user_email_verified,
)
from ecitizen.core import crypto
from ecitizen.core.errors import DomainError
from ecitizen.participation.models import (
    Action,
    CensusEntry,
    EligibilityRule,
    Phase,
    Process,
)

#: Set up and run processes, consultations and budgets; publish outcomes and results;
#: invite residents; upload census lists (an engagement officer of the department).
PARTICIPATION_ORGANISE = "participation.organise"
#: Hide comments and proposals that break the code of conduct, and deal with flags.
PARTICIPATION_MODERATE = "participation.moderate"
#: Answer proposals, review projects' feasibility and publish delivery milestones.
PARTICIPATION_ANSWER = "participation.answer"
#: Enter paper or in-person responses, supports and ballots for a resident.
PARTICIPATION_PAPER = "participation.paper"
#: Reach the staff participation pages (the navigation's item, the staff home): whoever
#: holds one of the four capabilities above.
PARTICIPATION_WORK = "participation.work"

_KEY_CONTEXT = "participation.person"


class ParticipationError(DomainError):
    """A participation rule refused the action; ``code`` says which (stable), ``message``
    tells the person why in their words."""

    code = "participation_error"


def person_key_for_national_id(national_id: str) -> str:
    """The person key of whoever holds ``national_id`` (raw, as typed: normalised here)."""
    return crypto.blind_index("nid:" + national_id_index(national_id), context=_KEY_CONTEXT)


def verified_national_id_index(user: Any) -> str | None:
    """The blind index of ``user``'s national identity number when the national eID
    vouched for it (their ``IdentityVerification`` names ``national_id``), else ``None``:
    a number the resident typed themselves may be anyone's."""
    profile = user.profile if _has_profile(user) else None
    index = getattr(profile, "national_id_index", None)
    if not index:
        return None
    verification = identity_verification_for(user)
    if verification is None or "national_id" not in (verification.verified_fields or []):
        return None
    return str(index)


def person_key_for_account(user: Any) -> str:
    """The person key of ``user``'s account (what they do signed in without a verified
    national identity number)."""
    return crypto.blind_index(f"user:{user.pk}", context=_KEY_CONTEXT)


def person_key_for_user(user: Any) -> str:
    """The person key of a signed-in resident: their national identity number's when the
    national eID verified it (so a paper entry with the number is the same person), else
    their account's (:func:`verified_national_id_index` says why)."""
    index = verified_national_id_index(user)
    if index:
        return crypto.blind_index("nid:" + index, context=_KEY_CONTEXT)
    return person_key_for_account(user)


def person_key_for_census(entry: CensusEntry) -> str:
    """The person key of whoever claimed ``entry``: the national identity number's when
    the list's identifier is one (so their paper ballot, entered with the number, or their
    signed-in one is the same person's), else the entry's."""
    try:
        national_id = validate_national_id(entry.identifier)
    except ValidationError:
        return crypto.blind_index(f"census:{entry.pk}", context=_KEY_CONTEXT)
    return person_key_for_national_id(national_id)


def _address_key(email: str) -> str:
    return crypto.blind_index("email:" + email.strip().lower(), context=_KEY_CONTEXT)


def person_key_for_email(email: str) -> str:
    """The person key of whoever holds ``email`` (proved by a link sent to it): the
    account's when an account has it as its verified address (so an anonymous response
    and a signed-in one are the same person's), else the address's."""
    user = user_by_email(email=email)
    if user is not None and user.is_active and user_email_verified(user):
        return person_key_for_user(user)
    return _address_key(email)


@dataclass(frozen=True)
class PersonKeys:
    """Every person key a resident took part under (``keys``) and the census entries
    they claimed (``census_entries``, with their process)."""

    keys: frozenset[str]
    census_entries: tuple[CensusEntry, ...]


def person_keys_of(user: Any) -> PersonKeys:
    """The keys under which ``user`` took part, for their data rights (export, erasure),
    and only those that prove it was them:

    - their account's (always: what they did signed in without a verified number);
    - their national identity number's, only once the national eID verified it: a typed
      number may be someone else's, whose paper entries must not be theirs to read or
      erase;
    - their email address's, only once they confirmed the address (anonymous responses
      are keyed by an address someone proved they hold);
    - the key of each census entry they claimed with its one-time code.

    Reads only (the profile, the verification, the census entries).
    """
    entries = tuple(CensusEntry.objects.filter(claimed_by=user).select_related("process"))
    keys = {person_key_for_account(user), person_key_for_user(user)}
    if user_email_verified(user):
        keys.add(_address_key(user.email))
    keys.update(person_key_for_census(entry) for entry in entries)
    return PersonKeys(frozenset(keys), entries)


def _has_profile(user: Any) -> bool:
    from django.core.exceptions import ObjectDoesNotExist

    try:
        return user.profile is not None
    except ObjectDoesNotExist:
        return False


def today() -> date:
    """Today in the authority's time zone (phases are dated there)."""
    return timezone.localdate()


def current_phases(process: Process, *, on: date | None = None) -> list[Phase]:
    """The process's phases whose dates hold ``on`` (today by default)."""
    day = on or today()
    return [phase for phase in process.phases.all() if phase.starts_on <= day <= phase.ends_on]


def phase_open(process: Process, kind: str, *, on: date | None = None) -> bool:
    """Whether a phase of ``kind`` is under way (a published process only)."""
    if process.status != Process.Status.PUBLISHED:
        return False
    return any(phase.kind == kind for phase in current_phases(process, on=on))


@dataclass(frozen=True)
class Eligibility:
    """Whether someone may do an action, and if not, every reason in plain words (the
    page shows them all, with what to do: verify the email, add an address...)."""

    allowed: bool
    reasons: list[str] = field(default_factory=list)
    #: The person needs a census code (the rule is census-only and none was given).
    needs_census_code: bool = False
    #: Without an account they may still respond, after confirming an email address.
    anonymous_allowed: bool = False


def rule_for(process: Process, action: str) -> EligibilityRule | None:
    """The process's rule for ``action`` (read from the prefetched rules when the caller
    prefetched them, as the pages do)."""
    return next((rule for rule in process.rules.all() if rule.action == action), None)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def eligibility_check(
    *,
    process: Process,
    action: str,
    user: Any,
    census_entry: CensusEntry | None = None,
    on: date | None = None,
) -> Eligibility:
    """Whether ``user`` (possibly anonymous) may do ``action`` in ``process``, checked
    against what the platform knows: signed in, a verified email address, a ward of the
    process's from the profile's address, an age from the profile's date of birth, or a
    claimed entry of the process's census list (``census_entry``).

    A census entry alone suffices for a census-only rule (no account or email needed);
    the other conditions are then the organiser's when they built the list. Reads only.
    """
    if action not in Action.values:
        raise ValueError(f"unknown action {action!r}")
    rule = rule_for(process, action)
    if rule is not None and rule.census_only:
        if census_entry is not None and census_entry.process_id == process.pk:
            return Eligibility(True)
        return Eligibility(
            False,
            [str(_("This is only open to the people on the list the organiser holds."))],
            needs_census_code=True,
        )
    anonymous_allowed = bool(rule and rule.anonymous_allowed and action == Action.RESPOND)
    if not getattr(user, "is_authenticated", False):
        return Eligibility(
            anonymous_allowed,
            [] if anonymous_allowed else [str(_("You need to sign in to take part."))],
            anonymous_allowed=anonymous_allowed,
        )
    reasons: list[str] = []
    if rule is None:
        return Eligibility(True)
    if rule.email_verified and not user_email_verified(user):
        reasons.append(str(_("You need to confirm your email address first.")))
    profile = getattr(user, "profile", None) if _has_profile(user) else None
    if rule.ward_resident:
        wards = {ward.pk for ward in process.wards.all()}
        ward_id = getattr(profile, "ward_id", None)
        if ward_id is None:
            reasons.append(
                str(_("Add your home address to your account so we can tell where you live."))
            )
        elif wards and ward_id not in wards:
            reasons.append(str(_("This is only open to people who live in the wards it is about.")))
    if rule.min_age:
        birth = getattr(profile, "date_of_birth", None)
        if birth is None:
            reasons.append(
                str(_("Add your date of birth to your account so we can check your age."))
            )
        elif _age_on(birth, on or today()) < rule.min_age:
            reasons.append(
                str(
                    _("You need to be at least %(age)s years old to take part.")
                    % {"age": rule.min_age}
                )
            )
    return Eligibility(not reasons, reasons, anonymous_allowed=anonymous_allowed)

"""Census lists: the people an organiser lists as eligible (by a unique identifier of
their choosing: a voter number, a tenancy reference...), each with a one-time code sent to
them on paper, so that people without an account or email address can take part.

- :func:`census_upload` adds the new identifiers of a list and returns their codes, the
  only time they exist in the clear: only a keyed hash of each code is kept, so nobody
  (the organiser included) can see a code again.
- :func:`census_claim` checks an identifier and its code. A code works once: the session
  (or account) that used it takes part as that entry from then on. Wrong codes are
  counted per entry and after :data:`CENSUS_MAX_ATTEMPTS` the code stops working; the
  answer to a wrong code is the same whether the identifier is on the list or not.

Audit events never contain an identifier or a code.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecitizen.accounts.selectors import user_acting_as
from ecitizen.core import crypto
from ecitizen.core.services import audit_record
from ecitizen.documents.services import CODE_ALPHABET, normalise_code
from ecitizen.participation.models import CensusEntry, Process
from ecitizen.participation.selectors.processes import CENSUS_MAX_ATTEMPTS
from ecitizen.participation.services.common import PARTICIPATION_ORGANISE, ParticipationError

#: Characters of a code (about 59 random bits), written in groups of four.
CODE_LENGTH = 12
#: The longest identifier a list may hold.
IDENTIFIER_MAX_LENGTH = 200
_INDEX_CONTEXT = "participation.census.identifier"
_HASH_SALT = "ecitizen.participation.census_code"


def identifier_normalise(value: str) -> str:
    """An identifier as compared: without spaces, in capitals (people type "rv 123 45" for
    "RV12345")."""
    return re.sub(r"\s+", "", value).upper()


def identifier_index(process: Process, value: str) -> str:
    """The blind index of an identifier in ``process``'s list."""
    return crypto.blind_index(f"{process.pk}:{identifier_normalise(value)}", context=_INDEX_CONTEXT)


def _code_hash(index: str, code: str) -> str:
    return salted_hmac(_HASH_SALT, f"{index}:{normalise_code(code)}").hexdigest()


def _new_code() -> str:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4))


@dataclass
class CensusUploadResult:
    """What an upload did: the new entries' identifiers with their codes (to mail, shown
    once), the rows that repeated an identifier of an earlier row (row, earlier row), and
    how many identifiers were already on the list (kept, with their codes)."""

    codes: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    already_listed: int = 0


@transaction.atomic
def census_upload(
    *, process: Process, rows: Sequence[tuple[int, str]], actor: Any
) -> CensusUploadResult:
    """Add to ``process``'s census list the identifiers of ``rows`` ((row number in the
    file, identifier)) that are not on it yet, each with a new random one-time code.

    An identifier repeated in the file is added once and its later rows reported; one
    already on the list keeps its entry and code. Refused (``ParticipationError``): an
    empty identifier or one longer than :data:`IDENTIFIER_MAX_LENGTH` (``census_row``),
    naming the row; a file without any identifier (``census_empty``).

    The process row is locked, so two uploads at once do not both add an identifier.
    Side effects: the entries (identifier encrypted, code only as a keyed hash) and an
    audit event ``participation.census.uploaded`` with the counts.
    """
    if not rows:
        raise ParticipationError(_("The file has no identifiers in it."), code="census_empty")
    for number, value in rows:
        if not identifier_normalise(value):
            raise ParticipationError(
                _("Row %(row)s has no identifier.") % {"row": number}, code="census_row"
            )
        if len(value.strip()) > IDENTIFIER_MAX_LENGTH:
            raise ParticipationError(
                _("The identifier in row %(row)s is longer than %(max)s characters.")
                % {"row": number, "max": IDENTIFIER_MAX_LENGTH},
                code="census_row",
            )
    process = Process.objects.select_for_update().get(pk=process.pk)
    listed = set(
        CensusEntry.objects.filter(process=process).values_list("identifier_index", flat=True)
    )
    result = CensusUploadResult()
    seen: dict[str, int] = {}
    entries = []
    for number, value in rows:
        identifier = value.strip()
        index = identifier_index(process, identifier)
        if index in seen:
            result.duplicates.append((number, seen[index]))
            continue
        seen[index] = number
        if index in listed:
            result.already_listed += 1
            continue
        code = _new_code()
        entries.append(
            CensusEntry(
                process=process,
                identifier=identifier,
                identifier_index=index,
                code_hash=_code_hash(index, code),
            )
        )
        result.codes.append((identifier, code))
    CensusEntry.objects.bulk_create(entries, batch_size=1000)
    audit_record(
        action="participation.census.uploaded",
        actor=actor,
        actor_role=user_acting_as(actor, PARTICIPATION_ORGANISE),
        obj=process,
        changes={
            "added": len(result.codes),
            "already_listed": result.already_listed,
            "duplicates": len(result.duplicates),
        },
    )
    return result


@transaction.atomic
def census_codes_handed_over(*, process: Process, count: int, actor: Any) -> None:
    """Record that the organiser downloaded the codes of an upload (the only time they
    are shown). Side effect: an audit event ``participation.census.codes_downloaded``."""
    audit_record(
        action="participation.census.codes_downloaded",
        actor=actor,
        actor_role=user_acting_as(actor, PARTICIPATION_ORGANISE),
        obj=process,
        changes={"codes": count},
    )


def census_no_match_message() -> str:
    """The one answer to an identifier not on the list, a wrong code, or a code that
    stopped working: it tells nobody which identifiers are listed."""
    return ngettext(
        "The identifier and code do not match the organiser's list. Check them and try "
        "again. After %(count)d wrong try, the code stops working: then contact the "
        "organiser.",
        "The identifier and code do not match the organiser's list. Check them and try "
        "again. After %(count)d wrong tries, the code stops working: then contact the "
        "organiser.",
        CENSUS_MAX_ATTEMPTS,
    ) % {"count": CENSUS_MAX_ATTEMPTS}


def census_claim(
    *,
    process: Process,
    identifier: str,
    code: str,
    user: Any,
    session_entry_id: int | None = None,
) -> CensusEntry:
    """The census entry of ``identifier`` in ``process``, claimed with its one-time
    ``code`` by whoever uses it: ``user`` when signed in, else the browser session (the
    caller remembers the entry there).

    Using a claimed entry's code again is allowed only to the account that claimed it, or
    to the session that holds it (``session_entry_id``); anyone else is refused with
    ``census_code_used``. An identifier not on the list, a wrong code, and an entry with
    :data:`CENSUS_MAX_ATTEMPTS` wrong codes are all refused the same way
    (``census_no_match``), and a wrong code counts against the entry.

    Not one transaction as a whole: the count of wrong codes must be kept although the
    call then raises. The check runs in its own transaction with the entry locked
    (``select_for_update``), so two sessions using one code at once get one claim.
    Side effects: the claim, or the count of wrong codes; an audit event
    ``participation.census.claimed`` or ``participation.census.claim_refused`` (with the
    reason, never the identifier or code).
    """
    authenticated = bool(getattr(user, "is_authenticated", False))
    actor = user if authenticated else None
    with transaction.atomic():
        outcome, entry = _claim(
            process, identifier, code, user if authenticated else None, session_entry_id
        )
        if outcome == "claimed" and entry is not None:
            audit_record(action="participation.census.claimed", actor=actor, obj=entry)
        elif outcome != "held":
            audit_record(
                action="participation.census.claim_refused",
                actor=actor,
                obj=process,
                changes={"reason": outcome},
            )
    if outcome in {"claimed", "held"} and entry is not None:
        return entry
    if outcome == "used":
        raise ParticipationError(
            _(
                "This code has already been used. Each code works once: if you did not use "
                "it, contact the organiser."
            ),
            code="census_code_used",
        )
    raise ParticipationError(census_no_match_message(), code="census_no_match")


def _claim(
    process: Process,
    identifier: str,
    code: str,
    user: Any,
    session_entry_id: int | None,
) -> tuple[str, CensusEntry | None]:
    """The outcome of a claim (``claimed``, ``held`` (already this person's), ``used``,
    ``unknown``, ``locked``, ``wrong_code``), with the entry when it was claimed or held.
    Runs inside the caller's transaction."""
    index = identifier_index(process, identifier)
    # Worked out before the lookup, so an unknown identifier takes as long as a known one.
    expected = _code_hash(index, code)
    entry = (
        CensusEntry.objects.select_for_update()
        .filter(process=process, identifier_index=index)
        .first()
    )
    if entry is None:
        return "unknown", None
    if entry.failed_attempts >= CENSUS_MAX_ATTEMPTS:
        return "locked", None
    if not constant_time_compare(entry.code_hash, expected):
        entry.failed_attempts += 1
        entry.save(update_fields=["failed_attempts"])
        return "wrong_code", None
    if entry.claimed_at is not None:
        mine = entry.pk == session_entry_id or (user is not None and entry.claimed_by_id == user.pk)
        return ("held", entry) if mine else ("used", None)
    entry.claimed_at = timezone.now()
    entry.claimed_by = user
    entry.save(update_fields=["claimed_at", "claimed_by"])
    return "claimed", entry

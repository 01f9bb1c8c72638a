"""What the participation pages share: who is taking part (a signed-in resident or a
census code used in this browser session), and the process an address names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest

from ecitizen.participation.models import CensusEntry, Channel, Process
from ecitizen.participation.services.common import (
    Eligibility,
    eligibility_check,
    person_key_for_census,
    person_key_for_user,
)

#: Session key: process id (text) to the census entry claimed in this session.
CENSUS_SESSION_KEY = "participation.census"


def process_public_or_404(slug: str) -> Process:
    """A published (or archived) process; drafts are the organiser's alone."""
    process = (
        Process.objects.filter(slug=slug)
        .exclude(status=Process.Status.DRAFT)
        .select_related("department")
        .prefetch_related("phases", "wards", "rules")
        .first()
    )
    if process is None:
        raise Http404
    return process


def census_entry_for(request: HttpRequest, process: Process) -> CensusEntry | None:
    """The census entry claimed in this session for ``process``, if any."""
    entry_id = (request.session.get(CENSUS_SESSION_KEY) or {}).get(str(process.pk))
    if entry_id is None:
        return None
    return CensusEntry.objects.filter(
        pk=entry_id, process=process, claimed_at__isnull=False
    ).first()


def census_entry_remember(request: HttpRequest, entry: CensusEntry) -> None:
    """Keep ``entry`` as this session's census identity in its process."""
    claimed = dict(request.session.get(CENSUS_SESSION_KEY) or {})
    claimed[str(entry.process_id)] = entry.pk
    request.session[CENSUS_SESSION_KEY] = claimed


@dataclass(frozen=True)
class Participant:
    """Who takes part on this request, and whether they may do the action. ``person_key``
    is ``None`` when nobody is identified (anonymous, no census code)."""

    eligibility: Eligibility
    person_key: str | None
    channel: str
    census_entry: CensusEntry | None


def participant(request: HttpRequest, process: Process, action: str) -> Participant:
    """The person taking part in ``process`` on this request and their eligibility for
    ``action``: a census code claimed in this session stands for them first (census
    lists are how people without accounts take part), else the signed-in resident."""
    entry = census_entry_for(request, process)
    user: Any = request.user
    eligibility = eligibility_check(process=process, action=action, user=user, census_entry=entry)
    if entry is not None and (not user.is_authenticated or _census_only(process, action)):
        return Participant(eligibility, person_key_for_census(entry), Channel.CENSUS, entry)
    if user.is_authenticated:
        return Participant(eligibility, person_key_for_user(user), Channel.ONLINE, None)
    return Participant(eligibility, None, Channel.ONLINE, None)


def _census_only(process: Process, action: str) -> bool:
    return any(rule.action == action and rule.census_only for rule in process.rules.all())

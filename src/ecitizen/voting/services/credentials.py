"""Voters' credentials, issued by the election's credential authority — never by its
administrator, who must not be able to vote for anyone.

- ``platform``: ``credentials_issue`` makes one private credential per voter, emails it
  to them, keeps only the public credential, and forgets the private one.
- ``offline``: the credential authority runs ``belenios-tool setup generate-credentials``
  on their own machine with the voter list from ``voter_list_text`` and uploads the
  public credentials it writes (``credentials_upload``); the platform never sees a
  private credential.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecitizen.core.services import audit_record
from ecitizen.notifications.selectors import notification_language
from ecitizen.notifications.services import notification_send
from ecitizen.voting.models import Election, Voter
from ecitizen.voting.services.common import GROUP, VotingError
from ecitizen_verify.credentials import new_credential, public_credential


def _authority_locked(election: Election, actor: Any) -> Election:
    election = Election.objects.select_for_update().get(pk=election.pk)
    if election.credential_authority_id != getattr(actor, "pk", None):
        raise VotingError(
            _("Only this election's credential authority can issue its credentials."),
            code="not_authority",
        )
    if election.state != Election.State.SETUP:
        raise VotingError(_("Credentials are issued while the election is set up."), code="state")
    if election.voters.exclude(public_credential="").exists():
        raise VotingError(_("This election's credentials have already been issued."), code="done")
    return election


def _credential_email(election: Election, voter: Voter, credential: str) -> None:
    """The private credential, by plain email to the voter's address (queued encrypted,
    like every email), in the voter's language when they have an account (else the
    authority's): it is the only copy."""
    link = str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse(
        "voting:election", kwargs={"slug": election.slug}
    )
    language = notification_language(voter.user) if voter.user else settings.LANGUAGE_CODE
    with translation.override(language):
        title = " ".join(election.tr("title").split())
        body = "\n\n".join(
            [
                _("You are on the voter list of %(title)s.") % {"title": title},
                _("Your voting credential is:") + f"\n\n    {credential}",
                _(
                    "Keep this email. You will need the credential to vote, with your account "
                    "on the platform. Nobody else has it: the platform keeps only a code that "
                    "checks it, so it cannot be sent again, and nobody can vote in your name "
                    "without it."
                ),
                _("Voting opens on %(opens)s and closes on %(closes)s. Vote here:")
                % {
                    "opens": timezone.localtime(election.opens_at).strftime("%d/%m/%Y %H:%M"),
                    "closes": timezone.localtime(election.closes_at).strftime("%d/%m/%Y %H:%M"),
                }
                + f"\n{link}",
            ]
        )
        subject = _("Your voting credential for %(title)s") % {"title": title}
    EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[voter.email],
        headers={"Auto-Submitted": "auto-generated"},
    ).send()


@transaction.atomic
def credentials_issue(
    *, election: Election, actor: Any, make: Callable[[], str] = new_credential
) -> int:
    """Make and email every voter's private credential and keep only its public part.
    ``make`` gives a new private credential (the demo passes a reproducible one), called
    for the voters in the order they were listed (by primary key). Voters
    with an account also get an inbox note (without the credential) saying it was sent.
    Raises VotingError unless ``actor`` is the election's credential authority, the
    election is being set up, credentials are made by the platform and none were issued
    yet. Returns the number issued. Audited (the count)."""
    election = _authority_locked(election, actor)
    if election.credentials != Election.Credentials.PLATFORM:
        raise VotingError(_("This election's credentials are made offline."), code="offline")
    now = timezone.now()
    voters = list(election.voters.select_related("user").order_by("pk"))
    for voter in voters:
        credential = make()
        voter.public_credential = str(public_credential(GROUP, election.uuid, credential))
        voter.credential_sent_at = now
        _credential_email(election, voter, credential)
        if voter.user is not None:
            notification_send(
                recipient=voter.user,
                event="voting_credential_sent",
                context={"election": election.title, "url": f"/voting/{election.slug}/"},
                actor=actor,
            )
    Voter.objects.bulk_update(voters, ["public_credential", "credential_sent_at"], batch_size=500)
    audit_record(
        action="voting.credentials_issued",
        actor=actor,
        obj=election,
        changes={"voters": len(voters)},
    )
    return len(voters)


def voter_list_text(election: Election) -> str:
    """The list for ``belenios-tool setup generate-credentials --file``: one line per
    voter, ``address,login`` (the login is the voter's number, which the public
    credentials file gives back)."""
    return "".join(f"{voter.email},{voter.login}\n" for voter in election.voters.order_by("pk"))


@transaction.atomic
def credentials_upload(*, election: Election, actor: Any, pubcreds: bytes) -> int:
    """Take the public credentials file that ``belenios-tool setup generate-credentials
    --file`` wrote (a JSON list of ``"credential,weight,login"``): one for every voter,
    each a group element, none twice. Raises VotingError saying what is wrong; nothing is
    kept unless all is right. Audited (the count)."""
    election = _authority_locked(election, actor)
    if election.credentials != Election.Credentials.OFFLINE:
        raise VotingError(
            _("This election's credentials are made by the platform."), code="platform"
        )
    try:
        entries = json.loads(pubcreds)
        assert isinstance(entries, list)
    except (ValueError, AssertionError):
        raise VotingError(
            _("This is not a public credentials file (.pubcreds)."), code="format"
        ) from None
    voters = {voter.login: voter for voter in election.voters.all()}
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        parts = entry.split(",") if isinstance(entry, str) else []
        if len(parts) != 3 or parts[1] not in ("", "1") or not parts[0].isdigit():
            raise VotingError(
                _("Line %(n)s is not a public credential with a voter number.") % {"n": number},
                code="format",
            )
        credential, _weight, login = parts
        voter = voters.get(login)
        if voter is None:
            raise VotingError(
                _("Voter number %(login)s is not on the list.") % {"login": login}, code="unknown"
            )
        if login in seen:
            raise VotingError(
                _("Voter number %(login)s appears twice.") % {"login": login}, code="twice"
            )
        if credential in seen:
            raise VotingError(
                _("The credential of voter number %(login)s is also another voter's.")
                % {"login": login},
                code="twice",
            )
        if not GROUP.is_element(int(credential)):
            raise VotingError(
                _("The credential of voter %(login)s is not valid.") % {"login": login},
                code="element",
            )
        seen.update((login, credential))
        voter.public_credential = credential
    missing = [login for login, voter in voters.items() if login not in seen]
    if missing:
        raise VotingError(
            ngettext(
                "%(count)s voter has no credential in the file (number %(login)s).",
                "%(count)s voters have no credential in the file (for example number %(login)s).",
                len(missing),
            )
            % {"count": len(missing), "login": missing[0]},
            code="missing",
        )
    Voter.objects.bulk_update(list(voters.values()), ["public_credential"], batch_size=500)
    audit_record(
        action="voting.credentials_uploaded",
        actor=actor,
        obj=election,
        changes={"voters": len(voters)},
    )
    return len(voters)


def reproducible_credentials(seed: str) -> Callable[[], str]:
    """A credential maker for the demo: the same seed gives the same credentials, so the
    demo can say a demo voter's credential again. Never for a real election."""
    generator = random.Random(seed)  # noqa: S311 - the demo's public, reproducible credentials

    def make() -> str:
        return new_credential(choice=generator.choice)

    return make

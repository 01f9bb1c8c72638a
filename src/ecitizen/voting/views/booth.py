"""The voting booth (``voting:vote``) and the cast confirmation (``voting:cast``).

The ballot is made in the voter's browser (``build/voting/booth.js``): the credential is
checked against the voter's public credential, the choices are encrypted for the
election's key and signed, and the voter sees the ballot's tracker before casting. They
may instead check the encryption (a Benaloh challenge: the browser reveals the ballot's
randomness, shows that it encrypts their choices, and discards it). Only the encrypted
ballot is posted. Without JavaScript the page says why it is needed and what else to do.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from ecitizen.core.access import signed_in
from ecitizen.voting import selectors
from ecitizen.voting.forms import BallotForm
from ecitizen.voting.services import VotingError
from ecitizen.voting.services.ballots import ballot_cast, voter_for, voter_identity_problem
from ecitizen.voting.services.common import BALLOTS_PER_HOUR, election_bytes_of, voting_window_open

CAST_SESSION_KEY = "voting.cast"


@signed_in
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    found = selectors.election_public_or_404(slug)
    voter = voter_for(found, request.user)
    reason = ""
    identity_required = False
    if not voting_window_open(found):
        reason = _("Voting is not open.")
    elif voter is None:
        reason = _(
            "You are not on the voter list of this election. If you think you should be, "
            "contact the electoral office."
        )
    elif not voter.public_credential:
        reason = _("Your credential has not been issued yet.")
    elif voter_identity_problem(found, request.user):
        reason = voter_identity_problem(found, request.user)
        identity_required = True
    form = BallotForm(request.POST or None)
    if request.method == "POST" and not reason and form.is_valid():
        try:
            assert voter is not None
            cast = ballot_cast(
                election=found, voter=voter, raw=form.cleaned_data["ballot"].encode()
            )
        except VotingError as error:
            form.add_error("ballot", str(error.message))
        else:
            request.session[CAST_SESSION_KEY] = {
                "election": found.pk,
                "tracker": cast.tracker,
                "again": cast.again,
            }
            return redirect("voting:cast", slug=found.slug)
    context = {
        "election": found,
        "reason": reason,
        "identity_required": identity_required,
        "form": form,
        "questions": selectors.questions_of(found),
        "ballots_per_hour": BALLOTS_PER_HOUR,
    }
    if not reason:
        assert voter is not None
        context["booth"] = {
            "election": election_bytes_of(found).decode(),
            "publicCredential": voter.public_credential,
        }
    return render(request, "voting/vote.html", context, status=200)


@signed_in
def cast(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Your vote has been cast", with the tracker (shown once, from the session)."""
    found = selectors.election_public_or_404(slug)
    receipt = request.session.get(CAST_SESSION_KEY) or {}
    if receipt.get("election") != found.pk:
        messages.info(
            request,
            _("Find your ballot's tracker on the ballot box, or in the receipt we sent you."),
        )
        return redirect("voting:ballots", slug=found.slug)
    box_url = (
        reverse("voting:ballots", args=[found.slug])
        + "?"
        + urlencode({"tracker": receipt["tracker"]})
    )
    return render(
        request,
        "voting/cast.html",
        {
            "election": found,
            "tracker": receipt["tracker"],
            "again": receipt["again"],
            "box_url": box_url,
        },
    )


urls: list[URLPattern] = [
    path("<slug:slug>/vote/", vote, name="vote"),
    path("<slug:slug>/vote/cast/", cast, name="cast"),
]

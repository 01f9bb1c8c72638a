"""A trustee's page (``voting:trustee``): the key ceremony, then the decryption of the
tally. The work happens in the trustee's browser (``build/voting/trustee.js``) with the key
file they keep; the page posts only what the protocol makes public or encrypts for other
trustees, and the server checks it before keeping it (services ``ceremony`` and
``counting``). The key file never leaves the trustee's computer."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _

from ecitizen.core.access import signed_in
from ecitizen.voting import selectors
from ecitizen.voting.forms import MessageForm
from ecitizen.voting.models import Election
from ecitizen.voting.services import VotingError
from ecitizen.voting.services.ceremony import (
    ceremony_round,
    certificates_of,
    trustee_certificate_submit,
    trustee_polynomial_submit,
    trustee_task,
    trustee_voutput_submit,
)
from ecitizen.voting.services.common import election_bytes_of
from ecitizen.voting.services.counting import tally_of, trustee_decryption_submit

SUBMIT: dict[int, Any] = {
    1: trustee_certificate_submit,
    2: trustee_polynomial_submit,
    3: trustee_voutput_submit,
}
FIELD = {1: "certificate", 2: "polynomial", 3: "voutput"}


@signed_in
def trustee(request: HttpRequest, slug: str) -> HttpResponse:
    found = selectors.election_public_or_404(slug)
    me = selectors.trustee_for(request.user, found)
    if me is None:
        raise Http404
    task = trustee_task(me) if found.state == Election.State.SETUP else 0
    decrypting = found.state == Election.State.CLOSED and me.decrypted_at is None
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        message = form.cleaned_data["message"]
        try:
            if decrypting:
                trustee_decryption_submit(trustee=me, partial=message, actor=request.user)
                messages.success(request, _("Your decryption was checked and recorded. Thank you."))
            elif task:
                SUBMIT[task](trustee=me, actor=request.user, **{FIELD[task]: message})
                messages.success(request, _("Step %(n)s of 3 is done. Thank you.") % {"n": task})
            else:
                raise VotingError(_("There is nothing for you to do now."), code="nothing")
        except VotingError as error:
            form.add_error(None, str(error.message))
        else:
            return redirect("voting:trustee", slug=found.slug)
    booth: dict[str, object] = {"task": task, "decrypting": decrypting, "position": me.position}
    if task:
        booth["threshold"] = found.threshold
        booth["certificates"] = certificates_of(found) if task > 1 else []
        booth["vinput"] = me.vinput if task == 3 else ""
    if decrypting:
        booth["election"] = election_bytes_of(found).decode()
        booth["tally"] = tally_of(found).decode()
        booth["encryptedKey"] = me.encrypted_key
        booth["certificates"] = certificates_of(found)
    trustees = selectors.trustees_of(found)
    return render(
        request,
        "voting/trustee.html",
        {
            "election": found,
            "me": me,
            "task": task,
            "round": ceremony_round(found),
            "decrypting": decrypting,
            "form": form,
            "booth": booth,
            "trustees": trustees,
            "done_this_round": _done(trustees, ceremony_round(found)),
            "decrypted": sum(1 for t in trustees if t.decrypted_at),
        },
    )


def _done(trustees, round_: int) -> int:
    field = FIELD.get(round_)
    return sum(1 for t in trustees if field and getattr(t, field))


urls: list[URLPattern] = [path("<slug:slug>/trustee/", trustee, name="trustee")]

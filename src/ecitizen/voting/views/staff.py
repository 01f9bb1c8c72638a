"""Officials' election pages (``staff:``, under ``/staff/voting/``).

The administrator (``voting.administer``, within their remit) prepares an election —
texts, questions, voters, trustees — sets it up, opens it, closes its ballot box and
publishes the result. The credential authority (``voting.credentials``, named on the
election) issues the voters' credentials, or uploads the public ones made offline. An
official who is neither sees no election."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import user_by_email
from ecitizen.core.access import staff_only
from ecitizen.core.forms import submission_already_done, submission_remember
from ecitizen.participation.selectors.processes import (
    processes_in_remit,
    remit_departments,
    wards_all,
)
from ecitizen.voting import selectors
from ecitizen.voting.forms import (
    ConfirmForm,
    ElectionForm,
    PubcredsForm,
    QuestionForm,
    TrusteesForm,
    VotersForm,
)
from ecitizen.voting.models import Election
from ecitizen.voting.services import (
    VOTING_ADMINISTER,
    VOTING_CREDENTIALS,
    VOTING_WORK,
    VotingError,
    counting,
    credentials,
    elections,
)
from ecitizen.voting.services.ceremony import ceremony_round

SESSION_KEY = "voting.staff"


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


@staff_only(VOTING_WORK)
def elections_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "voting/staff/elections.html",
        {
            "elections": selectors.elections_for_staff(request.user),
            "may_create": bool(remit_departments(request.user, VOTING_ADMINISTER)),
        },
    )


@staff_only(VOTING_ADMINISTER)
def election_new(request: HttpRequest) -> HttpResponse:
    form = ElectionForm(
        _posted(request),
        departments=remit_departments(request.user, VOTING_ADMINISTER),
        wards=wards_all(),
        processes=processes_in_remit(request.user, "participation.organise"),
    )
    if request.method == "POST" and form.is_valid():
        done = submission_already_done(request, form, session_key=SESSION_KEY)
        if done:
            return done
        data = form.cleaned_data
        authority = user_by_email(email=data["credential_authority"])
        if authority is None:
            form.add_error("credential_authority", _("No account has this email address"))
        else:
            try:
                created = elections.election_create(
                    actor=request.user,
                    slug=data["slug"],
                    title=data["title"],
                    description=data["description"],
                    department_id=int(data["department"]),
                    ward_id=int(data["ward"]) if data.get("ward") else None,
                    opens_at=data["opens_at"],
                    closes_at=data["closes_at"],
                    threshold=data["threshold"],
                    voters_from=data["voters_from"],
                    process_id=int(data["process"]) if data.get("process") else None,
                    credentials=data["credentials"],
                    credential_authority=authority,
                    translations={
                        lang: {"title": data[f"title_{lang}"]}
                        for lang in ("fr", "ar")
                        if data.get(f"title_{lang}")
                    },
                    requires_verified_identity=bool(data.get("requires_verified_identity")),
                )
            except VotingError as error:
                field = {
                    "slug": "slug",
                    "dates": "closes_on",
                    "same_person": "credential_authority",
                    "not_authority": "credential_authority",
                    "remit": "department",
                    "process": "process",
                }.get(error.code)
                form.add_error(field, str(error.message))
            else:
                url = reverse("staff:voting_election", args=[created.slug])
                submission_remember(request, form, url, session_key=SESSION_KEY)
                messages.success(
                    request, _("The election was created. Add its questions, voters and trustees.")
                )
                return redirect(url)
    return render(request, "voting/staff/election_new.html", {"form": form})


def _act(
    request: HttpRequest, form: Any, action, success: str, **kwargs: Any
) -> HttpResponse | None:
    """Run ``action`` for a valid, new submission; a redirect back to the page on success."""
    if not form.is_valid():
        return None
    done = submission_already_done(request, form, session_key=SESSION_KEY)
    if done:
        return done
    try:
        action(**kwargs)
    except VotingError as error:
        form.add_error(None, str(error.message))
        return None
    url = request.path
    submission_remember(request, form, url, session_key=SESSION_KEY)
    messages.success(request, success)
    return redirect(url)


@staff_only(VOTING_WORK)
def election_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The administrator's page of one election: where it stands and what to do next."""
    found = selectors.election_for_staff_or_404(request.user, slug)
    administers = selectors.may_administer(request.user, found)
    forms_: dict[str, Any] = {
        "question": QuestionForm(prefix="q"),
        "voters": VotersForm(prefix="v"),
        "trustees": TrusteesForm(
            prefix="t",
            initial={
                "trustees": "\n".join(
                    f"{t.name}, {t.user.email}" for t in found.trustees.select_related("user")
                )
            },
        ),
        "step": ConfirmForm(prefix="s"),
    }
    if request.method == "POST" and administers:
        which = request.POST.get("form", "")
        actor = request.user
        response = None
        form: Any
        if which == "question":
            form = forms_["question"] = QuestionForm(request.POST, prefix="q")
            if form.is_valid():
                response = _act(
                    request,
                    form,
                    elections.questions_set,
                    _("The question was added."),
                    election=found,
                    questions=[*_existing(found), _question_input(form)],
                    actor=actor,
                )
        elif which == "remove-question":
            form = forms_["step"] = ConfirmForm(request.POST, prefix="s")
            raw_position = request.POST.get("position", "")
            position = int(raw_position) if raw_position.isdigit() else 0
            kept = [q for p, q in enumerate(_existing(found), 1) if p != position]
            response = _act(
                request,
                form,
                elections.questions_set,
                _("The question was removed."),
                election=found,
                questions=kept,
                actor=actor,
            )
        elif which == "voters":
            form = forms_["voters"] = VotersForm(request.POST, prefix="v")
            if form.is_valid():
                response = _act(
                    request,
                    form,
                    elections.voters_upload,
                    _("The voter list was replaced."),
                    election=found,
                    emails=form.cleaned_data["addresses"],
                    actor=actor,
                )
        elif which == "trustees":
            form = forms_["trustees"] = TrusteesForm(request.POST, prefix="t")
            if form.is_valid():
                people = [
                    (name, user_by_email(email=email))
                    for name, email in form.cleaned_data["trustees"]
                ]
                unknown = [
                    email
                    for (name, email), (_n, user) in zip(
                        form.cleaned_data["trustees"], people, strict=True
                    )
                    if user is None
                ]
                if unknown:
                    form.add_error(
                        "trustees",
                        _("No account has these addresses: %(emails)s")
                        % {"emails": ", ".join(unknown)},
                    )
                else:
                    response = _act(
                        request,
                        form,
                        elections.trustees_set,
                        _("The trustees were saved."),
                        election=found,
                        trustees=people,
                        actor=actor,
                    )
        elif which in ("freeze", "open", "close", "publish"):
            form = forms_["step"] = ConfirmForm(request.POST, prefix="s")
            action, message = {
                "freeze": (
                    elections.election_freeze,
                    _(
                        "The election is being set up: the trustees and the credential "
                        "authority were told."
                    ),
                ),
                "open": (
                    elections.election_open,
                    _("The election is open: its public record has begun."),
                ),
                "close": (
                    counting.election_close,
                    _(
                        "The ballot box is closed and its tally published. The trustees "
                        "were asked to decrypt it."
                    ),
                ),
                "publish": (counting.result_publish, _("The result is published.")),
            }[which]
            response = _act(request, form, action, message, election=found, actor=actor)
        if response is not None:
            return response
    found.refresh_from_db()
    return render(
        request,
        "voting/staff/election.html",
        {
            "election": found,
            "administers": administers,
            "questions": selectors.questions_of(found),
            "trustees": selectors.trustees_of(found),
            "voters": found.voters.count(),
            "with_credential": found.voters.exclude(public_credential="").count(),
            "round": ceremony_round(found),
            "missing": elections.setup_ready(found) if found.state == Election.State.SETUP else [],
            "box": selectors.ballot_box(found, limit=0),
            "decrypted": found.trustees.filter(decrypted_at__isnull=False).count(),
            "forms": forms_,
        },
    )


def _existing(election: Election) -> list[elections.QuestionInput]:
    return [
        elections.QuestionInput(q.text, list(q.answers), q.min, q.max, q.blank, q.translations)
        for q in selectors.questions_of(election)
    ]


def _question_input(form: QuestionForm) -> elections.QuestionInput:
    data = form.cleaned_data
    translations = {}
    for lang in ("fr", "ar"):
        entry: dict[str, Any] = {}
        if data.get(f"text_{lang}"):
            entry["text"] = data[f"text_{lang}"]
        if data.get(f"answers_{lang}"):
            entry["answers"] = form.lines(data[f"answers_{lang}"])
        if entry:
            translations[lang] = entry
    return elections.QuestionInput(
        data["text"],
        form.lines(data["answers"]),
        data["min"],
        data["max"],
        data["blank"],
        translations,
    )


@staff_only(VOTING_CREDENTIALS)
def credentials_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The credential authority's page: issue the credentials (platform), or download the
    voter list for belenios-tool and upload the public credentials it made (offline)."""
    found = selectors.election_for_staff_or_404(request.user, slug)
    mine = found.credential_authority_id == request.user.pk
    issue = ConfirmForm(
        _posted(request) if request.POST.get("form") == "issue" else None, prefix="i"
    )
    upload = PubcredsForm(
        _posted(request) if request.POST.get("form") == "upload" else None,
        request.FILES or None,
        prefix="u",
    )
    if request.method == "POST" and mine:
        if request.POST.get("form") == "issue":
            response = _act(
                request,
                issue,
                credentials.credentials_issue,
                _("The credentials were made and sent to the voters."),
                election=found,
                actor=request.user,
            )
        else:
            response = None
            if upload.is_valid():
                data = upload.cleaned_data["pubcreds"].read(50_000_000)
                response = _act(
                    request,
                    upload,
                    credentials.credentials_upload,
                    _("The public credentials were checked and kept."),
                    election=found,
                    actor=request.user,
                    pubcreds=data,
                )
        if response is not None:
            return response
    return render(
        request,
        "voting/staff/credentials.html",
        {
            "election": found,
            "mine": mine,
            "issue": issue,
            "upload": upload,
            "voters": found.voters.count(),
            "issued": found.voters.exclude(public_credential="").count(),
        },
    )


@staff_only(VOTING_CREDENTIALS)
def voter_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The voter list for ``belenios-tool setup generate-credentials --file`` (the
    credential authority of an offline election only)."""
    found = selectors.election_for_staff_or_404(request.user, slug)
    if (
        found.credential_authority_id != request.user.pk
        or found.credentials != Election.Credentials.OFFLINE
    ):
        raise Http404
    response = HttpResponse(
        credentials.voter_list_text(found), content_type="text/plain; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{found.slug}-voters.txt"'
    return response


staff_urls: list[URLPattern] = [
    path("", elections_list, name="voting"),
    path("new/", election_new, name="voting_new"),
    path("<slug:slug>/", election_page, name="voting_election"),
    path("<slug:slug>/credentials/", credentials_page, name="voting_credentials"),
    path("<slug:slug>/voters.txt", voter_list, name="voting_voter_list"),
]

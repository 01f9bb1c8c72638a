"""Participation pages: proposals. Residents list, read, make, support and follow
proposals; officials answer them (``staff:participation_proposals``) and moderators hide
them.

A proposal's photo, chosen on a form sent back with an error, is kept (stored at once,
remembered in the session) so that nobody has to choose it again.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from ecitizen.accounts.models import User
from ecitizen.core.access import public, signed_in, staff_only
from ecitizen.core.forms import submission_already_done, submission_remember
from ecitizen.documents.http import upload_response
from ecitizen.participation.forms_proposals import (
    AnswerForm,
    FollowForm,
    HideForm,
    ProposalFilterForm,
    ProposalForm,
    SupportForm,
)
from ecitizen.participation.models import Action, Phase, Process, Proposal, Target
from ecitizen.participation.selectors import proposals as selectors
from ecitizen.participation.selectors.comments import comments_context, public_name
from ecitizen.participation.selectors.processes import SUPPORT_PHASES, wards_all
from ecitizen.participation.services import (
    PARTICIPATION_ANSWER,
    PARTICIPATION_MODERATE,
    ParticipationError,
)
from ecitizen.participation.services import proposals as services
from ecitizen.participation.services.common import phase_open
from ecitizen.participation.services.follows import follow_set
from ecitizen.participation.views.common import participant, process_public_or_404

PAGE_SIZE = 20
STAFF_PAGE_SIZE = 50
#: Session keys: the one-off keys of forms already acted on, and the photos kept for a
#: proposal form sent back with an error (process id to upload id).
SUBMITTED = "participation.proposals.submitted"
HELD_PHOTOS = "participation.proposals.photos"
#: Which field of the proposal form a service's refusal belongs to.
_FIELD_OF = {
    "title_missing": "title",
    "title_too_long": "title",
    "description_missing": "description",
    "description_too_long": "description",
    "personal_data": "description",
    "ward_required": "ward",
    "ward_invalid": "ward",
    "point_incomplete": "lat",
    "point_invalid": "lat",
    "bad_photo": "photo",
}


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in person of a view that lets no one else in (``signed_in``,
    ``staff_only``)."""
    return cast(User, request.user)


def posted(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST (bound even when empty: a form sent with nothing
    chosen is told what is missing), ``None`` for a GET."""
    return request.POST if request.method == "POST" else None


def _process_wards(process: Process) -> list[Any]:
    """The wards a proposal can be about: the process's, or every ward for a process of
    the whole authority; by name."""
    wards = list(process.wards.all()) or list(wards_all())
    return sorted(wards, key=lambda ward: str(ward).casefold())


def _wards(process: Process) -> list[tuple[int, str]]:
    """The wards as choices, named in the reader's language."""
    return [(ward.pk, str(ward)) for ward in _process_wards(process)]


def _map() -> dict[str, str] | None:
    from ecitizen.reports.maps import map_settings

    return map_settings()


def _pin(form: ProposalForm) -> str:
    """Where the map's pin starts: the place sent back with the form, if any (the map's
    script ignores one that is not two numbers)."""
    if not form.is_bound:
        return ""
    lat, lon = str(form.data.get("lat", "")).strip(), str(form.data.get("lon", "")).strip()
    return f"{lat},{lon}" if lat and lon else ""


def _proposal_url(process: Process, proposal: Proposal) -> str:
    return reverse("participation:proposal", args=[process.slug, proposal.reference])


# --- the public ---------------------------------------------------------------------------


@public
def proposals(request: HttpRequest, slug: str) -> HttpResponse:
    """The proposals of a process, filtered by ward and answer, the most supported or the
    newest first, 20 a page."""
    process = process_public_or_404(slug)
    wards = _wards(process)
    filters = ProposalFilterForm(request.GET or None, wards=wards)
    ward, answer = filters.value("ward"), filters.value("answer")
    sort = filters.value("sort") or selectors.SORT_SUPPORTS
    found = selectors.proposals_public(
        process, ward_id=int(ward) if ward else None, answer=answer, sort=sort
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {name: value for name in ("ward", "answer", "sort") if (value := filters.value(name))}
    return render(
        request,
        "participation/proposals.html",
        {
            "process": process,
            "filters": filters.for_display(),
            "filtered": bool(ward or answer),
            "page": page,
            "rows": [
                {"proposal": proposal, "progress": selectors.threshold_progress(proposal, process)}
                for proposal in page.object_list
            ],
            "filter_query": urlencode(kept),
            "may_propose": phase_open(process, Phase.Kind.PROPOSALS),
            "threshold": process.support_threshold,
        },
    )


def _held_photo(request: HttpRequest, process: Process) -> Any:
    """The photo this session chose for a proposal in ``process`` (its own upload), if
    any."""
    from ecitizen.documents.selectors import upload_get

    upload_id = (request.session.get(HELD_PHOTOS) or {}).get(str(process.pk))
    if not upload_id:
        return None
    try:
        upload = upload_get(upload_id=upload_id)
    except Http404:  # swept away meanwhile
        upload = None
    if upload is None or upload.owner_id != request.user.pk:
        _photo_forget(request, process)
        return None
    return upload


def _photo_keep(request: HttpRequest, process: Process, upload: Any) -> None:
    held = dict(request.session.get(HELD_PHOTOS) or {})
    held[str(process.pk)] = str(upload.pk)
    request.session[HELD_PHOTOS] = held


def _photo_forget(request: HttpRequest, process: Process) -> None:
    held = dict(request.session.get(HELD_PHOTOS) or {})
    if held.pop(str(process.pk), None) is not None:
        request.session[HELD_PHOTOS] = held


@signed_in
def proposal_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Make a proposal: title, description, ward, an optional photo and an optional
    place (a pin on the map, or a latitude and longitude typed). Only in a proposals
    phase, by residents the process's rule lets propose."""
    process = process_public_or_404(slug)
    context: dict[str, Any] = {"process": process}
    if not phase_open(process, Phase.Kind.PROPOSALS):
        return render(request, "participation/proposal_new.html", {**context, "closed": True})
    who = participant(request, process, Action.PROPOSE)
    if not who.eligibility.allowed:
        return render(
            request,
            "participation/proposal_new.html",
            {**context, "eligibility": who.eligibility},
        )
    wards = _wards(process)
    form = ProposalForm(
        posted(request),
        request.FILES if request.method == "POST" else None,
        wards=wards,
        ward_required=process.wards.exists(),
    )
    held = _held_photo(request, process)
    if request.method == "POST":
        done = submission_already_done(request, form, session_key=SUBMITTED)
        if done is not None:
            return done
        valid = form.is_valid()
        if request.POST.get("remove_photo") and held is not None:
            _photo_forget(request, process)
            held = None
        chosen = request.FILES.get("photo")
        if chosen is not None:
            try:
                held = services.proposal_photo_store(
                    file=chosen, owner=signed_in_user(request), actor=signed_in_user(request)
                )
            except ParticipationError as error:
                form.add_error("photo", str(error.message))
                valid = False
            else:
                _photo_keep(request, process, held)
        if valid:
            ward_id = form.cleaned_data["ward"]
            try:
                proposal = services.proposal_submit(
                    process=process,
                    title=form.cleaned_data["title"],
                    description=form.cleaned_data["description"],
                    ward=next((w for w in _process_wards(process) if str(w.pk) == ward_id), None),
                    photo=held,
                    latitude=form.cleaned_data["latitude"],
                    longitude=form.cleaned_data["longitude"],
                    author=signed_in_user(request),
                    actor=signed_in_user(request),
                )
            except ParticipationError as error:
                form.add_error(_FIELD_OF.get(error.code), str(error.message))
            else:
                _photo_forget(request, process)
                url = _proposal_url(process, proposal)
                submission_remember(request, form, url, session_key=SUBMITTED)
                messages.success(
                    request,
                    _(
                        "Your proposal is published. We will tell you when it gets an "
                        "official answer."
                    ),
                )
                return redirect(url)
    return render(
        request,
        "participation/proposal_new.html",
        {**context, "form": form, "held_photo": held, "map": _map(), "pin": _pin(form)},
    )


@public
def proposal(request: HttpRequest, slug: str, ref: str) -> HttpResponse:
    """A proposal: its text, photo and place, its supports and how far it is from an
    official answer, the answer once given, the support and follow buttons, and the
    comments. A hidden proposal shows the moderator's reason instead."""
    process = process_public_or_404(slug)
    item = selectors.proposal_public_or_404(process=process, reference=ref)
    hidden = item.status == Proposal.Status.HIDDEN
    who = participant(request, process, Action.SUPPORT)
    supports_open = not hidden and any(phase_open(process, kind) for kind in SUPPORT_PHASES)
    context: dict[str, Any] = {
        "process": process,
        "proposal": item,
        "hidden": hidden,
        "author_name": public_name(item.author),
        "progress": selectors.threshold_progress(item, process),
        "supports_open": supports_open,
        "supported": selectors.proposal_supported(item, who.person_key),
        "eligibility": who.eligibility,
        "identified": who.person_key is not None,
        "following": selectors.proposal_followed(user=signed_in_user(request), proposal=item),
        "support_form": SupportForm(),
        "map": _map() if item.latitude is not None and not hidden else None,
        "pin": f"{item.latitude},{item.longitude}" if item.latitude is not None else "",
    }
    if not hidden:
        context["comments"] = comments_context(request, process, Target.PROPOSAL, item.pk)
    return render(request, "participation/proposal.html", context)


@public
def proposal_photo(request: HttpRequest, slug: str, ref: str) -> HttpResponse:
    """The photo of a published proposal (its metadata stripped when it was stored)."""
    process = process_public_or_404(slug)
    upload = selectors.proposal_photo_or_404(process=process, reference=ref)
    return upload_response(upload, inline=True)


@public
def proposal_support(request: HttpRequest, slug: str, ref: str) -> HttpResponse:
    """Support a proposal (POST; a GET goes to the proposal). Anyone the process's rule
    lets support: a signed-in resident or someone with a census code in this session;
    someone not identified is asked to sign in."""
    process = process_public_or_404(slug)
    item = selectors.proposal_public_or_404(process=process, reference=ref)
    url = _proposal_url(process, item)
    if request.method != "POST":
        return redirect(url)
    form = SupportForm(request.POST)
    done = submission_already_done(request, form, session_key=SUBMITTED)
    if done is not None:
        return done
    who = participant(request, process, Action.SUPPORT)
    if who.person_key is None and not who.eligibility.needs_census_code:
        return redirect_to_login(url)
    if not who.eligibility.allowed or who.person_key is None:
        messages.error(request, _("You cannot support this proposal. The page says why."))
        return redirect(f"{url}#support")
    try:
        services.support_add(
            proposal=item,
            person_key=who.person_key,
            channel=who.channel,
            actor=signed_in_user(request) if request.user.is_authenticated else None,
        )
    except ParticipationError as error:
        messages.error(request, str(error.message))
        return redirect(f"{url}#support")
    submission_remember(request, form, f"{url}#support", session_key=SUBMITTED)
    messages.success(request, _("Thank you: your support is counted."))
    return redirect(f"{url}#support")


@signed_in
def proposal_follow(request: HttpRequest, slug: str, ref: str) -> HttpResponse:
    """Follow a proposal (hear of its official answer), or stop (POST ``following``)."""
    process = process_public_or_404(slug)
    item = selectors.proposal_public_or_404(process=process, reference=ref)
    url = _proposal_url(process, item)
    form = FollowForm(posted(request))
    if request.method != "POST" or not form.is_valid():
        return redirect(url)
    following = bool(form.cleaned_data["following"])
    try:
        follow_set(
            user=signed_in_user(request),
            target_kind=Target.PROPOSAL,
            target_id=item.pk,
            following=following,
        )
    except ParticipationError as error:
        messages.error(request, str(error.message))
        return redirect(url)
    messages.success(
        request,
        _("You follow this proposal: we will tell you when it gets an official answer.")
        if following
        else _("You no longer follow this proposal."),
    )
    return redirect(url)


# --- officials ----------------------------------------------------------------------------


@staff_only(PARTICIPATION_ANSWER)
def staff_answers(request: HttpRequest) -> HttpResponse:
    """The processes within the official's remit with proposals waiting for an answer."""
    return render(
        request,
        "participation/staff/proposal_answers.html",
        {
            "rows": selectors.answer_queues(
                user=signed_in_user(request), capability=PARTICIPATION_ANSWER
            )
        },
    )


@staff_only(PARTICIPATION_ANSWER)
def staff_proposals(request: HttpRequest, slug: str) -> HttpResponse:
    """The proposals of a process waiting for an official answer (those at or over the
    support threshold first), and those answered (their answer can be changed)."""
    process = selectors.process_for_answers(
        user=signed_in_user(request), slug=slug, capability=PARTICIPATION_ANSWER
    )
    waiting = Paginator(
        selectors.proposals_for_answer(
            user=signed_in_user(request), capability=PARTICIPATION_ANSWER, process=process
        ),
        STAFF_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    answered = selectors.proposals_answered(
        user=signed_in_user(request), capability=PARTICIPATION_ANSWER, process=process
    )
    return render(
        request,
        "participation/staff/proposals.html",
        {
            "process": process,
            "page": waiting,
            "answered": answered[:STAFF_PAGE_SIZE],
            "answered_count": answered.count(),
            "threshold": process.support_threshold,
        },
    )


@staff_only(PARTICIPATION_ANSWER)
def staff_proposal_answer(request: HttpRequest, slug: str, ref: str) -> HttpResponse:
    """Give or change a proposal's official answer (accepted, not accepted with a
    reason, already planned): shown publicly, and its followers are told."""
    item = selectors.proposal_for_staff_or_404(
        user=signed_in_user(request), capability=PARTICIPATION_ANSWER, slug=slug, reference=ref
    )
    queue = reverse("staff:participation_proposals", args=[slug])
    initial = {"answer": item.answer, "text": item.answer_text} if item.answer else {}
    form = AnswerForm(posted(request), initial=initial)
    if request.method == "POST":
        done = submission_already_done(request, form, session_key=SUBMITTED)
        if done is not None:
            return done
        if form.is_valid():
            try:
                services.proposal_answer(
                    proposal=item,
                    answer=form.cleaned_data["answer"],
                    text=form.cleaned_data["text"],
                    actor=signed_in_user(request),
                )
            except ParticipationError as error:
                field = {"reason_missing": "text", "answer_too_long": "text"}.get(error.code)
                form.add_error(field or "answer", str(error.message))
            else:
                submission_remember(request, form, queue, session_key=SUBMITTED)
                messages.success(
                    request,
                    _("The answer to %(reference)s is published.") % {"reference": item.reference},
                )
                return redirect(queue)
    return render(
        request,
        "participation/staff/proposal_answer.html",
        {
            "process": item.process,
            "proposal": item,
            "form": form,
            "progress": selectors.threshold_progress(item, item.process),
            "queue_url": queue,
        },
    )


@staff_only(PARTICIPATION_MODERATE)
def staff_proposal_hide(request: HttpRequest, slug: str, ref: str) -> HttpResponse:
    """Hide a proposal that breaks the code of conduct, with a reason shown in its
    place; or show a hidden one again (POST ``action=unhide``)."""
    item = selectors.proposal_for_staff_or_404(
        user=signed_in_user(request), capability=PARTICIPATION_MODERATE, slug=slug, reference=ref
    )
    back = reverse("staff:participation_moderation")
    form = HideForm(posted(request))
    if request.method == "POST":
        done = submission_already_done(request, form, session_key=SUBMITTED)
        if done is not None:
            return done
        unhide = request.POST.get("action") == "unhide"
        if unhide or form.is_valid():
            try:
                if unhide:
                    services.proposal_unhide(proposal=item, actor=signed_in_user(request))
                else:
                    services.proposal_hide(
                        proposal=item,
                        reason=form.cleaned_data["reason"],
                        actor=signed_in_user(request),
                    )
            except ParticipationError as error:
                if unhide:
                    messages.error(request, str(error.message))
                    return redirect(request.path)
                form.add_error("reason", str(error.message))
            else:
                submission_remember(request, form, back, session_key=SUBMITTED)
                done_message = (
                    _("The proposal %(reference)s is shown again.")
                    if unhide
                    else _("The proposal %(reference)s is hidden. Its page shows the reason.")
                )
                messages.success(request, done_message % {"reference": item.reference})
                return redirect(back)
    return render(
        request,
        "participation/staff/proposal_hide.html",
        {
            "process": item.process,
            "proposal": item,
            "form": form,
            "public_url": _proposal_url(item.process, item),
        },
    )


urls: list[URLPattern] = [
    path("<slug:slug>/proposals/", proposals, name="proposals"),
    path("<slug:slug>/proposals/new/", proposal_new, name="proposal_new"),
    path("<slug:slug>/proposals/<str:ref>/", proposal, name="proposal"),
    path("<slug:slug>/proposals/<str:ref>/photo/", proposal_photo, name="proposal_photo"),
    path("<slug:slug>/proposals/<str:ref>/support/", proposal_support, name="proposal_support"),
    path("<slug:slug>/proposals/<str:ref>/follow/", proposal_follow, name="proposal_follow"),
]
staff_urls: list[URLPattern] = [
    path("answers/", staff_answers, name="participation_answers"),
    path("<slug:slug>/proposals/", staff_proposals, name="participation_proposals"),
    path(
        "<slug:slug>/proposals/<str:ref>/answer/",
        staff_proposal_answer,
        name="participation_proposal_answer",
    ),
    path(
        "<slug:slug>/proposals/<str:ref>/hide/",
        staff_proposal_hide,
        name="participation_proposal_hide",
    ),
]

"""Participation pages: participatory budgets.

Residents (``participation:``): the budget (headings, projects, the vote's dates), a
heading's ballot with its running total (``ballot``: works without JavaScript, the
"Update total" button re-renders it with the choices kept), the check page where the
ballot is cast (``ballot_check``), its confirmation (``ballot_done``), a project's page
(``project``), the results (``budget_results``) and the ballots as a Pabulib file
(``budget_pabulib``) once published. Those pages are public and check the participant
themselves (a signed-in resident or a census code).

Staff (``staff:``, under ``/staff/participation/``): the organiser's budget page (settings,
headings, projects, ballot counts), a heading, a new project, the results (count, preview,
publish); a department's feasibility review and delivery report of its projects.

The choices of a ballot being made wait in the session (never in an address, where
server logs would keep them) until it is cast.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import departments_all, jurisdictions_by_code
from ecitizen.core.access import public, staff_only
from ecitizen.core.forms import submission_already_done, submission_remember
from ecitizen.participation.forms_budgets import (
    BallotForm,
    BudgetSettingsForm,
    CastForm,
    DeliveryForm,
    HeadingForm,
    MilestoneForm,
    ProjectForm,
    ResultsForm,
    ReviewForm,
)
from ecitizen.participation.models import Action, Budget, Heading, Project
from ecitizen.participation.selectors import budgets as selectors
from ecitizen.participation.services import (
    PARTICIPATION_ANSWER,
    PARTICIPATION_ORGANISE,
    ParticipationError,
)
from ecitizen.participation.services import budgets as services
from ecitizen.participation.views.common import Participant, participant

#: Session: heading id (text) -> the project ids of the ballot being made there.
DRAFT_SESSION_KEY = "participation.ballot_draft"
#: Session: the ballots already cast from a check page (one-off keys -> where they led).
CAST_SESSION_KEY = "participation.ballot_cast"
STAFF_SESSION_KEY = "participation.budget_staff"


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _actor(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


# --- residents ---------------------------------------------------------------------------


@public
def budget(request: HttpRequest, slug: str) -> HttpResponse:
    """The budget: its headings with their amounts and projects (costs, feasibility), the
    vote's dates, and for each heading whether the visitor may vote there."""
    found = selectors.budget_public_or_404(slug)
    process = found.process
    window = selectors.vote_window(process)
    person = participant(request, process, Action.VOTE)
    mine = selectors.ballots_of(found, person.person_key)
    headings = [
        {
            "heading": heading,
            "projects": list(heading.projects.all()),
            "access": selectors.heading_access(heading, user=request.user, channel=person.channel),
            "ballot": mine.get(heading.pk),
        }
        for heading in found.headings.all()
    ]
    return render(
        request,
        "participation/budget.html",
        {
            "budget": found,
            "process": process,
            "window": window,
            "closed_message": selectors.vote_closed_message(found, window),
            "person": person,
            "headings": headings,
            "published": found.results_published_at is not None,
            "counting": services.counting_now(found),
        },
    )


def _vote_gate(
    request: HttpRequest, found: Budget, heading: Heading, person: Participant
) -> HttpResponse | None:
    """The page saying why the visitor cannot vote in ``heading`` (the vote is not open,
    they are not eligible or not signed in, the heading is another ward's), or ``None``."""
    window = selectors.vote_window(found.process)
    reasons: list[str] = []
    if not window.open or found.results_published_at is not None:
        reasons = [selectors.vote_closed_message(found, window)]
    elif not person.eligibility.allowed or person.person_key is None:
        reasons = list(person.eligibility.reasons) or [_("You need to sign in to take part.")]
    else:
        access = selectors.heading_access(heading, user=request.user, channel=person.channel)
        if not access.allowed:
            reasons = [access.reason]
    if not reasons:
        return None
    return render(
        request,
        "participation/ballot_unavailable.html",
        {
            "budget": found,
            "process": found.process,
            "heading": heading,
            "reasons": reasons,
            "needs_census_code": person.eligibility.needs_census_code and window.open,
            "sign_in": window.open and not request.user.is_authenticated,
        },
    )


def _draft(request: HttpRequest, heading: Heading) -> list[int] | None:
    value = (request.session.get(DRAFT_SESSION_KEY) or {}).get(str(heading.pk))
    return [int(pk) for pk in value] if isinstance(value, list) else None


def _draft_keep(request: HttpRequest, heading: Heading, ids: list[int] | None) -> None:
    drafts = dict(request.session.get(DRAFT_SESSION_KEY) or {})
    if ids is None:
        drafts.pop(str(heading.pk), None)
    else:
        drafts[str(heading.pk)] = ids
    request.session[DRAFT_SESSION_KEY] = drafts


def _ballot_place(slug: str, heading_slug: str) -> tuple[Budget, Heading]:
    found = selectors.budget_public_or_404(slug)
    heading = selectors.heading_of_or_404(found, heading_slug)
    heading.budget = found
    return found, heading


@public
def ballot(request: HttpRequest, slug: str, heading: str) -> HttpResponse:
    """A heading's ballot: the projects on it as checkboxes with their costs, the running
    total (knapsack: "£X of £Y chosen, £Z left", updated by the page's script, or by the
    "Update total" button without it), the resident's current ballot ticked when they
    change it. "Continue" checks the choices and goes to the check page."""
    found, place = _ballot_place(slug, heading)
    person = participant(request, found.process, Action.VOTE)
    gate = _vote_gate(request, found, place, person)
    if gate is not None:
        return gate
    projects = selectors.on_ballot(place)
    initial = _draft(request, place)
    current = selectors.ballot_of(place, person.person_key)
    if initial is None:
        initial = list(current.choices) if current else []
    form = BallotForm(_posted(request), projects=projects, initial={"projects": initial})
    chosen = initial
    if request.method == "POST":
        if form.is_valid():
            chosen = form.cleaned_data["projects"]
            _draft_keep(request, place, chosen)
            if request.POST.get("action") != "total":
                try:
                    services.ballot_validate(heading=place, project_ids=chosen)
                except ParticipationError as error:
                    form.add_error("projects", str(error.message))
                else:
                    return redirect("participation:ballot_check", slug=slug, heading=heading)
        else:
            chosen = _ints(request.POST.getlist("projects"))
    return render(
        request,
        "participation/ballot.html",
        {
            "budget": found,
            "process": found.process,
            "heading": place,
            "form": form,
            "options": [
                (option, item, item.tr("description"))
                for option, item in zip(form["projects"], projects, strict=True)
            ],
            "total": selectors.ballot_total(place, chosen),
            "texts": selectors.total_texts(found),
            "rules": selectors.ballot_rules(found, place),
            "amount_minor": selectors.to_minor(place.amount),
            "money_sample": selectors.money_sample(),
            "window": selectors.vote_window(found.process),
            "changing": current is not None,
            "knapsack": found.ballot_kind == Budget.BallotKind.KNAPSACK,
        },
    )


def _ints(values: list[str]) -> list[int]:
    """The whole numbers among posted values (ASCII digits only: ``"²".isdigit()`` is
    true, yet ``int("²")`` fails)."""
    return [int(value) for value in values if value.isascii() and value.isdigit()]


@public
def ballot_check(request: HttpRequest, slug: str, heading: str) -> HttpResponse:
    """What the ballot chooses and its total, with "Cast your vote" and "Change". Casting
    twice (a double click, the page sent again) casts once."""
    found, place = _ballot_place(slug, heading)
    person = participant(request, found.process, Action.VOTE)
    gate = _vote_gate(request, found, place, person)
    if gate is not None:
        return gate
    chosen = _draft(request, place)
    form = CastForm(_posted(request))
    if request.method == "POST":
        repeated = submission_already_done(request, form, session_key=CAST_SESSION_KEY)
        if repeated is not None:
            return repeated
    if not chosen:
        return redirect("participation:ballot", slug=slug, heading=heading)
    if request.method == "POST" and form.is_valid():
        try:
            services.ballot_cast(
                heading=place,
                project_ids=chosen,
                person_key=str(person.person_key),
                channel=person.channel,
                actor=_actor(request),
            )
        except ParticipationError as error:
            form.add_error(None, str(error.message))
        else:
            _draft_keep(request, place, None)
            done = reverse("participation:ballot_done", kwargs={"slug": slug, "heading": heading})
            submission_remember(request, form, done, session_key=CAST_SESSION_KEY)
            return redirect(done)
    return render(
        request,
        "participation/ballot_check.html",
        {
            "budget": found,
            "process": found.process,
            "heading": place,
            "form": form,
            "total": selectors.ballot_total(place, chosen),
            "knapsack": found.ballot_kind == Budget.BallotKind.KNAPSACK,
        },
    )


@public
def ballot_done(request: HttpRequest, slug: str, heading: str) -> HttpResponse:
    """The confirmation: what the resident's ballot chooses, and until when they can
    change it."""
    found, place = _ballot_place(slug, heading)
    person = participant(request, found.process, Action.VOTE)
    current = selectors.ballot_of(place, person.person_key)
    if current is None:
        return redirect("participation:ballot", slug=slug, heading=heading)
    window = selectors.vote_window(found.process)
    return render(
        request,
        "participation/ballot_done.html",
        {
            "budget": found,
            "process": found.process,
            "heading": place,
            "ballot": current,
            "total": selectors.ballot_total(place, list(current.choices)),
            "window": window,
            "knapsack": found.ballot_kind == Budget.BallotKind.KNAPSACK,
        },
    )


@public
def project(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A project: what it is, its cost (and the first estimate if the review revised it),
    its feasibility and why; after the results, its votes, whether it was selected and
    why; its delivery and milestones; comments."""
    found = selectors.budget_public_or_404(slug)
    item = selectors.project_of_or_404(found, number)
    result = None
    if found.results_published_at is not None:
        for heading_results in selectors.results_of(found):
            for row in heading_results.rows:
                if row.project.pk == item.pk:
                    result = row
    context: dict[str, Any] = {
        "budget": found,
        "process": found.process,
        "project": item,
        "result": result,
        "published": found.results_published_at is not None,
        "description": item.tr("description"),
        "milestones": [(m, m.tr("description")) for m in item.milestones.all()],
    }
    try:
        from ecitizen.participation.selectors.comments import comments_context
    except ImportError:  # the comments area is not there (yet): the page has no comments
        pass
    else:
        context["comments"] = comments_context(request, found.process, "project", item.pk)
    return render(request, "participation/project.html", context)


@public
def budget_results(request: HttpRequest, slug: str) -> HttpResponse:
    """The published results: per heading, the winners, each project's votes, what each
    counting method would have chosen side by side, the money each used, and why each
    project won or lost in plain words."""
    found = selectors.budget_public_or_404(slug)
    if found.results_published_at is None:
        raise Http404
    return render(
        request,
        "participation/budget_results.html",
        {
            "budget": found,
            "process": found.process,
            "results": selectors.results_of(found),
            "own_method": selectors.method_label(selectors.method_key(found)),
        },
    )


@public
def budget_pabulib(request: HttpRequest, slug: str, heading: str) -> HttpResponse:
    """A heading's ballots as a Pabulib file (anonymised: voters renumbered, no person
    key), once the results are published."""
    found = selectors.budget_public_or_404(slug)
    if found.results_published_at is None:
        raise Http404
    place = selectors.heading_of_or_404(found, heading)
    written = selectors.pabulib_text(budget=found, heading=place)
    response = HttpResponse(written.text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-{place.slug}.pb"'
    return response


# --- staff -------------------------------------------------------------------------------


def _settings_from(data: dict[str, Any]) -> services.BudgetSettings:
    return services.BudgetSettings(
        total_amount=data["total_amount"],
        ballot_kind=data["ballot_kind"],
        min_projects=data["min_projects"],
        max_projects=data["max_projects"],
        min_share_percent=data["min_share_percent"],
        method=data["method"],
        completion=bool(data["completion"]),
    )


_SETTINGS_FIELDS = {
    "invalid_amount": "total_amount",
    "headings_over_total": "total_amount",
    "ballots_exist": None,  # the ballot kind, the limits or the method: the summary says
}


@staff_only(PARTICIPATION_ORGANISE)
def staff_budget(request: HttpRequest, slug: str) -> HttpResponse:
    """The organiser's budget: its settings (set up here the first time), its headings and
    projects, and the ballots' counts (never a ballot)."""
    process, found = selectors.budget_for_staff_or_404(
        user=request.user, slug=slug, capability=PARTICIPATION_ORGANISE
    )
    initial: dict[str, Any] = {"min_projects": 1, "min_share_percent": 0, "completion": True}
    if found is not None:
        initial = {
            "total_amount": found.total_amount,
            "ballot_kind": found.ballot_kind,
            "min_projects": found.min_projects,
            "max_projects": found.max_projects,
            "min_share_percent": found.min_share_percent,
            "method": found.method,
            "completion": found.completion,
        }
    form = BudgetSettingsForm(_posted(request), initial=initial)
    here = reverse("staff:participation_budget", kwargs={"slug": slug})
    if request.method == "POST":
        repeated = submission_already_done(request, form, session_key=STAFF_SESSION_KEY)
        if repeated is not None:
            return repeated
        if form.is_valid():
            settings = _settings_from(form.cleaned_data)
            try:
                if found is None:
                    services.budget_create(process=process, settings=settings, actor=request.user)
                else:
                    services.budget_update(budget=found, settings=settings, actor=request.user)
            except ParticipationError as error:
                form.add_error(_SETTINGS_FIELDS.get(error.code), str(error.message))
            else:
                submission_remember(request, form, here, session_key=STAFF_SESSION_KEY)
                messages.success(request, _("The budget's settings are saved."))
                return redirect(here)
    return render(
        request,
        "participation/staff/budget.html",
        {
            "process": process,
            "budget": found,
            "form": form,
            "counts": selectors.ballot_counts(found) if found else [],
            "feasibility": selectors.feasibility_counts(found) if found else {},
            "window": selectors.vote_window(process),
        },
    )


def _staff_budget(request: HttpRequest, slug: str) -> Budget | HttpResponse:
    """The budget of process ``slug`` in the organiser's remit (404 outside it), or, when
    the process has no budget yet, a redirect to the page that sets one up."""
    _process, found = selectors.budget_for_staff_or_404(
        user=request.user, slug=slug, capability=PARTICIPATION_ORGANISE
    )
    if found is None:
        messages.info(request, _("Set up the budget first."))
        return redirect("staff:participation_budget", slug=slug)
    return found


_HEADING_FIELDS = {
    "invalid_amount": "amount",
    "headings_over_total": "amount",
    "heading_exists": "slug",
    "ballots_exist": "amount",
}


@staff_only(PARTICIPATION_ORGANISE)
def staff_budget_heading(request: HttpRequest, slug: str) -> HttpResponse:
    """Add a heading to the budget, or change one (``?heading=<address name>``)."""
    found = _staff_budget(request, slug)
    if isinstance(found, HttpResponse):
        return found
    editing_slug = request.GET.get("heading") or ""
    editing = selectors.heading_of_or_404(found, editing_slug) if editing_slug else None
    wards = jurisdictions_by_code()
    initial: dict[str, Any] = {}
    if editing is not None:
        initial = {
            "name": editing.name,
            "ward": editing.ward.code if editing.ward else "",
            "amount": editing.amount,
        }
    form = HeadingForm(_posted(request), initial=initial, wards=wards, editing=editing is not None)
    back = reverse("staff:participation_budget", kwargs={"slug": slug})
    if request.method == "POST":
        repeated = submission_already_done(request, form, session_key=STAFF_SESSION_KEY)
        if repeated is not None:
            return repeated
        if form.is_valid():
            data = form.cleaned_data
            fields = services.HeadingFields(
                slug=editing.slug if editing else data["slug"],
                name=data["name"],
                amount=data["amount"],
                ward=data["ward"],
            )
            try:
                if editing is None:
                    services.heading_add(budget=found, fields=fields, actor=request.user)
                else:
                    services.heading_update(heading=editing, fields=fields, actor=request.user)
            except ParticipationError as error:
                form.add_error(_HEADING_FIELDS.get(error.code), str(error.message))
            else:
                submission_remember(request, form, back, session_key=STAFF_SESSION_KEY)
                messages.success(request, _("The heading is saved."))
                return redirect(back)
    return render(
        request,
        "participation/staff/budget_heading.html",
        {"process": found.process, "budget": found, "heading": editing, "form": form},
    )


@staff_only(PARTICIPATION_ORGANISE)
def staff_project_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Put a project in a heading: new, or from an accepted proposal of the process."""
    found = _staff_budget(request, slug)
    if isinstance(found, HttpResponse):
        return found
    form = ProjectForm(
        _posted(request),
        headings=list(found.headings.all()),
        proposals=selectors.proposals_for_projects(found.process),
        departments=list(departments_all()),
        initial={"department": found.process.department_id},
    )
    if request.method == "POST":
        repeated = submission_already_done(request, form, session_key=STAFF_SESSION_KEY)
        if repeated is not None:
            return repeated
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["proposal"] is not None:
                    made = services.project_from_proposal(
                        proposal=data["proposal"],
                        heading=data["heading"],
                        department=data["department"],
                        cost=data["cost"],
                        actor=request.user,
                    )
                else:
                    made = services.project_add(
                        heading=data["heading"],
                        title=data["title"],
                        description=data["description"],
                        department=data["department"],
                        cost=data["cost"],
                        actor=request.user,
                    )
            except ParticipationError as error:
                field = {"invalid_amount": "cost", "ballots_exist": "heading"}.get(error.code)
                form.add_error(
                    field if field else ("proposal" if "proposal" in form.fields else None),
                    str(error.message),
                )
            else:
                back = reverse("staff:participation_budget", kwargs={"slug": slug})
                submission_remember(request, form, back, session_key=STAFF_SESSION_KEY)
                messages.success(
                    request,
                    _("Project %(number)s is added; its department reviews it next.")
                    % {"number": made.number},
                )
                return redirect(back)
    return render(
        request,
        "participation/staff/budget_project_new.html",
        {"process": found.process, "budget": found, "form": form},
    )


@staff_only(PARTICIPATION_ANSWER)
def staff_projects(request: HttpRequest) -> HttpResponse:
    """The projects of the official's department (and ward) to review and to deliver."""
    projects = list(
        selectors.projects_for_staff(user=request.user, capability=PARTICIPATION_ANSWER)
    )
    pending = [p for p in projects if p.feasibility == Project.Feasibility.PENDING]
    reviewed = [
        p for p in projects if p.feasibility != Project.Feasibility.PENDING and not p.selected
    ]
    return render(
        request,
        "participation/staff/budget_projects.html",
        {
            "sections": [
                (_("Waiting for your review"), pending, "review"),
                (
                    _("Selected by the vote: their delivery"),
                    [p for p in projects if p.selected],
                    "delivery",
                ),
                (_("Reviewed"), reviewed, "review"),
            ]
        },
    )


_REVIEW_FIELDS = {
    "reason_required": "reason",
    "invalid_amount": "cost",
    "invalid_review": "feasibility",
}


@staff_only(PARTICIPATION_ANSWER)
def staff_project_review(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The department's feasibility review of a project: feasible (at a revised cost if
    need be) or not feasible with the reason residents will read."""
    item = selectors.project_for_staff_or_404(
        user=request.user, slug=slug, number=number, capability=PARTICIPATION_ANSWER
    )
    initial = {}
    if item.feasibility != Project.Feasibility.PENDING:
        initial = {"feasibility": item.feasibility, "reason": item.feasibility_reason}
    form = ReviewForm(_posted(request), initial=initial)
    here = reverse("staff:participation_project_review", kwargs={"slug": slug, "number": number})
    if request.method == "POST":
        repeated = submission_already_done(request, form, session_key=STAFF_SESSION_KEY)
        if repeated is not None:
            return repeated
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.project_review(
                    project=item,
                    feasibility=data["feasibility"],
                    reason=data["reason"] or "",
                    cost=data["cost"],
                    actor=request.user,
                )
            except ParticipationError as error:
                form.add_error(_REVIEW_FIELDS.get(error.code), str(error.message))
            else:
                submission_remember(request, form, here, session_key=STAFF_SESSION_KEY)
                messages.success(request, _("The review is saved and shown on the project's page."))
                return redirect(here)
    return render(
        request,
        "participation/staff/budget_project_review.html",
        {
            "project": item,
            "process": item.heading.budget.process,
            "form": form,
            "frozen": item.heading.ballots.exists(),
        },
    )


@staff_only(PARTICIPATION_ANSWER)
def staff_project_delivery(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A selected project's delivery: its status and its milestones, shown publicly."""
    item = selectors.project_for_staff_or_404(
        user=request.user, slug=slug, number=number, capability=PARTICIPATION_ANSWER
    )
    which = request.POST.get("form") if request.method == "POST" else None
    # Two forms on one page: each its own prefix, so that no id is used twice.
    status_form = DeliveryForm(
        request.POST if which == "status" else None,
        initial={"delivery": item.delivery},
        prefix="status",
    )
    milestone_form = MilestoneForm(
        request.POST if which == "milestone" else None, prefix="milestone"
    )
    here = reverse("staff:participation_project_delivery", kwargs={"slug": slug, "number": number})
    form = status_form if which == "status" else milestone_form
    if which in {"status", "milestone"}:
        repeated = submission_already_done(request, form, session_key=STAFF_SESSION_KEY)
        if repeated is not None:
            return repeated
        if form.is_valid():
            data = form.cleaned_data
            try:
                if which == "status":
                    services.delivery_set(
                        project=item, delivery=data["delivery"], actor=request.user
                    )
                else:
                    services.milestone_add(
                        project=item,
                        title=data["title"],
                        description=data["description"] or "",
                        happened_on=data["happened_on"],
                        actor=request.user,
                    )
            except ParticipationError as error:
                form.add_error(None, str(error.message))
            else:
                submission_remember(request, form, here, session_key=STAFF_SESSION_KEY)
                messages.success(request, _("Saved: residents see it on the project's page."))
                return redirect(here)
    return render(
        request,
        "participation/staff/budget_project_delivery.html",
        {
            "project": item,
            "process": item.heading.budget.process,
            "status_form": status_form,
            "milestone_form": milestone_form,
            "form": form if which else None,
            "milestones": list(item.milestones.all()),
        },
    )


@staff_only(PARTICIPATION_ORGANISE)
def staff_budget_results(request: HttpRequest, slug: str) -> HttpResponse:
    """Count the ballots (every heading, every method), preview the results as residents
    will see them, and publish them."""
    found = _staff_budget(request, slug)
    if isinstance(found, HttpResponse):
        return found
    form = ResultsForm(_posted(request))
    here = reverse("staff:participation_budget_results", kwargs={"slug": slug})
    if request.method == "POST":
        repeated = submission_already_done(request, form, session_key=STAFF_SESSION_KEY)
        if repeated is not None:
            return repeated
        if form.is_valid():
            try:
                if form.cleaned_data["action"] == "compute":
                    services.results_count_request(budget=found, actor=request.user)
                    done = _(
                        "The ballots are being counted. Refresh this page in a minute to "
                        "check the results before you publish them."
                    )
                else:
                    services.results_publish(budget=found, actor=request.user)
                    done = _("The results are published, and the followers told.")
            except ParticipationError as error:
                form.add_error(None, str(error.message))
            else:
                submission_remember(request, form, here, session_key=STAFF_SESSION_KEY)
                messages.success(request, done)
                return redirect(here)
    found = _staff_budget(request, slug)
    if isinstance(found, HttpResponse):
        return found
    return render(
        request,
        "participation/staff/budget_results.html",
        {
            "process": found.process,
            "budget": found,
            "form": form,
            "results": selectors.results_of(found),
            "counts": selectors.ballot_counts(found),
            "window": selectors.vote_window(found.process),
            "own_method": selectors.method_label(selectors.method_key(found)),
            "published": found.results_published_at is not None,
            "counting": services.counting_now(found),
        },
    )


urls: list[URLPattern] = [
    path("<slug:slug>/budget/", budget, name="budget"),
    path("<slug:slug>/budget/results/", budget_results, name="budget_results"),
    path("<slug:slug>/budget/pabulib/<slug:heading>.pb", budget_pabulib, name="budget_pabulib"),
    path("<slug:slug>/budget/projects/<int:number>/", project, name="project"),
    path("<slug:slug>/budget/<slug:heading>/vote/", ballot, name="ballot"),
    path("<slug:slug>/budget/<slug:heading>/vote/check/", ballot_check, name="ballot_check"),
    path("<slug:slug>/budget/<slug:heading>/vote/done/", ballot_done, name="ballot_done"),
]
staff_urls: list[URLPattern] = [
    path("budgets/projects/", staff_projects, name="participation_projects"),
    path("<slug:slug>/budget/", staff_budget, name="participation_budget"),
    path("<slug:slug>/budget/heading/", staff_budget_heading, name="participation_budget_heading"),
    path("<slug:slug>/budget/projects/new/", staff_project_new, name="participation_project_new"),
    path(
        "<slug:slug>/budget/projects/<int:number>/review/",
        staff_project_review,
        name="participation_project_review",
    ),
    path(
        "<slug:slug>/budget/projects/<int:number>/delivery/",
        staff_project_delivery,
        name="participation_project_delivery",
    ),
    path("<slug:slug>/budget/results/", staff_budget_results, name="participation_budget_results"),
]

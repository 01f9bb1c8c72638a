"""Participation pages about processes.

Residents (``/participate/``): the published processes, a process's page (phases,
documents, what it offers and whether the visitor may take part), a census code, following
a process, the code of conduct, "processes you can take part in" and the news opt-in.

Staff (``/staff/participation/``): the organiser's processes (confined by the remit: the
process's department, and one of its wards or no ward limit; anything else is 404),
creating and changing them, phases, eligibility rules, documents, the census list and its
one-time codes, invitations, publishing; and paper entries (responses, supports and
ballots an official enters for a resident who showed an identity document), with the
list of the official's own entries.

Forms post, then redirect; those that create something carry a one-off key so that a
double submission is done once.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ecitizen.core import crypto
from ecitizen.core.access import holds_capability, public, signed_in, staff_only
from ecitizen.core.csvcells import csv_cell
from ecitizen.core.forms import SubmissionForm, submission_already_done, submission_remember
from ecitizen.core.http import client_ip
from ecitizen.documents.http import bytes_response, upload_response
from ecitizen.participation.forms_processes import (
    CensusClaimForm,
    CensusUploadForm,
    DocumentForm,
    NewsForm,
    PaperBallotForm,
    PaperPersonForm,
    PaperSupportForm,
    PhaseForm,
    ProcessForm,
    RulesForm,
)
from ecitizen.participation.models import Action, Channel, Process
from ecitizen.participation.selectors import processes as selectors
from ecitizen.participation.services import census as census_services
from ecitizen.participation.services import processes as services
from ecitizen.participation.services.common import (
    PARTICIPATION_ANSWER,
    PARTICIPATION_MODERATE,
    PARTICIPATION_ORGANISE,
    PARTICIPATION_PAPER,
    PARTICIPATION_WORK,
    ParticipationError,
    current_phases,
    person_key_for_national_id,
)
from ecitizen.participation.views.common import (
    census_entry_for,
    census_entry_remember,
    participant,
    process_public_or_404,
)

ORGANISE = PARTICIPATION_ORGANISE
PAPER = PARTICIPATION_PAPER
#: The session key of the submissions already acted on: one-off key -> where it led.
SUBMITTED_SESSION = "participation.processes.submitted"
#: The session key under which an upload's codes (encrypted) wait for their one download.
CODES_SESSION = "participation.census_codes"
#: The session key of the last census upload's report (counts and row numbers only).
UPLOAD_REPORT_SESSION = "participation.census_report"
#: Repeated rows of a census file listed on the page (the rest are counted).
DUPLICATES_SHOWN = 50


# --- helpers ---------------------------------------------------------------------------------


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _already_done(request: HttpRequest, form: SubmissionForm) -> HttpResponse | None:
    return submission_already_done(request, form, session_key=SUBMITTED_SESSION)


def _remember(request: HttpRequest, form: SubmissionForm, url: str) -> None:
    submission_remember(request, form, url, session_key=SUBMITTED_SESSION)


def _user(request: HttpRequest) -> Any:
    return request.user


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """``next`` when it leads back into this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _eligibility_rows(
    request: HttpRequest, process: Process, actions: list[str]
) -> list[dict[str, Any]]:
    """For each action, whether the visitor may do it and, if not, every reason."""
    rows = []
    for action in actions:
        eligibility = participant(request, process, action).eligibility
        rows.append(
            {
                "action": action,
                "label": Action(action).label,
                "allowed": eligibility.allowed,
                "reasons": eligibility.reasons,
                "needs_census_code": eligibility.needs_census_code,
                "anonymous_allowed": eligibility.anonymous_allowed,
            }
        )
    return rows


def _process_url(process: Process) -> str:
    return reverse("participation:process", args=[process.slug])


def _staff_url(process: Process, name: str = "participation_process") -> str:
    return reverse(f"staff:{name}", args=[process.slug])


def _staff_process(request: HttpRequest, slug: str, capability: str = ORGANISE) -> Process:
    return selectors.process_for_staff(user=request.user, slug=slug, capability=capability)


def _error_field(form: Any, error: ParticipationError, fields: dict[str, str]) -> None:
    """Put a service's refusal on the field it is about (``fields``: code -> field name),
    or at the top of the form."""
    form.add_error(fields.get(error.code), str(error.message))


# --- residents' pages ---------------------------------------------------------------------


@public
def processes(request: HttpRequest) -> HttpResponse:
    """The published processes: what each is about, its current phase and dates, its
    department and wards, and what can be done in it now."""
    rows = []
    for process in selectors.processes_published():
        phases = list(process.phases.all())
        rows.append(
            {
                "process": process,
                "summary": process.tr("summary"),
                "current": current_phases(process),
                "starts_on": min((p.starts_on for p in phases), default=None),
                "ends_on": max((p.ends_on for p in phases), default=None),
                "actions": [Action(a).label for a in selectors.open_actions(process)],
            }
        )
    return render(request, "participation/home.html", {"rows": rows})


@public
def code_of_conduct(request: HttpRequest) -> HttpResponse:
    return render(request, "participation/code_of_conduct.html")


@public
def process(request: HttpRequest, slug: str) -> HttpResponse:
    """A process's page: its description, phases (the current ones marked), documents,
    consultations, proposals and budget, whether the visitor may take part in what it
    offers now (and why not), and following it."""
    item = process_public_or_404(slug)
    actions = selectors.open_actions(item)
    return render(
        request,
        "participation/process.html",
        {
            "process": item,
            "summary": item.tr("summary"),
            "description": item.tr("description"),
            "timeline": selectors.phases_timeline(item),
            "documents": list(item.documents.all()),
            "contents": selectors.process_contents(item),
            "eligibility": _eligibility_rows(request, item, actions),
            "following": selectors.process_followed(user=request.user, process=item),
            "census_entry": census_entry_for(request, item),
        },
    )


@public
def process_document(request: HttpRequest, slug: str, document_id: int) -> HttpResponse:
    """A document of a published process, opened in the browser (PDF)."""
    item = process_public_or_404(slug)
    document = selectors.process_document_public_or_404(process=item, document_id=document_id)
    return upload_response(document.upload, inline=True)


@public
def census_claim(request: HttpRequest, slug: str) -> HttpResponse:
    """Use the one-time code of the process's census list: this browser session then
    takes part as that person on the list, and goes back where it came from."""
    item = process_public_or_404(slug)
    back = _safe_next(request, _process_url(item))
    form = CensusClaimForm(_posted(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            held = census_entry_for(request, item)
            try:
                entry = census_services.census_claim(
                    process=item,
                    identifier=form.cleaned_data["identifier"],
                    code=form.cleaned_data["code"],
                    user=request.user,
                    session_entry_id=held.pk if held else None,
                )
            except ParticipationError as error:
                form.add_error("code", str(error.message))
            else:
                census_entry_remember(request, entry)
                messages.success(
                    request,
                    _("Your code is accepted. You can now take part in “%(process)s”.")
                    % {"process": item.tr("title")},
                )
                return redirect(back)
    return render(
        request,
        "participation/census_claim.html",
        {"process": item, "form": form, "next": back},
        status=status,
    )


@signed_in
@require_POST
def process_follow(request: HttpRequest, slug: str) -> HttpResponse:
    """Follow (``following=1``) or stop following a process: new phases and results reach
    the resident through their notifications."""
    from ecitizen.participation.services.follows import follow_set

    item = process_public_or_404(slug)
    following = request.POST.get("following") == "1"
    try:
        follow_set(
            user=_user(request), target_kind="process", target_id=item.pk, following=following
        )
    except ParticipationError as error:
        messages.error(request, str(error.message))
    else:
        _follow_message(request, following=following)
    return redirect(_process_url(item))


def _follow_message(request: HttpRequest, *, following: bool) -> None:
    if following:
        messages.success(
            request, _("You follow this process. We will tell you when a new phase starts.")
        )
    else:
        messages.success(request, _("You no longer follow this process."))


@signed_in
def mine(request: HttpRequest) -> HttpResponse:
    """The processes the resident can take part in now (and what stops them in the
    others that are open), the processes they follow, and their news opt-in."""
    open_rows = []
    for item in selectors.processes_published():
        actions = selectors.open_actions(item)
        if not actions:
            continue
        rows = _eligibility_rows(request, item, actions)
        open_rows.append(
            {"process": item, "rows": rows, "any_allowed": any(r["allowed"] for r in rows)}
        )
    open_rows.sort(key=lambda row: not row["any_allowed"])
    return render(
        request,
        "participation/mine.html",
        {
            "open_rows": open_rows,
            "followed": list(selectors.processes_followed(user=request.user)),
            "subscribed": selectors.news_subscribed(user=request.user),
        },
    )


@signed_in
def news(request: HttpRequest) -> HttpResponse:
    """Opt in to, or out of, invitations to take part in the resident's ward."""
    subscribed = selectors.news_subscribed(user=request.user)
    form = NewsForm(_posted(request), initial={"news": "yes" if subscribed else "no"})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            if form.cleaned_data["news"] == "yes":
                services.news_subscribe(user=_user(request), actor=_user(request))
                messages.success(
                    request, _("We will invite you when there is a process to take part in.")
                )
            else:
                services.news_unsubscribe(user=_user(request), actor=_user(request))
                messages.success(request, _("We will not invite you any more."))
            return redirect("participation:mine")
    return render(
        request, "participation/news.html", {"form": form, "subscribed": subscribed}, status=status
    )


# --- the organiser's pages ---------------------------------------------------------------


@staff_only(PARTICIPATION_WORK)
def staff_home(request: HttpRequest) -> HttpResponse:
    """The processes in the organiser's remit, newest first, and links to the other
    participation work the official may do (paper entries, moderation, answers)."""
    organises = holds_capability(request.user, ORGANISE)
    rows = (
        [
            {"process": item, "current": current_phases(item)}
            for item in selectors.processes_in_remit(request.user, ORGANISE)
        ]
        if organises
        else []
    )
    return render(
        request,
        "participation/staff/processes.html",
        {
            "rows": rows,
            "organises": organises,
            "enters_paper": holds_capability(request.user, PAPER),
            "moderates": holds_capability(request.user, PARTICIPATION_MODERATE),
            "answers": holds_capability(request.user, PARTICIPATION_ANSWER),
        },
    )


def _process_form(request: HttpRequest, *, item: Process | None) -> ProcessForm:
    return ProcessForm(
        _posted(request),
        initial=ProcessForm.initial_for(item) if item is not None else None,
        translations=item.translations if item is not None else None,
        departments=selectors.remit_departments(request.user, ORGANISE),
        wards=selectors.wards_all(),
        creating=item is None,
    )


_PROCESS_ERRORS = {"slug_taken": "slug", "outside_remit": "wards"}


@staff_only(ORGANISE)
def process_new(request: HttpRequest) -> HttpResponse:
    """Describe a new process; it starts as a draft that only the organisers see."""
    form = _process_form(request, item=None)
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            try:
                item = services.process_create(
                    **form.service_fields(), slug=form.cleaned_data["slug"], actor=_user(request)
                )
            except ParticipationError as error:
                _error_field(form, error, _PROCESS_ERRORS)
            else:
                url = _staff_url(item)
                _remember(request, form, url)
                messages.success(
                    request, _("The process is saved as a draft. Add its phases, then publish it.")
                )
                return redirect(url)
    return render(
        request,
        "participation/staff/process_form.html",
        {"form": form, "process": None},
        status=status,
    )


@staff_only(ORGANISE)
def process_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Change a process's texts, department, wards or support threshold."""
    item = _staff_process(request, slug)
    form = _process_form(request, item=item)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.process_update(process=item, **form.service_fields(), actor=_user(request))
            except ParticipationError as error:
                _error_field(form, error, _PROCESS_ERRORS)
            else:
                messages.success(request, _("The process's details are saved."))
                return redirect(_staff_url(item))
    return render(
        request,
        "participation/staff/process_form.html",
        {"form": form, "process": item},
        status=status,
    )


def _rule_rows(item: Process) -> list[tuple[Any, str]]:
    """Each action and who may do it, in words."""
    rules = {rule.action: rule for rule in item.rules.all()}
    rows = []
    for action in Action.values:
        rule = rules.get(action)
        if rule is not None and rule.census_only:
            rows.append((Action(action).label, _("Only the people on the census list")))
            continue
        parts = []
        if rule is not None and rule.email_verified:
            parts.append(_("a confirmed email address"))
        if rule is not None and rule.ward_resident:
            parts.append(_("lives in the process's wards"))
        if rule is not None and rule.min_age:
            parts.append(_("aged %(age)s or over") % {"age": rule.min_age})
        summary = (
            _("Signed-in residents with: %(conditions)s") % {"conditions": "; ".join(parts)}
            if parts
            else _("Any signed-in resident")
        )
        if rule is not None and rule.anonymous_allowed:
            summary += " " + _("(or without an account, after confirming an email address)")
        rows.append((Action(action).label, summary))
    return rows


@staff_only(ORGANISE)
def process_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A process as its organiser sees it: its details, phases, rules, documents, census
    list, invitations and participation in aggregate, and what to do next."""
    item = _staff_process(request, slug)
    return render(
        request,
        "participation/staff/process.html",
        {
            "process": item,
            "timeline": selectors.phases_timeline(item),
            "rule_rows": _rule_rows(item),
            "census": selectors.census_counts(item),
            "invitation": selectors.invitation_last(item),
            "counts": selectors.participation_counts(item),
            "enters_paper": holds_capability(request.user, PAPER)
            and selectors.process_in_remit(request.user, PAPER, item),
        },
    )


def _one_of(items: list[Any], key: str) -> Any:
    """The item whose id is ``key`` (a form's or address's value), else ``Http404``."""
    found = next((item for item in items if str(item.pk) == key), None)
    if found is None:
        raise Http404
    return found


def _phase_delete(request: HttpRequest, phase: Any, url: str) -> HttpResponse:
    try:
        services.phase_delete(phase=phase, actor=_user(request))
    except ParticipationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The phase is deleted."))
    return redirect(url)


@staff_only(ORGANISE)
def phases(request: HttpRequest, slug: str) -> HttpResponse:
    """A process's phases: add one, change one (``?change=<id>``) or delete one."""
    item = _staff_process(request, slug)
    all_phases = list(item.phases.all())
    url = _staff_url(item, "participation_phases")
    if request.method == "POST" and "delete" in request.POST:
        return _phase_delete(request, _one_of(all_phases, request.POST["delete"]), url)
    changing = _one_of(all_phases, request.GET["change"]) if request.GET.get("change") else None
    form = PhaseForm(
        _posted(request),
        initial=PhaseForm.initial_for(changing) if changing else None,
        translations=changing.translations if changing else None,
    )
    status = 200
    if request.method == "POST":
        again = None if changing else _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            try:
                if changing is None:
                    services.phase_add(process=item, **form.service_fields(), actor=_user(request))
                else:
                    services.phase_update(
                        phase=changing, **form.service_fields(), actor=_user(request)
                    )
            except ParticipationError as error:
                _error_field(form, error, {"phase_dates": "ends_on", "phase_kind": "kind"})
            else:
                if changing is None:
                    _remember(request, form, url)
                messages.success(
                    request, _("The phase is changed.") if changing else _("The phase is added.")
                )
                return redirect(url)
    return render(
        request,
        "participation/staff/process_phases.html",
        {
            "process": item,
            "timeline": selectors.phases_timeline(item),
            "form": form,
            "changing": changing,
        },
        status=status,
    )


@staff_only(ORGANISE)
def rules(request: HttpRequest, slug: str) -> HttpResponse:
    """Who may respond, propose, support, comment and vote in a process."""
    item = _staff_process(request, slug)
    form = RulesForm(_posted(request), rules={rule.action: rule for rule in item.rules.all()})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.rules_set(process=item, rules=form.specs(), actor=_user(request))
            except ParticipationError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(request, _("Who can take part is saved."))
                return redirect(_staff_url(item))
    return render(
        request,
        "participation/staff/process_rules.html",
        {"process": item, "form": form},
        status=status,
    )


@staff_only(ORGANISE)
def documents(request: HttpRequest, slug: str) -> HttpResponse:
    """A process's documents: add a PDF, or remove one."""
    item = _staff_process(request, slug)
    url = _staff_url(item, "participation_documents")
    all_documents = list(item.documents.all())
    if request.method == "POST" and "remove" in request.POST:
        document = _one_of(all_documents, request.POST["remove"])
        services.document_remove(document=document, actor=_user(request))
        messages.success(request, _("The document is removed."))
        return redirect(url)
    form = DocumentForm(_posted(request), request.FILES if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            try:
                services.document_add(
                    process=item,
                    title=form.cleaned_data["title"],
                    file=form.cleaned_data["file"],
                    translations=form.translations(),
                    actor=_user(request),
                    ip_address=client_ip(request),
                )
            except ParticipationError as error:
                form.add_error("file", str(error.message))
            else:
                _remember(request, form, url)
                messages.success(request, _("The document is added."))
                return redirect(url)
    return render(
        request,
        "participation/staff/process_documents.html",
        {"process": item, "documents": all_documents, "form": form},
        status=status,
    )


def _codes_context(request: HttpRequest, item: Process) -> str:
    return f"participation.census.codes:{item.pk}:{request.user.pk}"


@staff_only(ORGANISE)
def census(request: HttpRequest, slug: str) -> HttpResponse:
    """A process's census list: how many are on it and used their code; upload a list
    (new identifiers only are added, each with a code); download the new codes once."""
    item = _staff_process(request, slug)
    url = _staff_url(item, "participation_census")
    form = CensusUploadForm(_posted(request), request.FILES if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            try:
                result = census_services.census_upload(
                    process=item, rows=form.rows, actor=_user(request)
                )
            except ParticipationError as error:
                form.add_error("file", str(error.message))
            else:
                _keep_codes(request, item, result.codes)
                request.session[UPLOAD_REPORT_SESSION] = {
                    "process": item.pk,
                    "added": len(result.codes),
                    "already_listed": result.already_listed,
                    "duplicates": result.duplicates[:DUPLICATES_SHOWN],
                    "duplicate_count": len(result.duplicates),
                }
                _remember(request, form, url)
                return redirect(url)
    report = request.session.get(UPLOAD_REPORT_SESSION)
    if report and report.get("process") == item.pk and request.method == "GET":
        del request.session[UPLOAD_REPORT_SESSION]
    else:
        report = None
    waiting = (request.session.get(CODES_SESSION) or {}).get(str(item.pk))
    return render(
        request,
        "participation/staff/census.html",
        {
            "process": item,
            "form": form,
            "counts": selectors.census_counts(item),
            "report": report,
            "codes_waiting": waiting["count"] if waiting else 0,
        },
        status=status,
    )


def _keep_codes(request: HttpRequest, item: Process, codes: list[tuple[str, str]]) -> None:
    """Keep the new codes, encrypted, in the organiser's session until their one download
    (with an earlier upload's codes not downloaded yet)."""
    waiting = dict(request.session.get(CODES_SESSION) or {})
    earlier = waiting.get(str(item.pk))
    rows = _codes_read(request, item, earlier["token"]) if earlier else []
    rows.extend([identifier, code] for identifier, code in codes)
    if not rows:
        return
    waiting[str(item.pk)] = {
        "token": crypto.encrypt(json.dumps(rows), context=_codes_context(request, item)),
        "count": len(rows),
    }
    request.session[CODES_SESSION] = waiting


def _codes_read(request: HttpRequest, item: Process, token: str) -> list[list[str]]:
    rows: list[list[str]] = json.loads(crypto.decrypt(token, context=_codes_context(request, item)))
    return rows


@staff_only(ORGANISE)
@require_POST
def census_codes(request: HttpRequest, slug: str) -> HttpResponse:
    """The codes of the last upload as a CSV (identifier, code) for the mailing: once.
    They are then forgotten; only their hashes remain."""
    item = _staff_process(request, slug)
    waiting = dict(request.session.get(CODES_SESSION) or {})
    kept = waiting.pop(str(item.pk), None)
    if kept is None:
        messages.error(
            request,
            _("These codes were already downloaded. Codes can be downloaded only once."),
        )
        return redirect(_staff_url(item, "participation_census"))
    request.session[CODES_SESSION] = waiting
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("identifier"), _("code")])
    writer.writerows(
        (csv_cell(identifier), code)
        for identifier, code in _codes_read(request, item, kept["token"])
    )
    census_services.census_codes_handed_over(
        process=item, count=int(kept["count"]), actor=_user(request)
    )
    return bytes_response(
        out.getvalue().encode("utf-8-sig"),
        filename=f"{item.slug}-census-codes.csv",
        content_type="text/csv; charset=utf-8",
    )


@staff_only(ORGANISE)
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    """Invite the residents who opted in to participation news and live in the process's
    wards; once a day at most."""
    item = _staff_process(request, slug)
    form = SubmissionForm(_posted(request))
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            try:
                invitation = services.invitation_send(process=item, actor=_user(request))
            except ParticipationError as error:
                form.add_error(None, str(error.message))
            else:
                url = _staff_url(item)
                _remember(request, form, url)
                messages.success(
                    request,
                    ngettext(
                        "The invitation was sent to %(count)s resident.",
                        "The invitation was sent to %(count)s residents.",
                        invitation.recipients,
                    )
                    % {"count": invitation.recipients},
                )
                return redirect(url)
    return render(
        request,
        "participation/staff/invite.html",
        {
            "process": item,
            "form": form,
            "recipients": selectors.invitation_recipients(item).count(),
            "last": selectors.invitation_last(item),
            "next_allowed": selectors.invitation_next_allowed(item),
        },
        status=status,
    )


@staff_only(ORGANISE)
def publish(request: HttpRequest, slug: str) -> HttpResponse:
    """Publish a draft process (it needs at least one phase)."""
    return _status_change(request, slug, publishing=True)


@staff_only(ORGANISE)
def archive(request: HttpRequest, slug: str) -> HttpResponse:
    """Archive a published process: its page stays, nothing can be done in it any more."""
    return _status_change(request, slug, publishing=False)


def _status_change(request: HttpRequest, slug: str, *, publishing: bool) -> HttpResponse:
    item = _staff_process(request, slug)
    form = SubmissionForm(_posted(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            change = services.process_publish if publishing else services.process_archive
            try:
                change(process=item, actor=_user(request))
            except ParticipationError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(
                    request,
                    _("The process is published.") if publishing else _("The process is archived."),
                )
                return redirect(_staff_url(item))
    return render(
        request,
        "participation/staff/process_status.html",
        {"process": item, "form": form, "publishing": publishing},
        status=status,
    )


# --- paper entries -----------------------------------------------------------------------


def _paper_process(request: HttpRequest, slug: str) -> Process:
    """A published process in the official's remit for paper entries."""
    item = _staff_process(request, slug, PAPER)
    if item.status != Process.Status.PUBLISHED:
        raise Http404
    return item


@staff_only(PAPER)
def paper(request: HttpRequest, slug: str) -> HttpResponse:
    """What can be entered on paper in a process now."""
    item = _paper_process(request, slug)
    return render(
        request,
        "participation/staff/paper.html",
        {"process": item, "choices": selectors.paper_choices(item)},
    )


def _paper_done(
    request: HttpRequest, form: SubmissionForm, item: Process, text: str
) -> HttpResponse:
    url = _staff_url(item, "participation_paper")
    _remember(request, form, url)
    messages.success(request, text)
    return redirect(url)


@staff_only(PAPER)
def paper_response(request: HttpRequest, slug: str) -> HttpResponse:
    """Enter a resident's paper response to an open consultation (``?consultation=``)."""
    from ecitizen.participation.forms_consultations import ConsultationForm
    from ecitizen.participation.services.consultations import response_record

    item = _paper_process(request, slug)
    consultation = selectors.paper_consultation_or_404(item, request.GET.get("consultation", ""))
    person = PaperPersonForm(_posted(request), prefix="person")
    answers = ConsultationForm(consultation=consultation, data=_posted(request))
    status = 200
    if request.method == "POST":
        again = _already_done(request, person)
        if again is not None:
            return again
        status = 400
        if person.is_valid() and answers.is_valid():
            try:
                response_record(
                    consultation=consultation,
                    answers=answers.answers(),
                    person_key=person_key_for_national_id(person.cleaned_data["national_id"]),
                    channel=Channel.PAPER,
                    entered_by=_user(request),
                    actor=_user(request),
                )
            except ParticipationError as error:
                person.add_error(None, str(error.message))
            else:
                return _paper_done(request, person, item, _("The paper response is recorded."))
    return render(
        request,
        "participation/staff/paper_response.html",
        {"process": item, "consultation": consultation, "form": person, "answers": answers},
        status=status,
    )


@staff_only(PAPER)
def paper_support(request: HttpRequest, slug: str) -> HttpResponse:
    """Enter a resident's paper support of a proposal (by its reference)."""
    from ecitizen.participation.services.proposals import support_add

    item = _paper_process(request, slug)
    form = PaperSupportForm(_posted(request))
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            proposal = selectors.proposal_by_reference(item, form.cleaned_data["reference"])
            if proposal is None:
                form.add_error(
                    "reference", _("No published proposal of this process has this reference")
                )
            else:
                try:
                    support_add(
                        proposal=proposal,
                        person_key=person_key_for_national_id(form.cleaned_data["national_id"]),
                        channel=Channel.PAPER,
                        entered_by=_user(request),
                        actor=_user(request),
                    )
                except ParticipationError as error:
                    form.add_error(None, str(error.message))
                else:
                    return _paper_done(
                        request,
                        form,
                        item,
                        _("The paper support of “%(proposal)s” is recorded.")
                        % {"proposal": proposal.tr("title")},
                    )
    return render(
        request,
        "participation/staff/paper_support.html",
        {"process": item, "form": form},
        status=status,
    )


@staff_only(PAPER)
def paper_ballot(request: HttpRequest, slug: str) -> HttpResponse:
    """Enter a resident's paper ballot in a heading of the budget (``?heading=``)."""
    from ecitizen.participation.selectors.budgets import (
        budget_public_or_404,
        heading_of_or_404,
        money,
        on_ballot,
    )
    from ecitizen.participation.services.budgets import ballot_cast

    item = _paper_process(request, slug)
    heading = heading_of_or_404(budget_public_or_404(item.slug), request.GET.get("heading", ""))
    projects = on_ballot(heading)
    form = PaperBallotForm(_posted(request), projects=projects)
    form.fields["projects"].choice_hints = {str(p.pk): money(p.cost) for p in projects}  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            try:
                ballot_cast(
                    heading=heading,
                    project_ids=form.project_ids(),
                    person_key=person_key_for_national_id(form.cleaned_data["national_id"]),
                    channel=Channel.PAPER,
                    entered_by=_user(request),
                    actor=_user(request),
                )
            except ParticipationError as error:
                form.add_error(
                    "projects" if error.code != "vote_closed" else None, str(error.message)
                )
            else:
                return _paper_done(request, form, item, _("The paper ballot is recorded."))
    return render(
        request,
        "participation/staff/paper_ballot.html",
        {"process": item, "heading": heading, "form": form, "amount": money(heading.amount)},
        status=status,
    )


@staff_only(PAPER)
def paper_entries(request: HttpRequest) -> HttpResponse:
    """Where the official can enter paper participation (the published processes of their
    remit), and the paper entries they made (nobody else's)."""
    return render(
        request,
        "participation/staff/paper_entries.html",
        {
            "processes": selectors.processes_in_remit(request.user, PAPER).filter(
                status=Process.Status.PUBLISHED
            ),
            "entries": selectors.paper_entries_by(user=request.user),
        },
    )


urls: list[URLPattern] = [
    path("", processes, name="processes"),
    path("code-of-conduct/", code_of_conduct, name="code_of_conduct"),
    path("yours/", mine, name="mine"),
    path("news/", news, name="news"),
    path("<slug:slug>/", process, name="process"),
    path("<slug:slug>/documents/<int:document_id>/", process_document, name="process_document"),
    path("<slug:slug>/census/", census_claim, name="census_claim"),
    path("<slug:slug>/follow/", process_follow, name="process_follow"),
]
staff_urls: list[URLPattern] = [
    path("", staff_home, name="participation"),
    path("new/", process_new, name="participation_process_new"),
    path("paper/entries/", paper_entries, name="participation_paper_entries"),
    path("<slug:slug>/", process_detail, name="participation_process"),
    path("<slug:slug>/edit/", process_edit, name="participation_process_edit"),
    path("<slug:slug>/phases/", phases, name="participation_phases"),
    path("<slug:slug>/rules/", rules, name="participation_rules"),
    path("<slug:slug>/documents/", documents, name="participation_documents"),
    path("<slug:slug>/census/", census, name="participation_census"),
    path("<slug:slug>/census/codes/", census_codes, name="participation_census_codes"),
    path("<slug:slug>/invite/", invite, name="participation_invite"),
    path("<slug:slug>/publish/", publish, name="participation_publish"),
    path("<slug:slug>/archive/", archive, name="participation_archive"),
    path("<slug:slug>/paper/", paper, name="participation_paper"),
    path("<slug:slug>/paper/response/", paper_response, name="participation_paper_response"),
    path("<slug:slug>/paper/support/", paper_support, name="participation_paper_support"),
    path("<slug:slug>/paper/ballot/", paper_ballot, name="participation_paper_ballot"),
]

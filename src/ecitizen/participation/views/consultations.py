"""Participation pages: consultations and surveys.

Residents (``/participate/<process>/consultations/<consultation>/``): the consultation
with its questions and who may respond; the response page (every question on one page,
the earlier answers filled in for someone responding again); the confirmation of an
anonymous response from its emailed link; the results once it has closed; the published
outcome. Organisers (``/staff/participation/<process>/consultations/``): create, change,
open and close it, see the counts, export the answers, publish the outcome.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecitizen.accounts.models import User
from ecitizen.catalogue.spec import localised
from ecitizen.core import charts
from ecitizen.core.access import public, staff_only
from ecitizen.core.csvcells import csv_cell
from ecitizen.core.forms import submission_already_done, submission_remember
from ecitizen.core.http import client_ip
from ecitizen.participation.forms_consultations import (
    QUESTIONS_EXAMPLE,
    ConsultationEditForm,
    ConsultationForm,
    OutcomeForm,
)
from ecitizen.participation.models import Action, Consultation, Process, Target
from ecitizen.participation.selectors import consultations as selectors
from ecitizen.participation.selectors.processes import process_for_staff
from ecitizen.participation.services import PARTICIPATION_ORGANISE, ParticipationError
from ecitizen.participation.services import consultations as services
from ecitizen.participation.views.common import participant, process_public_or_404

#: Session keys: the response forms already acted on (one-off key to the page it led
#: to), and what the last response to each consultation became (for its "done" page).
SUBMISSIONS_KEY = "participation.consultation_submissions"
DONE_KEY = "participation.consultation_done"
#: The organisers' new consultations, by the one-off key of the form that made them.
STAFF_SESSION_KEY = "participation.consultation_staff"
RECORDED, PENDING = "recorded", "pending"


def _official(request: HttpRequest) -> User:
    """The signed-in official of a staff page (``staff_only`` let no one else in)."""
    return request.user  # type: ignore[return-value]


def _consultation(slug: str, cslug: str) -> tuple[Process, Consultation]:
    process = process_public_or_404(slug)
    return process, selectors.consultation_public_or_404(process=process, slug=cslug)


def _page(consultation: Consultation, **extra: Any) -> dict[str, Any]:
    """What every resident page of a consultation shows about it."""
    return {
        "consultation": consultation,
        "process": consultation.process,
        "state": selectors.consultation_state(consultation),
        "first_day": selectors.first_day(consultation),
        "last_day": selectors.last_day(consultation),
        "body": consultation.tr("body"),
        "outcome": consultation.tr("outcome"),
        **extra,
    }


def _preview(consultation: Consultation) -> list[dict[str, Any]]:
    """The questions as the consultation's page lists them, with the choices."""
    return [
        {
            "label": localised(question["label"]),
            "required": question.get("required", True),
            "choices": [localised(choice["label"]) for choice in question.get("choices", [])],
        }
        for question in consultation.questions
    ]


def _comments(request: HttpRequest, process: Process, consultation: Consultation) -> Any:
    """The comments panel's context, when the comments area is installed."""
    try:
        get_template("participation/_comments.html")
    except TemplateDoesNotExist:
        return None
    from ecitizen.participation.selectors.comments import comments_context

    return comments_context(request, process, Target.CONSULTATION, consultation.pk)


def _done_remember(request: HttpRequest, consultation: Consultation, outcome: str) -> None:
    done = dict(request.session.get(DONE_KEY) or {})
    done[str(consultation.pk)] = outcome
    request.session[DONE_KEY] = done


# --- residents ---------------------------------------------------------------------------------


@public
def consultation(request: HttpRequest, slug: str, cslug: str) -> HttpResponse:
    """The consultation: what it is about, its dates, its questions, and whether this
    person may respond (with the reasons when not); its comments."""
    process, found = _consultation(slug, cslug)
    who = participant(request, process, Action.RESPOND)
    comments = _comments(request, process, found)
    return render(
        request,
        "participation/consultation.html",
        _page(
            found,
            eligibility=who.eligibility,
            preview=_preview(found),
            responded=selectors.has_responded(consultation=found, person_key=who.person_key),
            comments=comments,
            comments_shown=comments is not None,
        ),
    )


@public
def consultation_respond(request: HttpRequest, slug: str, cslug: str) -> HttpResponse:
    """Every question on one page. A signed-in resident (or a census code's holder) who
    responded before sees their answers and replaces them; without an account, where the
    organiser allows it, an email address confirms the response. Sent twice, it is one
    response; closed, nothing is written and the page says why."""
    process, found = _consultation(slug, cslug)
    who = participant(request, process, Action.RESPOND)
    context = _page(found, eligibility=who.eligibility)
    if context["state"] != selectors.OPEN:
        # Sent after it closed too: the page says so, and nothing is written.
        return render(request, "participation/consultation_respond.html", context)
    if not who.eligibility.allowed:
        return render(
            request,
            "participation/consultation_respond.html",
            context,
            status=403 if request.method == "POST" else 200,
        )
    anonymous = who.person_key is None
    previous = selectors.response_answers(consultation=found, person_key=who.person_key)
    if request.method == "POST":
        form = ConsultationForm(consultation=found, data=request.POST, ask_email=anonymous)
        repeat = submission_already_done(request, form, session_key=SUBMISSIONS_KEY)
        if repeat is not None:
            return repeat
        if form.is_valid():
            try:
                if anonymous:
                    services.pending_response_create(
                        consultation=found,
                        email=form.email(),
                        answers=form.answers(),
                        ip_address=client_ip(request),
                    )
                else:
                    services.response_record(
                        consultation=found,
                        answers=form.answers(),
                        person_key=who.person_key or "",
                        channel=who.channel,
                        actor=request.user if request.user.is_authenticated else None,
                    )
            except ParticipationError as error:
                form.add_error(None, str(error.message))
            else:
                done_url = reverse("participation:consultation_done", args=[slug, cslug])
                _done_remember(request, found, PENDING if anonymous else RECORDED)
                submission_remember(request, form, done_url, session_key=SUBMISSIONS_KEY)
                return redirect(done_url)
    else:
        form = ConsultationForm(consultation=found, previous=previous, ask_email=anonymous)
    return render(
        request,
        "participation/consultation_respond.html",
        {**context, "form": form, "anonymous": anonymous, "previous": bool(previous)},
    )


@public
def consultation_done(request: HttpRequest, slug: str, cslug: str) -> HttpResponse:
    """The response was recorded, or (anonymous) "check your email"."""
    _process, found = _consultation(slug, cslug)
    outcome = (request.session.get(DONE_KEY) or {}).get(str(found.pk))
    if outcome is None:
        return redirect("participation:consultation", slug, cslug)
    return render(
        request,
        "participation/consultation_done.html",
        _page(found, pending=outcome == PENDING, hours=services.CONFIRMATION_HOURS),
    )


@public
def consultation_confirm(
    request: HttpRequest, slug: str, cslug: str, pending_id: UUID, token: str
) -> HttpResponse:
    """The link emailed to an anonymous respondent. GET only shows a button (mail
    scanners open links, and must not confirm responses); POST confirms."""
    _process, found = _consultation(slug, cslug)
    if request.method != "POST":
        return render(request, "participation/consultation_confirm.html", _page(found))
    try:
        services.pending_response_confirm(consultation=found, pending_id=pending_id, token=token)
    except ParticipationError as error:
        return render(
            request,
            "participation/consultation_confirm.html",
            _page(found, error=str(error.message)),
            status=400,
        )
    _done_remember(request, found, RECORDED)
    return redirect("participation:consultation_done", slug, cslug)


def _percent_text(option: selectors.OptionResult) -> str:
    if option.share is None:
        return charts.number_label(option.count)
    # Translators: a share of answers and their count, e.g. "42% (21)".
    return _("%(percent)s (%(count)s)") % {
        "percent": charts.percent_label(option.share),
        "count": charts.number_label(option.count),
    }


def _number(value: Any) -> str:
    return "" if value is None else charts.number_label(float(value))


def _result_charts(results: selectors.Results) -> list[dict[str, Any]]:
    """Each question's figures as the page writes them, with a bar chart (its table
    beside it) for choice questions."""
    shown = []
    for number, question in enumerate(results.questions, start=1):
        chart = None
        rows = [
            (
                option.label,
                charts.number_label(option.count),
                "" if option.share is None else charts.percent_label(option.share),
            )
            for option in question.options
        ]
        if question.options:
            chart = charts.bar_chart(
                categories=[option.label for option in question.options],
                series=[(_("People"), [option.count for option in question.options])],
                texts=[[_percent_text(option) for option in question.options]],
                title=question.label,
                id_prefix=f"question-{number}-chart",
                category_label=_("Answer"),
                integer=True,
            )
        shown.append(
            {
                "number": number,
                "question": question,
                "chart": chart,
                "rows": rows,
                "median": _number(question.median),
                "lowest": _number(question.lowest),
                "highest": _number(question.highest),
            }
        )
    return shown


@public
def consultation_results(request: HttpRequest, slug: str, cslug: str) -> HttpResponse:
    """Once it has closed: each question's answers counted, charted and tabled; free text
    only counted. Before: when the results will come."""
    _process, found = _consultation(slug, cslug)
    context = _page(found)
    if context["state"] == selectors.CLOSED:
        results = selectors.consultation_results(consultation=found)
        context.update(results=results, questions=_result_charts(results))
    return render(request, "participation/consultation_results.html", context)


@public
def consultation_outcome(request: HttpRequest, slug: str, cslug: str) -> HttpResponse:
    """The published outcome; 404 until it is published."""
    _process, found = _consultation(slug, cslug)
    if found.outcome_published_at is None:
        raise Http404
    return render(request, "participation/consultation_outcome.html", _page(found))


# --- organisers --------------------------------------------------------------------------------


@staff_only(PARTICIPATION_ORGANISE)
def staff_consultation_new(request: HttpRequest, slug: str) -> HttpResponse:
    """A new consultation or survey of a process in the organiser's remit, saved as a
    draft."""
    process = process_for_staff(user=request.user, slug=slug, capability=PARTICIPATION_ORGANISE)
    form = ConsultationEditForm(data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        # A double click or a reload of the POST leads to the consultation made first.
        repeated = submission_already_done(request, form, session_key=STAFF_SESSION_KEY)
        if repeated is not None:
            return repeated
    if request.method == "POST" and form.is_valid():
        try:
            created = services.consultation_create(
                process=process, data=form.consultation_input(), actor=_official(request)
            )
        except ParticipationError as error:
            form.add_error(None, str(error.message))
        else:
            here = reverse("staff:participation_consultation", args=[process.slug, created.slug])
            submission_remember(request, form, here, session_key=STAFF_SESSION_KEY)
            messages.success(request, _("The consultation is saved as a draft."))
            return redirect(here)
    return render(
        request,
        "participation/staff/consultation_form.html",
        {"process": process, "form": form, "example": QUESTIONS_EXAMPLE},
    )


_STAFF_ACTIONS = {
    "open": (services.consultation_open, gettext_lazy("The consultation is open.")),
    "close": (services.consultation_close, gettext_lazy("The consultation is closed.")),
}


@staff_only(PARTICIPATION_ORGANISE)
def staff_consultation(request: HttpRequest, slug: str, cslug: str) -> HttpResponse:
    """The organiser's page: state, counts (with the online-and-paper doubles), open or
    close it, change its texts, dates and questions."""
    found = selectors.consultation_for_staff_or_404(
        user=request.user, slug=slug, consultation_slug=cslug
    )
    form = ConsultationEditForm(consultation=found)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action in _STAFF_ACTIONS:
        service, done = _STAFF_ACTIONS[action]
        try:
            service(consultation=found, actor=_official(request))
        except ParticipationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, str(done))
        return redirect("staff:participation_consultation", slug, cslug)
    if action == "save":
        form = ConsultationEditForm(data=request.POST, consultation=found)
        if form.is_valid():
            try:
                services.consultation_update(
                    consultation=found, data=form.consultation_input(), actor=_official(request)
                )
            except ParticipationError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(request, _("The changes are saved."))
                return redirect("staff:participation_consultation", slug, cslug)
    elif request.method == "POST":
        return HttpResponse(status=400)
    return render(
        request,
        "participation/staff/consultation.html",
        {
            **_page(found),
            "form": form,
            "counts": selectors.consultation_counts(consultation=found),
            "example": QUESTIONS_EXAMPLE,
        },
    )


@staff_only(PARTICIPATION_ORGANISE)
def staff_consultation_export(request: HttpRequest, slug: str, cslug: str) -> HttpResponse:
    """Every response's answers as CSV for analysis (free text included), naming no one;
    audited as an export."""
    found = selectors.consultation_for_staff_or_404(
        user=request.user, slug=slug, consultation_slug=cslug
    )
    header, rows = services.responses_export(consultation=found, actor=_official(request))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{found.process.slug}-{found.slug}-responses.csv"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@staff_only(PARTICIPATION_ORGANISE)
def staff_consultation_outcome(request: HttpRequest, slug: str, cslug: str) -> HttpResponse:
    """Write and publish the outcome (once it has closed); publishing again corrects it."""
    found = selectors.consultation_for_staff_or_404(
        user=request.user, slug=slug, consultation_slug=cslug
    )
    state = selectors.consultation_state(found)
    if request.method == "POST":
        form = OutcomeForm(data=request.POST, consultation=found)
        if form.is_valid():
            try:
                services.outcome_publish(
                    consultation=found,
                    outcome=form.cleaned_data["outcome"],
                    translations=form.translations(),
                    actor=_official(request),
                )
            except ParticipationError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(request, _("The outcome is published."))
                return redirect("staff:participation_consultation", slug, cslug)
    else:
        form = OutcomeForm(consultation=found)
    return render(
        request,
        "participation/staff/consultation_outcome.html",
        {**_page(found), "state": state, "form": form},
    )


urls: list[URLPattern] = [
    path("<slug:slug>/consultations/<slug:cslug>/", consultation, name="consultation"),
    path(
        "<slug:slug>/consultations/<slug:cslug>/respond/",
        consultation_respond,
        name="consultation_respond",
    ),
    path(
        "<slug:slug>/consultations/<slug:cslug>/confirm/<uuid:pending_id>/<str:token>/",
        consultation_confirm,
        name="consultation_confirm",
    ),
    path(
        "<slug:slug>/consultations/<slug:cslug>/done/", consultation_done, name="consultation_done"
    ),
    path(
        "<slug:slug>/consultations/<slug:cslug>/results/",
        consultation_results,
        name="consultation_results",
    ),
    path(
        "<slug:slug>/consultations/<slug:cslug>/outcome/",
        consultation_outcome,
        name="consultation_outcome",
    ),
]
staff_urls: list[URLPattern] = [
    path(
        "<slug:slug>/consultations/new/",
        staff_consultation_new,
        name="participation_consultation_new",
    ),
    path(
        "<slug:slug>/consultations/<slug:cslug>/",
        staff_consultation,
        name="participation_consultation",
    ),
    path(
        "<slug:slug>/consultations/<slug:cslug>/responses.csv",
        staff_consultation_export,
        name="participation_consultation_export",
    ),
    path(
        "<slug:slug>/consultations/<slug:cslug>/outcome/",
        staff_consultation_outcome,
        name="participation_consultation_outcome",
    ),
]

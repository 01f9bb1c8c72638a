"""Pages of the feedback app: the satisfaction form that confirmation pages carry, sending
a compliment, a suggestion or a complaint (signed in, or with an email address confirmed
by a link), a complaint's own page, "You said, we did", and the officials' figures.

Thin views: an access rule, a form, one service or selector, a page. A refused input
comes back with its error named at the field and everything typed kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecitizen.cases.selectors import case_action_public_text
from ecitizen.cases.services import spec_for
from ecitizen.core.access import public, staff_only
from ecitizen.core.errors import DomainError
from ecitizen.feedback import selectors, services
from ecitizen.feedback.forms import (
    ChangeForm,
    ComplaintForm,
    ConfirmForm,
    EscalateForm,
    RatingForm,
    RemarkForm,
    WithdrawForm,
    new_form_key,
)
from ecitizen.feedback.models import Kind, ServiceChange, Step, Submission


def _posted(request: HttpRequest) -> Any:
    """A form's data: the POST (even an empty one, so that it shows its errors), or
    ``None`` on GET."""
    return request.POST if request.method == "POST" else None


# --- rating a transaction ----------------------------------------------------------------


@public
def rate(request: HttpRequest) -> HttpResponse:
    """The satisfaction form of a confirmation page posts here (``token``: the signed
    transaction); a GET with ``?token=`` shows the form on a page of its own, or the
    thanks once it is rated. A second rating of the same transaction (a double click, a
    second tab) is refused kindly: one rating is kept."""
    token = (request.POST if request.method == "POST" else request.GET).get("token", "")
    try:
        completed = services.rating_token_read(token)
    except services.FeedbackError as error:
        return render(request, "feedback/rate_link.html", {"message": error.message}, status=400)
    form = RatingForm(_posted(request), initial={"token": token})
    rated = selectors.rating_exists(step=completed.step, reference=completed.reference)
    if request.method != "POST":
        return _rate_page(request, completed, form, rated=rated)
    if rated:
        messages.info(request, _("You have already told us what you thought of this. Thank you."))
        return _redirect_with_token(token)
    if not form.is_valid():
        return _rate_page(request, completed, form)
    try:
        services.rating_record(
            completed=completed,
            level=form.cleaned_data["level"],
            comment=form.cleaned_data["comment"] or "",
        )
    except services.FeedbackError as error:
        if error.code != "already_rated":
            form.add_error("comment" if error.code == "too_long" else "level", str(error.message))
            return _rate_page(request, completed, form)
        messages.info(request, str(error.message))
    return _redirect_with_token(token)


def _redirect_with_token(token: str) -> HttpResponse:
    return redirect(f"{reverse('feedback:rate')}?{urlencode({'token': token})}")


def _rate_page(
    request: HttpRequest,
    completed: services.Completed,
    form: RatingForm,
    *,
    rated: bool = False,
) -> HttpResponse:
    """The form on a page of its own (with its errors, everything typed kept: a
    resident's page answers 200 as the other journeys do), or the thanks."""
    return render(
        request,
        "feedback/rate.html",
        {
            "form": form,
            "rated": rated,
            "step": Step(completed.step).label,
            "service_title": selectors.service_label(
                completed.service_key, selectors.service_by_id(completed.service_id)
            ),
        },
    )


# --- compliments, suggestions, complaints -------------------------------------------------


@public
def start(request: HttpRequest) -> HttpResponse:
    """ "Tell us what you think": a compliment, a suggestion or a complaint."""
    return render(request, "feedback/start.html")


_KINDS = {kind.value: kind for kind in Kind}


def _form_for(request: HttpRequest, kind: str) -> RemarkForm | ComplaintForm:
    options: dict[str, Any] = {
        "about_choices": selectors.about_choices(),
        "signed_in": request.user.is_authenticated,
        "initial": {"form_key": new_form_key(), "about": request.GET.get("about", "")},
    }
    if kind == Kind.COMPLAINT:
        return ComplaintForm(_posted(request), **options)
    return RemarkForm(_posted(request), kind=kind, **options)


@public
def send(request: HttpRequest, kind: str) -> HttpResponse:
    """A compliment, a suggestion or a complaint. Signed in, it is received at once;
    otherwise the visitor confirms their email address by a link first. A complaint
    opens a case in the complaints team's queue."""
    if kind not in _KINDS:
        raise Http404
    form = _form_for(request, kind)
    if request.method == "POST" and form.is_valid():
        try:
            # One transaction: a refusal also undoes the account made for a visitor.
            with transaction.atomic():
                submission = _send(request, kind, form.cleaned_data)
        except DomainError as error:
            field = {
                "about": "about",
                "empty": "text" if kind != Kind.COMPLAINT else "what_happened",
            }
            form.add_error(field.get(error.code), str(error.message))
            return _send_page(request, kind, form)
        return _after_sending(request, submission)
    return _send_page(request, kind, form)


def _send(request: HttpRequest, kind: str, data: dict[str, Any]) -> Submission:
    about = selectors.about_from_value(data["about"])
    if request.user.is_authenticated:
        author, confirmed = request.user, True
    else:
        author, confirmed = services.author_for_email(email=data["email"], name=data["name"]), False
    if kind == Kind.COMPLAINT:
        return services.complaint_send(
            about=about,
            answers=services.ComplaintAnswers(
                what_happened=data["what_happened"], put_right=data["put_right"] or ""
            ),
            author=author,
            confirmed=confirmed,
            form_key=data["form_key"],
        )
    return services.remark_send(
        kind=kind,
        about=about,
        text=data["text"],
        author=author,
        confirmed=confirmed,
        form_key=data["form_key"],
    )


def _after_sending(request: HttpRequest, submission: Submission) -> HttpResponse:
    if submission.status == Submission.Status.PENDING:
        return redirect("feedback:check_email")
    if submission.kind == Kind.COMPLAINT:
        messages.success(request, _("Your complaint has been sent."))
        return redirect(services.complaint_link(submission))
    return redirect("feedback:thanks")


def _send_page(request: HttpRequest, kind: str, form: RemarkForm | ComplaintForm) -> HttpResponse:
    titles = {
        Kind.COMPLIMENT: _("Send a compliment"),
        Kind.SUGGESTION: _("Make a suggestion"),
        Kind.COMPLAINT: _("Make a complaint"),
    }
    return render(
        request,
        "feedback/send.html",
        {"form": form, "kind": kind, "title": titles[_KINDS[kind]]},
    )


@public
def check_email(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/check_email.html", {"hours": services.CONFIRMATION_HOURS})


@public
def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/thanks.html")


@public
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link emailed to a visitor: a button sends what they wrote (a GET changes
    nothing, so a mail scanner that opens links sends nothing)."""
    form = ConfirmForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            submission = services.submission_confirm(token=token)
        except services.FeedbackError as error:
            return render(request, "feedback/confirm.html", {"problem": error.message}, status=400)
        return _after_sending(request, submission)
    pending = selectors.submission_pending(token=token)
    if pending is None:
        problem = _("This link is not valid. It may have been used already: check your email.")
        return render(request, "feedback/confirm.html", {"problem": problem}, status=400)
    return render(request, "feedback/confirm.html", {"form": form, "submission": pending})


def _complaint_context(submission: Submission) -> dict[str, Any]:
    assert submission.case is not None
    spec = spec_for(submission.case.service_version)
    rules = services.complaint_rules(spec)
    replies = []
    for stage in ("responded", "stage2_responded"):
        for action in spec.actions.values():
            if action["to"] == rules.states[stage] and not action["by"].get("resident"):
                text = case_action_public_text(case_id=submission.case.pk, action=action["id"])
                if text.event_id is not None:
                    replies.append((stage, text))
    return {
        "submission": submission,
        "case": submission.case,
        "status": spec.state_label(submission.case.state),
        "closed": spec.is_terminal(submission.case.state),
        "may_escalate": submission.case.state == rules.states["responded"],
        "replies": replies,
        "about": selectors.complaint_about(submission),
    }


@public
def complaint(request: HttpRequest, token: str) -> HttpResponse:
    """A complaint's own page, at the signed address emailed to its complainant: where
    it stands, the deadlines, our replies, and asking for a stage 2 review."""
    submission = selectors.complaint_for_link(token=token)
    form = EscalateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.complaint_escalate(
                submission=submission,
                reason=form.cleaned_data["reason"],
                actor=submission.author,
            )
        except DomainError as error:
            form.add_error("reason", str(error.message))
        else:
            messages.success(request, _("You have asked for a review of your complaint."))
            return redirect(request.path)
    context = _complaint_context(submission)
    return render(request, "feedback/complaint.html", {**context, "form": form})


# --- "You said, we did" ------------------------------------------------------------------


@public
def changes(request: HttpRequest) -> HttpResponse:
    """Every service with changes made in answer to feedback."""
    return render(request, "feedback/changes.html", {"services": selectors.services_with_changes()})


@public
def service_changes(request: HttpRequest, slug: str) -> HttpResponse:
    service = selectors.service_for_changes(slug=slug)
    page = Paginator(selectors.changes_published(service=service), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "feedback/service_changes.html",
        {"service": service, "title": selectors.service_label(service.slug, service), "page": page},
    )


# --- officials ------------------------------------------------------------------------------


def _int(value: str | None, default: int, allowed: tuple[int, ...]) -> int:
    return int(value) if value and value.isdigit() and int(value) in allowed else default


@staff_only(services.FEEDBACK_READ)
def staff_satisfaction(request: HttpRequest) -> HttpResponse:
    """Satisfaction per service and month within the official's departments."""
    departments = selectors.departments_in_remit(user=request.user)
    chosen = request.GET.get("department", "")
    department = next((d for d in departments if d.slug == chosen), None)
    months = _int(request.GET.get("months"), 6, (3, 6, 12))
    rows = selectors.satisfaction_by_service(
        user=request.user,
        months=months,
        department_id=department.pk if department is not None else None,
    )
    return render(
        request,
        "feedback/staff/satisfaction.html",
        {
            "rows": rows,
            "months": months,
            "window": [selectors.month_label(month) for month in selectors.months_back(months)],
            "departments": departments,
            "department": department,
        },
    )


@staff_only(services.FEEDBACK_READ)
def staff_comments(request: HttpRequest) -> HttpResponse:
    """The comments left with ratings, and the compliments and suggestions received,
    searchable, with the service and the step."""
    query = request.GET.get("q", "").strip()[:200]
    service_key = request.GET.get("service", "")
    show = request.GET.get("show", "")
    if show in (Kind.COMPLIMENT, Kind.SUGGESTION):
        found: Any = selectors.remarks(
            user=request.user, kind=show, query=query, service_key=service_key
        )
    else:
        found = selectors.rating_comments(
            user=request.user, query=query, service_key=service_key, step=show
        )
    page = Paginator(found, 25).get_page(request.GET.get("page"))
    remark = show in (Kind.COMPLIMENT, Kind.SUGGESTION)
    return render(
        request,
        "feedback/staff/comments.html",
        {
            "page": page,
            "rows": [_comment_row(item, remark=remark) for item in page],
            "query": query,
            "service_key": service_key,
            "show": show,
            "steps": Step.choices,
            "services": selectors.rated_service_keys(user=request.user),
            "remark": remark,
        },
    )


def _comment_row(item: Any, *, remark: bool) -> dict[str, Any]:
    """One line of the comments page: when, about which service, at which step (or what
    kind of remark), how satisfied, and the (redacted) text."""
    if remark:
        service = item.about_service
        return {
            "date": item.created_at,
            "service": selectors.service_label(service.slug, service)
            if service is not None
            else str(item.about_department),
            "step": item.get_kind_display(),
            "level": "",
            "text": item.text,
        }
    return {
        "date": item.created_at,
        "service": selectors.service_label(item.service_key, item.service),
        "step": item.get_step_display(),
        "level": item.get_level_display(),
        "text": item.comment,
    }


@staff_only(services.FEEDBACK_READ)
def staff_complaints(request: HttpRequest) -> HttpResponse:
    """Complaint figures per month: received, acknowledged and replied to in time,
    escalated to stage 2, open and overdue."""
    months = _int(request.GET.get("months"), 6, (3, 6, 12))
    return render(
        request,
        "feedback/staff/complaints.html",
        {
            "figures": selectors.complaint_figures(user=request.user, months=months),
            "months": months,
        },
    )


def _staff_service_page(
    request: HttpRequest,
    service: Any,
    *,
    change_form: ChangeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "feedback/staff/service.html",
        {
            "service": service,
            "title": selectors.service_label(service.slug, service),
            "satisfaction": selectors.service_satisfaction(user=request.user, service=service),
            "comments": selectors.rating_comments(user=request.user, service_key=service.slug)[:10],
            "changes": list(selectors.changes_for_staff(service=service)),
            "may_publish": services.may_publish(request.user, service.department_id),
            "form": change_form or ChangeForm(),
        },
        status=status,
    )


@staff_only(services.FEEDBACK_READ)
def staff_service(request: HttpRequest, slug: str) -> HttpResponse:
    """One service: its satisfaction by month, its latest comments and its "You said,
    we did" changes (published here by those who may)."""
    service = selectors.service_for_staff(user=request.user, slug=slug)
    return _staff_service_page(request, service)


@staff_only(services.FEEDBACK_PUBLISH)
@require_POST
def staff_change_publish(request: HttpRequest, slug: str) -> HttpResponse:
    service = selectors.service_for_staff(user=request.user, slug=slug)
    form = ChangeForm(request.POST)
    if not form.is_valid():
        return _staff_service_page(request, service, change_form=form, status=400)
    try:
        services.change_publish(
            service=service,
            you_said=form.cleaned_data["you_said"],
            we_did=form.cleaned_data["we_did"],
            actor=request.user,  # type: ignore[arg-type]
        )
    except DomainError as error:
        form.add_error(None, str(error.message))
        return _staff_service_page(request, service, change_form=form, status=403)
    messages.success(request, _("The change is published on the service's page."))
    return redirect("staff:feedback_service", slug)


@staff_only(services.FEEDBACK_PUBLISH)
@require_POST
def staff_change_withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    service = selectors.service_for_staff(user=request.user, slug=slug)
    form = WithdrawForm(request.POST)
    change: ServiceChange | None = None
    if form.is_valid():
        change = (
            selectors.changes_for_staff(service=service)
            .filter(pk=form.cleaned_data["change"])
            .first()
        )
    if change is None:
        messages.error(request, _("Choose the change to withdraw"))
        return _staff_service_page(request, service, status=400)
    try:
        services.change_withdraw(change=change, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, str(error.message))
        return _staff_service_page(request, service, status=403)
    messages.success(request, _("The change is no longer shown to the public."))
    return redirect("staff:feedback_service", slug)

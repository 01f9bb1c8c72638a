"""Pages of erasure: the resident asks to close their account (after confirming it is
them), follows or withdraws the request, and reads the statement afterwards; the
data-protection officer works the queue, sees what approving would erase and keep, and
decides."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ecitizen.core.access import public, signed_in, staff_only
from ecitizen.core.errors import DomainError
from ecitizen.core.http import client_ip
from ecitizen.privacy import erasure
from ecitizen.privacy.erasure_forms import ErasureDecisionForm, ErasureRequestForm
from ecitizen.privacy.models import ErasureRequest


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


@signed_in
@reauthentication_required(allow_get=True)
@require_http_methods(["GET", "POST"])
def erasure_status(request: HttpRequest) -> HttpResponse:
    """The resident's "Close your account" page: the form to ask (POST asks, once they
    confirmed their password again if they signed in a while ago), or their open
    request with its deadline and a button to withdraw it, and their past requests."""
    user = request.user
    open_request = erasure.erasure_request_open_for(user=user)
    form = ErasureRequestForm()
    if request.method == "POST" and open_request is None:
        form = ErasureRequestForm(request.POST)
        if form.is_valid():
            try:
                erasure.erasure_request_submit(
                    user=user,
                    reason=form.cleaned_data["reason"] or "",
                    actor=user,
                    ip_address=client_ip(request),
                )
            except DomainError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(
                    request,
                    _("We have received your request. We will tell you our decision."),
                )
                return redirect("privacy:erasure_status")
    elif request.method == "POST":
        return redirect("privacy:erasure_status")
    past = [r for r in erasure.erasure_requests_of(user=user) if not r.is_open][:10]
    return _private(
        render(
            request,
            "privacy/erasure_status.html",
            {"form": form, "open_request": open_request, "past": past},
        )
    )


@signed_in
@require_POST
def erasure_withdraw(request: HttpRequest) -> HttpResponse:
    """The resident withdraws their open request (nothing open: back to the page)."""
    open_request = erasure.erasure_request_open_for(user=request.user)
    if open_request is not None:
        try:
            erasure.erasure_request_withdraw(request=open_request, actor=request.user)
        except DomainError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request, _("You have withdrawn your request. Your account stays open.")
            )
    return redirect("privacy:erasure_status")


# The account it belonged to is closed and cannot sign in: the statement is read at a
# link whose random token (kept hashed) was emailed to the address the account had and
# shown to the officer once, hence public (an unknown token is a 404).
@public
@require_GET
def erasure_statement(request: HttpRequest, token: str) -> HttpResponse:
    found = erasure.erasure_statement_get(token=token)
    if found is None:
        raise Http404
    erased, kept = erasure.statement_lines(found.statement)
    response = render(
        request,
        "privacy/erasure_statement.html",
        {"erasure_request": found, "erased": erased, "kept": kept},
    )
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return _private(response)


@staff_only(erasure.ERASURE_DECIDE)
@require_GET
def erasure_queue(request: HttpRequest) -> HttpResponse:
    """The officer's queue: open requests by deadline (``?status=`` for the closed)."""
    status = request.GET.get("status", ErasureRequest.Status.SUBMITTED)
    if status not in ErasureRequest.Status.values:
        status = ErasureRequest.Status.SUBMITTED
    requests = list(erasure.erasure_queue(user=request.user, status=status)[:200])
    return _private(
        render(
            request,
            "privacy/erasure_queue.html",
            {
                "requests": requests,
                "status": status,
                "statuses": ErasureRequest.Status.choices,
                "Status": ErasureRequest.Status,
            },
        )
    )


@staff_only(erasure.ERASURE_DECIDE)
@require_http_methods(["GET", "POST"])
def erasure_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """One request: who asked, why, by when; what approving would erase and keep (each
    app's plan); the decision form while it is open, else the decision."""
    try:
        found = erasure.erasure_request_get_for_officer(user=request.user, reference=reference)
    except ErasureRequest.DoesNotExist:
        raise Http404 from None
    form = ErasureDecisionForm()
    if request.method == "POST":
        form = ErasureDecisionForm(request.POST)
        if form.is_valid():
            try:
                if form.cleaned_data["decision"] == ErasureDecisionForm.APPROVE:
                    erasure.erasure_request_approve(request=found, actor=request.user)
                    messages.success(
                        request,
                        _(
                            "The data has been erased and the account closed. The resident "
                            "was sent the statement."
                        ),
                    )
                else:
                    erasure.erasure_request_refuse(
                        request=found, reason=form.cleaned_data["reason"], actor=request.user
                    )
                    messages.success(
                        request, _("The request has been refused. We told the resident.")
                    )
            except DomainError as error:
                form.add_error(None, str(error.message))
            else:
                return redirect("staff:privacy_erasure_detail", reference=found.reference)
    if found.is_open:
        plan = erasure.erasure_plan(user=found.requester)
        erased, kept = erasure.statement_lines(plan)
    else:
        erased, kept = erasure.statement_lines(found.statement)
    return _private(
        render(
            request,
            "privacy/erasure_detail.html",
            {
                "erasure_request": found,
                "requester": found.requester,
                "profile": getattr(found.requester, "profile", None) if found.is_open else None,
                "erased": erased,
                "kept": kept,
                "form": form,
                "Status": ErasureRequest.Status,
            },
        )
    )

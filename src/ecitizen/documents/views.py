"""Checking a document (public), the resident's documents, and the staff page that
revokes one."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ecitizen.core.access import public, signed_in, staff_only
from ecitizen.core.errors import DomainError
from ecitizen.core.http import client_ip
from ecitizen.documents import selectors, services
from ecitizen.documents.forms import RevokeForm, VerifyForm
from ecitizen.documents.http import bytes_response, upload_response


def _private(response: HttpResponse) -> HttpResponse:
    """Keep a page about one document out of search engines and shared caches."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    add_never_cache_headers(response)
    return response


@public
@require_GET
def verify(request: HttpRequest) -> HttpResponse:
    # GET, so the form needs no CSRF token and the code never lands in a session.
    form = VerifyForm(request.GET if "code" in request.GET else None)
    if form.is_bound and form.is_valid():
        return redirect("documents:verify_document", code=form.cleaned_data["code"])
    return _private(render(request, "documents/verify.html", {"form": form}))


@public
@require_GET
def verify_document(request: HttpRequest, code: str) -> HttpResponse:
    document = selectors.document_for_verification(code=code)
    if document is None:
        raise Http404
    if code != document.code:  # typed in lower case or with hyphens: one address per code
        return redirect("documents:verify_document", code=document.code)
    return _private(
        render(
            request,
            "documents/verify_document.html",
            {
                "document": document,
                "status": selectors.document_status(document),
                "printed": document.printed_pairs(),
            },
        )
    )


@signed_in
@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    documents = [
        (document, selectors.document_status(document))
        for document in selectors.documents_for_owner(user=request.user)
    ]
    return _private(render(request, "documents/list.html", {"documents": documents}))


@signed_in
@require_GET
def document_download(request: HttpRequest, code: str) -> HttpResponse:
    document = selectors.document_get_for_owner(user=request.user, code=code)
    return upload_response(document.pdf)


@staff_only(services.DOCUMENTS_STAFF)
@require_http_methods(["GET", "POST"])
def staff_document_detail(request: HttpRequest, code: str) -> HttpResponse:
    form = RevokeForm()
    if request.method == "POST":
        form = RevokeForm(request.POST)
        if form.is_valid():
            try:
                services.document_revoke(
                    document=selectors.document_get_for_staff(code=code, user=request.user),
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    ip_address=client_ip(request),
                )
            except DomainError as error:
                form.add_error("reason", str(error.message))
            else:
                messages.success(
                    request, _("The document has been revoked. We will tell the holder.")
                )
                return redirect("staff:document_detail", code=services.normalise_code(code))
    # Showing the document to an official is recorded (the redirect above shows it next).
    document = selectors.document_view_for_staff(
        code=code, actor=request.user, ip_address=client_ip(request)
    )
    return _private(
        render(
            request,
            "documents/staff_detail.html",
            {
                "document": document,
                "status": selectors.document_status(document),
                "printed": document.printed_pairs(),
                "form": form,
                "may_revoke": services.document_may_revoke(user=request.user, document=document),
            },
        )
    )


@staff_only(services.DOCUMENTS_STAFF)
@require_GET
def staff_document_pdf(request: HttpRequest, code: str) -> HttpResponse:
    document = selectors.document_view_for_staff(
        code=code, actor=request.user, ip_address=client_ip(request)
    )
    return bytes_response(
        selectors.document_pdf(document=document),
        filename=document.pdf.filename,
        content_type="application/pdf",
        inline=True,
    )

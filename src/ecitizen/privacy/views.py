"""Pages of the privacy app's download and records parts: "Your data" (ask for a
download of everything we hold about you, see it being prepared, download it), the public
summary of the records of processing, and the full records for the data-protection
officer. (Erasure's pages are in ``erasure_views``.)"""

from __future__ import annotations

import uuid

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ecitizen.core import crypto
from ecitizen.core.access import public, signed_in, staff_only
from ecitizen.core.context_processors import brand
from ecitizen.core.http import client_ip
from ecitizen.core.stored_files import STORAGE_ERRORS
from ecitizen.privacy import exports, selectors
from ecitizen.privacy.models import DataExport


@signed_in
@require_http_methods(["GET", "POST"])
def your_data(request: HttpRequest) -> HttpResponse:
    """The resident's "Your data" page. POST asks for a download (one at a time: asking
    again while one is being prepared shows that one). The page does not refresh itself
    (a timed refresh fails WCAG 2.2.1): it shows how far preparing got, a link to check
    again, and the resident is sent a message when it is ready."""
    if request.method == "POST":
        _export, created = exports.export_request(
            user=request.user,
            language=translation.get_language() or "",
            actor=request.user,
        )
        if created:
            messages.success(
                request,
                _("We are preparing your data. We will send you a message when it is ready."),
            )
        else:
            messages.info(request, _("Your data is already being prepared."))
        return redirect("privacy:data")
    export = selectors.export_current_for_user(user=request.user)
    downloadable = export is not None and selectors.export_downloadable(export)
    return render(
        request,
        "privacy/your_data.html",
        {
            "export": export,
            "downloadable": downloadable,
            "lifetime_days": exports.export_lifetime().days,
            "Status": DataExport.Status,
        },
    )


#: Why a stored download cannot be given back: changed or swapped (it fails to decrypt), or
#: the storage cannot read it (a disk error, S3 refusing or unreachable).
_UNREADABLE: tuple[type[Exception], ...] = (crypto.DecryptionError, *STORAGE_ERRORS)


@signed_in
@reauthentication_required
@require_GET
def download(request: HttpRequest, export_id: uuid.UUID) -> HttpResponse:
    """The ZIP of a ready download, to its owner only (anyone else: 404). A download past
    its expiry, or no longer held, gets a page saying so (410). It holds everything about
    the resident, so whoever signed in a while ago (``ACCOUNT_REAUTHENTICATION_TIMEOUT``)
    confirms it is them first, and comes back here."""
    export = selectors.export_get_for_owner(user=request.user, export_id=export_id)
    if not selectors.export_downloadable(export):
        return render(request, "privacy/export_gone.html", {"export": export}, status=410)
    try:
        content = selectors.export_content(export=export)
    except _UNREADABLE:
        return render(
            request, "privacy/export_gone.html", {"export": export, "damaged": True}, status=410
        )
    exports.export_downloaded(export=export, actor=request.user, ip_address=client_ip(request))
    response = HttpResponse(content, content_type="application/zip")
    stamp = timezone.localtime(export.finished_at or export.requested_at).strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="your-data-{stamp}.zip"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@public
@require_GET
def records_summary(request: HttpRequest) -> HttpResponse:
    """Public: what the authority processes about residents, why, on what lawful basis,
    who receives it and how long it is kept (from the records of processing). Public
    because the privacy notice, which anyone may read, links to it (GDPR articles 13-14)."""
    return render(
        request, "privacy/records_public.html", {"records": selectors.records_of_processing()}
    )


@staff_only(selectors.RECORDS_READ)
@require_GET
def records_staff(request: HttpRequest) -> HttpResponse:
    """The records of processing for the data-protection officer; ``?format=csv`` or
    ``?format=markdown`` downloads them."""
    records = selectors.records_of_processing()
    wanted = request.GET.get("format", "")
    if wanted == "csv":
        response = HttpResponse(selectors.records_as_csv(records), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="records-of-processing.csv"'
        return response
    if wanted == "markdown":
        text = selectors.records_as_markdown(records, controller=str(brand()["name"]))
        response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="records-of-processing.md"'
        return response
    return render(request, "privacy/records_staff.html", {"records": records})

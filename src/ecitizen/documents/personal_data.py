"""What the documents app holds about a resident, for their data rights (the ``privacy``
app): the documents issued to them (licences, permits, certificates, receipts) with their
signed PDFs. Their uploaded files are exported with what they were uploaded for (the
applications). Registered as ``documents`` in ``DocumentsConfig.ready()``."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "documents"


def export(user: Any) -> dict[str, Any]:
    """Every document issued to ``user`` (current, expired or revoked), its printed
    details decrypted and its signed PDF."""
    from ecitizen.documents.models import IssuedDocument
    from ecitizen.documents.selectors import document_pdf, document_status

    items: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    documents = IssuedDocument.objects.filter(owner=user).select_related("pdf", "department")
    for document in documents.order_by("issued_at", "pk"):
        path = f"files/documents/{document.code}.pdf"
        items.append(
            {
                "kind": "issued_document",
                "title": document.title,
                "reference": document.reference,
                "verification_code": document.code_display,
                "holder_name": document.holder_name,
                "printed": [[label, value] for label, value in document.printed_pairs()],
                "issued_at": document.issued_at,
                "valid_until": document.valid_until,
                "status": document_status(document),
                "revoked_at": document.revoked_at,
                "revoked_reason": document.revoked_reason or "",
                "department": document.department.name if document.department else None,
                "file": path,
            }
        )
        files.append(
            {
                "path": path,
                "content_type": "application/pdf",
                "read": partial(document_pdf, document=document),
            }
        )
    return {"items": items, "files": files}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your documents"),
    purpose=_(
        "To issue licences, permits, certificates and receipts, and let anyone you show them "
        "to check that they are genuine."
    ),
    lawful_basis="public_task",
    categories=(
        _("Name of the holder"),
        _("Details printed on the document"),
        _("Uploaded files, kept encrypted"),
    ),
    recipients=_(
        "Officials of the issuing department; anyone you give the verification code to sees "
        "what is printed on the document."
    ),
    retention=_(
        "Issued documents are kept as long as the law requires for each kind, so that they "
        "can still be verified."
    ),
    export=export,
    order=30,
)

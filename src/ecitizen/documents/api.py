"""Issued documents in the public API.

- ``/api/v1/documents``: the documents issued to the resident (``documents:read``), and
  each one's signed PDF.
- ``/api/v1/documents/verify/{code}``: anyone holding a document checks it is genuine,
  as on the public verification page: it answers only what is printed on the document.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from ecitizen.api.auth import OAuth2, principal_of
from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.api.problems import ApiProblem
from ecitizen.documents import selectors
from ecitizen.documents.models import IssuedDocument

router = Router()


class PrintedLine(Schema):
    label: str
    value: str


class Document(Schema):
    code: str
    title: str
    reference: str = ""
    status: str
    issued_at: datetime.datetime
    valid_until: datetime.date | None = None
    revoked_at: datetime.datetime | None = None
    printed: list[PrintedLine]


class Verification(Document):
    """What the document says, and whether it is ``genuine``, ``expired`` or
    ``revoked``."""

    holder_name: str


def _document(document: IssuedDocument) -> dict[str, Any]:
    return {
        "code": document.code,
        "title": document.title,
        "reference": document.reference,
        "status": selectors.document_status(document),
        "issued_at": document.issued_at,
        "valid_until": document.valid_until,
        "revoked_at": document.revoked_at,
        "printed": [{"label": label, "value": value} for label, value in document.printed_pairs()],
    }


@router.get("/verify/{code}", response=Verification, auth=None, url_name="document_verify")
def document_verify(request: HttpRequest, code: str) -> dict[str, Any]:
    """Check a document by the verification code printed on it (any case, spaces or
    hyphens). 404 for an unknown code. Public: holding the code is holding the
    document, and the answer is what is printed on it."""
    document = selectors.document_for_verification(code=code)
    if document is None:
        raise ApiProblem(404, "unknown_document", _("No document has this verification code."))
    return {**_document(document), "holder_name": document.holder_name}


@router.get(
    "", response=page_of(Document), auth=OAuth2(["documents:read"]), url_name="documents_list"
)
def documents_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """The documents issued to the resident, newest first."""
    user = principal_of(request).user
    return paginate(request, selectors.documents_for_owner(user=user), page, transform=_document)


@router.get(
    "/{code}", response=Document, auth=OAuth2(["documents:read"]), url_name="document_detail"
)
def document_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    """One of the resident's documents; 404 for anyone else's."""
    user = principal_of(request).user
    return _document(selectors.document_get_for_owner(user=user, code=code))


@router.get(
    "/{code}/pdf",
    response={200: None},
    auth=OAuth2(["documents:read"]),
    url_name="document_pdf",
    openapi_extra={
        "responses": {
            200: {
                "description": "The signed PDF.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def document_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The signed PDF of one of the resident's documents; 404 for anyone else's."""
    user = principal_of(request).user
    document = selectors.document_get_for_owner(user=user, code=code)
    response = HttpResponse(
        selectors.document_pdf(document=document), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{document.code}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response

"""Reads of the documents app. A resident's documents go only to that resident; staff
reads are audited; the public sees only what is printed on a document."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from ecitizen.accounts.selectors import user_acting_as
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.services import audit_record
from ecitizen.documents import storage
from ecitizen.documents.models import IssuedDocument, Upload
from ecitizen.documents.services import (
    CODE_PATTERN,
    DOCUMENT_VIEW_CAPABILITY,
    document_in_remit,
    normalise_code,
)

GENUINE = "genuine"
EXPIRED = "expired"
REVOKED = "revoked"


def upload_get(*, upload_id: uuid.UUID | str) -> Upload:
    """One upload by its id, or ``Http404`` (also for a malformed id).

    Who may see it is the calling view's decision.
    """
    try:
        key = upload_id if isinstance(upload_id, uuid.UUID) else uuid.UUID(str(upload_id))
    except ValueError:
        raise Http404 from None
    upload = Upload.objects.filter(pk=key).first()
    if upload is None:
        raise Http404
    return upload


def documents_for_owner(*, user: Any) -> QuerySet[IssuedDocument]:
    """The documents issued to ``user``, newest first."""
    if not getattr(user, "is_authenticated", False):
        return IssuedDocument.objects.none()
    return IssuedDocument.objects.filter(owner=user).order_by("-issued_at", "-pk")


def _owner_documents_about(owner: Any, reference: str) -> QuerySet[IssuedDocument]:
    return IssuedDocument.objects.filter(owner=owner, reference=reference).order_by(
        "-issued_at", "-pk"
    )


_OWNER_DOCUMENTS_ABOUT = CompiledQuery(
    IssuedDocument,
    _owner_documents_about,
    owner=(-7_031_962_471, IssuedDocument._meta.get_field("owner")),
    reference=("RIV-XX-0000-000000", IssuedDocument._meta.get_field("reference")),
)


def documents_for_owner_about(*, user: Any, reference: str) -> list[IssuedDocument]:
    """``documents_for_owner(user=user).filter(reference=reference)``, newest first: the
    documents issued for one of the person's cases, which its page lists on every visit
    (through a query compiled once: built by the ORM, a seventh of the page's work)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return _OWNER_DOCUMENTS_ABOUT.objects(owner=user.pk, reference=reference)


def document_get_for_owner(*, user: Any, code: str) -> IssuedDocument:
    """The owner's document with this code; ``Http404`` for anyone else or no such code."""
    document = documents_for_owner(user=user).filter(code=normalise_code(code)).first()
    if document is None:
        raise Http404
    return document


def document_for_verification(*, code: str) -> IssuedDocument | None:
    """The document with this code (typed in any case, with spaces or hyphens), or
    ``None``. What a page may show of it is what is printed on it."""
    normalised = normalise_code(code)
    if not CODE_PATTERN.fullmatch(normalised):
        return None
    return IssuedDocument.objects.filter(code=normalised).first()


def document_get_for_staff(*, code: str, user: Any) -> IssuedDocument:
    """A document within the official's remit (a role assignment of theirs that works
    with this kind of document covers its department and ward), or ``Http404`` — the
    same answer as for an unknown code."""
    document = (
        IssuedDocument.objects.select_related("owner", "revoked_by", "pdf")
        .filter(code=normalise_code(code))
        .first()
    )
    if document is None or not document_in_remit(
        user=user, document=document, capability=DOCUMENT_VIEW_CAPABILITY[document.remit]
    ):
        raise Http404
    return document


def document_view_for_staff(
    *, code: str, actor: Any, ip_address: str | None = None
) -> IssuedDocument:
    """A document shown to an official, with the view written to the audit trail.

    ``Http404`` for an unknown code or a document outside the official's remit. Side
    effect: an audit event ``personal_data.viewed`` that the holder sees in their data
    tracker.
    """
    document = document_get_for_staff(code=code, user=actor)
    audit_record(
        action="personal_data.viewed",
        actor=actor,
        actor_role=user_acting_as(actor, DOCUMENT_VIEW_CAPABILITY[document.remit]),
        obj=document,
        subject_user_id=document.owner_id,
        ip_address=ip_address,
    )
    return document


def document_pdf(*, document: IssuedDocument) -> bytes:
    """The signed PDF of a document (decrypted). Precondition: the caller may see it."""
    return storage.read_decrypted(document.pdf)


def document_status(document: IssuedDocument, *, now: datetime.datetime | None = None) -> str:
    """``"revoked"`` (from the moment it is revoked), ``"expired"`` (``now``, by default
    the current time, is past its valid-until date, local time) or ``"genuine"``."""
    if document.revoked_at is not None:
        return REVOKED
    moment = now or timezone.now()
    if document.valid_until is not None and timezone.localdate(moment) > document.valid_until:
        return EXPIRED
    return GENUINE

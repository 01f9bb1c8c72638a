"""Writes of the documents app: encrypted uploads, issuing and revoking documents.

Every write is audited. Other apps (cases) call these functions; nothing else writes the
documents models.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import secrets
import unicodedata
from collections.abc import Sequence
from typing import Any, cast

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import remit_covers, user_acting_as
from ecitizen.core.errors import DomainError
from ecitizen.core.events import DocumentIssued, DocumentRevoked, event_publish
from ecitizen.core.services import MASK, audit_record
from ecitizen.documents import render, signing, storage
from ecitizen.documents.inspect import Refusal, inspect_upload
from ecitizen.documents.models import IssuedDocument, Remit, Upload
from ecitizen.notifications.services import notification_send

#: What each accepted format is called in messages, and the file name extensions it keeps.
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "application/pdf": ("PDF", ("pdf",)),
    "image/jpeg": ("JPG", ("jpg", "jpeg")),
    "image/png": ("PNG", ("png",)),
    # Street-report photos (phones' own format); service definitions name their formats.
    "image/webp": ("WebP", ("webp",)),
}
#: Letters and digits that cannot be mistaken for one another when typed from paper.
#: Capabilities of this app (roles holding them: ``DocumentsConfig.ready``), always
#: exercised within the document's department and ward.
DOCUMENTS_CASEWORK = "documents.casework"  # licences, permits and certificates
DOCUMENTS_RECEIPTS = "documents.receipts"  # payment receipts
DOCUMENTS_REVOKE = "documents.revoke"  # a supervisor of the issuing department
#: The staff document pages' first gate: held by every role that opens some document
#: (give it too when granting one of the two above to a new role).
DOCUMENTS_STAFF = "documents.staff"
#: The capability that opens a document of each remit.
DOCUMENT_VIEW_CAPABILITY: dict[str, str] = {
    Remit.CASEWORK: DOCUMENTS_CASEWORK,
    Remit.FINANCE: DOCUMENTS_RECEIPTS,
}


def document_in_remit(*, user: Any, document: IssuedDocument, capability: str) -> bool:
    """Whether one role assignment of ``user`` holding ``capability`` covers the
    document's department and ward."""
    return remit_covers(
        user, capability, departments=document.department_id, ward_id=document.ward_id
    )


def document_may_revoke(*, user: Any, document: IssuedDocument) -> bool:
    return document_in_remit(user=user, document=document, capability=DOCUMENTS_REVOKE)


CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16  # about 79 random bits
CODE_PATTERN = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
_MEGABYTE = 1024 * 1024
_FILENAME_UNSAFE = re.compile(r'[<>:"/\\|?*]+')


class UploadRejected(DomainError):
    """The file cannot be accepted; ``message`` is the GOV.UK error message to show."""

    code = "upload_rejected"


class DocumentError(DomainError):
    code = "document_error"


# --- Uploads ----------------------------------------------------------------------------


def _size_label(max_bytes: int) -> str:
    if max_bytes >= _MEGABYTE:
        megabytes = round(max_bytes / _MEGABYTE, 1)
        decimals = 0 if megabytes == int(megabytes) else 1
        return _("%(size)s MB") % {"size": number_format(megabytes, decimal_pos=decimals)}
    kilobytes = max(1, round(max_bytes / 1024))
    return _("%(size)s KB") % {"size": number_format(kilobytes)}


def _formats_label(allowed_types: Sequence[str]) -> str:
    names = [FORMATS[t][0] for t in allowed_types if t in FORMATS]
    if len(names) <= 1:
        return names[0] if names else ""
    # Translators: the end of a list of file formats, e.g. "PDF, JPG or PNG".
    return _("%(list)s or %(last)s") % {"list": ", ".join(names[:-1]), "last": names[-1]}


def sanitise_filename(name: str, *, extension: str, accepted: Sequence[str] = ()) -> str:
    """A safe download name: the last path segment, without control or bidirectional
    formatting characters or characters that file systems refuse, at most 100 characters
    before the extension. The extension is the detected format's unless the person's own
    is one of ``accepted`` ("photo.jpeg" stays; "photo.pdf" holding a PNG becomes
    "photo.png")."""
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] not in {"C", "Z"} or ch == " ")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _FILENAME_UNSAFE.sub("_", stem).strip(" ._")[:100].strip(" ._") or "document"
    chosen = suffix.lower() if suffix.lower() in accepted else extension
    return f"{stem}.{chosen}"


def _refusal_message(refusal: Refusal) -> str:
    """The GOV.UK error message for a file whose content was refused (see ``inspect``)."""
    if refusal.code == "image_too_large":
        return _(
            "The selected image has too many pixels. Choose an image of %(megapixels)s "
            "megapixels or fewer, such as a photo taken with a phone"
        ) % {"megapixels": number_format(refusal.megapixels)}
    if refusal.code == "image_unreadable":
        return _(
            "The selected image cannot be opened. Check it opens on your device, then try again"
        )
    if refusal.code == "pdf_active_content":
        return _(
            "The selected PDF contains scripts or attached files. Save it as a new PDF (for "
            "example, choose Print and then Save as PDF), then upload that"
        )
    if refusal.code == "pdf_too_expanded":
        return _(
            "The selected PDF is too large once opened. Save it as a new PDF (for example, "
            "choose Print and then Save as PDF), then upload that"
        )
    return _(
        "The selected PDF cannot be checked. Save it as a new PDF (for example, choose Print "
        "and then Save as PDF), then upload that"
    )


@transaction.atomic
def upload_store(
    *,
    owner: Any,
    file: UploadedFile,
    allowed_types: Sequence[str],
    max_bytes: int,
    actor: Any,
    ip_address: str | None = None,
) -> Upload:
    """Check a file a person uploaded and keep it encrypted.

    Reads at most ``max_bytes + 1`` bytes. Refuses (:class:`UploadRejected`, with the
    GOV.UK error message) a file that is empty, larger than ``max_bytes``, or whose
    content, recognised by its magic bytes, is not one of ``allowed_types`` (MIME types
    among ``application/pdf``, ``image/jpeg`` and ``image/png``), whatever its name or the
    browser's content type say. It also refuses images of more than
    ``UPLOAD_IMAGE_MAX_MEGAPIXELS``, and PDFs with scripts or attached files or that
    expand past ``UPLOAD_PDF_MAX_INFLATED_MB`` (:mod:`ecitizen.documents.inspect`), and
    any file when the storage cannot keep it (a full disk: code ``not_stored``).

    Side effects: the ciphertext in the default storage, the :class:`Upload` row, and an
    audit event ``documents.upload_stored`` (format and size; never the content or name).
    """
    if file.size is not None and file.size > max_bytes:
        raise UploadRejected(
            _("The selected file must be smaller than %(size)s") % {"size": _size_label(max_bytes)},
            code="too_big",
        )
    # A stream that cannot seek is read from where it is.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        file.seek(0)
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadRejected(
            _("The selected file must be smaller than %(size)s") % {"size": _size_label(max_bytes)},
            code="too_big",
        )
    if not data:
        raise UploadRejected(_("The selected file is empty"), code="empty")
    kind = filetype.guess(data)
    detected = kind.mime if kind is not None else ""
    if detected not in allowed_types or detected not in FORMATS:
        raise UploadRejected(
            _("The selected file must be a %(formats)s")
            % {"formats": _formats_label(allowed_types)},
            code="wrong_type",
        )
    try:
        inspect_upload(data, detected)
    except Refusal as refusal:
        raise UploadRejected(_refusal_message(refusal), code=refusal.code) from None
    extensions = FORMATS[detected][1]
    try:
        upload = storage.store_encrypted(
            owner=owner,
            data=data,
            filename=sanitise_filename(
                file.name or "", extension=extensions[0], accepted=extensions
            ),
            content_type=detected,
            actor=actor,
        )
    except storage.StorageError:
        # The storage is full or failing (logged as an error): the person is told, and
        # can send the file again later; nothing was kept.
        raise UploadRejected(
            _("The selected file could not be uploaded. Try again later"), code="not_stored"
        ) from None
    audit_record(
        action="documents.upload_stored",
        actor=actor,
        actor_role="" if actor is None or actor == owner else user_acting_as(actor),
        obj=upload,
        subject_user_id=getattr(owner, "pk", None),
        changes={"content_type": detected, "size": len(data)},
        ip_address=ip_address,
    )
    return upload


def upload_read(*, upload: Upload) -> bytes:
    """The decrypted content of an upload.

    Precondition: the caller has decided that whoever gets the bytes may see them.
    Raises :class:`ecitizen.core.crypto.DecryptionError` if the stored object was changed.
    """
    return storage.read_decrypted(upload)


@transaction.atomic
def upload_delete(*, upload: Upload, actor: Any) -> bool:
    """Delete an upload that nothing refers to any more (a file taken off an application
    in progress, the files of an expired or deleted one): its row now, its stored
    ciphertext once the caller's transaction commits, so that a rollback, which brings
    the row back, does not lose the file it names.

    Returns ``False``, and deletes nothing, when a row still refers to the upload (a case
    file, an issued document). Side effect: an audit event ``documents.upload_deleted``.
    """
    name, owner_id, pk = upload.storage_name, upload.owner_id, upload.pk
    try:
        with transaction.atomic():
            deleted, _rows = Upload.objects.filter(pk=pk).delete()
    except ProtectedError:
        return False
    if not deleted:
        return False  # deleted meanwhile by someone else, who removes the file
    storage.delete_on_commit(name)
    audit_record(
        action="documents.upload_deleted",
        actor=actor,
        object_type="documents.upload",
        object_id=str(pk),
        subject_user_id=owner_id,
    )
    return True


def uploads_unreferenced(*, older_than: datetime.timedelta) -> QuerySet[Upload]:
    """Uploads created more than ``older_than`` ago that no row of any app refers to
    (every relation to :class:`Upload` is checked, so a new one is covered). Recent ones
    are left out: the row that will refer to a new upload is written in the same
    transaction, which may not have committed yet."""
    unreferenced = Upload.objects.filter(created_at__lt=timezone.now() - older_than)
    for relation in Upload._meta.related_objects:
        model = cast("type[Model]", relation.related_model)
        referring = model._base_manager.values(relation.field.attname)
        unreferenced = unreferenced.exclude(pk__in=referring)
    return unreferenced


def uploads_sweep(*, older_than: datetime.timedelta, actor: Any = None) -> int:
    """Delete (as :func:`upload_delete`, one transaction each) the uploads that nothing
    refers to, such as the files of applications in progress removed before deleting
    them was done at once. Returns how many were deleted."""
    deleted = 0
    for pk in list(uploads_unreferenced(older_than=older_than).values_list("pk", flat=True)):
        upload = Upload.objects.filter(pk=pk).first()
        if upload is not None and upload_delete(upload=upload, actor=actor):
            deleted += 1
    return deleted


# --- Issued documents -------------------------------------------------------------------


def new_code() -> str:
    """A random verification code (16 characters of :data:`CODE_ALPHABET`)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """A code as typed (any case, with spaces or hyphens) in its stored form."""
    return re.sub("[\\s\\-\u2010\u2011\u2012\u2013\u2014]+", "", str(text or "")).upper()


def _language(language: str) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else str(settings.LANGUAGE_CODE)


def _download_name(title: str, reference: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", unicodedata.normalize("NFKD", title)).strip("-").lower()
    return sanitise_filename(f"{stem[:60] or 'document'}-{reference}", extension="pdf")


def _current(reference: str, template: str) -> IssuedDocument | None:
    return (
        IssuedDocument.objects.filter(reference=reference, template=template, revoked_at=None)
        .select_related("pdf")
        .first()
    )


@transaction.atomic
def document_issue(
    *,
    owner: Any,
    template: str,
    title: str,
    reference: str,
    holder_name: str,
    printed: Sequence[tuple[str, str]] | Sequence[Sequence[str]],
    valid_for_days: int | None,
    language: str,
    actor: Any,
    department: Any = None,
    ward: Any = None,
    remit: str = Remit.CASEWORK,
) -> IssuedDocument:
    """Issue a signed PDF document to ``owner``, or return the current one.

    ``department``, ``ward`` and ``remit`` say which officials may open and revoke it:
    those whose role assignment covers that department and ward (the case's; a receipt
    takes its bill's department and ``Remit.FINANCE``).

    Idempotent per ``(reference, template)``: while a document for them is not revoked,
    it is returned unchanged (also when two calls race: the database keeps one). The PDF
    is rendered from ``documents/pdf/<template>.html`` in ``language`` (the default
    language if it is not one of ours), carries a QR code of its verification address
    (``PUBLIC_BASE_URL/verify/<code>/``), and is signed (PAdES B-B) with the authority's
    key. ``valid_for_days`` counts from today (local time); ``None``: no expiry.

    Raises :class:`DocumentError` for an unknown template. Side effects: the encrypted
    PDF in storage, the rows, an audit event ``documents.document_issued`` and the
    ``DocumentIssued`` event (not when the document already existed).
    """
    existing = _current(reference, template)
    if existing is not None:
        return existing
    if not render.template_exists(template):
        raise DocumentError(
            _("There is no document template called %(name)s.") % {"name": template},
            code="unknown_template",
        )
    if valid_for_days is not None and valid_for_days < 1:
        raise ValueError("valid_for_days must be at least 1, or None")
    lines = [(str(label), str(value)) for label, value in printed]
    language = _language(language)
    code = new_code()
    issued_at = timezone.now()
    valid_until = (
        timezone.localdate(issued_at) + datetime.timedelta(days=valid_for_days)
        if valid_for_days
        else None
    )
    pdf = render.render_pdf(
        template=template,
        code=code,
        title=title,
        reference=reference,
        holder_name=holder_name,
        printed=lines,
        issued_at=issued_at,
        valid_until=valid_until,
        language=language,
    )
    with translation.override(language):
        reason = _("Issued by %(authority)s") % {"authority": settings.AUTHORITY_NAME}
    signed = signing.sign_pdf(pdf, reason=reason)
    upload = storage.store_encrypted(
        owner=owner,
        data=signed,
        filename=_download_name(title, reference),
        content_type="application/pdf",
        actor=actor,
    )
    try:
        with transaction.atomic():
            document = IssuedDocument.objects.create(
                code=code,
                owner=owner,
                title=title,
                template=template,
                reference=reference,
                holder_name=holder_name,
                printed=[list(line) for line in lines],
                language=language,
                issued_at=issued_at,
                valid_until=valid_until,
                pdf=upload,
                pdf_sha256=upload.sha256,
                department=department,
                ward=ward,
                remit=remit,
            )
    except IntegrityError:
        # Another process issued the same document meanwhile: theirs is the one.
        storage.discard(upload)
        winner = _current(reference, template)
        if winner is None:
            raise
        return winner
    audit_record(
        action="documents.document_issued",
        actor=actor,
        obj=document,
        subject_user_id=getattr(owner, "pk", None),
        changes={
            "reference": reference,
            "template": template,
            "valid_until": valid_until,
            "pdf_sha256": document.pdf_sha256,
        },
    )
    event_publish(
        DocumentIssued(
            document_id=document.pk,
            reference=reference,
            template=template,
            owner_id=document.owner_id,
            department_id=document.department_id,
        )
    )
    return document


@transaction.atomic
def _notify_revoked(document_id: int, actor: Any) -> None:
    """Tell the holder their document was revoked (run once the revocation committed)."""
    document = IssuedDocument.objects.select_related("owner").get(pk=document_id)
    if document.owner is None:  # a receipt of a payment made without an account
        return
    notification_send(
        recipient=document.owner,
        event="document_revoked",
        context={
            "title": document.title,
            "reference": document.reference,
            "reason": document.revoked_reason,
            "verify_url": render.verification_url(document.code),
            # Where the holder sees their documents (made absolute by notifications).
            "url": reverse("documents:list"),
        },
        actor=actor,
    )


@transaction.atomic
def document_revoke(
    *, document: IssuedDocument, reason: str, actor: Any, ip_address: str | None = None
) -> IssuedDocument:
    """Revoke a document: its verification page says so from now on.

    Precondition: none on ``actor``; the check is here. An official may revoke only a
    document whose department (and ward) one of their supervisor assignments covers;
    ``actor=None`` is the platform itself.

    ``reason`` is required (it is recorded, and sent to the holder; the public
    verification page shows only the date). Raises :class:`DocumentError` without a
    reason or when the document is already revoked. Side effects: an audit event
    ``documents.document_revoked``, the ``DocumentRevoked`` event and, once committed, a
    ``document_revoked`` notification to the owner.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DocumentError(_("Enter why the document is being revoked"), code="reason_required")
    document = IssuedDocument.objects.select_for_update().get(pk=document.pk)
    if actor is not None and not document_may_revoke(user=actor, document=document):
        raise DocumentError(
            _("Only a supervisor of the department that issued this document can revoke it."),
            code="not_allowed",
        )
    if document.revoked_at is not None:
        raise DocumentError(
            _("This document has already been revoked."),
            code="already_revoked",
        )
    now = timezone.now()
    document.revoked_at = now
    document.revoked_reason = reason
    document.revoked_by = actor if getattr(actor, "pk", None) else None
    document.save(update_fields=["revoked_at", "revoked_reason", "revoked_by"])
    audit_record(
        action="documents.document_revoked",
        actor=actor,
        actor_role=user_acting_as(actor) if actor is not None else "",
        obj=document,
        subject_user_id=document.owner_id,
        changes={
            "revoked_at": {"before": None, "after": now},
            # The reason may be about the holder (it is kept encrypted on the document).
            "reason": {"before": "", "after": MASK},
        },
        ip_address=ip_address,
    )
    document_id = document.pk
    transaction.on_commit(lambda: _notify_revoked(document_id, actor), robust=True)
    event_publish(
        DocumentRevoked(
            document_id=document.pk,
            reference=document.reference,
            template=document.template,
            owner_id=document.owner_id,
            department_id=document.department_id,
        )
    )
    return document

"""Erasure of a resident's files and of what their issued documents say about them
(ADR 0023). Runs after the erasers of the apps that refer to uploads (cases, reports,
feedback), so that the files those delete are gone already.

- Uploads of the resident that nothing refers to any more: deleted (row and stored file).
- Uploads something still refers to (the PDF of an issued document, a photo on a public
  street report): the stored ciphertext is replaced by a short encrypted note saying the
  file was erased, and its name by ``erased.txt``; the old ciphertext is deleted once the
  transaction commits. Pages that offer the file keep working.
- Issued documents: kept, so that anyone shown one can still check at ``/verify/<code>/``
  that it is genuine (its code, title, dates, status and the fingerprint of its PDF stay);
  the holder's name and the printed values are erased (the labels stay), and so is the
  reason of a revocation.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, cast

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import ForeignObjectRel, Model, QuerySet
from django.utils.translation import gettext_lazy as _

from ecitizen.core import crypto
from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.documents import storage
from ecitizen.documents.models import IssuedDocument, Upload
from ecitizen.documents.services import upload_delete

NAME = "documents"
#: What an erased value reads on the verification page and in staff pages.
ERASED = "[erased]"
ERASED_FILENAME = "erased.txt"
_NOTE = (
    b"This file was erased at the request of the person it concerned "
    b"(right to erasure, GDPR article 17).\n"
)
#: The digest an erased upload records (file names are encrypted: not a lookup).
_NOTE_SHA256 = hashlib.sha256(_NOTE).hexdigest()


def _referenced(queryset: QuerySet[Upload]) -> QuerySet[Upload]:
    """The uploads of ``queryset`` that a row of any app refers to."""
    referenced = Upload.objects.none()
    # Every relation, those without a reverse accessor (related_name="+") included.
    relations = [
        field
        for field in Upload._meta.get_fields(include_hidden=True)
        if isinstance(field, ForeignObjectRel)
    ]
    for relation in relations:
        model = cast("type[Model]", relation.related_model)
        ids = model._base_manager.values(relation.field.attname)
        referenced = referenced | queryset.filter(pk__in=ids)
    return referenced.distinct()


def upload_erase_content(*, upload: Upload, actor: Any) -> None:
    """Replace ``upload``'s stored file by an encrypted note that it was erased (the row
    stays for what refers to it). The old ciphertext is deleted once the transaction
    commits; if it rolls back, the new note is left in storage without a row (unreadable
    and harmless). Side effect: audit ``documents.upload_erased``."""
    old_name = upload.storage_name
    blob = crypto.encrypt_bytes(_NOTE, context=upload.encryption_context)
    upload.storage_name = default_storage.save(
        storage.storage_name_for(uuid.uuid4().hex), ContentFile(blob)
    )
    upload.filename = ERASED_FILENAME
    upload.content_type = "text/plain"
    upload.size = len(_NOTE)
    upload.sha256 = _NOTE_SHA256
    upload.key_id = crypto.active_key_id()
    upload.save()
    storage.delete_on_commit(old_name)
    audit_record(
        action="documents.upload_erased",
        actor=actor,
        obj=upload,
        subject_user_id=upload.owner_id,
    )


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    documents = IssuedDocument.objects.filter(owner=user)
    # Encrypted: which still name the holder is seen once decrypted.
    named = [document for document in documents if document.holder_name != ERASED]
    uploads = Upload.objects.filter(owner=user).exclude(sha256=_NOTE_SHA256)
    referenced = _referenced(uploads)
    referenced_ids = set(referenced.values_list("pk", flat=True))
    counts = {
        "deleted": uploads.exclude(pk__in=referenced_ids).count(),
        "erased": len(referenced_ids),
        "named": len(named),
        "documents": documents.count(),
    }
    if apply:
        for upload in list(uploads.exclude(pk__in=referenced_ids)):
            if not upload_delete(upload=upload, actor=actor):
                upload_erase_content(upload=upload, actor=actor)  # referenced after all
        for upload in list(Upload.objects.filter(pk__in=referenced_ids)):
            upload_erase_content(upload=upload, actor=actor)
        for document in named:
            document.holder_name = ERASED
            document.printed = [[label, ERASED] for label, _value in document.printed_pairs()]
            if document.revoked_reason:
                document.revoked_reason = ERASED
            document.save(update_fields=["holder_name", "printed", "revoked_reason"])
            audit_record(
                action="documents.holder_erased",
                actor=actor,
                obj=document,
                subject_user_id=user.pk,
            )
    return Erasure(
        name=NAME,
        erased=(
            ErasedPart(_("Files you uploaded"), counts["deleted"] + counts["erased"]),
            ErasedPart(
                _("Your name and details printed on the documents we issued you"),
                counts["named"],
            ),
        ),
        kept=(
            ErasedPart(
                _("The record of each document we issued you: code, title, dates, status"),
                counts["documents"],
                _(
                    "Anyone you showed a document to must still be able to check that it "
                    "is genuine. The copy you downloaded stays valid; ours no longer names "
                    "you."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Erase ``user``'s files and their details on issued documents (module docstring)."""
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    return _run(user, None, apply=False)

"""Files encrypted before they reach Django's storage, and decrypted on the way out.

Internal to the documents app: other apps call :mod:`ecitizen.documents.services` and
:mod:`ecitizen.documents.selectors`.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from ecitizen.core import crypto
from ecitizen.core.stored_files import STORAGE_ERRORS, save_all_or_nothing
from ecitizen.documents.models import Upload

logger = logging.getLogger(__name__)

#: The folder of the media storage that holds every upload's ciphertext, each under a
#: name of its own: ``documents/<first two hex digits>/<uuid hex>.bin``.
UPLOADS_FOLDER = "documents/"


class StorageError(Exception):
    """The storage could not keep a file (a full disk, a bucket that refuses it or cannot be
    reached); nothing of it is left."""


def storage_name_for(hexid: str) -> str:
    """The name under :data:`UPLOADS_FOLDER` of a file named by a UUID (as 32 hex digits):
    no other file has it."""
    return f"{UPLOADS_FOLDER}{hexid[:2]}/{hexid}.bin"


def store_encrypted(
    *, owner: Any, data: bytes, filename: str, content_type: str, actor: Any
) -> Upload:
    """Encrypt ``data`` for a new upload, put the ciphertext in storage, save the row.

    ``filename`` must already be sanitised. The caller's transaction owns the row; if the
    row cannot be saved the stored file is removed. (If the caller's transaction rolls
    back later, the ciphertext stays in storage without a row: unreadable, and harmless.)
    Raises :class:`StorageError`, leaving nothing in storage, when the storage cannot keep
    the file (any of :data:`~ecitizen.core.stored_files.STORAGE_ERRORS`: a full disk, a
    refused PUT, a bucket quota, an endpoint down).
    """
    upload = Upload(
        id=uuid.uuid4(),
        owner=owner,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        key_id=crypto.active_key_id(),
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    blob = crypto.encrypt_bytes(data, context=upload.encryption_context)
    name = storage_name_for(upload.pk.hex)
    try:
        upload.storage_name = save_all_or_nothing(default_storage, name, ContentFile(blob))
    except STORAGE_ERRORS as error:
        raise StorageError(str(error)) from error
    try:
        upload.save(force_insert=True)
    except BaseException:
        default_storage.delete(upload.storage_name)
        raise
    return upload


def read_decrypted(upload: Upload) -> bytes:
    """The plaintext of an upload.

    Raises :class:`ecitizen.core.crypto.DecryptionError` when the stored object was
    changed, swapped for another upload's, or does not match the recorded digest.
    """
    with default_storage.open(upload.storage_name, "rb") as handle:
        blob = handle.read()
    data = crypto.decrypt_bytes(blob, context=upload.encryption_context)
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        raise crypto.DecryptionError("upload does not match its recorded digest")
    return data


def discard(upload: Upload) -> None:
    """Remove an upload's row and its stored ciphertext (for rows nobody refers to)."""
    name = upload.storage_name
    upload.delete()
    default_storage.delete(name)


def delete_on_commit(storage_name: str) -> None:
    """Remove a stored ciphertext once the current transaction commits (at once outside
    one). The row that named it must be deleted in that transaction: if the transaction
    rolls back, the row comes back and still needs its file, which is then left alone.
    A failure to delete is logged with the name and does not undo the committed work
    (without its row the ciphertext cannot be decrypted)."""
    transaction.on_commit(lambda: _delete_logged(storage_name))


def _delete_logged(storage_name: str) -> None:
    try:
        default_storage.delete(storage_name)
    except Exception:  # storage errors of any backend: the deletion is already committed
        logger.exception("could not delete the stored upload %s", storage_name)

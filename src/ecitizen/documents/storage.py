"""Files encrypted before they reach Django's storage, and decrypted on the way out.

Internal to the documents app: other apps call :mod:`ecitizen.documents.services` and
:mod:`ecitizen.documents.selectors`.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ecitizen.core import crypto
from ecitizen.documents.models import Upload


def store_encrypted(
    *, owner: Any, data: bytes, filename: str, content_type: str, actor: Any
) -> Upload:
    """Encrypt ``data`` for a new upload, put the ciphertext in storage, save the row.

    ``filename`` must already be sanitised. The caller's transaction owns the row; if the
    row cannot be saved the stored file is removed. (If the caller's transaction rolls
    back later, the ciphertext stays in storage without a row: unreadable, and harmless.)
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
    hexid = upload.pk.hex
    upload.storage_name = default_storage.save(
        f"documents/{hexid[:2]}/{hexid}.bin", ContentFile(blob)
    )
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

"""Writing to the platform's media storage (``STORAGES["default"]``): the errors a storage
raises, and a write that leaves all of a file or nothing.

**Storage errors.** A file system storage fails with ``OSError`` (a full disk, a read-only
mount); S3 through django-storages fails with botocore's errors (``ClientError``: a refused
PUT, a bucket quota, a bucket gone; ``BotoCoreError``: an endpoint down, a connection cut).
:data:`STORAGE_ERRORS` is all of them: code that turns a storage failure into a clear
message catches this tuple, never ``OSError`` alone, or S3's failures become 500s.
"""

from __future__ import annotations

import contextlib
import logging

from django.core.files import File
from django.core.files.storage import Storage

logger = logging.getLogger(__name__)

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # no S3 support installed: only a file system storage can fail
    STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError,)
else:
    STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)


def save_all_or_nothing(
    storage: Storage, name: str, content: File, *, max_length: int | None = None
) -> str:
    """Save ``content`` under ``name`` (or, when that is taken, the name the storage chooses
    instead) and return the name it got; or raise one of :data:`STORAGE_ERRORS`, leaving
    nothing of this write in storage.

    The name is chosen before the write so that a write that fails half-way (a full disk
    keeps what it managed to write; S3 keeps nothing of a refused PUT) is removed by that
    name, and no other file is touched. Precondition: no other process writes under the
    same name meanwhile (callers write under their own rows' ids, or hold their rows'
    locks). Side effect: a failure is logged at ERROR with the name.
    """
    name = storage.get_available_name(name, max_length=max_length)
    try:
        return storage.save(name, content, max_length=max_length)
    except STORAGE_ERRORS as error:
        logger.error("could not store %s: %s", name, error)
        with contextlib.suppress(*STORAGE_ERRORS):
            storage.delete(name)
        raise

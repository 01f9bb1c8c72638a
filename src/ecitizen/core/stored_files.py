"""The files the platform keeps in its media storage (``STORAGES["default"]``): the errors a
storage raises, walking its folders, and the sweep of the files that no row names.

**Storage errors.** A file system storage fails with ``OSError`` (a full disk, a read-only
mount); S3 through django-storages fails with botocore's errors (``ClientError``: a refused
PUT, a bucket quota, a bucket gone; ``BotoCoreError``: an endpoint down, a connection cut),
and a read with s3transfer's ``RetriesExceededError``: django-storages reads an object with
boto3's ``download_fileobj``, whose transfer manager retries a download cut mid-way (a
connection dropped or timed out while the body streams) and then raises that, unwrapped.
boto3's own ``S3UploadFailedError`` and ``RetriesExceededError`` are raised only by its
``upload_file`` and ``download_file``, which django-storages never calls (it writes with
``upload_fileobj``, which lets botocore's errors through). :data:`STORAGE_ERRORS` is all of
them: code that turns a storage failure into a clear message catches this tuple, never
``OSError`` alone, or S3's failures become 500s.

**Orphans.** A file is written to storage before the row that names it commits (an upload,
an issued document's PDF, a data export, an open-data file). A process killed between the
two, or a transaction rolled back after the write, leaves a file that no row names: for an
encrypted one, ciphertext that nothing can decrypt any more, kept for ever.
:func:`orphans_sweep`, run by ``ecitizen housekeeping``, deletes the files under the
folders that apps declare (``registry.register_stored_files``) that no row names and that
are older than ``STORAGE_ORPHAN_GRACE_HOURS``: a file whose row is about to commit is
younger than that, and is left alone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db import models
from django.utils import timezone

from ecitizen.core.registry import StoredFiles, registry

logger = logging.getLogger(__name__)

try:
    from botocore.exceptions import BotoCoreError, ClientError
    from s3transfer.exceptions import RetriesExceededError
except ImportError:  # no S3 support installed (boto3 brings both): only a folder can fail
    STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError,)
else:
    STORAGE_ERRORS = (OSError, BotoCoreError, ClientError, RetriesExceededError)

#: How many listed names are checked against the database at a time: each column is asked
#: about one batch in one query (``IN``), so a storage of millions of files is never one
#: query, nor one list in memory.
SWEEP_BATCH = 500


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


def files_under(storage: Storage, folder: str = "", *, skip_hidden: bool = False) -> Iterator[str]:
    """The names of the files under ``folder`` ("" for the whole storage) of ``storage``,
    depth first and sorted, through the storage API (so that object storage works as well
    as a local folder). A folder that does not exist holds nothing. ``skip_hidden`` leaves
    out the files and folders whose name starts with a dot. The names are listed one
    folder at a time, as they are consumed."""
    folder = folder.strip("/")
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # a local folder not made yet
        return
    for name in sorted(files):
        if not (skip_hidden and name.startswith(".")):
            yield f"{folder}/{name}" if folder else name
    for sub in sorted(folders):
        if not (skip_hidden and sub.startswith(".")):
            yield from files_under(
                storage, f"{folder}/{sub}" if folder else sub, skip_hidden=skip_hidden
            )


@dataclass(frozen=True)
class OrphanSweep:
    """What :func:`orphans_sweep` did: how many files it listed under the declared folders,
    with what grace, the orphans it deleted (in a dry run, those it would delete), and
    those it could not delete (each logged with its error)."""

    listed: int
    grace: timedelta
    orphans: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _roots(declared: Iterable[StoredFiles]) -> list[str]:
    """The declared folders, without those inside another (listed once)."""
    roots: list[str] = []
    for prefix in sorted({stored.prefix for stored in declared}):
        if not any(prefix.startswith(root) for root in roots):
            roots.append(prefix)
    return roots


def _columns(declared: Iterable[StoredFiles]) -> list[tuple[type[models.Model], str]]:
    """Every column that holds a storage name: those the apps declare, and every
    ``FileField`` of every installed model (so that a new one protects its files without
    being declared)."""
    found: dict[tuple[str, str], type[models.Model]] = {}
    for stored in declared:
        for column in stored.columns:
            label, _dot, name = column.rpartition(".")
            model = apps.get_model(label)
            model._meta.get_field(name)  # a misspelt column fails the sweep, never passes
            found[(model._meta.label, name)] = model
    for model in apps.get_models():
        if model._meta.proxy:  # its table is its concrete model's
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.FileField):
                found[(model._meta.label, model_field.name)] = model
    return [(model, name) for (_label, name), model in sorted(found.items())]


def _unreferenced(
    names: Sequence[str],
    columns: Sequence[tuple[type[models.Model], str]],
    declared: Iterable[StoredFiles],
) -> list[str]:
    """Those of ``names`` that no column holds and no app's ``referenced`` keeps."""
    remaining = set(names)
    for model, name in columns:
        if not remaining:
            break
        held = model._base_manager.filter(**{f"{name}__in": remaining}).values_list(name, flat=True)
        remaining.difference_update(held)
    for stored in declared:
        if stored.referenced is None:
            continue
        theirs = sorted(name for name in remaining if name.startswith(stored.prefix))
        if theirs:
            remaining.difference_update(stored.referenced(theirs))
    return sorted(remaining)


def _batches(names: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(names)
    while batch := list(islice(iterator, size)):
        yield batch


def orphans_sweep(*, dry_run: bool = False, batch: int = SWEEP_BATCH) -> OrphanSweep:
    """Delete the files under the declared folders of the media storage that no row names
    and that were last written more than ``STORAGE_ORPHAN_GRACE_HOURS`` ago.

    Preconditions: every app that writes files under a declared folder names each one in a
    declared column (or its ``referenced``) within the grace: a file written to be named
    later than that would be deleted. Files outside the declared folders are never looked
    at (another application's objects in the same bucket, the DataStore's tables).

    The folders are listed a folder at a time and checked ``batch`` names at a time: each
    column is asked, in one query, which of the batch it holds; only the files none holds
    have their time read (so a named file costs no request to the storage). A file whose
    time cannot be read (deleted meanwhile) is left alone. With ``dry_run`` nothing is
    deleted. Side effects: the deletions, each logged at INFO with the file's name and
    time (a failed one at ERROR, and the sweep goes on); a summary line at INFO. A failure
    to list the storage raises one of :data:`STORAGE_ERRORS`.
    """
    grace = timedelta(hours=settings.STORAGE_ORPHAN_GRACE_HOURS)
    cutoff = timezone.now() - grace
    declared = list(registry.stored_files.values())
    roots = _roots(declared)
    columns = _columns(declared)
    listed = 0
    orphans: list[str] = []
    failed: list[str] = []
    names = (name for root in roots for name in files_under(default_storage, root))
    for names_batch in _batches(names, batch):
        listed += len(names_batch)
        for name in _unreferenced(names_batch, columns, declared):
            try:
                written = default_storage.get_modified_time(name)
            except STORAGE_ERRORS as error:
                logger.warning(
                    "left the stored file %s alone: its time cannot be read (%s)", name, error
                )
                continue
            if written > cutoff:
                continue  # its row may be about to commit
            if dry_run:
                logger.info(
                    "would delete the stored file %s (written %s): no row names it",
                    name,
                    written.isoformat(),
                )
                orphans.append(name)
                continue
            try:
                default_storage.delete(name)
            except STORAGE_ERRORS:
                logger.exception("could not delete the stored file %s that no row names", name)
                failed.append(name)
                continue
            logger.info(
                "deleted the stored file %s (written %s): no row names it",
                name,
                written.isoformat(),
            )
            orphans.append(name)
    logger.info(
        "%s %d stored files that no row names, of %d under %s, written more than %s ago%s",
        "would delete" if dry_run else "deleted",
        len(orphans),
        listed,
        ", ".join(roots) or "no declared folder",
        grace,
        f"; {len(failed)} could not be deleted" if failed else "",
    )
    return OrphanSweep(listed=listed, grace=grace, orphans=orphans, failed=failed)

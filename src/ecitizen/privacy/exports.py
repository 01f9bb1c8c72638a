"""Services of "Your data": a resident asks for a download of everything the platform
holds about them, a background task prepares it, they download it until it expires.

The ZIP holds:

- ``data.json``: every registered :class:`~ecitizen.core.registry.PersonalData` source,
  keyed by its name, with what it is for and what it holds of this resident (the shape is
  ``privacy/schemas/export.schema.json``, documented in ``docs/data-protection.md``);
- ``files/...``: the files those sources hold (uploads, issued documents, receipts);
- ``summary.pdf``: the same, readable, in the resident's language.

**What an app's ``export(user)`` returns.** A mapping with ``items``: a list of JSON
objects (one per record: keys are field names, values text, numbers, booleans, ``None``,
lists or objects; dates, datetimes, decimals, UUIDs and lazy translations are accepted
and written as text) and optionally ``files``: a list of mappings with ``path`` (inside
the ZIP, starting ``files/<app>/``), ``content_type`` and ``read`` (a callable returning
the file's bytes, decrypted). An item names its file by the same ``path``. An app may
return a bare list for ``items`` alone. ``export(user)`` decrypts what it holds for
``user`` and must return nothing of anyone else.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import re
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from jsonschema import Draft202012Validator

from ecitizen.core import crypto
from ecitizen.core.errors import DomainError
from ecitizen.core.registry import PersonalData, registry
from ecitizen.core.services import audit_record
from ecitizen.core.stored_files import STORAGE_ERRORS, save_all_or_nothing
from ecitizen.core.tasks import enqueue_with_change
from ecitizen.notifications.services import notification_send
from ecitizen.privacy.models import DataExport

logger = logging.getLogger(__name__)

#: The version of the ``data.json`` format (``privacy/schemas/export.schema.json``).
FORMAT_VERSION = 1
#: The folder of the media storage that holds the downloads (encrypted), each named by its
#: export: ``privacy/exports/<first two hex digits>/<uuid hex>.bin``.
EXPORTS_FOLDER = "privacy/exports/"
#: The notification event sent when a download is ready (``privacy/messages/``).
READY_EVENT = "privacy_export_ready"
#: How long the row of an expired or failed download is kept (its file is long gone).
FORGET_AFTER = timedelta(days=90)
#: The steps after the sources: gathering the files, the summary, the archive.
_EXTRA_STEPS = ("files", "summary", "archive")
_SAFE_PATH = re.compile(r"^files/[A-Za-z0-9_.-]+(/[^/\\\x00]+)+$")


class ExportError(DomainError):
    code = "export_error"


@dataclass
class _Gathered:
    """What the sources gave, ready to be written into the archive."""

    sources: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


#: Where ``data.json``'s JSON Schema is (shipped with the package).
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "export.schema.json"


@functools.cache
def export_schema_validator() -> Draft202012Validator:
    """The validator of ``data.json`` (its JSON Schema, loaded once)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def export_lifetime() -> timedelta:
    """How long a prepared download can be downloaded (``PRIVACY_EXPORT_DAYS``)."""
    return timedelta(days=int(settings.PRIVACY_EXPORT_DAYS))


def _language(language: str) -> str:
    offered = {code for code, _name in settings.LANGUAGES}
    return language if language in offered else str(settings.LANGUAGE_CODE)


@transaction.atomic
def export_request(*, user: Any, language: str, actor: Any) -> tuple[DataExport, bool]:
    """Ask for a download of everything the platform holds about ``user``.

    Returns the export and whether it was created: while one of theirs is still being
    prepared (pending or running), that one is returned and nothing new starts (also when
    two requests race: the database allows one in progress per owner). ``language``: the
    summary's and the notification's language (one the site offers, else the default).

    Raises :class:`~ecitizen.core.errors.PermissionDenied` unless ``actor`` is ``user``
    (nobody asks for someone else's data here). Side effects: the export row, an audit
    event ``privacy.export_requested``, and the preparing task queued with the export
    (``enqueue_with_change``: committed with it or not at all).
    """
    from ecitizen.core.errors import PermissionDenied

    if getattr(actor, "pk", None) != getattr(user, "pk", None):
        raise PermissionDenied("Only the resident can ask for a download of their data.")
    current = (
        DataExport.objects.select_for_update()
        .filter(owner=user, status__in=DataExport.IN_PROGRESS)
        .first()
    )
    if current is not None:
        return current, False
    try:
        with transaction.atomic():
            export = DataExport.objects.create(
                owner=user,
                language=_language(language),
                steps_total=len(registry.personal_data) + len(_EXTRA_STEPS),
            )
    except IntegrityError:
        # Another request created one between our read and our insert.
        return DataExport.objects.get(owner=user, status__in=DataExport.IN_PROGRESS), False
    audit_record(
        action="privacy.export_requested",
        actor=actor,
        obj=export,
        subject_user_id=user.pk,
    )
    from ecitizen.privacy.tasks import export_prepare_task

    enqueue_with_change(export_prepare_task, str(export.pk))
    return export, True


def _claim(export_id: uuid.UUID | str) -> DataExport | None:
    """Mark the export running (one more attempt) if it is still to be prepared."""
    with transaction.atomic():
        export = (
            DataExport.objects.select_for_update(of=("self",))
            .select_related("owner")
            .filter(pk=export_id, status__in=DataExport.IN_PROGRESS)
            .first()
        )
        if export is None:
            return None
        export.status = DataExport.Status.RUNNING
        export.started_at = timezone.now()
        export.attempts += 1
        export.steps_done = 0
        export.steps_total = len(registry.personal_data) + len(_EXTRA_STEPS)
        export.step = ""
        export.save(
            update_fields=["status", "started_at", "attempts", "steps_done", "steps_total", "step"]
        )
        return export


def _progress(export: DataExport, step: str) -> None:
    """Record that ``step`` is being gathered, visible at once to the resident's page
    (its own short transaction)."""
    export.steps_done = min(export.steps_done + 1, export.steps_total)
    export.step = step
    DataExport.objects.filter(pk=export.pk, status=DataExport.Status.RUNNING).update(
        steps_done=export.steps_done, step=step
    )


def _normalised(name: str, value: Any) -> dict[str, Any]:
    """An app's export as ``{"items": [...], "files": [...]}``, checked."""
    if isinstance(value, list | tuple):
        value = {"items": list(value)}
    if not isinstance(value, Mapping):
        raise ExportError(f"{name}: export(user) must return a mapping or a list")
    items = list(value.get("items", []))
    if not all(isinstance(item, Mapping) for item in items):
        raise ExportError(f"{name}: every item must be a mapping")
    files = list(value.get("files", []))
    for entry in files:
        path = str(entry.get("path", ""))
        if not _SAFE_PATH.match(path) or ".." in path.split("/"):
            raise ExportError(f"{name}: file path {path!r} is not a path under files/")
        if not callable(entry.get("read")):
            raise ExportError(f"{name}: file {path!r} has no read() callable")
    return {"items": items, "files": files}


def _json_ready(value: Any) -> Any:
    """``value`` with dates, decimals, UUIDs and lazy translations turned into text."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def _source_header(data: PersonalData) -> dict[str, Any]:
    return {
        "label": str(data.label),
        "purpose": str(data.purpose),
        "lawful_basis": data.lawful_basis,
        "categories": [str(category) for category in data.categories],
        "recipients": str(data.recipients),
        "retention": str(data.retention),
    }


def _gather(export: DataExport, user: Any) -> _Gathered:
    """Ask every registered source for the owner's data, in order, and read its files."""
    gathered = _Gathered()
    pending_files: list[tuple[str, dict[str, Any]]] = []
    for data in registry.personal_data_in_order():
        _progress(export, data.name)
        exported = _normalised(data.name, data.export(user))
        listed = []
        for entry in exported["files"]:
            listed.append(
                {"path": str(entry["path"]), "content_type": str(entry.get("content_type", ""))}
            )
            pending_files.append((data.name, dict(entry)))
        gathered.sources[data.name] = {
            **_source_header(data),
            "items": _json_ready(exported["items"]),
            "files": listed,
        }
    _progress(export, "files")
    by_path = {
        entry["path"]: entry for source in gathered.sources.values() for entry in source["files"]
    }
    for name, entry in pending_files:
        path = str(entry["path"])
        listed_entry = by_path[path]
        read: Callable[[], bytes] = entry["read"]
        try:
            content = bytes(read())
        except crypto.DecryptionError:
            # A stored file that fails authentication is named, not silently dropped:
            # the resident (and the data-protection officer) can ask about it.
            logger.error(
                "export %s: the file %s of %s could not be decrypted", export.pk, path, name
            )
            listed_entry["unreadable"] = True
            continue
        gathered.files[path] = content
        listed_entry["size"] = len(content)
        listed_entry["sha256"] = hashlib.sha256(content).hexdigest()
    return gathered


def _data_json(export: DataExport, gathered: _Gathered, generated_at: datetime) -> bytes:
    from ecitizen.core.context_processors import brand

    document = {
        "format": "ecitizen.personal-data",
        "version": FORMAT_VERSION,
        "generated_at": generated_at.isoformat(),
        "language": export.language,
        "controller": str(brand()["name"]),
        "sources": gathered.sources,
    }
    problems = sorted(export_schema_validator().iter_errors(document), key=str)
    if problems:
        # An app exported something outside the documented format: refuse to hand out a
        # file that does not match its documentation (the error names no personal value).
        where = "/".join(str(part) for part in problems[0].absolute_path)
        raise ExportError(f"data.json does not match its schema at {where}", code="schema")
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _summary_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if value is None:
        return ""
    return str(value)


def _summary_pdf(export: DataExport, gathered: _Gathered, generated_at: datetime) -> bytes:
    """The readable summary of the download, rendered with WeasyPrint in the export's
    language (fetching nothing from the network)."""
    from ecitizen.core.context_processors import brand

    sections = []
    for name, source in gathered.sources.items():
        rows = [
            [(str(key), _summary_value(value)) for key, value in item.items()]
            for item in source["items"]
        ]
        sections.append({"name": name, "source": source, "rows": rows})
    with translation.override(export.language):
        html = render_to_string(
            "privacy/pdf/summary.html",
            {
                "brand": brand(),
                "sections": sections,
                "generated_at": generated_at,
                "owner_email": export.owner.email,
                "LANGUAGE_CODE": export.language,
                "LANGUAGE_BIDI": translation.get_language_bidi(),
            },
        )
    # Imported here: loading WeasyPrint takes a while, and most processes never render.
    import weasyprint
    from weasyprint.urls import URLFetcher

    document = weasyprint.HTML(
        string=html,
        base_url=str(settings.PUBLIC_BASE_URL),
        url_fetcher=URLFetcher(allowed_protocols={"data"}),
    )
    pdf: Any = document.write_pdf(pdf_tags=True)
    return bytes(pdf)


def _archive(data_json: bytes, files: Mapping[str, bytes], summary: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", data_json)
        archive.writestr("summary.pdf", summary)
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


def _store(export: DataExport, content: bytes) -> str:
    """Encrypt the archive and put it in storage under the export's name; returns the name
    the storage gave it. Raises :class:`ExportError` (``not_stored``), leaving nothing in
    storage, when the storage cannot keep it (a full disk, a bucket that refuses it)."""
    blob = crypto.encrypt_bytes(content, context=export.encryption_context)
    hexid = export.pk.hex
    name = f"{EXPORTS_FOLDER}{hexid[:2]}/{hexid}.bin"
    try:
        return save_all_or_nothing(default_storage, name, ContentFile(blob))
    except STORAGE_ERRORS as error:
        raise ExportError("the storage could not keep the download", code="not_stored") from error


def _delete_file_on_commit(storage_name: str) -> None:
    def delete() -> None:
        try:
            default_storage.delete(storage_name)
        except Exception:  # any backend's error: the row no longer names the file
            logger.exception("could not delete the stored data export %s", storage_name)

    transaction.on_commit(delete)


def export_prepare(*, export_id: uuid.UUID | str) -> DataExport | None:
    """Prepare a requested download: gather every source, write the ZIP, store it
    encrypted, mark it ready and tell the resident.

    Idempotent: an export that is ready, failed or expired (or unknown) is left as it is
    and ``None`` returned; running it again after a crash starts the gathering over.
    Not wrapped in one transaction on purpose: the progress is committed step by step so
    that the resident's page shows it. Side effects: the encrypted file in storage;
    earlier ready downloads of the same resident expire (their files deleted); a
    notification ``privacy_export_ready`` and an audit event ``privacy.export_ready``; on
    failure the export is marked ``failed`` with a stable code (``not_stored`` when the
    storage could not keep the file) and the error is logged (no personal data in either).
    """
    export = _claim(export_id)
    if export is None:
        return None
    user = export.owner
    try:
        with translation.override(export.language):
            gathered = _gather(export, user)
            generated_at = timezone.now()
            data_json = _data_json(export, gathered, generated_at)
            _progress(export, "summary")
            summary = _summary_pdf(export, gathered, generated_at)
            _progress(export, "archive")
            content = _archive(data_json, gathered.files, summary)
        storage_name = _store(export, content)
    except Exception as exc:
        logger.exception("data export %s could not be prepared", export.pk)
        code = exc.code if isinstance(exc, DomainError) else "internal_error"
        DataExport.objects.filter(pk=export.pk, status=DataExport.Status.RUNNING).update(
            status=DataExport.Status.FAILED, failure=code[:100], finished_at=timezone.now()
        )
        return None
    return _finish(export, storage_name=storage_name, content=content)


@transaction.atomic
def _finish(export: DataExport, *, storage_name: str, content: bytes) -> DataExport | None:
    locked = DataExport.objects.select_for_update().filter(pk=export.pk).first()
    if locked is None or locked.status != DataExport.Status.RUNNING:
        # Expired or removed meanwhile (an erasure, say): the file is not wanted.
        _delete_file_on_commit(storage_name)
        return None
    now = timezone.now()
    for earlier in DataExport.objects.select_for_update().filter(
        owner_id=locked.owner_id, status=DataExport.Status.READY
    ):
        _expire(earlier)
    locked.status = DataExport.Status.READY
    locked.storage_name = storage_name
    locked.size = len(content)
    locked.sha256 = hashlib.sha256(content).hexdigest()
    locked.key_id = crypto.active_key_id()
    locked.finished_at = now
    locked.expires_at = now + export_lifetime()
    locked.steps_done = locked.steps_total
    locked.step = ""
    locked.save()
    audit_record(
        action="privacy.export_ready",
        actor=None,
        obj=locked,
        subject_user_id=locked.owner_id,
        changes={"size": locked.size},
    )
    notification_send(
        recipient=export.owner,
        event=READY_EVENT,
        context={"url": reverse("privacy:data"), "expires": locked.expires_at},
    )
    return locked


def _expire(export: DataExport) -> None:
    """Within the caller's transaction: mark expired, forget the file, delete it on commit."""
    if export.storage_name:
        _delete_file_on_commit(export.storage_name)
    export.status = DataExport.Status.EXPIRED
    export.storage_name = ""
    export.save(update_fields=["status", "storage_name"])


@transaction.atomic
def export_downloaded(*, export: DataExport, actor: Any, ip_address: str | None) -> None:
    """Record a download of a ready export by its owner (a counter and an audit event
    ``privacy.export_downloaded``). Precondition: the caller checked ``actor`` owns it."""
    DataExport.objects.filter(pk=export.pk).update(
        last_downloaded_at=timezone.now(), downloads=F("downloads") + 1
    )
    audit_record(
        action="privacy.export_downloaded",
        actor=actor,
        obj=export,
        subject_user_id=export.owner_id,
        ip_address=ip_address,
    )


def exports_expire(*, now: datetime | None = None) -> int:
    """Expire the downloads past their time and delete their files; mark as failed those
    stuck in preparation for longer than ``PRIVACY_EXPORT_STALE_MINUTES`` (a worker that
    died), so that their owners may ask again; delete the rows of expired and failed
    downloads older than :data:`FORGET_AFTER`. Idempotent; returns how many changed.
    Run daily by ``ecitizen housekeeping`` and hourly by ``ecitizen privacy expire``."""
    now = now or timezone.now()
    changed = 0
    due = DataExport.objects.filter(status=DataExport.Status.READY, expires_at__lte=now)
    for export_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            export = (
                DataExport.objects.select_for_update()
                .filter(pk=export_id, status=DataExport.Status.READY, expires_at__lte=now)
                .first()
            )
            if export is None:
                continue
            _expire(export)
            audit_record(
                action="privacy.export_expired",
                actor=None,
                obj=export,
                subject_user_id=export.owner_id,
            )
            changed += 1
    stale_before = now - timedelta(minutes=int(settings.PRIVACY_EXPORT_STALE_MINUTES))
    changed += DataExport.objects.filter(
        status__in=DataExport.IN_PROGRESS, requested_at__lt=stale_before
    ).update(status=DataExport.Status.FAILED, failure="timed_out", finished_at=now)
    # Rows of downloads long gone (no file any more) say only that one was asked for:
    # forgotten after FORGET_AFTER (the audit trail keeps that it happened).
    deleted, _counts = DataExport.objects.filter(
        status__in=(DataExport.Status.EXPIRED, DataExport.Status.FAILED),
        requested_at__lt=now - FORGET_AFTER,
    ).delete()
    return changed + deleted


def exports_prune() -> int:
    """The prune hook of ``ecitizen housekeeping``: :func:`exports_expire` now."""
    return exports_expire()


@transaction.atomic
def exports_delete_for_user(*, user: Any) -> int:
    """Delete every download of ``user`` and their files (once the transaction commits):
    for the erasure of an account. Returns how many rows were deleted."""
    exports = list(DataExport.objects.select_for_update().filter(owner=user))
    for export in exports:
        if export.storage_name:
            _delete_file_on_commit(export.storage_name)
    DataExport.objects.filter(pk__in=[export.pk for export in exports]).delete()
    return len(exports)

"""Writes of the open-data catalogue: datasets, resources, revisions and API tokens.

Every change of a dataset (metadata, a resource, publication, withdrawal) is one new
revision with a snapshot, kept for ever: the public history. Nothing is deleted; a
dataset is withdrawn with a reason. Publishers act within their remit (capability
``opendata.publish``: a department, optionally a ward); ``actor=None`` is the platform
itself (its scheduled datasets, the demo).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.models import Department, Jurisdiction
from ecitizen.accounts.selectors import remit_covers, user_has_role
from ecitizen.core.errors import DomainError, PermissionDenied
from ecitizen.core.services import audit_record
from ecitizen.core.stored_files import STORAGE_ERRORS, save_all_or_nothing
from ecitizen.core.tasks import enqueue_with_change
from ecitizen.opendata import validation
from ecitizen.opendata.models import ApiToken, Dataset, DatasetRevision, DatasetTerm, Resource
from ecitizen.opendata.packages import package_dict
from ecitizen.opendata.selectors import search_words
from ecitizen.opendata.vocabularies import FORMATS, FREQUENCIES, LICENCES, THEMES, Format

#: The capability of publishers (role ``publisher``, per department).
OPENDATA_PUBLISH = "opendata.publish"

#: Files up to this size are checked while the publisher waits; larger ones by a worker.
INLINE_PROCESS_BYTES = 5 * 1024 * 1024
#: When the worker's task for a small file runs: long after the check and load of
#: :data:`INLINE_PROCESS_BYTES` in the web process has finished (seconds), so that it only
#: ever does the work when that process died before doing it.
INLINE_PROCESS_FALLBACK_DELAY = timedelta(minutes=10)

NAME_RE = re.compile(r"^[a-z0-9_-]{2,100}$")
TAG_RE = re.compile(r"^[\w .-]{1,50}$")


class OpendataError(DomainError):
    code = "opendata_error"


class DatasetInvalid(OpendataError):
    """Fields that are not valid: ``errors`` maps each field to its messages."""

    code = "invalid"

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {key: list(value) for key, value in errors.items()}
        first = next(iter(self.errors.values()))[0] if self.errors else _("Invalid dataset.")
        super().__init__(first)


class ResourceInvalid(OpendataError):
    code = "invalid_resource"

    def __init__(self, message: object, *, field: str = "upload") -> None:
        super().__init__(message)
        self.field = field


# --- access ----------------------------------------------------------------------------


def publisher_covers(actor: Any, dataset_or_department: Dataset | Department) -> bool:
    """Whether ``actor`` may publish for this dataset (or in this department, in any
    ward). ``None`` is the platform itself."""
    if actor is None:
        return True
    if isinstance(dataset_or_department, Dataset):
        return remit_covers(
            actor,
            OPENDATA_PUBLISH,
            departments=dataset_or_department.department_id,
            ward_id=dataset_or_department.ward_id,
        )
    return user_has_role(actor, OPENDATA_PUBLISH, dataset_or_department)


def _require_publisher(actor: Any, target: Dataset | Department) -> None:
    if not publisher_covers(actor, target):
        raise PermissionDenied(_("You cannot publish data for this department."))


# --- fields ----------------------------------------------------------------------------

_TEXT_LIMITS = {"titles": 200, "descriptions": 10_000}


def _texts(
    value: Any, field: str, errors: dict[str, list[str]], *, required: bool
) -> dict[str, str]:
    languages = {code for code, _label in settings.LANGUAGES}
    if value is None:
        value = {}
    if isinstance(value, str):
        value = {settings.LANGUAGE_CODE: value}
    if not isinstance(value, dict) or not all(
        k in languages and isinstance(v, str) for k, v in value.items()
    ):
        errors.setdefault(field, []).append(_("Give the text in the site's languages."))
        return {}
    cleaned = {k: v.strip() for k, v in value.items() if v.strip()}
    if required and not cleaned.get(settings.LANGUAGE_CODE):
        errors.setdefault(field, []).append(_("Enter a title in the site's main language."))
    if any(len(v) > _TEXT_LIMITS[field] for v in cleaned.values()):
        errors.setdefault(field, []).append(
            _("Keep it to %(count)d characters.") % {"count": _TEXT_LIMITS[field]}
        )
    return cleaned


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a date as YYYY-MM-DD."))
        return None


def _list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return [str(part).strip() for part in value if str(part).strip()]
    return [str(value)]


def _clean(  # noqa: PLR0912, PLR0915 (one branch per field keeps each rule by its message)
    fields: Mapping[str, Any], *, dataset: Dataset | None
) -> dict[str, Any]:
    """The fields of a dataset, checked; :class:`DatasetInvalid` lists every problem.

    ``dataset`` is the dataset being changed (``None`` on creation, when ``name``,
    ``titles`` and ``licence_id`` are required); only the fields given are checked.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    creating = dataset is None
    known = {
        "name", "titles", "descriptions", "licence_id", "themes", "keywords", "ward",
        "temporal_start", "temporal_end", "frequency", "version", "contact_name",
        "contact_email", "private",
    }  # fmt: skip
    for unknown in set(fields) - known:
        errors.setdefault(unknown, []).append(_("This field is not one a dataset has."))
    if "name" in fields or creating:
        name = str(fields.get("name") or "").strip()
        if not NAME_RE.match(name):
            errors.setdefault("name", []).append(
                _(
                    "Use 2 to 100 lower-case letters, digits, hyphens or underscores "
                    "(for example “street-trees”)."
                )
            )
        elif (
            Dataset.objects.filter(name=name)
            .exclude(pk__in=[dataset.pk] if dataset else [])
            .exists()
        ):
            errors.setdefault("name", []).append(_("That URL is already in use."))
        cleaned["name"] = name
    if "titles" in fields or creating:
        cleaned["titles"] = _texts(fields.get("titles"), "titles", errors, required=True)
    if "descriptions" in fields:
        cleaned["descriptions"] = _texts(
            fields["descriptions"], "descriptions", errors, required=False
        )
    if "licence_id" in fields or creating:
        licence_id = str(fields.get("licence_id") or "")
        if licence_id not in LICENCES:
            errors.setdefault("licence_id", []).append(_("Choose a licence from the list."))
        cleaned["licence_id"] = licence_id
    if "themes" in fields:
        themes = [code.upper() for code in _list(fields["themes"])]
        if any(code not in THEMES for code in themes):
            errors.setdefault("themes", []).append(_("Choose themes from the list."))
        cleaned["themes"] = list(dict.fromkeys(themes))
    if "keywords" in fields:
        keywords = [word.lower() for word in _list(fields["keywords"])]
        if any(not TAG_RE.match(word) for word in keywords):
            errors.setdefault("keywords", []).append(
                _("Keywords are up to 50 letters, digits, spaces, hyphens, dots or underscores.")
            )
        cleaned["keywords"] = list(dict.fromkeys(keywords))[:50]
    if "ward" in fields:
        ward = fields["ward"]
        if ward in (None, ""):
            cleaned["ward"] = None
        elif isinstance(ward, Jurisdiction):
            cleaned["ward"] = ward
        else:
            found = Jurisdiction.objects.filter(code=str(ward)).first()
            if found is None:
                errors.setdefault("ward", []).append(_("Choose a ward from the list."))
            cleaned["ward"] = found
    for key in ("temporal_start", "temporal_end"):
        if key in fields:
            cleaned[key] = _date(fields[key], key, errors)
    start = cleaned.get("temporal_start", getattr(dataset, "temporal_start", None))
    end = cleaned.get("temporal_end", getattr(dataset, "temporal_end", None))
    if start and end and start > end:
        errors.setdefault("temporal_end", []).append(
            _("The end of the period must be on or after its start.")
        )
    if "frequency" in fields:
        frequency = str(fields["frequency"] or "").upper()
        if frequency and frequency not in FREQUENCIES:
            errors.setdefault("frequency", []).append(_("Choose a frequency from the list."))
        cleaned["frequency"] = frequency
    for key, limit in (("version", 50), ("contact_name", 200)):
        if key in fields:
            text = str(fields[key] or "").strip()
            if len(text) > limit:
                errors.setdefault(key, []).append(
                    _("Keep it to %(count)d characters.") % {"count": limit}
                )
            cleaned[key] = text
    if "contact_email" in fields:
        email = str(fields["contact_email"] or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.setdefault("contact_email", []).append(
                    _("Enter an email address like name@example.org.")
                )
        cleaned["contact_email"] = email
    if "private" in fields:
        private = fields["private"]
        if isinstance(private, str):
            private = private.lower() in {"true", "1", "yes", "on"}
        cleaned["private"] = bool(private)
    if errors:
        raise DatasetInvalid(errors)
    return cleaned


# --- revisions and the search index ----------------------------------------------------


def index_values(
    dataset: Dataset, resources: Iterable[Resource]
) -> tuple[str, str, list[tuple[str, str]]]:
    """What search reads of a dataset: its search text (every word of its name, titles and
    descriptions in every language, keywords and file names, lower case, one space
    between words and around them, so that " word" finds a word by its start), its sort
    title, and its facet terms (field, value). Pure: the bench writes rows with it too."""
    names = [name for r in resources for name in r.names.values()]
    texts = [dataset.name, *dataset.titles.values(), *dataset.descriptions.values()]
    words = search_words(" ".join([*texts, *dataset.keywords, *names]))
    search_text = f" {' '.join(words)} "
    sort_title = dataset.title(settings.LANGUAGE_CODE)[:200].lower()
    terms = {("organization", dataset.department.slug), ("license_id", dataset.licence_id)}
    terms |= {("groups", code.lower()) for code in dataset.themes}
    terms |= {("tags", word[:100]) for word in dataset.keywords}
    terms |= {("res_format", r.format) for r in resources if r.format}
    return search_text, sort_title, sorted(terms)


def _index(dataset: Dataset) -> None:
    """Rewrite the dataset's search text and facet terms (inside the caller's transaction)."""
    dataset.search_text, dataset.sort_title, terms = index_values(
        dataset, list(dataset.resources.all())
    )
    dataset.facet_terms = [f"{field}:{value}" for field, value in terms]
    dataset.save(update_fields=["search_text", "sort_title", "facet_terms"])
    dataset.terms.all().delete()
    DatasetTerm.objects.bulk_create(
        DatasetTerm(dataset=dataset, field=field, value=value) for field, value in terms
    )


def _revise(dataset: Dataset, *, actor: Any, summary: str, changes: Mapping[str, Any]) -> None:
    """Record one change: a new revision with the dataset's snapshot, its search index,
    and an audit event. The caller holds the dataset's row lock."""
    dataset.revision += 1
    dataset.modified = timezone.now()
    dataset.save()
    _index(dataset)
    DatasetRevision.objects.create(
        dataset=dataset,
        number=dataset.revision,
        at=dataset.modified,
        actor=actor,
        summary=summary[:300],
        snapshot=package_dict(dataset),
    )
    audit_record(
        action="opendata.dataset_changed",
        actor=actor,
        obj=dataset,
        changes={"revision": dataset.revision, "summary": summary, **changes},
    )


def _locked(dataset: Dataset) -> Dataset:
    return (
        # Only the dataset's row is locked: the ward is an outer join, which PostgreSQL
        # cannot lock.
        Dataset.objects.select_for_update(of=("self",))
        .select_related("department", "ward")
        .get(pk=dataset.pk)
    )


def _describe(changes: Mapping[str, Any]) -> str:
    return ", ".join(sorted(changes)) if changes else ""


@transaction.atomic
def dataset_create(
    *,
    actor: Any,
    department: Department,
    fields: Mapping[str, Any],
    source_key: str | None = None,
) -> Dataset:
    """A new draft dataset of ``department``. Raises :class:`DatasetInvalid` with every
    field's problems, :class:`PermissionDenied` outside the actor's remit."""
    cleaned = _clean(fields, dataset=None)
    dataset = Dataset(department=department, source_key=source_key, **cleaned)
    _require_publisher(actor, dataset)
    if "contact_email" not in cleaned and department.email:
        dataset.contact_email = department.email
    try:
        with transaction.atomic():
            dataset.save()
    except IntegrityError as error:  # a concurrent create took the name
        raise DatasetInvalid({"name": [_("That URL is already in use.")]}) from error
    _revise(dataset, actor=actor, summary=_("Created"), changes={"name": dataset.name})
    return dataset


@transaction.atomic
def dataset_update(*, actor: Any, dataset: Dataset, fields: Mapping[str, Any]) -> Dataset:
    """Change some fields (only those given). A change of nothing writes no revision."""
    dataset = _locked(dataset)
    _require_publisher(actor, dataset)
    cleaned = _clean(fields, dataset=dataset)
    changed = {k: v for k, v in cleaned.items() if getattr(dataset, k) != v}
    if not changed:
        return dataset
    for key, value in changed.items():
        setattr(dataset, key, value)
    _require_publisher(actor, dataset)  # a ward moved outside the actor's remit
    _revise(
        dataset,
        actor=actor,
        summary=_("Changed: %(fields)s") % {"fields": _describe(changed)},
        changes={k: str(v) for k, v in changed.items()},
    )
    return dataset


@transaction.atomic
def dataset_publish(*, actor: Any, dataset: Dataset) -> Dataset:
    """Publish a draft (or a withdrawn dataset again). It needs at least one resource, and
    every tabular resource must have passed its checks."""
    dataset = _locked(dataset)
    _require_publisher(actor, dataset)
    if dataset.state == Dataset.State.PUBLISHED:
        return dataset
    resources = list(dataset.resources.all())
    if not resources:
        raise OpendataError(_("Add at least one file before publishing."), code="no_resources")
    unchecked = [r for r in resources if r.is_tabular and not (r.validation or {}).get("valid")]
    if unchecked:
        raise OpendataError(
            _("Fix the problems in “%(name)s” before publishing.") % {"name": unchecked[0].name()},
            code="resource_invalid",
        )
    # A table is published with its DataStore copy (preview, API, exports) or not at all.
    not_loaded = [
        r for r in resources if r.is_tabular and r.datastore_state != Resource.DatastoreState.LOADED
    ]
    if not_loaded:
        resource = not_loaded[0]
        if resource.datastore_state == Resource.DatastoreState.FAILED:
            message = _("“%(name)s” could not be loaded: %(reason)s") % {
                "name": resource.name(),
                "reason": resource.datastore_error,
            }
        else:
            message = _("“%(name)s” is still being checked and loaded: try again shortly.") % {
                "name": resource.name()
            }
        raise OpendataError(message, code="resource_not_loaded")
    dataset.state = Dataset.State.PUBLISHED
    dataset.withdrawn_reason = ""
    dataset.withdrawn_at = None
    dataset.issued = dataset.issued or timezone.now()
    _revise(dataset, actor=actor, summary=_("Published"), changes={"state": dataset.state})
    return dataset


@transaction.atomic
def dataset_withdraw(*, actor: Any, dataset: Dataset, reason: str) -> Dataset:
    """Withdraw a dataset: it leaves search and harvests, its page and history stay with
    ``reason``. Nothing is deleted."""
    reason = (reason or "").strip()
    if not reason:
        raise DatasetInvalid({"reason": [_("Say why the dataset is withdrawn.")]})
    if len(reason) > 1000:
        raise DatasetInvalid({"reason": [_("Keep it to %(count)d characters.") % {"count": 1000}]})
    dataset = _locked(dataset)
    _require_publisher(actor, dataset)
    if dataset.state == Dataset.State.WITHDRAWN:
        return dataset
    if dataset.state == Dataset.State.DRAFT:
        # A withdrawn dataset stays readable by everyone: withdrawing a draft would
        # publish what was never published.
        raise OpendataError(
            _("A draft has not been published, so there is nothing to withdraw."),
            code="draft",
        )
    dataset.state = Dataset.State.WITHDRAWN
    dataset.withdrawn_reason = reason
    dataset.withdrawn_at = timezone.now()
    _revise(dataset, actor=actor, summary=_("Withdrawn"), changes={"reason": reason})
    return dataset


# --- resources -------------------------------------------------------------------------


def _format_of(filename: str, format_label: str | None) -> Format:
    from ecitizen.opendata.vocabularies import format_for_filename

    fmt = FORMATS.get(format_label or "") or format_for_filename(filename)
    if fmt is None:
        raise ResourceInvalid(
            _("The file must be one of: %(formats)s.") % {"formats": ", ".join(FORMATS)}
        )
    return fmt


def _max_upload_bytes() -> int:
    return int(getattr(settings, "OPENDATA_UPLOAD_MAX_MB", 500)) * 1024 * 1024


def _store_file(resource: Resource, filename: str, content: IO[bytes] | bytes) -> None:
    """Save the upload in storage, with its size and checksum. Reads it in chunks.

    Raises :class:`ResourceInvalid` for a file too large or empty, and when the storage
    cannot keep it (a full disk, a bucket that refuses it or cannot be reached), leaving
    nothing of it in storage."""
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        chunks: Iterable[bytes]
        if isinstance(content, bytes):
            chunks = [content]
        elif hasattr(content, "chunks"):
            chunks = content.chunks()
        else:
            chunks = iter(lambda: content.read(1024 * 1024), b"")
        for chunk in chunks:
            size += len(chunk)
            if size > _max_upload_bytes():
                raise ResourceInvalid(
                    _("The file is larger than %(size)d MB.")
                    % {"size": _max_upload_bytes() // (1024 * 1024)}
                )
            digest.update(chunk)
            spool.write(chunk)
        if size == 0:
            raise ResourceInvalid(_("The file is empty."))
        spool.seek(0)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(filename).name).strip("-.") or "data"
        field = resource.file.field
        name = field.generate_filename(resource, f"{resource.id}/{digest.hexdigest()[:12]}/{safe}")
        try:
            # The resource's row is new or locked: nobody else writes in its folder.
            resource.file.name = save_all_or_nothing(
                resource.file.storage, name, File(spool), max_length=field.max_length
            )
        except STORAGE_ERRORS as error:
            raise ResourceInvalid(
                _("The selected file could not be uploaded. Try again later")
            ) from error
    resource.size = size
    resource.checksum = digest.hexdigest()


def _schedule_processing(resource: Resource) -> None:
    """Check the file and load it into the DataStore, by a worker whose task is queued with
    the change (``enqueue_with_change``): whatever happens to this process after the
    commit, the resource does not stay pending. A small file is also processed right after
    the commit in this process, so that the publisher sees the outcome at once; its task is
    then deferred by :data:`INLINE_PROCESS_FALLBACK_DELAY` and normally finds the work done
    (``resource_process`` is idempotent)."""
    if not resource.is_tabular:
        return
    resource.validation = None
    resource.datastore_state = Resource.DatastoreState.PENDING
    resource.datastore_progress = 0
    resource.datastore_error = ""
    resource.save()
    from ecitizen.opendata import tasks

    job = tasks.resource_process_task
    if (resource.size or 0) <= INLINE_PROCESS_BYTES:
        # After the commit on purpose: the processing reads the committed file and runs
        # outside any transaction (see resource_process).
        transaction.on_commit(lambda: resource_process(resource_id=str(resource.id)))
        if job.get_backend().supports_defer:
            # Not at once: a worker starting on it while this process works would load the
            # same file twice. A backend that cannot defer (``immediate``) runs it after the
            # step above, which has then done the work.
            job = job.using(run_after=timezone.now() + INLINE_PROCESS_FALLBACK_DELAY)
    enqueue_with_change(job, str(resource.id))


@transaction.atomic
def resource_add(
    *,
    actor: Any,
    dataset: Dataset,
    filename: str = "",
    content: IO[bytes] | bytes | None = None,
    url: str = "",
    names: Mapping[str, str] | str | None = None,
    descriptions: Mapping[str, str] | str | None = None,
    format_label: str | None = None,
    schema: Mapping[str, Any] | None = None,
) -> Resource:
    """Add a file (``filename`` and ``content``) or a link (``url``) to ``dataset``.

    A tabular file (CSV, XLSX, JSON, Parquet) gets ``schema``, or one inferred from its
    first rows, and is then checked against it and loaded into the DataStore (at once
    when small, else by a worker): :func:`resource_process`.
    """
    dataset = _locked(dataset)
    _require_publisher(actor, dataset)
    if dataset.state == Dataset.State.WITHDRAWN:
        raise OpendataError(_("A withdrawn dataset cannot change."), code="withdrawn")
    errors: dict[str, list[str]] = {}
    resource_names = _texts(names or {}, "titles", errors, required=False)
    resource_descriptions = _texts(descriptions or {}, "descriptions", errors, required=False)
    if errors:
        raise DatasetInvalid(
            {"name" if k == "titles" else "description": v for k, v in errors.items()}
        )
    if content is None and not url:
        raise ResourceInvalid(_("Choose a file to upload."))
    if content is None:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as error:
            raise ResourceInvalid(
                _("Enter a link that starts with https:// or http://."), field="url"
            ) from error
    resource = Resource(
        dataset=dataset,
        position=dataset.resources.count(),
        names=resource_names or {settings.LANGUAGE_CODE: Path(filename or url).name[:200]},
        descriptions=resource_descriptions,
    )
    if content is None:
        from ecitizen.opendata.vocabularies import format_for_filename

        fmt = FORMATS.get(format_label or "") or format_for_filename(url.split("?", 1)[0])
        resource.url = url
        resource.format = fmt.label if fmt else (format_label or "")[:20]
        resource.media_type = fmt.media_type if fmt else ""
    else:
        fmt = _format_of(filename, format_label)
        resource.format, resource.media_type = fmt.label, fmt.media_type
        _store_file(resource, filename, content)
        if fmt.tabular:
            resource.schema = _schema_for(resource, schema)
    resource.save()
    _schedule_processing(resource)
    _revise(
        dataset,
        actor=actor,
        summary=_("File added: %(name)s") % {"name": resource.name()},
        changes={"resource": str(resource.id)},
    )
    return resource


def _schema_for(resource: Resource, schema: Mapping[str, Any] | None) -> dict[str, Any]:
    if schema is not None:
        try:
            return validation.schema_check(dict(schema))
        except validation.SchemaInvalid as error:
            raise ResourceInvalid(str(error), field="schema") from error
    with _local_copy(resource) as path:
        try:
            return validation.schema_infer(path, resource.format)
        except validation.SchemaInvalid as error:
            raise ResourceInvalid(str(error)) from error


class _local_copy:  # noqa: N801 (a context manager used like a function)
    """The resource's file as a local path (storage may be remote): a temporary copy."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        self.folder = tempfile.TemporaryDirectory(prefix="ecitizen-opendata-")
        suffix = FORMATS[self.resource.format].extensions[0]
        path = Path(self.folder.name) / f"data{suffix}"
        self.resource.file.open("rb")
        try:
            with path.open("wb") as out:
                for chunk in self.resource.file.chunks():
                    out.write(chunk)
        finally:
            self.resource.file.close()
        return path

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            self.folder.cleanup()


@transaction.atomic
def resource_replace(
    *,
    actor: Any,
    resource: Resource,
    filename: str,
    content: IO[bytes] | bytes,
    schema: Mapping[str, Any] | None = None,
) -> Resource:
    """A new file for a resource. A tabular resource keeps its schema (unless a new one is
    given), so a file that no longer matches it is reported, not silently accepted. The
    previous file stays in storage: earlier revisions still name it."""
    dataset = _locked(resource.dataset)
    _require_publisher(actor, dataset)
    if dataset.state == Dataset.State.WITHDRAWN:
        raise OpendataError(_("A withdrawn dataset cannot change."), code="withdrawn")
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    fmt = _format_of(filename, None)
    if FORMATS.get(resource.format, fmt).tabular != fmt.tabular:
        raise ResourceInvalid(_("Replace a table with a table, or a document with a document."))
    resource.format, resource.media_type = fmt.label, fmt.media_type
    _store_file(resource, filename, content)
    if fmt.tabular:
        resource.schema = (
            _schema_for(resource, schema) if schema or not resource.schema else resource.schema
        )
    resource.modified = timezone.now()
    resource.save()
    _schedule_processing(resource)
    _revise(
        dataset,
        actor=actor,
        summary=_("File replaced: %(name)s") % {"name": resource.name()},
        changes={"resource": str(resource.id), "checksum": resource.checksum},
    )
    return resource


@transaction.atomic
def resource_update(
    *,
    actor: Any,
    resource: Resource,
    names: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    schema: Mapping[str, Any] | None = None,
) -> Resource:
    """Change a resource's names, descriptions or Table Schema; a new schema checks the
    file again (and reloads it)."""
    dataset = _locked(resource.dataset)
    _require_publisher(actor, dataset)
    if dataset.state == Dataset.State.WITHDRAWN:
        raise OpendataError(_("A withdrawn dataset cannot change."), code="withdrawn")
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    errors: dict[str, list[str]] = {}
    changed: list[str] = []
    if names is not None:
        resource.names = _texts(names, "titles", errors, required=True)
        changed.append("name")
    if descriptions is not None:
        resource.descriptions = _texts(descriptions, "descriptions", errors, required=False)
        changed.append("description")
    if errors:
        raise DatasetInvalid(errors)
    new_schema = None
    if schema is not None:
        if not resource.is_tabular:
            raise ResourceInvalid(_("Only a table has a schema."), field="schema")
        new_schema = _schema_for(resource, schema)
        changed.append("schema")
    if not changed:
        return resource
    resource.modified = timezone.now()
    if new_schema is not None and new_schema != resource.schema:
        resource.schema = new_schema
        resource.save()
        _schedule_processing(resource)
    else:
        resource.save()
    _revise(
        dataset,
        actor=actor,
        summary=_("File details changed: %(name)s") % {"name": resource.name()},
        changes={"resource": str(resource.id), "fields": changed},
    )
    return resource


def resource_process(*, resource_id: str) -> None:
    """Check a tabular resource's file against its schema, record every problem, and load
    a valid file into the DataStore. Idempotent: a resource already processed for its
    current file is left as it is. Runs outside a transaction (a long load must not hold
    row locks); each state change is its own short write."""
    resource = Resource.objects.select_related("dataset").filter(pk=resource_id).first()
    if (
        resource is None
        or not resource.is_tabular
        or resource.datastore_state
        not in {
            Resource.DatastoreState.PENDING,
            Resource.DatastoreState.LOADING,
        }
    ):
        return
    checksum = resource.checksum

    def checked_so_far(rows: int) -> None:
        Resource.objects.filter(pk=resource.pk, checksum=checksum).update(datastore_progress=rows)

    with _local_copy(resource) as path:
        outcome = validation.file_validate(
            path, resource.format, resource.schema or {}, progress=checked_so_far
        )
        report = {
            "valid": outcome.valid,
            "rows": outcome.rows,
            "errors": [problem.as_dict() for problem in outcome.problems],
            "truncated": outcome.truncated,
            "checked": timezone.now().isoformat(),
        }
        updated = Resource.objects.filter(pk=resource.pk, checksum=checksum).update(
            validation=report,
            datastore_progress=0,  # from now on: rows loaded, not rows checked
            datastore_state=(
                Resource.DatastoreState.LOADING if outcome.valid else Resource.DatastoreState.FAILED
            ),
            datastore_error=""
            if outcome.valid
            else _("The file has problems: fix them and upload it again."),
        )
        if not updated or not outcome.valid:
            return  # replaced meanwhile (its own processing follows), or invalid
        from ecitizen.opendata import datastore

        try:
            table, rows = datastore.table_load(resource=resource, path=path)
        except datastore.DatastoreError as error:
            Resource.objects.filter(pk=resource.pk, checksum=checksum).update(
                datastore_state=Resource.DatastoreState.FAILED, datastore_error=str(error)
            )
            return
    Resource.objects.filter(pk=resource.pk, checksum=checksum).update(
        datastore_state=Resource.DatastoreState.LOADED,
        datastore_table=table,
        datastore_rows=rows,
        datastore_progress=rows,
    )


# --- API tokens ------------------------------------------------------------------------

TOKEN_PREFIX = "ecod_"  # noqa: S105 (a label that tells our tokens apart, not a secret)


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor: Any, name: str) -> tuple[ApiToken, str]:
    """A new API token for a publisher: the token row and the secret, shown once (only
    its SHA-256 is kept)."""
    if not user_has_role(actor, OPENDATA_PUBLISH):
        raise PermissionDenied(_("Only data publishers have API tokens."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DatasetInvalid(
            {"name": [_("Name the token (up to 100 characters), e.g. the script that uses it.")]}
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor, name=name, token_hash=_token_hash(secret), prefix=secret[:12]
    )
    audit_record(action="opendata.token_created", actor=actor, obj=token, changes={"name": name})
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke one of the actor's own tokens; it stops working at once."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != actor.pk:
        raise PermissionDenied(_("This is not your token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action="opendata.token_revoked", actor=actor, obj=token, changes={})
    return token


def api_token_user(*, secret: str) -> Any | None:
    """The active user a token acts for, or ``None`` (unknown, revoked, or its owner no
    longer active). Records when it was last used (at most once a minute)."""
    secret = (secret or "").strip()
    if secret.lower().startswith("bearer "):
        secret = secret[7:].strip()
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=_token_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used is None or (now - token.last_used).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.user


def content_file(data: bytes, name: str) -> ContentFile[bytes]:
    """Bytes as an uploaded file (for the platform's own datasets and the demo)."""
    return ContentFile(data, name=name)


# --- DataStore writes (datastore_create, datastore_upsert) ------------------------------


@transaction.atomic
def resource_datastore_create(
    *,
    actor: Any,
    dataset: Dataset,
    names: Mapping[str, str] | str | None,
    fields: Any,
    records: Any,
    primary_key: Any,
) -> Resource:
    """A new resource of ``dataset`` that is a DataStore table only (CKAN's
    ``datastore_create`` with a ``resource``): its fields (CKAN types), first records and
    primary key. Raises :class:`ecitizen.opendata.datastore.QueryInvalid` for fields or
    records that do not fit; nothing is written then."""
    from ecitizen.opendata import datastore

    dataset = _locked(dataset)
    _require_publisher(actor, dataset)
    if dataset.state == Dataset.State.WITHDRAWN:
        raise OpendataError(_("A withdrawn dataset cannot change."), code="withdrawn")
    errors: dict[str, list[str]] = {}
    resource_names = _texts(names or {}, "titles", errors, required=False)
    if errors:
        raise DatasetInvalid({"name": errors["titles"]})
    checked = datastore.ckan_fields(fields)
    key = datastore._as_list(primary_key)
    resource = Resource(
        dataset=dataset,
        position=dataset.resources.count(),
        names=resource_names or {settings.LANGUAGE_CODE: _("Table")},
        format="CSV",
        media_type=FORMATS["CSV"].media_type,
    )
    table, rows, table_fields, key = datastore.table_write(
        resource=resource, fields=checked, records=records, primary_key=key, method="insert"
    )
    _datastore_written(resource, table, rows, table_fields, key)
    resource.save()
    _revise(
        dataset,
        actor=actor,
        summary=_("Table added: %(name)s") % {"name": resource.name()},
        changes={"resource": str(resource.id), "rows": rows},
    )
    return resource


@transaction.atomic
def resource_datastore_upsert(
    *,
    actor: Any,
    resource: Resource,
    records: Any,
    method: str = "upsert",
    fields: Any = None,
    primary_key: Any = None,
) -> Resource:
    """Write ``records`` into a resource's DataStore table (``method`` insert, update or
    upsert by its primary key; new ``fields`` are added). The table is a new version; the
    dataset gets a revision. The uploaded file, if any, stays as it was."""
    from ecitizen.opendata import datastore

    dataset = _locked(resource.dataset)
    _require_publisher(actor, dataset)
    if dataset.state == Dataset.State.WITHDRAWN:
        raise OpendataError(_("A withdrawn dataset cannot change."), code="withdrawn")
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    if resource.datastore_state in {
        Resource.DatastoreState.PENDING,
        Resource.DatastoreState.LOADING,
    }:
        raise OpendataError(
            _("The file is still being loaded: try again when it is ready."), code="loading"
        )
    checked = datastore.ckan_fields(fields) if fields else None
    key = datastore._as_list(primary_key) if primary_key else None
    table, rows, table_fields, key = datastore.table_write(
        resource=resource, fields=checked, records=records, primary_key=key, method=method
    )
    _datastore_written(resource, table, rows, table_fields, key)
    resource.modified = timezone.now()
    resource.save()
    _revise(
        dataset,
        actor=actor,
        summary=_("Table changed: %(name)s") % {"name": resource.name()},
        changes={"resource": str(resource.id), "method": method, "rows": rows},
    )
    return resource


def _datastore_written(
    resource: Resource, table: str, rows: int, fields: list[dict[str, str]], key: list[str]
) -> None:
    from ecitizen.opendata import datastore

    resource.schema = datastore.schema_of(fields, key)
    resource.datastore_state = Resource.DatastoreState.LOADED
    resource.datastore_table = table
    resource.datastore_rows = rows
    resource.datastore_progress = rows
    resource.datastore_error = ""
    resource.validation = {
        "valid": True,
        "rows": rows,
        "errors": [],
        "truncated": False,
        "checked": timezone.now().isoformat(),
    }

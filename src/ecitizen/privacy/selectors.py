"""Reads of the privacy app: a resident's downloads of their data (answering 404 to
anyone else) and the records of processing (GDPR article 30), generated from what the
apps registered (:class:`~ecitizen.core.registry.PersonalData`)."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.storage import default_storage
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core import crypto
from ecitizen.core.registry import registry
from ecitizen.privacy.models import DataExport

#: The capability of reading the full records of processing (the data-protection
#: officer and the platform administrator hold it).
RECORDS_READ = "privacy.records"

#: The lawful bases of GDPR article 6(1), by the code a ``PersonalData`` names.
LAWFUL_BASES: dict[str, tuple[str, Any]] = {
    "consent": ("6(1)(a)", _("Consent: you agreed to it")),
    "contract": ("6(1)(b)", _("A contract with you, or steps you asked for before one")),
    "legal_obligation": ("6(1)(c)", _("A legal obligation of the authority")),
    "vital_interests": ("6(1)(d)", _("Protecting someone's life")),
    "public_task": ("6(1)(e)", _("A task in the public interest or official authority")),
    "legitimate_interests": ("6(1)(f)", _("The authority's legitimate interests")),
}


def export_current_for_user(*, user: Any) -> DataExport | None:
    """The resident's download to show on their "Your data" page: the one being prepared,
    else the newest other one (ready, failed or expired), else ``None``."""
    exports = DataExport.objects.filter(owner=user)
    current = exports.filter(status__in=DataExport.IN_PROGRESS).first()
    return current or exports.order_by("-requested_at").first()


def export_get_for_owner(*, user: Any, export_id: Any) -> DataExport:
    """The download ``export_id`` of ``user``; ``Http404`` for anything else (another
    resident's, an unknown or malformed id, nobody signed in)."""
    try:
        key = uuid.UUID(str(export_id))
    except ValueError:
        raise Http404 from None
    if not getattr(user, "is_authenticated", False):
        raise Http404
    export = DataExport.objects.filter(pk=key, owner_id=user.pk).first()
    if export is None:
        raise Http404
    return export


def export_downloadable(export: DataExport, *, now: datetime | None = None) -> bool:
    """Whether the download can be downloaded now: ready and not past its expiry (a
    download past it is refused even before the hourly job deletes its file)."""
    now = now or timezone.now()
    return (
        export.status == DataExport.Status.READY
        and bool(export.storage_name)
        and export.expires_at is not None
        and export.expires_at > now
    )


def export_content(*, export: DataExport) -> bytes:
    """The decrypted ZIP of a ready download.

    Precondition: the caller checked the reader owns it and it is downloadable. Raises
    :class:`~ecitizen.core.crypto.DecryptionError` when the stored object was changed,
    swapped for another export's, or does not match the recorded digest.
    """
    with default_storage.open(export.storage_name, "rb") as handle:
        blob = handle.read()
    data = crypto.decrypt_bytes(blob, context=export.encryption_context)
    if hashlib.sha256(data).hexdigest() != export.sha256:
        raise crypto.DecryptionError("data export does not match its recorded digest")
    return data


@dataclass(frozen=True)
class ProcessingRecord:
    """One line of the records of processing: what one app holds about residents."""

    name: str
    label: str
    purpose: str
    lawful_basis: str
    article: str
    lawful_basis_label: str
    categories: tuple[str, ...]
    recipients: str
    retention: str


def records_of_processing() -> list[ProcessingRecord]:
    """The records of processing (GDPR article 30(1)) generated from every registered
    ``PersonalData``, in their order, texts in the active language."""
    records = []
    for data in registry.personal_data_in_order():
        article, basis_label = LAWFUL_BASES.get(data.lawful_basis, ("", data.lawful_basis))
        records.append(
            ProcessingRecord(
                name=data.name,
                label=str(data.label),
                purpose=str(data.purpose),
                lawful_basis=data.lawful_basis,
                article=article,
                lawful_basis_label=str(basis_label),
                categories=tuple(str(category) for category in data.categories),
                recipients=str(data.recipients),
                retention=str(data.retention),
            )
        )
    return records


def records_as_markdown(records: list[ProcessingRecord], *, controller: str) -> str:
    """The records as a Markdown document (one section per processing)."""
    lines = [f"# {_('Records of processing')}", "", f"{_('Controller')}: {controller}", ""]
    for record in records:
        lines += [
            f"## {record.label} (`{record.name}`)",
            "",
            f"- **{_('Purpose')}**: {record.purpose}",
            f"- **{_('Lawful basis')}**: {record.lawful_basis_label} "
            f"({_('GDPR article')} {record.article or record.lawful_basis})",
            f"- **{_('Categories of personal data')}**: {', '.join(record.categories)}",
            f"- **{_('Recipients')}**: {record.recipients}",
            f"- **{_('Retention')}**: {record.retention}",
            "",
        ]
    return "\n".join(lines)


def records_as_csv(records: list[ProcessingRecord]) -> str:
    """The records as CSV, one row per processing (categories joined by "; ")."""
    from ecitizen.core.csvcells import csv_cell

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "name",
            "label",
            "purpose",
            "lawful_basis",
            "article",
            "categories",
            "recipients",
            "retention",
        ]
    )
    for record in records:
        writer.writerow(
            [
                csv_cell(value)
                for value in (
                    record.name,
                    record.label,
                    record.purpose,
                    record.lawful_basis,
                    record.article,
                    "; ".join(record.categories),
                    record.recipients,
                    record.retention,
                )
            ]
        )
    return buffer.getvalue()

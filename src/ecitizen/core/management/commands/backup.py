"""``ecitizen backup DIR``: an encrypted backup of the database, the stored files, the
DataStore's tables and the document-signing certificate, in a new folder DIR.

Every part is encrypted to the age public keys of ``BACKUP_AGE_RECIPIENTS``; the command
refuses to run without one. Keys are not in the backup: they belong in the secrets store
(docs/backup.md). ``ecitizen restore DIR --identity FILE`` puts a backup back.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecitizen.core.backup import BackupError, Part, backup_make


def size_text(size: int) -> str:
    """``size`` bytes for people: 512 bytes, 3.4 kB, 12.0 MB, 1.2 GB (powers of 1000)."""
    if size < 1000:
        return f"{size} bytes"
    value, unit = size / 1000, "kB"
    for bigger in ("MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}"


def part_text(part: Part) -> str:
    if part.kind == "files":
        files = "1 file" if part.files == 1 else f"{part.files} files"
        return f"{files}, {size_text(part.file_bytes)}"
    if part.kind == "certificate":
        return f"SHA-256 fingerprint {part.fingerprint}"
    return f"{part.kind}, {size_text(part.size)}"


class Command(BaseCommand):
    help = (
        "Write an encrypted backup (database, stored files, DataStore, signing certificate; "
        "never keys) into a new folder DIR."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", metavar="DIR", help="A new (or empty) folder.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            made = backup_make(directory=Path(options["directory"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = made.manifest
        width = max(len(part.name) for part in manifest.parts)
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup {manifest.id} written to {Path(options['directory']).absolute()} in "
                f"{time.monotonic() - started:.1f} s, encrypted to "
                f"{', '.join(manifest.recipients)}:"
            )
        )
        for part in manifest.parts:
            self.stdout.write(f"  {part.name:<{width}}  {part_text(part)}")
        if not manifest.signed_by:
            self.stderr.write(
                self.style.WARNING(
                    "The manifest is not signed: no audit signing key is configured "
                    "(AUDIT_SIGNING_KEYS)."
                )
            )
        if made.vanished:
            self.stderr.write(
                self.style.WARNING(
                    f"{len(made.vanished)} files were deleted while the backup ran and are not "
                    f"in it: {', '.join(made.vanished[:5])}"
                )
            )
        self.stdout.write(
            "Keys are not in the backup: keep SECRET_KEY, FIELD_ENCRYPTION_KEYS, "
            "BLIND_INDEX_KEY, AUDIT_SIGNING_KEYS and the document-signing key in the secrets "
            "store (docs/backup.md)."
        )

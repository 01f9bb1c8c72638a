"""``ecitizen restore DIR --identity FILE``: put a backup made by ``ecitizen backup`` back,
into an empty database and empty storage, with the platform stopped.

Everything is checked first, and nothing is written unless all of it passes: the manifest's
signature, that this code has every migration of the backup's database, that the identity
can decrypt it, every part's checksums, and that the database and storage are empty.
``--check`` stops there: it proves a backup can be restored without touching anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecitizen.core.backup import BackupError, backup_check, backup_restore, identities_read
from ecitizen.core.management.commands.backup import part_text


class Command(BaseCommand):
    help = "Restore a backup into an empty database and empty storage (--check: only verify it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", metavar="DIR", help="The backup's folder.")
        parser.add_argument(
            "--identity",
            metavar="FILE",
            required=True,
            help="The age secret key (AGE-SECRET-KEY-1...) the backup was encrypted to.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only verify the backup (signature, migrations, checksums, decryption).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"])
        try:
            identities = identities_read(Path(options["identity"]))
            if options["check"]:
                manifest = backup_check(directory=directory, identities=identities)
            else:
                restored = backup_restore(directory=directory, identities=identities)
                manifest = restored.manifest
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        signed = f"signed with audit key {manifest.signed_by}" if manifest.signed_by else "unsigned"
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup {manifest.id} (made {manifest.created_at} by ecitizen "
                f"{manifest.platform_version}; manifest {signed}): every part's checksums match."
            )
        )
        for part in manifest.parts:
            self.stdout.write(f"  {part.name}: {part_text(part)}")
        if options["check"]:
            self.stdout.write("Nothing was written (--check).")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the {manifest.vendor} database and {restored.files} files."
            )
        )
        self.stdout.write(restored.certificate)
        if restored.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"This code has {len(restored.pending_migrations)} migrations the restored "
                    "database lacks: run `ecitizen migrate`."
                )
            )
        if not restored.audited:
            self.stdout.write(
                "The restore is not in the audit trail: its tables are older than this code's."
            )
        self.stdout.write(
            "Next: `ecitizen audit verify` and `ecitizen ledger check`, then start the "
            "platform (docs/backup.md)."
        )

"""``ecitizen keys generate`` and ``ecitizen keys rotate``.

Rotation, step by step: add a new key to ``FIELD_ENCRYPTION_KEYS`` (keep the old ones),
make it active (``FIELD_ENCRYPTION_ACTIVE_KEY`` or list it last), restart the web and
worker processes, run ``ecitizen keys rotate``; when it reports nothing left, remove the
old key from the settings.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from ecitizen.accounts.services import mfa_secrets_pending, mfa_secrets_rotate
from ecitizen.core import crypto
from ecitizen.core.services import audit_record, encrypted_rows_pending, encrypted_rows_rotate


class Command(BaseCommand):
    help = "Manage field-encryption keys: 'generate' a new key, 'rotate' data to the active key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["generate", "rotate", "status"])
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            help="Stop after this many rows (run again to continue).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "generate":
            self.stdout.write(crypto.generate_key())
            return
        key_id = crypto.active_key_id()
        pending_rows = encrypted_rows_pending(key_id=key_id)
        pending_mfa = mfa_secrets_pending(key_id=key_id)
        if options["action"] == "status":
            self.stdout.write(
                f"Active key {key_id}: {pending_rows} rows and {pending_mfa} MFA secrets "
                "still under other keys."
            )
            return
        with tqdm(
            total=pending_rows + (pending_mfa if options["limit"] is None else 0),
            unit="row",
            desc=f"Re-encrypting under {key_id}",
            file=self.stderr,
        ) as bar:
            rows = encrypted_rows_rotate(
                batch_size=options["batch_size"], limit=options["limit"], progress=bar
            )
            secrets = mfa_secrets_rotate(progress=bar) if options["limit"] is None else 0
        audit_record(
            action="keys.rotated",
            object_type="core.encryptionkey",
            object_id=key_id,
            changes={
                "rows": {"before": None, "after": rows},
                "mfa": {"before": None, "after": secrets},
            },
        )
        left = encrypted_rows_pending(key_id=key_id) + mfa_secrets_pending(key_id=key_id)
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {rows} rows and {secrets} MFA secrets under key {key_id}; "
                f"{left} left."
            )
        )

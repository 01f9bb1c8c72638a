"""``ecitizen keys generate``, ``ecitizen keys rotate`` and ``ecitizen keys public``.

Rotation, step by step: add a new key to ``FIELD_ENCRYPTION_KEYS`` (keep the old ones),
make it active (``FIELD_ENCRYPTION_ACTIVE_KEY`` or list it last), restart the web and
worker processes, run ``ecitizen keys rotate``; when it reports nothing left, remove the
old key from the settings.

``keys generate --audit-signing`` makes an Ed25519 private key for ``AUDIT_SIGNING_KEYS``
instead; ``keys public`` prints the public keys that verify the audit checkpoints
(``keyid:base64`` lines), to publish (ADR 0013).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ecitizen.core import crypto
from ecitizen.core.registry import registry
from ecitizen.core.services import audit_record, encrypted_rows_pending, encrypted_rows_rotate


class Command(BaseCommand):
    help = (
        "Manage keys: 'generate' a new key (--audit-signing: an audit signing key), 'rotate' "
        "data to the active field-encryption key, 'public' prints the audit public keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["generate", "rotate", "status", "public"])
        parser.add_argument(
            "--audit-signing",
            action="store_true",
            help="generate: an Ed25519 key for AUDIT_SIGNING_KEYS instead of an AES key.",
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            help="Stop after this many rows (run again to continue).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "generate":
            audit = options["audit_signing"]
            self.stdout.write(crypto.generate_signing_key() if audit else crypto.generate_key())
            return
        if options["action"] == "public":
            public_keys = crypto.audit_public_keys()
            if not public_keys:
                raise CommandError("No audit signing key is configured (AUDIT_SIGNING_KEYS).")
            for key_id, public_key in public_keys.items():
                self.stdout.write(f"{key_id}:{crypto.public_key_text(public_key)}")
            return
        key_id = crypto.active_key_id()
        stores = list(registry.secret_stores.values())
        pending_rows = encrypted_rows_pending(key_id=key_id)
        pending_secrets = {store.name: store.pending(key_id=key_id) for store in stores}
        pending_mfa = sum(pending_secrets.values())
        if options["action"] == "status":
            others = ", ".join(f"{count} {name}" for name, count in pending_secrets.items())
            self.stdout.write(
                f"Active key {key_id}: {pending_rows} rows"
                + (f" and {others} secrets" if others else "")
                + " still under other keys."
            )
            signing = crypto.audit_signing_key_id()
            self.stdout.write(
                f"Audit checkpoints are signed with key {signing}."
                if signing
                else "No audit signing key: audit checkpoints are not signed."
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
            secrets = (
                sum(store.rotate(progress=bar) for store in stores)
                if options["limit"] is None
                else 0
            )
        audit_record(
            action="keys.rotated",
            object_type="core.encryptionkey",
            object_id=key_id,
            changes={
                "rows": {"before": None, "after": rows},
                "secrets": {"before": None, "after": secrets},
            },
        )
        left = encrypted_rows_pending(key_id=key_id) + sum(
            store.pending(key_id=key_id) for store in stores
        )
        names = " and ".join(store.name for store in stores) or "other"
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {rows} rows and {secrets} {names} secrets under key {key_id}; "
                f"{left} left."
            )
        )

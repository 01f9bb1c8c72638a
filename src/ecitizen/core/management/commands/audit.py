"""``ecitizen audit verify`` and ``ecitizen audit anchor``.

``verify`` recomputes the audit hash chain, checks every signed checkpoint against it and
names the first broken event or checkpoint. ``--public-keys FILE`` trusts only the public
keys in FILE (``kid:base64`` lines, as ``ecitizen keys public`` prints them) instead of the
configured ones, which is how someone outside the authority checks a copy of the
database; ``--anchor FILE`` (repeatable) also checks checkpoints exported earlier.

``anchor`` signs the chain head now if no checkpoint covers it yet; ``anchor --export``
then prints that checkpoint as JSON, for others to keep (ADR 0013).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecitizen.core import crypto
from ecitizen.core.errors import DomainError
from ecitizen.core.selectors import (
    AuditAnchor,
    audit_anchor_parse,
    audit_chain_verify,
    audit_checkpoint_export,
)
from ecitizen.core.services import audit_checkpoint_sign


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the {what} file {path}: {exc}") from exc


def _public_keys(path: str) -> dict[str, bytes]:
    try:
        keys = crypto.parse_public_keys(_read(path, "public keys"))
    except crypto.SigningKeyError as exc:
        raise CommandError(f"{path}: {exc}") from exc
    if not keys:
        raise CommandError(f"{path} holds no public key (expected 'keyid:base64' lines)")
    return keys


def _anchor(path: str) -> AuditAnchor:
    try:
        return audit_anchor_parse(json.loads(_read(path, "exported checkpoint")))
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} is not JSON: {exc}") from exc
    except ValueError as exc:
        raise CommandError(f"{path}: {exc}") from exc


class Command(BaseCommand):
    help = (
        "Audit trail tools. 'verify' checks the hash chain and its signed checkpoints; "
        "'anchor' signs the chain head now (--export prints it as JSON)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "anchor"])
        parser.add_argument(
            "--public-keys",
            metavar="FILE",
            help="verify: trust only the public keys in FILE ('keyid:base64' lines).",
        )
        parser.add_argument(
            "--anchor",
            metavar="FILE",
            action="append",
            default=[],
            help="verify: also check this exported checkpoint (repeatable).",
        )
        parser.add_argument(
            "--export",
            action="store_true",
            help="anchor: print the signed checkpoint of the head as JSON.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "anchor":
            self._anchor(export=options["export"])
        else:
            self._verify(public_keys_file=options["public_keys"], anchor_files=options["anchor"])

    def _anchor(self, *, export: bool) -> None:
        try:
            checkpoint = audit_checkpoint_sign()
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        if checkpoint is None:
            raise CommandError("The audit trail is empty: there is nothing to sign yet.")
        if export:
            self.stdout.write(json.dumps(audit_checkpoint_export(checkpoint), indent=2))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Chain head #{checkpoint.sequence} is signed (key {checkpoint.key_id}, "
                f"{checkpoint.signed_at.isoformat()}); hash {checkpoint.hash}"
            )
        )

    def _verify(self, *, public_keys_file: str | None, anchor_files: list[str]) -> None:
        public_keys = _public_keys(public_keys_file) if public_keys_file else None
        anchors = [_anchor(path) for path in anchor_files]
        report = audit_chain_verify(public_keys=public_keys, anchors=anchors)
        if not report.ok:
            where = f"event #{report.broken_sequence}"
            if report.broken_id is not None:
                where += f" (row id {report.broken_id})"
            raise CommandError(
                f"Audit chain BROKEN at {where}: {report.reason}. "
                f"{report.events_checked} events before it are intact."
            )
        if report.signed:
            signatures = (
                f"{report.checkpoints_checked} signed checkpoints verified"
                + (f", the last at #{report.last_checkpoint}" if report.last_checkpoint else "")
                + (f"; {report.anchors_checked} exported checkpoints match" if anchors else "")
            )
        else:
            signatures = "signatures NOT checked"
            self.stderr.write(
                self.style.WARNING(
                    "No audit signing key is configured (AUDIT_SIGNING_KEYS): without signed "
                    "checkpoints, someone who can write the database could rewrite the chain "
                    "unnoticed."
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.events_checked} events; head hash "
                f"{report.head_hash}; {signatures}"
            )
        )

"""``ecitizen documents signing-cert [--show]``: the certificate issued documents are
signed with. ``ecitizen documents sweep [--older-than-days N]``: delete the uploads that
nothing refers to any more (rows and stored files).

``signing-cert`` creates the self-signed demo certificate under ``VAR_DIR/signing`` when no key and
certificate are configured and it does not exist yet, then prints the certificate's
subject, SHA-256 fingerprint and validity. ``--show`` also prints the certificate itself
(PEM), for people who want to add it to the trusted certificates of their PDF reader.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecitizen.documents import signing
from ecitizen.documents.services import uploads_sweep


class Command(BaseCommand):
    help = (
        "Documents: 'signing-cert' makes (if needed) and describes the signing certificate; "
        "'sweep' deletes uploads that nothing refers to."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["signing-cert", "sweep"])
        parser.add_argument(
            "--show", action="store_true", help="Also print the certificate in PEM form."
        )
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=1,
            help="sweep: only uploads at least this many days old (default 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "sweep":
            days = max(0, options["older_than_days"])
            deleted = uploads_sweep(older_than=timedelta(days=days))
            self.stdout.write(f"Deleted {deleted} uploads that nothing referred to.")
            return
        identity = signing.signing_identity()
        signing.signer_for(identity)  # refuses a key that does not match the certificate
        summary = signing.certificate_summary(identity)
        source = (
            "demo certificate (self-signed: set DOCUMENT_SIGNING_KEY_FILE and "
            "DOCUMENT_SIGNING_CERT_FILE for real documents)"
            if summary.demo
            else "configured by DOCUMENT_SIGNING_CERT_FILE"
        )
        self.stdout.write(f"Certificate: {summary.cert_path}")
        self.stdout.write(f"Key:         {identity.key_path} (matches the certificate)")
        self.stdout.write(f"Source:      {source}")
        self.stdout.write(f"Subject:     {summary.subject}")
        self.stdout.write(f"Issuer:      {summary.issuer}")
        self.stdout.write(f"SHA-256:     {summary.sha256_fingerprint}")
        self.stdout.write(f"Valid from:  {summary.not_before.isoformat()}")
        self.stdout.write(f"Expires:     {summary.not_after.isoformat()}")
        if options["show"]:
            self.stdout.write(summary.pem.rstrip("\n"))

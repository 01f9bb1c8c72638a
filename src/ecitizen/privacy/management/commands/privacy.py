"""``ecitizen privacy records|expire``.

``records`` prints the records of processing (GDPR article 30) generated from what every
app registered as personal data, as Markdown (the default) or CSV (``--format csv``), in
``--language`` (the site's default otherwise).

``expire`` deletes the downloads of residents' data past their time (and marks as failed
those stuck in preparation). The scheduler runs it every hour; it is idempotent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation


class Command(BaseCommand):
    help = "Data protection: print the records of processing; expire residents' downloads."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        records = commands.add_parser("records", help="Print the records of processing.")
        records.add_argument("--format", choices=["markdown", "csv"], default="markdown")
        records.add_argument(
            "--language", default="", help="A language the site offers (default: its own)."
        )
        commands.add_parser(
            "expire", help="Delete the downloads of residents' data past their time."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "expire":
            from ecitizen.privacy.exports import exports_expire

            self.stdout.write(f"{exports_expire()} downloads expired")
            return
        from ecitizen.core.context_processors import brand
        from ecitizen.privacy.selectors import (
            records_as_csv,
            records_as_markdown,
            records_of_processing,
        )

        language = options["language"] or settings.LANGUAGE_CODE
        if language not in {code for code, _name in settings.LANGUAGES}:
            offered = ", ".join(code for code, _name in settings.LANGUAGES)
            raise CommandError(f"unknown language {language!r}: the site offers {offered}")
        with translation.override(language):
            records = records_of_processing()
            if options["format"] == "csv":
                self.stdout.write(records_as_csv(records), ending="")
            else:
                self.stdout.write(records_as_markdown(records, controller=str(brand()["name"])))

"""``ecitizen tax``: property tax from the command line.

- ``ecitizen tax config load FILE``: store a year's rates, reliefs and instalment dates
  (``src/ecitizen/taxes/config/<year>.yaml``). Loading the same file again changes nothing.
- ``ecitizen tax assess --year 2027 [--batch-size N] [--max-batches N]``: issue every
  property's bill for the year, in batches; idempotent and resumable. Prints the year's
  totals per use class and per ward.
- ``ecitizen tax remind``: the daily job sending instalment reminders and overdue notices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ecitizen.core.errors import DomainError
from ecitizen.payments.money import format_minor
from ecitizen.taxes import services
from ecitizen.taxes.models import AssessmentRun, Property, UseClass


class Command(BaseCommand):
    help = "Property tax: load a year's configuration, assess the roll, send reminders."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        config = actions.add_parser("config", help="A year's tax configuration.")
        config_actions = config.add_subparsers(dest="config_action", required=True)
        load = config_actions.add_parser("load", help="Load a year's configuration file.")
        load.add_argument("file", type=Path)

        assess = actions.add_parser("assess", help="Issue every property's bill for a year.")
        assess.add_argument("--year", type=int, required=True)
        assess.add_argument(
            "--batch-size",
            type=int,
            default=services.DEFAULT_BATCH_SIZE,
            help="Properties per batch (one transaction each). Default: %(default)s.",
        )
        assess.add_argument(
            "--max-batches",
            type=int,
            default=None,
            help="Stop after this many batches; run the command again to go on.",
        )
        assess.add_argument("--no-progress", action="store_true", help="No progress bar.")

        actions.add_parser("remind", help="Send instalment reminders and overdue notices.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "config":
                self._config_load(options["file"])
            elif options["action"] == "assess":
                self._assess(options)
            else:
                reminders, overdue = services.tax_reminders_send()
                self.stdout.write(f"reminders sent: {reminders}, overdue notices sent: {overdue}")
        except DomainError as error:
            raise CommandError(str(error.message)) from None

    def _config_load(self, path: Path) -> None:
        tax_year, changed = services.tax_config_load(path=path, actor=None)
        state = "loaded" if changed else "unchanged"
        self.stdout.write(f"{tax_year.year}: configuration {state} ({path})")

    def _assess(self, options: dict[str, Any]) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["max_batches"] is not None and options["max_batches"] < 1:
            raise CommandError("--max-batches must be at least 1")
        bar = tqdm(
            total=Property.objects.count(),
            unit="property",
            unit_scale=True,
            desc=f"Assessing {options['year']}",
            disable=options["no_progress"],
            file=self.stderr,
        )

        def advance(count: int) -> None:
            bar.update(count)

        try:
            run = services.tax_assess(
                year=options["year"],
                actor=None,
                batch_size=options["batch_size"],
                max_batches=options["max_batches"],
                progress=advance,
            )
        finally:
            bar.close()
        self._report(run)

    def _report(self, run: AssessmentRun) -> None:
        write = self.stdout.write
        write(
            f"{run.bills_created} created; "
            f"{run.properties_seen} properties assessed in {run.batches} batches, "
            f"{run.zero_tax} owe nothing"
        )
        if run.status == AssessmentRun.Status.STOPPED:
            write(
                f"Stopped after {run.batches} batches as asked: run the command again "
                "to assess the rest."
            )
        totals = run.totals
        if not totals:
            return
        year = run.tax_year.year
        total = totals["total"]
        write(f"\nBills for {year}: {total['count']}, {format_minor(total['amount_minor'])}")
        write(f"\n{'Use class':<24} {'Bills':>10} {'Amount':>20}")
        for code, values in totals["use_class"].items():
            label = str(UseClass(code).label) if code in UseClass.values else code
            write(f"{label:<24} {values['count']:>10} {format_minor(values['amount_minor']):>20}")
        write(f"\n{'Ward':<24} {'Bills':>10} {'Amount':>20}")
        for values in totals["ward"].values():
            write(
                f"{values['name']:<24} {values['count']:>10} "
                f"{format_minor(values['amount_minor']):>20}"
            )

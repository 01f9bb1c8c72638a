"""``ecitizen retention plan`` and ``ecitizen retention apply``.

``plan`` lists every retention rule, its period and how many records it would change
now, changing nothing. ``apply`` applies them (the daily job ``privacy.retention``) and
records the run; ``--at`` counts periods from another moment (ISO 8601), for an operator
checking what a later run would do (``plan``) or catching up (``apply``, never later
than now).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ecitizen.privacy.retention import retention_apply, retention_plan


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(
            f"--at must be a date and time in ISO 8601 (2027-01-31T02:00), not {text!r}"
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = (
        "Retention rules. 'plan' shows what each rule would remove or anonymise now, "
        "changing nothing; 'apply' does it and records the run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["plan", "apply"])
        parser.add_argument(
            "--at", metavar="WHEN", help="count periods from this moment (ISO 8601)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        moment = _moment(options["at"])
        if options["action"] == "plan":
            lines = retention_plan(now=moment)
            if not lines:
                self.stdout.write("No retention rule is registered.")
                return
            for line in lines:
                period = f"{line.period_days} days" if line.period_days else "no period"
                self.stdout.write(f"{line.name:<32} {line.count:>7}  ({period}) {line.label}")
            self.stdout.write(f"Would change {sum(line.count for line in lines)} records.")
            return
        if moment is not None and moment > timezone.now():
            raise CommandError("--at cannot be in the future for 'apply'")
        try:
            run = retention_apply(now=moment)
        except Exception as exc:
            raise CommandError(
                f"Retention failed ({type(exc).__name__}); see the last run"
            ) from exc
        for name, count in sorted(run.counts.items()):
            self.stdout.write(f"{name:<32} {count:>7}")
        self.stdout.write(self.style.SUCCESS(f"Changed {run.total} records (run #{run.pk})."))

"""``ecitizen insights refresh|forecast``: the periodic jobs of the insights app (the
scheduler runs both daily; an operator may run them by hand).

``refresh [--from YYYY-MM] [--rebuild]`` reads the events that are new since the last run
into the analytical store, then computes the monthly figures of every service, department
and the authority: this month and every month whose completion rate may still change (at
least last month) by default, or every month from ``--from``
(``1900-01`` or later) to this one (a past month computed again gives the same
figures). ``--rebuild`` reads every event again. A progress bar shows the events read
and the months computed.

``forecast`` forecasts every series (a service's applications, street reports and counter
visits, daily and weekly) for the next 12 weeks and prints one line per series with the
model chosen by backtest and its error against the seasonal naive, ``MASE=0.83``; then
flags the weeks outside their 95% interval and notifies the services' managers.
Both are idempotent.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def _month(value: str) -> date:
    """The first day of the ``--from`` month, written ``YYYY-MM`` in ASCII digits, from
    January 1900 (the earliest month the figures are computed for) on."""
    from ecitizen.insights.services.kpis import EARLIEST_MONTH

    match = MONTH.fullmatch(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CommandError(f"--from must be a month written YYYY-MM, not {value!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if (year, month) < (EARLIEST_MONTH.year, EARLIEST_MONTH.month):
        raise CommandError(
            f"--from must be {EARLIEST_MONTH:%Y-%m} or later (there are no figures before "
            f"then), not {value!r}"
        )
    return date(year, month, 1)


class Command(BaseCommand):
    help = "Compute the performance figures (refresh) or the demand forecasts (forecast)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["refresh", "forecast"])
        parser.add_argument(
            "--from", dest="from_month", help="refresh: the first month to compute (YYYY-MM)"
        )
        parser.add_argument(
            "--rebuild", action="store_true", help="refresh: read every event again"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "refresh":
            self._refresh(options)
        else:
            self._forecast()

    def _refresh(self, options: dict[str, Any]) -> None:
        from ecitizen.insights.services import InsightsError
        from ecitizen.insights.services.kpis import kpis_refresh

        from_month = _month(options["from_month"]) if options["from_month"] else None
        bar = tqdm(unit=" rows", desc="events", disable=None, file=self.stderr)

        def progress(stage: str, count: int) -> None:
            bar.set_description(stage)
            bar.update(count)

        try:
            result = kpis_refresh(
                from_month=from_month, rebuild=options["rebuild"], progress=progress
            )
        except InsightsError as error:
            raise CommandError(str(error.message)) from error
        finally:
            bar.close()
        for feed, rows in result.events_read.items():
            self.stdout.write(f"events read: {feed} {rows}")
        self.stdout.write(
            f"months computed: {len(result.months)} "
            f"({result.months[0]:%Y-%m} to {result.months[-1]:%Y-%m}), "
            f"rows written: {result.rows_written}"
        )

    def _forecast(self) -> None:
        from ecitizen.insights.services.forecasts import forecasts_refresh

        result = forecasts_refresh()
        for line in result.series:
            if line.status == "short":
                self.stdout.write(
                    f"{line.service}/{line.series}/{line.frequency}: too little history "
                    f"({line.history_points} of {line.needed_points} needed)"
                )
            else:
                self.stdout.write(
                    f"{line.service}/{line.series}/{line.frequency}: {line.model} "
                    f"MASE={line.mase:.2f}"
                )
        self.stdout.write(
            f"series forecast: {result.forecast} of {len(result.series)}; "
            f"anomalies flagged: {result.anomalies}"
        )

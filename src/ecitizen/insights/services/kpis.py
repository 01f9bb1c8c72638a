"""Computing the monthly performance figures (``KpiMonth``): by the nightly job
(:func:`kpis_refresh`, ``ecitizen insights refresh``) and on demand for one month
(:func:`kpi_month_recompute`, the "compute again" button).

Both read the new events into the analytical store (:func:`ecitizen.insights.store.
store_sync`), measure the handling time of each workflow action from the cases' history
(:func:`ecitizen.insights.services.costs.action_times_measure`), compute the figures of
the months asked for (:func:`ecitizen.insights.kpis.kpis_compute`, which documents every
figure and its query) and replace those months' rows in one transaction: a row per
scope (service, department, authority) with something in the month, the rows of scopes
that no longer have anything deleted. Computing a month again gives the same figures;
computing a past month after later events gives the same figures too (a month's figures
depend only on events before its end).

A month in the future cannot be computed (``InsightsError`` ``future_month``), nor a
month before :data:`EARLIEST_MONTH`, January 1900 (``month_too_early``: no event of the
platform is that old, and the working-day calendar and the analytical store's timestamps
do not reach centuries back); a month before the first event but from 1900 can (its
figures are zeros).

The **current month's backlog** is taken now; a past month's at its end. Its split by
state exists for the current month only (a case's state at a past month's end is not
recorded): a past month's ``backlog_by_state`` is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ecitizen.core.access import holds_capability
from ecitizen.core.errors import PermissionDenied
from ecitizen.core.services import audit_record
from ecitizen.insights.kpis import ScopeFigures, kpis_compute, month_start, months_between
from ecitizen.insights.models import KpiMonth
from ecitizen.insights.services import INSIGHTS_PLAN, InsightsError
from ecitizen.insights.services.costs import action_times_measure
from ecitizen.insights.store import store_open, store_sync

Progress = Callable[[str, int], None]

#: The earliest month whose figures can be computed (and entered or asked for by the
#: planning forms and the ``insights refresh --from`` option, which refuse earlier ones).
EARLIEST_MONTH = date(1900, 1, 1)


@dataclass
class RefreshResult:
    """What a refresh did: the events read per feed, the months computed (first days,
    ascending) and the ``KpiMonth`` rows written."""

    events_read: dict[str, int] = field(default_factory=dict)
    months: list[date] = field(default_factory=list)
    rows_written: int = 0


def _now(today: date | None) -> datetime:
    """The local wall-clock time the current month's backlog is taken at: now, or the
    end of ``today`` when a caller names the day."""
    if today is None:
        return timezone.localtime().replace(tzinfo=None)
    return datetime.combine(today + timedelta(days=1), time())


def _month_checked(month: date, today: date) -> date:
    """The first day of ``month`` when its figures can be computed ``today``: not a month
    after today's (``future_month``), not one before :data:`EARLIEST_MONTH`
    (``month_too_early``)."""
    first = month_start(month)
    if first < EARLIEST_MONTH:
        raise InsightsError(
            _("There are no figures before %(month)s: choose %(month)s or a later month.")
            % {"month": date_format(EARLIEST_MONTH, "F Y")},
            code="month_too_early",
        )
    if first > month_start(today):
        raise InsightsError(
            _("%(month)s has not started yet: choose this month or an earlier one.")
            % {"month": date_format(first, "F Y")},
            code="future_month",
        )
    return first


def _months_write(computed: dict[date, list[ScopeFigures]]) -> int:
    """Replace the rows of each computed month: one per scope computed, the others of
    that month deleted. Returns the rows written. The caller holds a transaction, so a
    month is never seen half written."""
    written = 0
    for month, scopes in computed.items():
        kept: set[tuple[str, str]] = set()
        for scope in scopes:
            KpiMonth.objects.update_or_create(
                scope=scope.scope,
                key=scope.key,
                month=month,
                defaults={
                    "service_id": scope.service_id,
                    "department_id": scope.department_id,
                    "figures": scope.figures,
                    "computed_at": timezone.now(),
                },
            )
            kept.add((scope.scope, scope.key))
            written += 1
        for pk, scope_name, key in KpiMonth.objects.filter(month=month).values_list(
            "pk", "scope", "key"
        ):
            if (scope_name, key) not in kept:
                KpiMonth.objects.filter(pk=pk).delete()
    return written


def _compute_and_write(
    *,
    months: list[date],
    rebuild: bool,
    progress: Progress | None,
    now: datetime,
    audit: Callable[[int], None] | None = None,
) -> RefreshResult:
    """Sync the store, measure the handling times, compute ``months`` and replace their
    rows in one database transaction (``audit(rows_written)`` is called inside it).

    The store's lock is held until that transaction has committed: a nightly refresh and
    an official's "compute again" of the same month run one after the other, never
    writing the same new rows at once (which would break the unique constraint)."""
    result = RefreshResult(months=months)
    with store_open() as connection:
        synced = store_sync(connection, rebuild=rebuild, progress=progress)
        result.events_read = dict(synced.rows)
        action_times_measure(connection=connection)
        computed = kpis_compute(connection, months=months, now=now, progress=progress)
        with transaction.atomic():
            result.rows_written = _months_write(computed)
            if audit is not None:
                audit(result.rows_written)
    return result


def nightly_first_month(today: date) -> date:
    """The first month the nightly refresh computes: last month, or earlier while a
    month's completion rate can still change (its cohort of journeys settles
    ``DRAFT_EXPIRY_DAYS`` after it ends, :func:`ecitizen.insights.kpis.cohort_settled_at`;
    the extra day makes sure each month is computed once after it has settled)."""
    last_month = month_start(month_start(today) - timedelta(days=1))
    unsettled = month_start(today - timedelta(days=settings.DRAFT_EXPIRY_DAYS + 1))
    return min(last_month, unsettled)


def kpis_refresh(
    *,
    from_month: date | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    today: date | None = None,
) -> RefreshResult:
    """Read the new events (every event when ``rebuild``) and compute the figures of
    every month from ``from_month`` (default: :func:`nightly_first_month`, last month or
    the earliest whose completion rate may still change) to this month. ``today``: the
    day that counts as today (default: the local date). ``progress(stage, n)`` is called
    after each batch of events read and each month computed.

    Raises :class:`InsightsError` ``future_month`` when ``from_month`` is after this month
    and ``month_too_early`` when it is before :data:`EARLIEST_MONTH` (nothing is read or
    written then)."""
    now = _now(today)
    today = today or timezone.localdate()
    this_month = month_start(today)
    first = (
        _month_checked(from_month, today) if from_month is not None else nightly_first_month(today)
    )
    return _compute_and_write(
        months=months_between(first, this_month), rebuild=rebuild, progress=progress, now=now
    )


def kpi_month_recompute(*, month: date, actor: Any) -> RefreshResult:
    """Compute the figures of ``month`` again now (an official's "compute again"), after
    reading the new events. ``actor`` must hold ``insights.plan``. Audited.

    Raises :class:`PermissionDenied` for an actor without the capability, and
    :class:`InsightsError` ``future_month`` for a month after this one and
    ``month_too_early`` for one before :data:`EARLIEST_MONTH`."""
    if not holds_capability(actor, INSIGHTS_PLAN):
        raise PermissionDenied(_("You cannot compute the performance figures again."))
    today = timezone.localdate()
    first = _month_checked(month, today)

    def audit(rows_written: int) -> None:
        audit_record(
            action="insights.month_recomputed",
            actor=actor,
            object_type="insights.kpimonth",
            object_id=f"{first:%Y-%m}",
            changes={"month": f"{first:%Y-%m}", "rows": rows_written},
        )

    return _compute_and_write(
        months=[first], rebuild=False, progress=None, now=_now(None), audit=audit
    )

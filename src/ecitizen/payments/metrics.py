"""The payments' figures on ``/metrics`` (registered in ``PaymentsConfig.ready``).

Read at each scrape with three aggregate queries over indexed columns: payments not
finished, by state, and how long the oldest has waited; payments finished in the last day,
by state; mismatches detected in the last week. docs/operations.md says what to alert on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from ecitizen.payments.models import FINISHED_STATES, Payment, PaymentMismatch, PaymentState


def payment_metrics() -> Iterable[Metric]:
    now = timezone.now()
    unfinished = GaugeMetricFamily(
        "ecitizen_payments_unfinished",
        "Payments started and not finished (the payer is paying, or the provider has not "
        "said), by state.",
        labels=["state"],
    )
    oldest = None
    counts = {state: 0 for state in PaymentState.values if state not in FINISHED_STATES}
    for row in (
        Payment.objects.filter(finished=False)
        .values("state")
        .annotate(count=Count("pk"), oldest=Min("created_at"))
        .order_by()
    ):
        counts[row["state"]] = row["count"]
        oldest = row["oldest"] if oldest is None else min(oldest, row["oldest"])
    for state, count in sorted(counts.items()):
        unfinished.add_metric([state], count)
    yield unfinished
    yield GaugeMetricFamily(
        "ecitizen_payments_unfinished_oldest_age_seconds",
        "Age of the oldest unfinished payment (0 when none): reconciliation finishes "
        "abandoned ones when they expire.",
        value=(now - oldest).total_seconds() if oldest else 0.0,
    )
    finished = GaugeMetricFamily(
        "ecitizen_payments_finished_last_day",
        "Payments that finished in the last 24 hours (by creation time), by final state.",
        labels=["state"],
    )
    done = dict.fromkeys(sorted(FINISHED_STATES), 0)
    for row in (
        Payment.objects.filter(finished=True, created_at__gte=now - timedelta(days=1))
        .values("state")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        done[row["state"]] = row["count"]
    for state, count in done.items():
        finished.add_metric([state], count)
    yield finished
    yield GaugeMetricFamily(
        "ecitizen_payment_mismatches_last_week",
        "Payments a provider reported with another amount or currency, in the last 7 days "
        "(each needs a finance officer).",
        value=PaymentMismatch.objects.filter(detected_at__gte=now - timedelta(days=7)).count(),
    )

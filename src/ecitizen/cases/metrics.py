"""The cases' figures on ``/metrics`` (registered in ``CasesConfig.ready``): open cases past
their deadline (an SLA breached), by department. One aggregate query, on the partial index
of open cases' due dates (``case_open_due_idx``): decided cases, most of them, are not
read."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from ecitizen.cases.models import Case


def case_metrics() -> Iterable[Metric]:
    late = GaugeMetricFamily(
        "ecitizen_cases_past_deadline",
        "Open cases whose due date has passed (the service's SLA is breached), by "
        "department (departments with none are not listed); a paused clock has no due "
        "date and is not counted.",
        labels=["department"],
    )
    for row in (
        Case.objects.filter(outcome="", due_date__lt=timezone.localdate())
        .values("department__slug")
        .annotate(count=Count("pk"))
        .order_by("department__slug")
    ):
        late.add_metric([row["department__slug"]], row["count"])
    yield late

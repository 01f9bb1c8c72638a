"""Prometheus metrics: what ``/metrics`` shows (docs/operations.md says what to watch).

Two kinds:

- **Counted by the processes** as things happen: requests by URL pattern, method and
  status, with their durations; tasks by name and outcome, with theirs. Under gunicorn,
  each worker process counts its own; with ``PROMETHEUS_MULTIPROC_DIR`` set (the
  deployment files set it) they write to files there and any process's ``/metrics`` adds
  them all up (``prometheus_client.multiprocess``). The directory must be emptied when the
  service starts (the systemd unit and Compose file do it).
- **Read from the database** when Prometheus scrapes: the task queue (depth, oldest ready
  task's age, tasks left by dead workers), live workers, and what each app registers with
  :meth:`ecitizen.core.registry.Registry.register_metric_source` (payments by state,
  failed notifications, cases past their deadline...). They are the same for every process,
  so a few aggregate queries per scrape, never per request.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

#: Seconds: requests are expected well under 0.3 s (the load goal's p95); the buckets are
#: finest there.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

REQUESTS = Counter(
    "ecitizen_http_requests",
    "Requests answered, by URL pattern, method and status code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "ecitizen_http_request_duration_seconds",
    "Time to answer a request, by URL pattern and method (every middleware included).",
    ["route", "method"],
    buckets=_REQUEST_BUCKETS,
)
TASKS = Counter(
    "ecitizen_tasks",
    "Background tasks a worker finished, by task and outcome (successful, failed).",
    ["task", "status"],
)
TASK_SECONDS = Histogram(
    "ecitizen_task_duration_seconds",
    "Time a worker took to run a task, by task.",
    ["task"],
    buckets=_TASK_BUCKETS,
)

#: Methods named as themselves in labels; anything else is "other" (a client may send
#: any word as a method, and each would be a new time series).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_observed(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (``route``: the URL pattern, bounded in number)."""
    method = method if method in _METHODS else "other"
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def task_observed(task: str, status: str, seconds: float | None) -> None:
    """Count one task a worker finished (``seconds``: ``None`` when its start was not
    seen, e.g. the worker started it before a reload)."""
    TASKS.labels(task, status).inc()
    if seconds is not None:
        TASK_SECONDS.labels(task).observe(seconds)


class DatabaseCollector(Collector):
    """Figures read from the database at each scrape: the task queue and the workers, and
    every metric source the apps registered. A source that fails is logged and left out
    (with ``ecitizen_metric_source_up`` 0), so one broken query does not blank the page."""

    def collect(self) -> Iterator[Metric]:
        from ecitizen.core.registry import registry

        up = GaugeMetricFamily(
            "ecitizen_metric_source_up",
            "1 if the source's figures were read at this scrape, 0 if reading failed.",
            labels=["source"],
        )
        sources = [("core.tasks", _task_queue_metrics), *registry.metric_sources()]
        for name, collect in sources:
            try:
                families = list(collect())
            except Exception:
                logger.exception("metric source %s failed", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def _task_queue_metrics() -> Iterable[Metric]:
    from django.conf import settings
    from django.db.models import Case, Count, F, Min, When
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    from ecitizen.core.leases import task_leases_expired_count
    from ecitizen.core.models import WorkerHeartbeat

    now = timezone.now()
    depth = GaugeMetricFamily(
        "ecitizen_task_queue_depth",
        "Tasks waiting that are due now (ready), by queue.",
        labels=["queue"],
    )
    age = GaugeMetricFamily(
        "ecitizen_task_queue_oldest_age_seconds",
        "How long the oldest ready task has waited since it was due, by queue.",
        labels=["queue"],
    )
    # A task is due from its run_after, or from its enqueueing when it has none (stored
    # as a far-future sentinel meaning "as soon as possible").
    due_at = Case(When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after"))
    ready = (
        DBTaskResult.objects.ready()
        .values("queue_name")
        .annotate(count=Count("pk"), oldest=Min(due_at))
        .order_by()
    )
    for row in ready:
        depth.add_metric([row["queue_name"]], row["count"])
        age.add_metric([row["queue_name"]], max(0.0, (now - row["oldest"]).total_seconds()))
    yield depth
    yield age
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count()
    yield GaugeMetricFamily("ecitizen_tasks_running", "Tasks being run now.", value=running)
    yield GaugeMetricFamily(
        "ecitizen_tasks_stuck",
        "Running tasks whose worker stopped beating (a live worker requeues them).",
        value=task_leases_expired_count(),
    )
    failed = DBTaskResult.objects.filter(
        status=TaskResultStatus.FAILED, finished_at__gte=now - timedelta(hours=1)
    ).count()
    yield GaugeMetricFamily(
        "ecitizen_tasks_failed_last_hour", "Tasks that failed in the last hour.", value=failed
    )
    alive = WorkerHeartbeat.objects.filter(
        last_seen__gte=now - timedelta(seconds=settings.WORKER_HEALTHY_WITHIN_SECONDS)
    ).count()
    yield GaugeMetricFamily(
        "ecitizen_workers_alive",
        "Workers that beat within WORKER_HEALTHY_WITHIN_SECONDS.",
        value=alive,
    )


def exposition() -> tuple[bytes, str]:
    """The metrics page's body and content type: every process's counts (multi-process
    mode) or this process's, then the database's figures (two registries, so that the
    process's own stays the library's default one)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    read = CollectorRegistry()
    read.register(DatabaseCollector())
    return generate_latest(counted) + generate_latest(read), CONTENT_TYPE_LATEST

"""Request ids, the request log line, ids carried into tasks, the probes and /metrics."""

from __future__ import annotations

import logging
import re
from unittest import mock

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks import task
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from prometheus_client.parser import text_string_to_metric_families

from ecitizen.core import observability
from ecitizen.core.registry import registry
from ecitizen.core.tests.worker_support import batch_options, batch_worker

pytestmark = pytest.mark.django_db

_HEX_ID = re.compile(r"[0-9a-f]{32}")
_DATABASE_TASKS = {
    "default": {"BACKEND": "ecitizen.core.observability.DatabaseBackend", "QUEUES": ["default"]}
}
#: What record_request_id saw, for the test that runs it in a worker.
_seen: list[str | None] = []


@task()
def record_request_id(label: str) -> str:
    """A task that notes the request id it runs under (``label`` proves the arguments
    still reach it beside the stored id)."""
    _seen.append(observability.current_request_id())
    return label


# --- request ids ---------------------------------------------------------------------------


def test_every_response_names_a_new_random_request_id(client):
    first = client.get(reverse("core:livez"))
    second = client.get(reverse("core:livez"))
    assert _HEX_ID.fullmatch(first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_client_cannot_choose_its_request_id(client):
    response = client.get(reverse("core:livez"), HTTP_X_REQUEST_ID="chosen-by-the-client")
    assert response["X-Request-ID"] != "chosen-by-the-client"


@override_settings(TRUSTED_PROXIES=["127.0.0.1/32"])
def test_a_trusted_proxy_s_request_id_is_kept_if_well_formed(client):
    kept = client.get(reverse("core:livez"), HTTP_X_REQUEST_ID="proxy-0123456789abcdef")
    assert kept["X-Request-ID"] == "proxy-0123456789abcdef"
    forged = client.get(reverse("core:livez"), HTTP_X_REQUEST_ID="x\nlevel=ERROR forged")
    assert _HEX_ID.fullmatch(forged["X-Request-ID"])


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_request_id_from_outside_the_trusted_proxies_is_replaced(client):
    response = client.get(reverse("core:livez"), HTTP_X_REQUEST_ID="proxy-0123456789abcdef")
    assert response["X-Request-ID"] != "proxy-0123456789abcdef"


def test_each_request_is_logged_once_by_pattern_without_its_query(client, caplog):
    caplog.set_level(logging.INFO, logger="ecitizen.request")
    response = client.get("/services/search/?q=my+name+is+private")
    lines = [record for record in caplog.records if record.name == "ecitizen.request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.status) == ("GET", response.status_code)
    assert line.request_id == response["X-Request-ID"]
    assert line.route == "services/search/"
    assert "private" not in line.getMessage()
    assert line.duration_ms >= 0


def test_log_records_written_during_a_request_carry_its_id():
    log_filter = observability.RequestIdLogFilter()
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "outside", (), None)
    log_filter.filter(outside)
    assert outside.request_id == "-"
    token = observability._request_id.set("abcdef0123456789")
    try:
        inside = logging.LogRecord("x", logging.INFO, __file__, 1, "inside", (), None)
        log_filter.filter(inside)
    finally:
        observability._request_id.reset(token)
    assert inside.request_id == "abcdef0123456789"


@override_settings(TASKS=_DATABASE_TASKS)
def test_a_task_runs_in_the_worker_under_the_id_of_the_request_that_enqueued_it(db):
    """Stored by our backend, read back by django-tasks-db's own worker."""
    token = observability._request_id.set("0123456789abcdef0123456789abcdef")
    try:
        result = record_request_id.enqueue("first")
    finally:
        observability._request_id.reset(token)
    untraced = record_request_id.enqueue("second")  # enqueued outside any request
    assert observability.current_request_id() is None
    _seen.clear()
    worker = Worker(**batch_options("test-worker"))
    # The worker's own way of running a task (signals, call, result), without its loop,
    # which closes the database connection this test's transaction holds.
    for stored in DBTaskResult.objects.filter(pk__in=[result.id, untraced.id]).order_by(
        "enqueued_at"
    ):
        worker.run_task(stored)
    assert DBTaskResult.objects.get(pk=result.id).return_value == "first"
    assert DBTaskResult.objects.get(pk=untraced.id).return_value == "second"
    assert _seen[0] == "0123456789abcdef0123456789abcdef"
    assert _HEX_ID.fullmatch(_seen[1] or "")  # a new id of its own
    assert observability.current_request_id() is None  # not left on the worker's thread


@override_settings(TASKS=_DATABASE_TASKS)
def test_ecitizen_s_worker_gives_the_request_id_from_the_row_it_claimed(db):
    """``ecitizen worker`` has read the row to claim it: the id comes from that row, and
    the row is not read again for it (a query per task)."""
    token = observability._request_id.set("fedcba9876543210fedcba9876543210")
    try:
        result = record_request_id.enqueue("traced")
    finally:
        observability._request_id.reset(token)
    untraced = record_request_id.enqueue("untraced")
    _seen.clear()
    worker = batch_worker("test-worker")
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    column = connection.ops.quote_name("args_kwargs")
    for stored in DBTaskResult.objects.filter(pk__in=[result.id, untraced.id]).order_by(
        "enqueued_at"
    ):
        stored.claim("test-worker")  # as the loop claims it before running it
        with CaptureQueriesContext(connection) as queries:
            worker.run_task(stored)
        assert not [
            query["sql"]
            for query in queries.captured_queries
            if query["sql"].startswith("SELECT") and f"{table}.{column}" in query["sql"]
        ]
    assert DBTaskResult.objects.get(pk=result.id).return_value == "traced"
    assert DBTaskResult.objects.get(pk=untraced.id).return_value == "untraced"
    assert _seen[0] == "fedcba9876543210fedcba9876543210"
    assert _HEX_ID.fullmatch(_seen[1] or "")
    assert _seen[1] != _seen[0]
    assert observability.current_request_id() is None


# --- probes ---------------------------------------------------------------------------------


def test_liveness_reads_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("core:livez"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_checks_the_database_its_migrations_and_the_cache(client):
    response = client.get(reverse("core:readyz"))
    assert response.status_code == 200
    assert response.json() == {
        "database": {"status": "ok"},
        "cache": {"status": "ok"},
        "status": "ok",
    }


def test_a_process_is_not_ready_while_migrations_are_missing(client, monkeypatch):
    from ecitizen.core import selectors

    monkeypatch.setattr(selectors, "_migrated_aliases", set())
    with mock.patch(
        "django.db.migrations.executor.MigrationExecutor.migration_plan",
        return_value=[("a migration", False)],
    ):
        response = client.get(reverse("core:readyz"))
    assert response.status_code == 503
    assert response.json()["database"] == {"status": "error", "unapplied_migrations": 1}


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Nothing listens on port 1: the cache is down.
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
)
def test_a_process_whose_cache_is_down_is_not_ready(client):
    response = client.get(reverse("core:readyz"))
    assert response.status_code == 503
    assert response.json()["cache"] == {"status": "error", "error": "ConnectionError"}


# --- /metrics ---------------------------------------------------------------------------------


def _families(response) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def _value(families, name: str, **labels: str) -> float:
    for sample in families[name].samples:
        if all(sample.labels.get(key) == value for key, value in labels.items()):
            return sample.value
    raise AssertionError(f"no {name} sample with {labels}")


def test_metrics_count_requests_by_pattern_and_show_every_source(client):
    client.get(reverse("core:livez"))
    before = _families(client.get(reverse("core:metrics")))
    client.get(reverse("core:livez"))
    response = client.get(reverse("core:metrics"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    after = _families(response)
    counted = {"route": "livez", "method": "GET", "status": "200"}
    assert _value(after, "ecitizen_http_requests", **counted) == (
        _value(before, "ecitizen_http_requests", **counted) + 1
    )
    assert "ecitizen_workers_alive" in after
    for source in ("core.tasks", "cases", "payments", "notifications"):
        assert _value(after, "ecitizen_metric_source_up", source=source) == 1


def test_a_failing_source_is_left_out_and_the_page_still_answers(client, monkeypatch):
    def broken():
        raise RuntimeError("the source's query failed")

    monkeypatch.setitem(registry.metric_source_table, "broken", broken)
    families = _families(client.get(reverse("core:metrics")))
    assert _value(families, "ecitizen_metric_source_up", source="broken") == 0
    assert _value(families, "ecitizen_metric_source_up", source="payments") == 1


@override_settings(TASKS=_DATABASE_TASKS)
def test_the_task_queue_s_depth_and_age(client, db):
    record_request_id.enqueue("waiting")
    families = _families(client.get(reverse("core:metrics")))
    assert _value(families, "ecitizen_task_queue_depth", queue="default") == 1
    assert _value(families, "ecitizen_task_queue_oldest_age_seconds", queue="default") >= 0


def test_a_scrape_costs_the_same_few_queries_whatever_the_data(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("core:metrics")).status_code == 200
    assert len(queries) <= 12


def test_metrics_refuse_other_networks(client):
    response = client.get(reverse("core:metrics"), REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 403
    assert b"ecitizen_" not in response.content


@override_settings(METRICS_TOKEN="t" * 40)
def test_with_a_token_metrics_want_it_from_any_network(client):
    assert client.get(reverse("core:metrics")).status_code == 403
    wrong = client.get(reverse("core:metrics"), HTTP_AUTHORIZATION="Bearer " + "x" * 40)
    assert wrong.status_code == 403
    right = client.get(
        reverse("core:metrics"), HTTP_AUTHORIZATION="Bearer " + "t" * 40, REMOTE_ADDR="192.0.2.7"
    )
    assert right.status_code == 200


@pytest.mark.parametrize("path", ["core:livez", "core:readyz", "core:metrics"])
@override_settings(SECURE_SSL_REDIRECT=True)
def test_probes_answer_over_plain_http_inside_the_network(client, path):
    assert client.get(reverse(path)).status_code == 200

"""PostgreSQL stopped and started again under load: while it is down the site answers its
styled 503 page (then, once readiness has taken every process out, the load balancer's
outage page), and it comes back by itself, losing nothing and doing nothing twice.

The database is a copy of the test's, in a PostgreSQL cluster of this test's own (the
machine's server serves the other tests, running in parallel: it is never touched). Two
gunicorns behind the shipped HAProxy configuration and a worker use it; residents apply
for garden waste collection and pay its fee, over and over, when the server is stopped
(``pg_ctl stop -m fast``: every session cut) and, once the outage has been seen, started
again. Nothing else is restarted: the web processes reconnect by themselves
(``CONN_HEALTH_CHECKS``), and the worker waits for the database (``core.outages``). The
test supervises the worker as the shipped systemd unit does (``Restart=always``) and
checks that it never had to start it again.

Afterwards the same checks as after a killed process: every confirmation shown is one
case, none twice; every settled payment settled once with one receipt; no task left or
failed; ``audit verify`` and ``ledger check`` pass.
"""

from __future__ import annotations

import sys

import pytest
import requests
from django.db import connection

from tests.faults.checks import assert_commands_pass, assert_no_task_failed, wait_for_the_queue
from tests.faults.conftest import Cluster
from tests.faults.journeys import UNAVAILABLE
from tests.faults.stack import postgres_only
from tests.processes import needs_haproxy, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.db_specific,
    postgres_only,
    needs_haproxy,
]


@pytest.fixture
def stack_database(database_in_own_postgres: str) -> str:
    """The stack's processes use the copy of the test's database in the own cluster."""
    return database_in_own_postgres


def _outage_page(url: str, marker: str = "") -> tuple[requests.Response] | None:
    """The 503 page at ``url`` (in a tuple: a response whose status is an error is false)."""
    response = requests.get(url, timeout=10)
    return (response,) if response.status_code == 503 and marker in response.text else None


def test_postgresql_restarted_under_load(start_traffic, own_postgres: Cluster):
    traffic = start_traffic(supervise_worker=True, patience=90)
    stack, load = traffic.stack, traffic.load
    web_pids = {name: process.pid for name, process in stack.web.items()}
    wait_for(lambda: load.journeys_since_mark() >= 1, "a journey each before the outage")

    own_postgres.stop("fast")
    # A web process answers its own styled 503 page: the site's layout and stylesheet,
    # what happened, when to try again.
    (page,) = wait_for(
        lambda: _outage_page(f"{stack.web_url('web1')}/services/"), "the site's 503 page"
    )
    assert UNAVAILABLE in page.text
    assert page.headers["Retry-After"] == "30"
    assert "govuk-header" in page.text
    assert "/static/" in page.text
    # It is alive all the same (an orchestrator must not restart it)...
    assert requests.get(f"{stack.web_url('web1')}/livez", timeout=10).status_code == 200
    # ...but not ready: once HAProxy's health checks have seen that, every request gets
    # the balancer's outage page (self-contained, every language).
    (page,) = wait_for(
        lambda: _outage_page(f"{stack.url}/", marker='dir="rtl"'), "the load balancer's outage page"
    )
    assert UNAVAILABLE in page.text
    assert page.headers["Retry-After"] == "30"
    own_postgres.start()

    # Back by itself: nothing restarted, the same residents carry on.
    wait_for(stack.ready_behind_balancer, "the site back behind the load balancer")
    load.mark()
    load.finish(at_least=1)
    assert {name: process.pid for name, process in stack.web.items()} == web_pids
    outages = traffic.outages()
    assert any(o.status == 503 and o.says_unavailable for o in outages), outages
    assert all(o.retry_after == "30" for o in outages if o.status == 503), outages

    connection.close()  # this process's session was cut too
    wait_for_the_queue()
    assert_no_task_failed()
    cases = traffic.assert_each_once()
    assert_commands_pass(stack.env)
    assert stack.restarts["worker"] == 0  # it rode out the outage
    sys.stdout.write(
        f"{cases} applications and payments; {len(outages)} outage answers "
        f"({sum(o.styled for o in outages)} the site's own)\n"
    )

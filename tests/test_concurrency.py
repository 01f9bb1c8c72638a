"""Locks that only matter when requests really run at once: checked on PostgreSQL with
threads, each on its own connection. (SQLite lets one writer in at a time, so there is no
race to lose; these tests run in the PostgreSQL pass of CI.)"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from ecitizen.accounts import services
from ecitizen.core.selectors import audit_chain_verify
from ecitizen.core.services import audit_record

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
    ),
]


def _run_together(work: Callable[[int], None], count: int) -> list[BaseException]:
    """Start ``count`` threads at the same instant; return what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            barrier.wait()
            work(number)
        except BaseException as error:  # collected for the assertion
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_parallel_appends_keep_one_unbroken_chain():
    errors = _run_together(lambda n: audit_record(action=f"test.parallel{n}"), 12)
    assert not errors
    report = audit_chain_verify()
    assert report.ok, report.reason
    assert report.events_checked == 12


def test_parallel_guesses_are_all_counted(settings):
    settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT = 5
    admitted: list[int] = []

    def guess(number: int) -> None:
        try:
            services.signin_attempt_begin(email="target@example.test", ip_address=None)
        except services.SignInThrottled:
            return
        admitted.append(number)

    errors = _run_together(guess, 20)
    assert not errors
    assert len(admitted) == 5

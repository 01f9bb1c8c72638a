"""While an official acts on an application, new applications to the same service (by the
same resident, even) still commit: the case's lock is the case's row alone.

Found by ``test_web_process_killed.py``: the case services locked the case with
``select_for_update()`` and ``select_related("service_version", "applicant")``, which on
PostgreSQL locks the joined rows too (FOR UPDATE). Every draft and case of the service,
and every row referring to the applicant, checks its foreign key at COMMIT (FOR KEY
SHARE), so each waited for the official's transaction; with the audit trail's chain head
taken in between, the worker settling a fee and a resident sending an application
deadlocked ("deadlock detected" at COMMIT: a 503 for the resident, the fee's subscriber
retried a minute later).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from ecitizen.accounts.models import Department, Role
from ecitizen.cases import services as cases
from ecitizen.cases.tests.support import submit_shed
from tests.factories import UserFactory
from tests.faults.stack import postgres_only
from tests.personas import _official

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_specific, postgres_only]


def test_a_case_being_worked_on_holds_up_no_new_application(services):
    shed = services["shed-permit"]
    resident = UserFactory(email="locks@example.test")
    officer = _official(
        Role.CASE_OFFICER, Department.objects.get(slug="public-works"), email="o@example.test"
    )
    case = submit_shed(shed, resident)
    acting, done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def official_at_work() -> None:
        try:
            with transaction.atomic():
                cases.case_transition(case=case, action_id="start_review", actor=officer)
                acting.set()
                done.wait(30)  # the official's transaction stays open meanwhile
        except BaseException as error:
            failures.append(error)
        finally:
            acting.set()
            connection.close()

    official = threading.Thread(target=official_at_work)
    official.start()
    try:
        assert acting.wait(30)
        # The resident starts another application to the same service: its draft refers
        # to the service version and to the resident, checked at COMMIT.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
            draft = cases.draft_start(service=shed, applicant=resident, actor=resident)
    finally:
        done.set()
        official.join(timeout=30)
    assert not failures, failures
    assert draft.pk is not None
    case.refresh_from_db()
    assert case.state == "first_review"

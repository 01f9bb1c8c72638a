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

import contextlib
import inspect
import threading
import uuid

import pytest
from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ecitizen.accounts.models import Department, Role
from ecitizen.cases import services as cases
from ecitizen.cases.tests.support import submit_shed
from ecitizen.core.errors import DomainError
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


# --- Every other lock taken with joined rows read along locks its own row only -----------------
#
# Each call below reads rows it does not lock (``select_related``) next to the row it locks;
# without ``of=("self",)`` PostgreSQL would lock the joined rows too (the process of every
# proposal, the case of a complaint, the owner's account...), as the case services did.
# The calls find nothing (no data is needed to see the SQL they lock with).


def _budget():
    from ecitizen.participation.models import Budget
    from ecitizen.participation.services import budgets

    budgets.results_count_request(budget=Budget(pk=0), actor=None)


def _proposal():
    from ecitizen.participation.models import Proposal
    from ecitizen.participation.services import proposals

    proposals.proposal_unhide(proposal=Proposal(pk=0), actor=None)


def _comment():
    from ecitizen.participation.models import Comment
    from ecitizen.participation.services import comments

    comments.comment_unhide(comment=Comment(pk=0), actor=None)


def _pending_response():
    from ecitizen.participation.models import Consultation
    from ecitizen.participation.services import consultations

    consultations.pending_response_confirm(
        consultation=Consultation(pk=0), pending_id=uuid.uuid4(), token="x"
    )


def _phase():
    from ecitizen.participation.services import follows

    follows._phase_announce(0)


def _feedback_link():
    from ecitizen.feedback import services as feedback

    feedback.submission_confirm(token="x")


def _complaint_state():
    from ecitizen.feedback import services as feedback

    feedback.complaint_state_record(case_id=0, state="x")


def _client_rotate(admin):
    from ecitizen.api import clients
    from ecitizen.api.models import IntegrationClient

    clients.client_secret_rotate(client=IntegrationClient(pk=0), actor=admin)


def _client_disable(admin):
    from ecitizen.api import clients
    from ecitizen.api.models import IntegrationClient

    clients.client_disable(client=IntegrationClient(pk=0), actor=admin)


def _consent(admin):
    from ecitizen.api import clients

    clients.consent_revoke(user=admin, consent_id=0)


def _export_claim():
    from ecitizen.privacy import exports

    exports._claim(uuid.uuid4())


def _erasure_withdraw():
    from ecitizen.privacy import erasure
    from ecitizen.privacy.models import ErasureRequest

    erasure.erasure_request_withdraw(request=ErasureRequest(pk=0), actor=None)


def _erasure_carry_out():
    from ecitizen.privacy import erasure
    from ecitizen.privacy.models import ErasureRequest

    with transaction.atomic():
        erasure._locked_open(ErasureRequest(pk=0), requester_too=True)


def _table(label: str) -> str:
    return apps.get_model(label)._meta.db_table


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("call", "locked"),
    [
        (_budget, ["participation.Budget"]),
        (_proposal, ["participation.Proposal"]),
        (_comment, ["participation.Comment"]),
        (_pending_response, ["participation.PendingResponse"]),
        (_phase, ["participation.Phase"]),
        (_feedback_link, ["feedback.Submission"]),
        (_complaint_state, ["feedback.Submission"]),
        (_client_rotate, ["api.IntegrationClient"]),
        (_client_disable, ["api.IntegrationClient"]),
        (_consent, ["api.Consent"]),
        (_export_claim, ["privacy.DataExport"]),
        (_erasure_withdraw, ["privacy.ErasureRequest"]),
        # Carrying an erasure out locks the account too, on purpose (see erasure_request_approve).
        (_erasure_carry_out, ["privacy.ErasureRequest", "accounts.User"]),
    ],
    ids=lambda value: getattr(value, "__name__", "").strip("_") or None,
)
def test_a_lock_with_joined_rows_takes_only_its_own_row(call, locked):
    admin = _official(Role.PLATFORM_ADMIN, email="admin@example.test")
    arguments = [admin] if inspect.signature(call).parameters else []
    # Nothing to find: the lock's SQL is what is looked at.
    suppress = contextlib.suppress(ObjectDoesNotExist, DomainError)
    with CaptureQueriesContext(connection) as captured, suppress:
        call(*arguments)
    locks = [query["sql"] for query in captured.captured_queries if "FOR UPDATE" in query["sql"]]
    assert locks, "the call took no lock"
    expected = ", ".join(connection.ops.quote_name(_table(label)) for label in locked)
    assert locks[0].endswith(f"FOR UPDATE OF {expected}"), locks[0]
    for sql in locks:
        assert " JOIN " not in sql or "FOR UPDATE OF " in sql, sql

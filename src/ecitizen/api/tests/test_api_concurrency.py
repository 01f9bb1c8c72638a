"""Idempotency keys when the same request arrives several times at the same instant
(a client retrying while the first attempt is still running): one write, the same answer
for all. Needs concurrent writers, so it runs on PostgreSQL (SQLite lets one writer in
at a time: there is no race to lose)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from ecitizen.api.tests import support as helpers
from ecitizen.api.tests.support import bearer
from ecitizen.cases.models import Case
from ecitizen.core.idempotency import StoredResponse, idempotent_call
from ecitizen.core.models import AuditEvent
from ecitizen.core.services import audit_record
from tests.concurrency import run_together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.db_specific,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
    ),
]

# The shared fixtures (pytest finds them as this module's attributes).
api_admin = helpers.api_admin
published = helpers.published
resident_app = helpers.resident_app
token_for = helpers.token_for
works = helpers.works


def test_concurrent_calls_with_one_key_write_once():
    answers: list[tuple[StoredResponse, bool]] = []

    def call_once(number: int) -> None:
        def write() -> StoredResponse:
            audit_record(action="test.idempotent_write")
            return StoredResponse(201, "application/json", json.dumps({"by": number}))

        answers.append(
            idempotent_call(scope="test", key="same-key", fingerprint="f" * 64, call=write)
        )

    errors = run_together(call_once, 8)
    assert not errors
    assert AuditEvent.objects.filter(action="test.idempotent_write").count() == 1
    assert len({response.body for response, _replayed in answers}) == 1
    assert sum(1 for _response, replayed in answers if replayed) == 7


def test_concurrent_applications_with_one_key_make_one_case(published, resident, token_for):
    token = token_for(resident)
    body = json.dumps(
        {
            "service": "garden-waste-collection",
            "answers": {"lives_in_riverton": True, "bin_count": 1, "collection_address": "1 A St"},
            "declaration": True,
        }
    )
    statuses: list[tuple[int, str]] = []

    def apply(number: int) -> None:
        response = Client().post(
            "/api/v1/applications",
            data=body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="apply-once",
            **bearer(token),
        )
        statuses.append((response.status_code, response.json().get("reference", "")))

    errors = run_together(apply, 6)
    assert not errors
    assert Case.objects.count() == 1
    assert {status for status, _ref in statuses} == {201}
    assert len({ref for _status, ref in statuses}) == 1

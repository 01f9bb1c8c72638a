"""The public REST API against its own OpenAPI document, and nobody reaching anyone else's
data through it.

- schemathesis generates requests for every operation of ``/api/v1/openapi.json``
  (valid and invalid ones, a few examples each) and checks that no answer is a server
  error, and that every status code, content type and body is one the document declares
  — as an anonymous caller and with a resident's token.
- a walk of every operation of the document (so a new one is covered without editing
  this file) as anonymous, another resident, an official of another department and a
  client whose token lacks the scope: none of them gets the first resident's data.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ecitizen.api import clients, webhooks
from ecitizen.api.models import IntegrationClient, WebhookDelivery
from ecitizen.api.tests import support as helpers
from ecitizen.api.tests.support import bearer
from ecitizen.cases import services as cases
from ecitizen.documents.tests.factories import issue
from ecitizen.notifications.models import Channel, Notification, Status

# The shared fixtures (pytest finds them as this module's attributes).
api_admin = helpers.api_admin
back_office_token = helpers.back_office_token
published = helpers.published
resident_app = helpers.resident_app
token_for = helpers.token_for
works = helpers.works


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
GARDEN_ANSWERS = {
    "lives_in_riverton": True,
    "bin_count": 2,
    "collection_address": "Flat 7, Marker Court 4471",
}
#: Strings only the first resident's data holds: none may appear in another's answer.
MARKERS = ("Marker Court 4471", "resident@example.test", "Alex Morgan")


@pytest.fixture
def world(
    published,
    resident,
    second_resident,
    resident_app,
    api_admin,
    token_for,
    back_office_token,
    other_department,
):
    """The first resident's application (with its fee bill and messages), document,
    webhook subscription (through the resident app) and one delivery of it naming the
    application, and a token for each persona. The persona "client without the scope" is
    another app the resident connected with the ``webhooks`` scope only: it reaches
    neither their resources nor the first app's subscriptions."""
    service = published["garden-waste-collection"]
    draft = cases.draft_start(service=service, applicant=resident, actor=resident)
    draft = cases.draft_save_answers(draft=draft, values=GARDEN_ANSWERS, actor=resident)
    case = cases.draft_submit(draft=draft, actor=resident)
    document = issue(resident, reference=case.reference)
    subscription, _secret = webhooks.subscription_create(
        client=IntegrationClient.objects.get(application=resident_app),
        user=resident,
        url="https://hooks.example.org/riverton",
        events=["case.submitted"],
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event="case.submitted",
        body=webhooks.webhook_body(
            name="case.submitted", event_id=uuid.uuid4(), data={"reference": case.reference}
        ),
    )
    other_app, _secret = clients.client_register(
        name="Another app",
        kind="resident_app",
        scopes=["webhooks"],
        redirect_uris=["https://other.example.test/callback"],
        actor=api_admin,
    )
    return {
        "case": case,
        "document": document,
        "message": Notification.objects.create(
            recipient=resident,
            event="case_submitted",
            channel=Channel.INBOX,
            language="en",
            subject=f"We received your application {case.reference}",
            body="Dear Alex Morgan, we received it.",
            status=Status.DELIVERED,
        ),
        "subscription": subscription,
        "delivery": delivery,
        "tokens": {
            "resident": token_for(resident),
            "second_resident": token_for(second_resident),
            "other_department_official": back_office_token(other_department),
            "client_without_scope": clients.access_token_issue(
                application=other_app.application, user=resident, scopes=["webhooks"]
            ),
        },
    }


@pytest.fixture
def _connections_kept():
    """Keep the test's database connection across the WSGI requests (as Django's test
    client does): the handler would close it at the end of each request, taking the
    test's transaction with it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _schema():
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())


def _negatable(operation) -> bool:
    """Whether invalid input can be made for the operation: a body, or a parameter with a
    constraint (a free-text path parameter alone accepts anything)."""
    raw = operation.definition.raw
    if raw.get("requestBody"):
        return True
    for parameter in raw.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") != "path" or set(schema) - {"type", "title", "description"}:
            return True
        if schema.get("type") not in (None, "string"):
            return True
    return False


def _run_schemathesis(headers: dict[str, str], max_examples: int) -> list[str]:
    schema = _schema()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            if mode == schemathesis.GenerationMode.NEGATIVE and not _negatable(operation):
                continue
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case):
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                # Nothing about the operation can be made invalid (a free-text path
                # parameter, no parameters at all): no negative case exists.
                continue
            except Exception as error:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {error}")
    return failures


@pytest.mark.django_db
@pytest.mark.usefixtures("_connections_kept")
def test_every_operation_conforms_to_the_document_for_anonymous_callers(world):
    failures = _run_schemathesis({}, max_examples=8)
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
@pytest.mark.usefixtures("_connections_kept")
def test_every_operation_conforms_to_the_document_for_a_resident(world):
    token = world["tokens"]["resident"]
    failures = _run_schemathesis({"Authorization": f"Bearer {token}"}, max_examples=8)
    assert not failures, "\n\n".join(failures)


# --- nobody else reaches the first resident's data ---------------------------------------


def _operations(client):
    document = client.get("/api/v1/openapi.json").json()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def _concrete(path: str, world) -> str:
    """The path with the first resident's own identifiers in it (each name of a path
    parameter must be known here: a new one fails the walk until it is added)."""
    values = {
        "reference": world["case"].reference,
        "code": world["document"].code,
        "slug": "garden-waste-collection",
        "name": "street-reports",  # a dataset (public)
        "message_id": world["message"].pk,
        "subscription_id": world["subscription"].uid,
        "delivery_id": world["delivery"].uid,
    }
    if path.startswith("/api/v1/bills/"):
        values["reference"] = world["case"].bill_reference

    def fill(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return re.sub(r"{([^}]+)}", fill, path)


#: Public operations that show, by design, what a holder of the identifier already has.
_PUBLIC_BY_DESIGN = {
    # Verification answers what is printed on a document (the holder's name among it) to
    # whoever holds its code, like the public page documents:verify.
    "/api/v1/documents/verify/{code}",
}

_BODIES = {
    # Someone else's own application: other answers than the first resident's.
    "/api/v1/applications": {
        "service": "garden-waste-collection",
        "answers": {**GARDEN_ANSWERS, "collection_address": "2 Other Road"},
        "declaration": True,
    },
    "/api/v1/cases/{reference}/transitions": {"action": "approve", "text": ""},
}


def _call(client, method, url, path, token):
    headers = bearer(token) if token else {}
    if method == "get":
        return client.get(url, **headers)
    return getattr(client, method)(
        url, data=json.dumps(_BODIES.get(path, {})), content_type="application/json", **headers
    )


def _body_without_instance(response) -> str:
    text = response.content.decode("utf-8", "replace")
    if response.get("Content-Type", "").startswith("application/problem+json"):
        problem = json.loads(text)
        problem.pop("instance", None)  # the address asked for, echoed back
        return json.dumps(problem)
    return text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", ["anonymous", "second_resident", "other_department_official", "client_without_scope"]
)
def test_no_operation_gives_the_first_residents_data_to_anyone_else(client, world, persona):
    token = world["tokens"].get(persona)
    state_before = (world["case"].state, world["case"].outcome)
    walked, leaks = 0, []
    for path, method, operation in _operations(client):
        if path in _PUBLIC_BY_DESIGN:
            continue
        url = _concrete(path, world)
        response = _call(client, method, url, path, token)
        walked += 1
        body = _body_without_instance(response)
        found = [marker for marker in MARKERS if marker in body]
        names_the_case = "{" in path and world["case"].reference in body
        if found or names_the_case:
            leaks.append(
                f"{method.upper()} {url} -> {response.status_code}: {found or 'reference'}"
            )
        refused = (401, 403, 404)
        if "{" in path and "security" in operation and response.status_code not in refused:
            leaks.append(f"{method.upper()} {url} -> {response.status_code} (expected 401/403/404)")
        if "security" in operation and persona == "anonymous":
            assert response.status_code == 401, f"{method.upper()} {url}"
    world["case"].refresh_from_db()
    assert (world["case"].state, world["case"].outcome) == state_before
    assert walked >= 10, "the walk found too few operations"
    assert not leaks, f"{persona} reached the first resident's data: {leaks}"


@pytest.mark.django_db
def test_the_walk_does_find_the_data_with_the_residents_own_token(client, world, token_for):
    """The leak walk can fail: the first resident's own token (with the webhooks scope
    too) does get their data, through the same identifiers."""
    token = token_for(world["case"].applicant, scopes=[*helpers.RESIDENT_SCOPES, "webhooks"])
    seen = set()
    for path, method, _operation in _operations(client):
        if method != "get":
            continue
        response = _call(client, method, _concrete(path, world), path, token)
        body = response.content.decode("utf-8", "replace")
        if any(marker in body for marker in MARKERS) or world["case"].reference in body:
            seen.add(path)
    assert {"/api/v1/applications", "/api/v1/applications/{reference}"} <= seen
    assert "/api/v1/documents/{code}" in seen
    assert "/api/v1/webhooks/deliveries/{delivery_id}" in seen
    assert "/api/v1/messages/{message_id}" in seen

"""Webhooks, delivered to a real HTTP server on 127.0.0.1 in a thread: subscribing through
the API (unknown events refused), signed deliveries made from domain events, delivered
only to clients entitled to them, retried with backoff, logged, replayed; private
addresses refused outside tests; no personal field in a payload."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from ecitizen.accounts.models import Role
from ecitizen.api import clients, webhooks
from ecitizen.api.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from ecitizen.cases.tests.conftest import FIXTURES
from ecitizen.cases.tests.support import pay_fee, submit_shed
from ecitizen.core.models import AuditEvent
from ecitizen.core.registry import registry
from tests.factories import DepartmentFactory, JurisdictionFactory

EVENTS = (
    "case.submitted",
    "case.state_changed",
    "payment.settled",
    "document.issued",
    "document.revoked",
    "report.updated",
)

#: What the apps registered while Django started, before any fixture of this module.
REGISTERED_AT_START = frozenset(registry.webhook_events)


class Receiver:
    """An HTTP server that records what it is sent and answers with the next status of
    ``statuses`` (the last one again when they run out), after ``delay`` seconds."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.statuses = [200]
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ecitizen"


@pytest.fixture
def receiver():
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture(autouse=True)
def _local_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2


@pytest.fixture(autouse=True)
def _events_offered():
    """The six events, registered as the apps register them (idempotent)."""
    from ecitizen.cases.webhooks import register_webhook_events as cases_events
    from ecitizen.documents.webhooks import register_webhook_events as documents_events
    from ecitizen.payments.webhooks import register_webhook_events as payments_events
    from ecitizen.reports.webhooks import register_webhook_events as reports_events

    for register in (cases_events, documents_events, payments_events, reports_events):
        register()


@pytest.fixture
def works(db):
    return DepartmentFactory(slug="public-works", name="Public Works")


@pytest.fixture
def shed(works):
    from ecitizen.catalogue.models import Service
    from ecitizen.catalogue.services import service_definitions_publish

    service_definitions_publish(directory=FIXTURES, actor=None)
    return Service.objects.get(slug="shed-permit")


@pytest.fixture
def resident_app(platform_admin):
    client, _secret = clients.client_register(
        name="Pocket Riverton",
        kind="resident_app",
        scopes=["profile", "applications:read", "bills:read", "documents:read", "webhooks"],
        redirect_uris=["https://app.example.test/callback"],
        public=True,
        actor=platform_admin,
    )
    return client


def resident_token(app, user, scopes=("applications:read", "bills:read", "webhooks")):
    clients.consent_record(user=user, application=app.application, scopes=scopes)
    return clients.access_token_issue(application=app.application, user=user, scopes=scopes)


def office_for(platform_admin, department, ward=None, name="Works system"):
    office, _secret = clients.client_register(
        name=name,
        kind="back_office",
        scopes=["cases:read", "webhooks"],
        department=department,
        ward=ward,
        role=Role.CASE_OFFICER,
        actor=platform_admin,
    )
    token = clients.access_token_issue(
        application=office.application, scopes=["cases:read", "webhooks"]
    )
    return office, token


def subscribe(client, token, url, events):
    return client.post(
        "/api/v1/webhooks/subscriptions",
        data=json.dumps({"url": url, "events": list(events)}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def api_get(client, token, path):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


# --- Registration of the events -----------------------------------------------------------


def test_the_six_events_are_offered(client, resident, resident_app):
    # Registered by the apps themselves at start-up (not by this module's fixture).
    assert set(EVENTS) <= REGISTERED_AT_START
    token = resident_token(resident_app, resident)
    names = {event["name"] for event in api_get(client, token, "/api/v1/webhooks/events").json()}
    assert set(EVENTS) <= names


# --- Subscribing --------------------------------------------------------------------------


def test_an_unknown_event_is_refused_clearly(client, resident, resident_app, receiver):
    token = resident_token(resident_app, resident)
    response = subscribe(client, token, receiver.url, ["case.submitted", "case.exploded"])
    assert response.status_code == 422
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert problem["code"] == "webhook_event_unknown"
    assert "case.exploded" in problem["detail"]
    assert problem["errors"][0]["field"] == "events"
    assert not WebhookSubscription.objects.exists()


def test_without_the_webhooks_scope_a_client_cannot_subscribe(
    client, resident, resident_app, receiver
):
    token = resident_token(resident_app, resident, scopes=("applications:read",))
    response = subscribe(client, token, receiver.url, ["case.submitted"])
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_private_addresses_are_refused_in_production(settings, client, resident, resident_app):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    token = resident_token(resident_app, resident)
    for url in ("https://127.0.0.1/hook", "https://10.0.0.5/hook", "http://hooks.example/x"):
        response = subscribe(client, token, url, ["case.submitted"])
        assert response.status_code == 422, url
        assert response.json()["code"] in {"webhook_url_private", "webhook_url_invalid"}


def test_the_delivery_refuses_a_private_address_in_production(
    settings, resident, resident_app, shed, receiver, django_capture_on_commit_callbacks
):
    subscription, _secret = webhooks.subscription_create(
        client=resident_app, user=resident, url=receiver.url, events=["case.submitted"]
    )
    resident_token(resident_app, resident)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with django_capture_on_commit_callbacks(execute=True):
        submit_shed(shed, resident)
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    attempt = delivery.attempt_log.get()
    assert attempt.error == "address_refused"
    assert attempt.status_code is None
    assert receiver.received == []


# --- Delivering ---------------------------------------------------------------------------


def test_a_submitted_case_reaches_the_residents_app_signed(
    client, resident, resident_app, shed, receiver, django_capture_on_commit_callbacks
):
    token = resident_token(resident_app, resident)
    created = subscribe(client, token, receiver.url, ["case.submitted", "case.state_changed"])
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    with django_capture_on_commit_callbacks(execute=True):
        case = submit_shed(shed, resident)

    assert len(receiver.received) == 1
    sent = receiver.received[0]
    body = sent["body"]
    assert sent["headers"]["X-Ecitizen-Event"] == "case.submitted"
    assert webhooks.webhook_signature_valid(secret, body, sent["headers"]["X-Ecitizen-Signature"])
    assert not webhooks.webhook_signature_valid(
        "whsec_other", body, sent["headers"]["X-Ecitizen-Signature"]
    )
    payload = json.loads(body)
    assert payload["event"] == "case.submitted"
    assert payload["data"] == {
        "reference": case.reference,
        "service": "shed-permit",
        "state": case.state,
        "channel": "online",
    }
    # No personal field: not the resident's name, email or any answer.
    for personal in (resident.full_name, resident.email, "Alex"):
        assert personal not in body.decode()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert str(delivery.uid) == sent["headers"]["X-Ecitizen-Delivery"]
    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 200
    assert attempt.error == ""

    log = api_get(client, token, "/api/v1/webhooks/deliveries").json()
    assert log["items"][0]["status"] == "delivered"
    assert log["items"][0]["attempt_log"][0]["status_code"] == 200
    assert log["items"][0]["body"] == body.decode()


def test_only_entitled_clients_receive_an_event(
    client,
    platform_admin,
    resident,
    second_resident,
    resident_app,
    works,
    department,
    shed,
    receiver,
    django_capture_on_commit_callbacks,
):
    """The resident's app hears of the resident's case; the same app for another
    resident does not; a back-office system of the case's department does, one of
    another department or limited to another ward does not."""
    theirs = resident_token(resident_app, second_resident)
    subscribe(client, theirs, receiver.url + "/second", ["case.submitted"])
    mine = resident_token(resident_app, resident)
    subscribe(client, mine, receiver.url + "/first", ["case.submitted"])
    _works, works_token = office_for(platform_admin, works)
    subscribe(client, works_token, receiver.url + "/works", ["case.submitted"])
    _revenue, revenue_token = office_for(platform_admin, department, name="Revenue system")
    subscribe(client, revenue_token, receiver.url + "/revenue", ["case.submitted"])
    elsewhere = JurisdictionFactory(code="northgate", name="Northgate")
    _ward_office, ward_token = office_for(platform_admin, works, ward=elsewhere, name="Ward system")
    subscribe(client, ward_token, receiver.url + "/ward", ["case.submitted"])

    with django_capture_on_commit_callbacks(execute=True):
        submit_shed(shed, resident)

    assert sorted(item["path"].rsplit("/", 1)[1] for item in receiver.received) == [
        "first",
        "works",
    ]


def test_an_event_is_fanned_out_only_when_a_live_subscription_is_to_it(
    client, platform_admin, resident, resident_app, receiver
):
    """Asked when the event is published: without a live subscription to one of its
    webhook events, the fan-out is not even queued."""
    from ecitizen.core.events import CaseSubmitted

    submitted = CaseSubmitted(
        case_id=1, reference="RIV-X", service_slug="shed-permit", department_id=None, state="s"
    )
    assert not webhooks.webhook_event_wanted(submitted)
    token = resident_token(resident_app, resident)
    assert subscribe(client, token, receiver.url, ["payment.settled"]).status_code == 201
    assert not webhooks.webhook_event_wanted(submitted)
    created = subscribe(client, token, receiver.url + "/cases", ["case.submitted"])
    assert created.status_code == 201
    assert webhooks.webhook_event_wanted(submitted)
    clients.client_disable(client=resident_app, actor=platform_admin)
    assert not webhooks.webhook_event_wanted(submitted)


def test_a_failed_delivery_is_retried_with_backoff_then_given_up(
    settings, resident, resident_app, shed, receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [500, 503, 500]
    resident_token(resident_app, resident)
    webhooks.subscription_create(
        client=resident_app, user=resident, url=receiver.url, events=["case.submitted"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit_shed(shed, resident)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    first_due = delivery.next_attempt_at
    assert timedelta(seconds=25) < first_due - timezone.now() <= timedelta(seconds=30)
    # Not due yet: the retry job leaves it alone.
    assert webhooks.deliveries_due() == []

    later = first_due + timedelta(seconds=1)
    assert webhooks.delivery_attempt(delivery.pk, now=later) == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - timezone.now() > timedelta(seconds=55)  # doubled
    assert webhooks.delivery_attempt(delivery.pk, now=delivery.next_attempt_at) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert [a.status_code for a in WebhookAttempt.objects.filter(delivery=delivery)] == [
        500,
        503,
        500,
    ]
    assert len(receiver.received) == 3
    # Failed deliveries are not tried again.
    assert webhooks.delivery_attempt(delivery.pk, now=later + timedelta(days=1)) is None


def test_the_retry_job_sends_what_is_due(
    resident, resident_app, shed, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 200]
    resident_token(resident_app, resident)
    webhooks.subscription_create(
        client=resident_app, user=resident, url=receiver.url, events=["case.submitted"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit_shed(shed, resident)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        call_command("webhooks", "retry")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    # The two attempts carried the same body, each signed afresh.
    assert receiver.received[0]["body"] == receiver.received[1]["body"]


def test_a_slow_endpoint_times_out(
    settings, resident, resident_app, shed, receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay = 2.5
    resident_token(resident_app, resident)
    webhooks.subscription_create(
        client=resident_app, user=resident, url=receiver.url, events=["case.submitted"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit_shed(shed, resident)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error == "timeout"
    assert attempt.duration_ms >= 900


def test_a_client_replays_a_delivery(
    client,
    resident,
    second_resident,
    resident_app,
    shed,
    receiver,
    django_capture_on_commit_callbacks,
):
    token = resident_token(resident_app, resident)
    subscribe(client, token, receiver.url, ["case.submitted"])
    with django_capture_on_commit_callbacks(execute=True):
        submit_shed(shed, resident)
    original = WebhookDelivery.objects.get()

    other = resident_token(resident_app, second_resident)
    path = f"/api/v1/webhooks/deliveries/{original.uid}/replay"
    refused = client.post(
        path, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {other}"
    )
    assert refused.status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        replayed = client.post(
            path, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
    assert replayed.status_code == 202, replayed.content
    assert replayed.json()["replay_of"] == str(original.uid)
    assert len(receiver.received) == 2
    first, second = (json.loads(item["body"]) for item in receiver.received)
    assert first["id"] == second["id"]  # the same event
    assert AuditEvent.objects.filter(action="api.webhook_replayed").exists()


def test_the_whole_story_reaches_the_residents_app(
    client, resident, resident_app, shed, receiver, django_capture_on_commit_callbacks
):
    """State changes, the fee settled, the permit issued then revoked: each event once,
    with references and states only."""
    from ecitizen.cases import services
    from ecitizen.documents.models import IssuedDocument
    from ecitizen.documents.services import document_revoke
    from tests.personas import _official

    officer = _official(Role.CASE_OFFICER, shed.department, email="w.officer@example.test")
    supervisor = _official(Role.SUPERVISOR, shed.department, email="w.super@example.test")
    token = resident_token(
        resident_app,
        resident,
        scopes=("applications:read", "bills:read", "documents:read", "webhooks"),
    )
    subscribe(client, token, receiver.url, [e for e in EVENTS if e != "case.submitted"])
    with django_capture_on_commit_callbacks(execute=True):
        case = submit_shed(shed, resident)
        case = services.case_transition(case=case, action_id="start_review", actor=officer)
        case = services.case_transition(case=case, action_id="pass_first", actor=officer)
        case = services.case_transition(case=case, action_id="approve", actor=supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        pay_fee(case)
    document = IssuedDocument.objects.get(reference=case.reference)
    with django_capture_on_commit_callbacks(execute=True):
        document_revoke(document=document, reason="Issued in error", actor=None)

    bodies = [json.loads(item["body"]) for item in receiver.received]
    names = [body["event"] for body in bodies]
    assert names[:3] == ["case.state_changed"] * 3
    assert [b["data"]["state"] for b in bodies[:3]] == ["first_review", "second_review", "approved"]
    assert "payment.settled" in names
    issued = {b["data"]["template"] for b in bodies if b["event"] == "document.issued"}
    assert "permit" in issued  # (and the payment's receipt, a document too)
    assert names[-1] == "document.revoked"
    assert "report.updated" not in names  # not a street report's case
    settled = next(b for b in bodies if b["event"] == "payment.settled")
    assert settled["data"]["bill_reference"] == case.bill_reference
    revoked = bodies[-1]["data"]
    assert revoked == {
        "document_id": document.pk,
        "reference": case.reference,
        "template": "permit",
    }
    text = b"".join(item["body"] for item in receiver.received).decode()
    assert "Issued in error" not in text
    assert document.code not in text


def test_revoking_the_consent_stops_the_webhooks(
    client, resident, resident_app, shed, receiver, django_capture_on_commit_callbacks
):
    token = resident_token(resident_app, resident)
    subscribe(client, token, receiver.url, ["case.submitted"])
    consent = resident_app.application
    from ecitizen.api.models import Consent

    row = Consent.objects.get(user=resident, application=consent)
    clients.consent_revoke(user=resident, consent_id=row.pk)
    with django_capture_on_commit_callbacks(execute=True):
        submit_shed(shed, resident)
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()


def test_a_street_report_update_reaches_its_reporters_app_and_the_ward(
    client, platform_admin, resident, resident_app, receiver, django_capture_on_commit_callbacks
):
    """``report.updated``: the reporter's app and a back-office system of Public Works in
    the report's ward hear of it; one limited to another ward does not. The payload has
    the reference, category and state, not the description or the place."""
    from ecitizen.accounts.models import Jurisdiction
    from ecitizen.cases import services as cases
    from ecitizen.cases.models import Case
    from ecitizen.catalogue.services import service_definitions_publish
    from ecitizen.reports import geo
    from ecitizen.reports import services as reports
    from ecitizen.reports.tests.conftest import FIXTURES as CATEGORIES
    from ecitizen.reports.tests.conftest import RIVERSIDE
    from tests.personas import _official

    works = DepartmentFactory(slug="public-works", name="Public Works")
    wards = {
        ward.code: Jurisdiction.objects.get_or_create(code=ward.code, defaults={"name": ward.name})[
            0
        ]
        for ward in geo.area().wards
    }
    service_definitions_publish(directory=CATEGORIES, actor=None)
    officer = _official(Role.CASE_OFFICER, works, email="r.officer@example.test")
    token = resident_token(resident_app, resident)
    subscribe(client, token, receiver.url + "/reporter", ["report.updated"])
    with django_capture_on_commit_callbacks(execute=True):
        report = reports.report_submit(
            data=reports.ReportInput(
                category="pothole",
                latitude=RIVERSIDE[0],
                longitude=RIVERSIDE[1],
                title="Deep pothole by the bridge",
                description="A secret description",
                answers={"hazard": True},
                photos=[],
            ),
            reporter=resident,
            actor=resident,
        )
    ward = report.ward
    other_ward = next(w for w in wards.values() if w != ward)
    _inside, inside_token = office_for(platform_admin, works, ward=ward, name="Ward works")
    subscribe(client, inside_token, receiver.url + "/ward", ["report.updated"])
    _outside, outside_token = office_for(platform_admin, works, ward=other_ward, name="Other")
    subscribe(client, outside_token, receiver.url + "/other", ["report.updated"])

    with django_capture_on_commit_callbacks(execute=True):
        cases.case_transition(
            case=Case.objects.get(pk=report.case_id), action_id="investigate", actor=officer
        )

    assert sorted(item["path"].rsplit("/", 1)[1] for item in receiver.received) == [
        "reporter",
        "ward",
    ]
    body = json.loads(receiver.received[0]["body"])
    assert body["event"] == "report.updated"
    assert body["data"]["reference"] == report.reference
    assert body["data"]["category"] == "pothole"
    assert body["data"]["state"] == "investigating"
    text = receiver.received[0]["body"].decode()
    assert "secret description" not in text
    assert "pothole by the bridge" not in text

"""Webhooks against a hostile client: malformed addresses answered 422 and never leaving a
delivery stuck, replays limited, an attempt log that names no internal address, IPv6
addresses that carry a private IPv4 address refused, the address checked being the one
connected to, and a fan-out whose queries do not grow with the subscriptions."""

from __future__ import annotations

import ipaddress
import json
import socket
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ecitizen.api import webhooks
from ecitizen.api.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from ecitizen.api.tests.test_webhooks import (  # the fixtures and helpers of the webhooks tests
    _events_offered,
    _local_targets,
    api_get,
    office_for,
    receiver,
    resident_app,
    resident_token,
    shed,
    subscribe,
    works,
)
from ecitizen.cases.tests.support import submit_shed
from ecitizen.core.events import CaseSubmitted
from tests.factories import UserFactory

__all__ = ["_events_offered", "_local_targets", "receiver", "resident_app", "shed", "works"]

pytestmark = pytest.mark.django_db


def replay(client, token, delivery):
    return client.post(
        f"/api/v1/webhooks/deliveries/{delivery.uid}/replay",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def a_delivery(subscription, *, event_id=None):
    """A delivery of ``case.submitted`` to ``subscription``, due now (not sent)."""
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event="case.submitted",
        event_id=event_id or uuid.uuid4(),
        body='{"id":"x"}',
        next_attempt_at=timezone.now(),
    )


# --- 1. Malformed addresses ---------------------------------------------------------------

MALFORMED = [
    "https://[::1",  # urlsplit: Invalid IPv6 URL
    "https://hooks.example:99999/x",  # port out of range
    "https://hooks.example:0/x",
    "https://hooks.example:https/x",
    "https://hooks..example/x",  # an empty label: not a domain name
    "https://" + "a" * 64 + ".example/x",  # a label longer than 63
    "https://hooks.example/a b",  # a request line cannot carry it
    "https://hooks.example/caf\u00e9",  # nor this (percent-encode it)
    "https://hooks.example/x\x7f",
]


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_address_is_a_clear_422(client, resident, resident_app, url):
    token = resident_token(resident_app, resident)
    response = subscribe(client, token, url, ["case.submitted"])
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "webhook_url_invalid"
    assert problem["errors"][0]["field"] == "url"
    assert not WebhookSubscription.objects.exists()


def test_an_internationalised_host_name_is_accepted(client, resident, resident_app):
    token = resident_token(resident_app, resident)
    response = subscribe(client, token, "https://b\u00fccher.example/hook?x=1", ["case.submitted"])
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/hook",
        "http://[::1/hook",
        "http://127.0.0.1:8/caf\u00e9",
        "http://127.0.0.1:8/a b",
    ],
)
def test_a_malformed_stored_address_is_logged_and_given_up_not_stuck(
    settings, resident, resident_app, receiver, url
):
    """A subscription whose address slipped through before it was checked: each attempt
    is logged as ``invalid_address`` and the delivery fails after the last one."""
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    subscription, _secret = webhooks.subscription_create(
        client=resident_app, user=resident, url=receiver.url, events=["case.submitted"]
    )
    WebhookSubscription.objects.filter(pk=subscription.pk).update(url=url)
    delivery = a_delivery(subscription)

    assert webhooks.delivery_attempt(delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert webhooks.delivery_attempt(delivery.pk, now=delivery.next_attempt_at) == "failed"
    attempts = list(delivery.attempt_log.values_list("status_code", "error"))
    assert attempts == [(None, "invalid_address")] * 2
    assert receiver.received == []


def test_any_failure_while_sending_is_one_logged_attempt(
    monkeypatch, resident, resident_app, receiver
):
    def broken(*args, **kwargs):
        raise RuntimeError("an internal detail: 10.20.30.40")

    monkeypatch.setattr(webhooks, "_post", broken)
    subscription, _secret = webhooks.subscription_create(
        client=resident_app, user=resident, url=receiver.url, events=["case.submitted"]
    )
    delivery = a_delivery(subscription)
    assert webhooks.delivery_attempt(delivery.pk) == "pending"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.status_code, attempt.error) == (None, "internal_error")
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.next_attempt_at - timezone.now() <= timedelta(seconds=30)  # not leased


# --- 2. Replays are limited ---------------------------------------------------------------


def test_an_event_is_replayed_at_most_five_times_an_hour(client, resident, resident_app, receiver):
    token = resident_token(resident_app, resident)
    created = subscribe(client, token, receiver.url, ["case.submitted"])
    subscription = WebhookSubscription.objects.get(uid=created.json()["id"])
    original = a_delivery(subscription)
    other = a_delivery(subscription)

    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(webhooks.REPLAYS_PER_EVENT):
            assert replay(client, token, original).status_code == 202
        refused = replay(client, token, original)
        assert refused.status_code == 429
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "webhook_replay_limited"
        assert int(refused["Retry-After"]) == 3600
        # Replaying a replay is replaying the same event.
        latest = WebhookDelivery.objects.filter(replay_of__isnull=False).first()
        assert replay(client, token, latest).status_code == 429
        # Another event of the subscription may still be replayed.
        assert replay(client, token, other).status_code == 202

        clock.shift(timedelta(minutes=59))
        assert int(replay(client, token, original)["Retry-After"]) == 60
        clock.shift(timedelta(minutes=1, seconds=1))
        token = resident_token(resident_app, resident)  # the first one has expired
        assert replay(client, token, original).status_code == 202
    assert WebhookDelivery.objects.filter(event_id=original.event_id).count() == 7


def test_a_subscriptions_replays_are_limited_per_hour(
    monkeypatch, client, resident, resident_app, receiver
):
    monkeypatch.setattr(webhooks, "REPLAYS_PER_SUBSCRIPTION", 3)
    token = resident_token(resident_app, resident)
    created = subscribe(client, token, receiver.url, ["case.submitted"])
    subscription = WebhookSubscription.objects.get(uid=created.json()["id"])
    deliveries = [a_delivery(subscription) for _ in range(4)]
    assert [replay(client, token, d).status_code for d in deliveries] == [202, 202, 202, 429]
    refused = replay(client, token, deliveries[3])
    assert refused.json()["code"] == "webhook_replay_limited"
    assert "3" in refused.json()["detail"]
    assert 0 < int(refused["Retry-After"]) <= 3600
    # The limit is the subscription's: another subscription of the same client is not held.
    second = subscribe(client, token, receiver.url + "/2", ["case.submitted"])
    elsewhere = a_delivery(WebhookSubscription.objects.get(uid=second.json()["id"]))
    assert replay(client, token, elsewhere).status_code == 202


# --- 3. The attempt log names no internal address ----------------------------------------


def _fake_resolution(monkeypatch, answers):
    """``socket.getaddrinfo`` answering ``answers[host]`` (a list of addresses, the next
    one at each call) for the hosts named, the real answer for the others; returns the
    hosts asked, in order."""
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_the_attempt_log_gives_a_category_never_an_address_or_a_system_error(
    settings, monkeypatch, client, resident, resident_app, receiver
):
    token = resident_token(resident_app, resident)
    refused_sub, _s = webhooks.subscription_create(
        client=resident_app, user=resident, url="https://hooks.example/x", events=["case.submitted"]
    )
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: "connection refused"
    unreachable_sub, _s = webhooks.subscription_create(
        client=resident_app,
        user=resident,
        url=f"http://127.0.0.1:{port}/x",
        events=["case.submitted"],
    )
    _fake_resolution(monkeypatch, {"hooks.example": ["10.1.2.3"]})
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    webhooks.delivery_attempt(a_delivery(refused_sub).pk)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    webhooks.delivery_attempt(a_delivery(unreachable_sub).pk)

    log = api_get(client, token, "/api/v1/webhooks/deliveries").json()["items"]
    errors = sorted(item["attempt_log"][0]["error"] for item in log)
    assert errors == ["address_refused", "connection_failed"]
    text = json.dumps(log)
    for secret in ("10.1.2.3", "Connection refused", "Errno", "resolves", "127.0.0.1"):
        assert secret not in text
    # Stored as the category only, too (the details are in the platform's log).
    assert set(WebhookAttempt.objects.values_list("error", flat=True)) == {
        "address_refused",
        "connection_failed",
    }


def test_an_unresolvable_name_looks_like_a_refused_address(
    settings, monkeypatch, resident, resident_app
):
    """So that the log does not tell a client which internal names exist."""

    def nowhere(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    subscription, _s = webhooks.subscription_create(
        client=resident_app,
        user=resident,
        url="https://nowhere.example/x",
        events=["case.submitted"],
    )
    monkeypatch.setattr(socket, "getaddrinfo", nowhere)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    webhooks.delivery_attempt(a_delivery(subscription).pk)
    assert WebhookAttempt.objects.get().error == "address_refused"


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_only_the_category_of_logged_errors_and_indexes_events(
    resident, resident_app
):
    from django.db.migrations.executor import MigrationExecutor

    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    subscription, _secret = webhooks.subscription_create(
        client=resident_app,
        user=resident,
        url="https://hooks.example/x",
        events=["case.submitted", "payment.settled"],
    )
    delivery = a_delivery(subscription)
    old_errors = {
        1: ("refused: hooks.example resolves to a non-public address 10.0.0.5", None),
        2: ("ConnectionRefusedError: [Errno 111] Connection refused", None),
        3: ("TimeoutError: timed out", None),
        4: ("the endpoint answered 503", 503),
        5: ("SSLCertVerificationError: certificate verify failed", None),
        6: ("", 200),
    }
    try:
        apps = migrate([("api", "0001_integrations_oauth_webhooks")])
        attempt_model = apps.get_model("api", "WebhookAttempt")
        for number, (error, status_code) in old_errors.items():
            attempt_model.objects.create(
                delivery_id=delivery.pk, number=number, error=error, status_code=status_code
            )
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert list(WebhookAttempt.objects.order_by("number").values_list("error", flat=True)) == [
        "address_refused",
        "connection_failed",
        "timeout",
        "http_status",
        "tls_failed",
        "",
    ]
    assert sorted(subscription.event_names.values_list("name", flat=True)) == [
        "case.submitted",
        "payment.settled",
    ]


# --- 4. IPv6 addresses that carry an IPv4 address ----------------------------------------

CARRYING_A_PRIVATE_IPV4 = [
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:0:10.0.0.1",  # IPv4-translated
    "::10.0.0.1",  # IPv4-compatible
    "::127.0.0.1",
    "64:ff9b::a00:1",  # NAT64, well-known prefix: 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # ... 169.254.169.254, the cloud metadata address
    "64:ff9b:1::a00:1",  # NAT64, local-use prefix
    "2002:a00:1::1",  # 6to4 through 10.0.0.1
    "2002:7f00:1::1",  # 6to4 through 127.0.0.1
    "2001:0:a00:1::1",  # Teredo, server 10.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
]


@pytest.mark.parametrize("address", CARRYING_A_PRIVATE_IPV4)
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_not_public(address):
    assert not webhooks._public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:4860:4860::8888"]
)
def test_an_ipv6_address_carrying_a_public_ipv4_one_is_public(address):
    assert webhooks._public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", CARRYING_A_PRIVATE_IPV4)
def test_such_an_address_is_refused_as_written_and_as_resolved(
    settings, monkeypatch, client, resident, resident_app, address
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    token = resident_token(resident_app, resident)
    response = subscribe(client, token, f"https://[{address}]/hook", ["case.submitted"])
    assert response.status_code == 422
    assert response.json()["code"] == "webhook_url_private"

    _fake_resolution(monkeypatch, {"hooks.example": [address]})
    with pytest.raises(webhooks.WebhookTargetRefused):
        webhooks.target_address("https://hooks.example/hook")


def test_the_address_checked_is_the_address_connected_to(settings, monkeypatch):
    """DNS rebinding: the name answers a public address, then a private one; the
    connection goes to the address that was checked, resolved once."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    asked = _fake_resolution(monkeypatch, {"hooks.example": ["93.184.216.34", "127.0.0.1"]})
    connected = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "create_connection", create_connection)
    with pytest.raises(ConnectionRefusedError):
        webhooks._post("https://hooks.example/hook", b"{}", {}, 1)
    assert asked == ["hooks.example"]
    assert connected == [("93.184.216.34", 443)]


# --- 6. The fan-out's queries -------------------------------------------------------------


def test_the_fan_out_queries_do_not_grow_with_the_subscriptions(
    platform_admin,
    resident,
    resident_app,
    works,
    shed,
    receiver,
    django_capture_on_commit_callbacks,
):
    """Subscriptions of other residents, to other events, of more back-office
    subscriptions: the fan-out reads them in the same number of queries."""
    resident_token(resident_app, resident)
    webhooks.subscription_create(
        client=resident_app, user=resident, url=receiver.url, events=["case.submitted"]
    )
    office, _token = office_for(platform_admin, works)

    def office_subscription():
        webhooks.subscription_create(
            client=office,
            user=office.service_account,
            url=receiver.url,
            events=["case.submitted"],
        )

    def others(count):
        for _ in range(count):
            someone = UserFactory()
            resident_token(resident_app, someone)
            for events in (["case.submitted"], ["payment.settled"]):
                webhooks.subscription_create(
                    client=resident_app, user=someone, url=receiver.url, events=events
                )
            office_subscription()

    office_subscription()
    with django_capture_on_commit_callbacks(execute=False):
        case = submit_shed(shed, resident)
    event = CaseSubmitted(
        case_id=case.pk,
        reference=case.reference,
        service_slug="shed-permit",
        department_id=case.department_id,
        state=case.state,
        channel="online",
    )

    def fan_out():
        with (
            django_capture_on_commit_callbacks(execute=False),
            CaptureQueriesContext(connection) as queries,
        ):
            made = webhooks.webhook_deliveries_make(event)
        return made, len(queries)

    others(1)
    few = fan_out()
    others(8)
    many = fan_out()
    # The resident's app, and each of the works system's subscriptions.
    assert few[0] == 1 + 2
    assert many[0] == 1 + 10
    assert many[1] == few[1], (few, many)
    # Whether anyone subscribed, the case's audience, the candidates, their consents, the
    # works system's roles, the deliveries.
    assert many[1] <= 6, many

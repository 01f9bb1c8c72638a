"""The api app's eraser: a resident's consents to apps and the webhook subscriptions made
for them go with their account; with every other eraser, no token or grant is left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
)

from ecitizen.api import erasure, webhooks
from ecitizen.api.models import (
    Consent,
    IntegrationClient,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from ecitizen.api.tests import support as helpers
from ecitizen.core.models import AuditEvent
from ecitizen.core.registry import registry

api_admin = helpers.api_admin
resident_app = helpers.resident_app
token_for = helpers.token_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


def test_the_consents_of_the_resident_are_erased_and_no_one_elses(
    resident, second_resident, resident_app, api_admin
):
    assert registry.erasers["api"].erase is erasure.erase
    Consent.objects.create(user=resident, application=resident_app, scopes="profile")
    Consent.objects.create(user=second_resident, application=resident_app, scopes="profile")
    planned = erasure.plan(resident)
    assert [part.count for part in planned.erased] == [1, 0]
    assert Consent.objects.filter(user=resident).exists()

    done = erasure.erase(resident, api_admin)
    assert done == planned
    assert not Consent.objects.filter(user=resident).exists()
    assert Consent.objects.filter(user=second_resident).count() == 1
    assert AuditEvent.objects.filter(action="api.consents_erased").count() == 1
    # Nothing left to erase: a second run changes nothing and records nothing.
    assert [part.count for part in erasure.erase(resident, api_admin).erased] == [0, 0]
    assert AuditEvent.objects.filter(action="api.consents_erased").count() == 1


def _subscribed(user, app):
    """A subscription of ``app`` for ``user``, with one delivery and its attempt."""
    client = IntegrationClient.objects.get(application=app)
    subscription, _secret = webhooks.subscription_create(
        client=client, user=user, url="http://127.0.0.1:9/hook", events=["case.submitted"]
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="case.submitted", body='{"data":{"reference":"R-1"}}'
    )
    WebhookAttempt.objects.create(delivery=delivery, number=1, error="timeout")
    return subscription


def test_the_webhook_subscriptions_made_for_the_resident_are_erased_with_their_log(
    resident, second_resident, resident_app, api_admin
):
    Consent.objects.create(user=resident, application=resident_app, scopes="webhooks")
    mine = _subscribed(resident, resident_app)
    theirs = _subscribed(second_resident, resident_app)
    planned = erasure.plan(resident)
    assert [part.count for part in planned.erased] == [1, 1]

    assert erasure.erase(resident, api_admin) == planned
    assert not WebhookSubscription.objects.filter(pk=mine.pk).exists()
    assert not WebhookDelivery.objects.filter(subscription_id=mine.pk).exists()
    assert not WebhookAttempt.objects.filter(delivery__subscription_id=mine.pk).exists()
    assert WebhookDelivery.objects.filter(subscription=theirs).count() == 1
    event = AuditEvent.objects.get(action="api.consents_erased")
    assert event.changes == {"consents": 1, "webhook_subscriptions": 1}


def test_after_the_whole_erasure_no_token_or_grant_of_the_resident_is_left(
    resident, second_resident, resident_app, api_admin, token_for
):
    """The accounts eraser (last, in the same transaction) deletes the OAuth2 tokens and
    grants; the api eraser the consents and subscriptions."""
    Consent.objects.create(user=resident, application=resident_app, scopes="profile")
    _subscribed(resident, resident_app)
    for user in (resident, second_resident):
        token_for(user)
        access_row = get_access_token_model().objects.get(user=user)
        get_refresh_token_model().objects.create(
            user=user, application=resident_app, token=f"refresh-{user.pk}", access_token=access_row
        )
        get_grant_model().objects.create(
            user=user,
            application=resident_app,
            code=f"code-{user.pk}",
            expires=timezone.now() + timedelta(minutes=1),
            redirect_uri="https://app.example.test/callback",
            scope="profile",
        )

    with transaction.atomic():
        for eraser in registry.erasers_in_order():
            eraser.erase(resident, api_admin)

    for model in (get_access_token_model(), get_refresh_token_model(), get_grant_model()):
        assert not model.objects.filter(user=resident).exists(), model
        assert model.objects.filter(user=second_resident).count() == 1, model
    assert not Consent.objects.filter(user=resident).exists()
    assert not WebhookSubscription.objects.filter(user=resident).exists()

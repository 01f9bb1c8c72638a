"""Reads about integrators' clients, residents' consents and webhooks. Each read is
scoped to who asks: a client or a consent someone may not see is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from ecitizen.api.models import (
    Consent,
    IntegrationClient,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from ecitizen.core.access import holds_capability

#: The capability of the client pages (also in ``clients.API_MANAGE``).
API_MANAGE = "api.manage"


def clients_list(*, actor: Any) -> QuerySet[IntegrationClient]:
    """Every registered client, newest first, for the platform administrator (404 to
    anyone else)."""
    if not holds_capability(actor, API_MANAGE):
        raise Http404
    return IntegrationClient.objects.select_related(
        "application", "department", "ward", "service_account"
    ).order_by("-created_at", "-pk")


def client_get(*, actor: Any, client_pk: int) -> IntegrationClient:
    """One client, for the platform administrator; 404 otherwise."""
    client = clients_list(actor=actor).filter(pk=client_pk).first()
    if client is None:
        raise Http404
    return client


def client_for_application(application: Any) -> IntegrationClient | None:
    """The platform's record of an OAuth2 application (``None`` for one made elsewhere)."""
    if application is None:
        return None
    return (
        IntegrationClient.objects.select_related("application", "service_account")
        .filter(application=application)
        .first()
    )


def consents_for_user(*, user: Any) -> QuerySet[Consent]:
    """The apps a resident lets act for them (not revoked), most recent first."""
    return (
        Consent.objects.filter(user=user, revoked_at__isnull=True)
        .select_related("application")
        .order_by("-granted_at", "-pk")
    )


def subscriptions_for(*, client: IntegrationClient, user: Any) -> QuerySet[WebhookSubscription]:
    """The webhook subscriptions a client made while acting as ``user`` (the resident
    its token is for, or its service account), newest first."""
    return WebhookSubscription.objects.filter(client=client, user=user).order_by(
        "-created_at", "-pk"
    )


def subscription_get(*, client: IntegrationClient, user: Any, uid: Any) -> WebhookSubscription:
    """One of the client's subscriptions for ``user``; 404 otherwise (or for a malformed
    id)."""
    try:
        found = subscriptions_for(client=client, user=user).filter(uid=uid).first()
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise Http404
    return found


def deliveries_for(
    *, client: IntegrationClient, user: Any, subscription_uid: Any = None
) -> QuerySet[WebhookDelivery]:
    """The delivery log of a client's subscriptions for ``user`` (one subscription's when
    ``subscription_uid`` is given), newest first."""
    deliveries = WebhookDelivery.objects.filter(
        subscription__client=client, subscription__user=user
    ).select_related("subscription")
    if subscription_uid is not None:
        deliveries = deliveries.filter(subscription__uid=subscription_uid)
    return deliveries.order_by("-created_at", "-pk")


def delivery_get(*, client: IntegrationClient, user: Any, uid: Any) -> WebhookDelivery:
    """One delivery of the client's subscriptions for ``user``; 404 otherwise."""
    try:
        found = deliveries_for(client=client, user=user).filter(uid=uid).first()
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise Http404
    return found


def delivery_attempts(delivery: WebhookDelivery) -> list[WebhookAttempt]:
    """The attempts at a delivery, first first."""
    return list(delivery.attempt_log.order_by("number"))


def subscriptions_for_staff(*, actor: Any, client: IntegrationClient) -> list[WebhookSubscription]:
    """A client's subscriptions, for the platform administrator's client page."""
    if not holds_capability(actor, API_MANAGE):
        raise Http404
    return list(
        WebhookSubscription.objects.filter(client=client).order_by("-created_at", "-pk")[:100]
    )


def client_by_client_id(client_id: str) -> IntegrationClient | None:
    """The platform's record of the OAuth2 client with this public ``client_id`` (an API
    call's principal names it); ``None`` for an unknown one."""
    if not client_id:
        return None
    return (
        IntegrationClient.objects.select_related("application", "service_account")
        .filter(application__client_id=client_id)
        .first()
    )

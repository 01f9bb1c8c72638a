"""What the api app holds about a resident, for their data rights (the ``privacy`` app):
the apps they let act for them (their consents, current or revoked) and the webhook
subscriptions made for them. Registered as ``api`` in ``ApiConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "api"


def export(user: Any) -> dict[str, Any]:
    """The consents ``user`` gave to apps (which app, which scopes, when, revoked when)
    and the webhook subscriptions of those apps for them (never the signing secret)."""
    from ecitizen.api.models import Consent, WebhookSubscription

    items: list[dict[str, Any]] = [
        {
            "kind": "connected_app",
            "app": consent.application.name,
            "scopes": consent.scope_list,
            "granted_at": consent.granted_at,
            "revoked_at": consent.revoked_at,
        }
        for consent in Consent.objects.filter(user=user).select_related("application")
    ]
    subscriptions = WebhookSubscription.objects.filter(user=user).select_related(
        "client__application"
    )
    for subscription in subscriptions.order_by("created_at", "pk"):
        items.append(
            {
                "kind": "webhook_subscription",
                "app": subscription.client.application.name,
                "url": subscription.url,
                "events": subscription.events,
                "active": subscription.active,
                "created_at": subscription.created_at,
            }
        )
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Apps connected to your account"),
    purpose=_("To let the apps you choose act for you, only as far as you allowed."),
    lawful_basis="consent",
    categories=(
        _("Which apps you allowed, what they may do and when"),
        _("The events those apps are told about"),
    ),
    recipients=_("The apps you connected, within the permissions you gave them."),
    retention=_("Until you revoke the app, then as long as the security records are kept."),
    export=export,
    order=15,
)

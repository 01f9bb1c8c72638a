from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The public REST API (``/api/v1/``), OAuth2 for integrators and webhooks.

    The API's operations come from the apps: each registers its router (its ``api.py``)
    with the registry; this app builds one versioned django-ninja API from them and
    provides what every operation shares (authentication by OAuth2 token, problem
    details, cursor pages, idempotency, rate limits)."""

    name = "ecitizen.api"
    label = "api"
    verbose_name = _("API and integrations")

    def ready(self) -> None:
        from datetime import timedelta

        from ecitizen.accounts.models import Role
        from ecitizen.api import webhooks
        from ecitizen.api.clients import API_MANAGE
        from ecitizen.api.demo import demo_api_load
        from ecitizen.core import events
        from ecitizen.core.registry import (
            ApiRouter,
            DemoLoader,
            NavItem,
            PeriodicJob,
            PruneHook,
            registry,
        )

        registry.register_capability(
            API_MANAGE,
            label=_("Register and manage API clients"),
            roles=[Role.PLATFORM_ADMIN],
        )
        registry.register_nav(
            NavItem(
                "api_clients",
                _("API clients"),
                "staff:api_clients",
                "staff",
                capability=API_MANAGE,
                order=88,
            )
        )
        registry.register_nav(
            NavItem(
                "api_connected_apps",
                _("Apps connected to your account"),
                "integrations:connected_apps",
                "account",
                order=95,
            )
        )
        # The webhook events are registered by the apps whose events they are; the
        # fan-out listens to every domain event one may be made from (those registered
        # before this app's ready(), and the platform's own).
        event_types = {
            events.CaseSubmitted,
            events.CaseStateChanged,
            events.PaymentSettled,
            events.DocumentIssued,
            events.DocumentRevoked,
        } | {event.event_type for event in registry.webhook_events.values()}
        for event_type in sorted(event_types, key=lambda t: t.__name__):
            registry.subscribe(
                event_type, webhooks.webhook_event_fanout, when=webhooks.webhook_event_wanted
            )
        registry.register_job(
            PeriodicJob(
                "api.webhooks_retry",
                ("webhooks", "retry"),
                timedelta(minutes=1),
                "Send again the webhook deliveries whose next attempt is due",
            )
        )
        registry.register_prune_hook(
            PruneHook(
                "api.webhook_deliveries",
                webhooks.deliveries_prune,
                "webhook deliveries older than 90 days",
            )
        )
        registry.register_api_router(
            ApiRouter("webhooks", "ecitizen.api.webhooks_api.router", "Webhooks")
        )
        registry.register_api_router(ApiRouter("me", "ecitizen.api.me_api.router", "Your account"))
        # The consents a resident gave and the webhook subscriptions made for them are
        # erased with their account (privacy app).
        from ecitizen.api import erasure as api_erasure
        from ecitizen.core.registry import Eraser

        registry.register_eraser(Eraser(api_erasure.NAME, api_erasure.erase, api_erasure.plan))
        # One app acting for residents and one back-office system (printed ids).
        registry.register_demo_loader(DemoLoader("api", demo_api_load, after=("people",)))
        # Idempotency keys of API writes are kept IDEMPOTENCY_KEY_HOURS (24 h by default).
        from ecitizen.core.idempotency import idempotency_prune

        registry.register_prune_hook(
            PruneHook("api.idempotency_keys", idempotency_prune, "expired idempotency keys")
        )

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.api.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "ecitizen.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from ecitizen.accounts.models import Role
        from ecitizen.core.registry import NavItem, registry
        from ecitizen.notifications.selectors import DELIVERIES

        registry.register_capability(
            DELIVERIES,
            label=_("See and resend notification deliveries"),
            roles=[Role.PLATFORM_ADMIN],
        )
        registry.register_nav(
            NavItem(
                "notifications",
                _("Notifications"),
                "staff:notifications",
                "staff",
                capability=DELIVERIES,
                order=60,
            )
        )

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.registry import registry
        from ecitizen.notifications.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Its part of the public API (the resident's messages).
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("messages", "ecitizen.notifications.api.router", "Messages")
        )

        # Its figures on /metrics (docs/operations.md).
        from ecitizen.notifications.metrics import notification_metrics

        registry.register_metric_source("notifications", notification_metrics)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core.registry import Eraser
        from ecitizen.notifications import erasure as notifications_erasure

        registry.register_eraser(
            Eraser(
                notifications_erasure.NAME,
                notifications_erasure.erase,
                notifications_erasure.plan,
                order=150,
            )
        )
        from ecitizen.core.registry import RetentionRule

        registry.register_retention_rule(
            RetentionRule(
                "notifications.old",
                _("Delete old notifications"),
                notifications_erasure.old_plan,
                notifications_erasure.old_apply,
                period="notifications",
            )
        )
        registry.register_retention_rule(
            RetentionRule(
                "notifications.sms_outbox",
                _("Delete old messages of the test SMS outbox"),
                notifications_erasure.outbox_plan,
                notifications_erasure.outbox_apply,
                period="sms_outbox",
            )
        )

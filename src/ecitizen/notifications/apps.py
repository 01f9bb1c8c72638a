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

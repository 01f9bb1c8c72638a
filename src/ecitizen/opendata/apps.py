from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "ecitizen.opendata"
    label = "opendata"
    verbose_name = _("Open data")

    def ready(self) -> None:
        from ecitizen.accounts.models import Role
        from ecitizen.core.registry import NavItem, RoleSpec, registry
        from ecitizen.opendata import services

        # Publishers: officials of a department who publish its data (and hold API tokens).
        registry.register_role(RoleSpec("publisher", _("Data publisher"), order=40))
        registry.register_capability(
            services.OPENDATA_PUBLISH,
            label=_("Publish open data for the department"),
            roles=["publisher", Role.PLATFORM_ADMIN],
        )
        registry.register_nav(
            NavItem("opendata", _("Open data"), "opendata:search", "everyone", order=60)
        )
        registry.register_nav(
            NavItem(
                "opendata_publish",
                _("Open data"),
                "staff:opendata",
                "staff",
                capability=services.OPENDATA_PUBLISH,
                order=70,
            )
        )

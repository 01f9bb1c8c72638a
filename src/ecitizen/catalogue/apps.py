from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    name = "ecitizen.catalogue"
    label = "catalogue"
    verbose_name = _("Service catalogue")

    def ready(self) -> None:
        from ecitizen.core.registry import NavItem, registry

        registry.register_nav(NavItem("services", _("Services"), "catalogue:list", "everyone"))
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("services", "ecitizen.catalogue.api.router", "Service catalogue")
        )

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
            # In the header for visitors; a signed-in person's header is full of their own
            # business (it must fit one row in French), so theirs is on the account page.
            NavItem(
                "opendata",
                _("Open data"),
                "opendata:search",
                "visitor",
                order=60,
            )
        )
        registry.register_nav(
            NavItem("opendata_account", _("Open data"), "opendata:search", "account", order=50)
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
        # Publishers' CKAN API tokens, linked from their account page.
        registry.register_nav(
            NavItem(
                "opendata_tokens",
                _("Your open data API tokens"),
                "staff:opendata_tokens",
                "account",
                capability=services.OPENDATA_PUBLISH,
                order=40,
            )
        )

        # The platform's own datasets, refreshed daily (opendata/platform.py).
        from datetime import timedelta

        from ecitizen.core.registry import DemoLoader, PeriodicJob
        from ecitizen.opendata.demo import demo_opendata_load

        registry.register_job(
            PeriodicJob(
                "opendata.publish",
                ("opendata", "publish"),
                timedelta(days=1),
                "Publish the platform's own open datasets again (only what changed)",
            )
        )
        # Where resources' files are stored: a file there that neither a resource nor a
        # revision names (its upload died before the commit) is an orphan, deleted by
        # housekeeping (core.stored_files).
        from ecitizen.core.registry import StoredFiles
        from ecitizen.opendata.models import RESOURCE_FILES_FOLDER
        from ecitizen.opendata.selectors import resource_files_named_by_revisions

        registry.register_stored_files(
            StoredFiles(
                "opendata.resources",
                RESOURCE_FILES_FOLDER,
                columns=("opendata.Resource.file",),
                referenced=resource_files_named_by_revisions,
            )
        )
        # Its part of the demo: the platform's datasets and uploaded ones (opendata/demo.py).
        registry.register_demo_loader(
            DemoLoader(
                "opendata",
                demo_opendata_load,
                after=(
                    "people",
                    "reports",
                    "feedback",
                    "cases",
                    "property_tax",
                    "fines",
                    "insights",
                    "participation",  # its budget results dataset
                ),
            )
        )

        # Its part of the public API (the public catalogue, read-only).
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("datasets", "ecitizen.opendata.api.router", "Open data")
        )

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "ecitizen.reports"
    label = "reports"
    verbose_name = _("Street reports")

    def ready(self) -> None:
        from ecitizen.accounts.models import Role
        from ecitizen.core.events import CaseStateChanged
        from ecitizen.core.registry import NavItem, registry
        from ecitizen.reports import services
        from ecitizen.reports.webhooks import register_webhook_events

        register_webhook_events()

        # Reports are cases: officials work them in the case queue with ``cases.work``.
        # Hiding a report or a photo from the public is a supervisor's decision.
        registry.register_capability(
            services.REPORTS_MODERATE,
            label=_("Hide street reports and photos from the public"),
            roles=[Role.SUPERVISOR, Role.DEPARTMENT_ADMIN],
        )
        # Apps' Open311 keys are the platform's: issued and revoked by its administrators.
        registry.register_capability(
            services.REPORTS_API_CLIENTS,
            label=_("Issue and revoke the Open311 keys of apps"),
            roles=[Role.PLATFORM_ADMIN],
        )
        registry.register_nav(
            NavItem("report", _("Report a problem"), "reports:start", "everyone", order=5)
        )
        registry.register_nav(
            NavItem(
                "open311_clients",
                _("Open311 apps"),
                "staff:reports_api_clients",
                "staff",
                capability=services.REPORTS_API_CLIENTS,
                order=80,
            )
        )
        registry.subscribe(
            CaseStateChanged, services.report_follow_case, when=services.is_report_case
        )

        from ecitizen.reports import staff_views

        # The street report's panel on the staff case page (core's panels slot).
        registry.register_panel(
            "cases.staff_case",
            "reports/staff/_case_panel.html",
            order=10,
            context=staff_views.case_panel_context,
        )
        registry.register_nav(
            NavItem(
                "street_reports",
                _("Street reports"),
                "staff:reports",
                "staff",
                capability="cases.work",
                order=15,
            )
        )

        from ecitizen.core.registry import DemoLoader
        from ecitizen.reports.demo import demo_reports_load

        registry.register_demo_loader(DemoLoader("reports", demo_reports_load, after=("people",)))

        from pathlib import Path

        # This app's notification templates, next to its code.
        registry.register_message_dir(Path(__file__).resolve().parent / "messages")

        # Email alerts of new reports: the job that sends them, the clean-up of alerts never
        # confirmed, and a resident's own reports in the navigation.
        from ecitizen.core.registry import PeriodicJob, PruneHook

        registry.register_job(
            PeriodicJob(
                "reports.alerts",
                ("reports", "alerts"),
                services.ALERT_EVERY,
                "Email new street reports to the alerts that watch where they are.",
            )
        )
        registry.register_prune_hook(
            PruneHook(
                "reports.alerts_unconfirmed",
                services.report_alerts_prune,
                "street-report alerts never confirmed",
            )
        )
        registry.register_nav(
            NavItem("my_reports", _("Your reports"), "reports:mine", "account", order=30)
        )
        registry.register_nav(
            NavItem("my_alerts", _("Your alerts"), "reports:alerts", "account", order=31)
        )

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.registry import registry
        from ecitizen.reports.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core.registry import Eraser
        from ecitizen.reports import erasure as reports_erasure

        registry.register_eraser(
            Eraser(reports_erasure.NAME, reports_erasure.erase, reports_erasure.plan, order=110)
        )

        # Its part of the public API (read-only, public like its pages).
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("reports", "ecitizen.reports.api.router", "Street reports")
        )

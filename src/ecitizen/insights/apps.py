from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "ecitizen.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from datetime import timedelta
        from pathlib import Path

        from ecitizen.accounts.models import Role
        from ecitizen.cases.services import CASES_WORK
        from ecitizen.core.registry import DemoLoader, NavItem, PeriodicJob, RoleSpec, registry
        from ecitizen.insights.demo import demo_insights_load
        from ecitizen.insights.services import INSIGHTS_COSTS, INSIGHTS_PLAN, INSIGHTS_READ

        # Heads of service: their department's (or ward's) dashboards, forecasts, staffing.
        registry.register_role(RoleSpec("service_manager", _("Service manager"), order=35))
        # The authority's performance officer: every department.
        registry.register_role(
            RoleSpec("performance_officer", _("Performance officer"), authority_wide=True, order=36)
        )
        registry.register_capability(
            INSIGHTS_READ,
            label=_("See the performance dashboards, forecasts and staffing advice"),
            roles=["service_manager", "performance_officer", Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            INSIGHTS_COSTS,
            label=_("Enter the costs of services"),
            roles=[Role.DEPARTMENT_ADMIN, "performance_officer", Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            INSIGHTS_PLAN,
            label=_("Set staffing and handling times, and compute figures again"),
            roles=["service_manager", "performance_officer", Role.PLATFORM_ADMIN],
        )
        registry.register_nav(
            NavItem(
                "insights",
                _("Performance"),
                "staff:insights",
                "staff",
                capability=INSIGHTS_READ,
                order=75,
            )
        )
        registry.register_nav(
            NavItem(
                "insights_workload",
                _("Your workload"),
                "staff:insights_workload",
                "account",
                capability=CASES_WORK,
                order=45,
            )
        )
        registry.register_nav(
            NavItem(
                "insights_costs",
                _("Costs of services"),
                "staff:insights_costs_home",
                "account",
                capability=INSIGHTS_COSTS,
                order=46,
            )
        )
        registry.register_message_dir(Path(__file__).parent / "messages")
        # The monthly figures (this month and last) and the forecasts, every night.
        registry.register_job(
            PeriodicJob(
                "insights.refresh",
                ("insights", "refresh"),
                timedelta(days=1),
                "Read the new events and compute the figures of the months not yet settled",
            )
        )
        registry.register_job(
            PeriodicJob(
                "insights.forecast",
                ("insights", "forecast"),
                timedelta(days=1),
                "Forecast demand for the next 12 weeks and flag unexpected weeks",
            )
        )
        registry.register_demo_loader(
            DemoLoader(
                "insights",
                demo_insights_load,
                after=("people", "reports", "feedback", "cases", "property_tax", "fines"),
            )
        )

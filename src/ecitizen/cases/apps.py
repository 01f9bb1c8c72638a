from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "ecitizen.cases"
    label = "cases"
    verbose_name = _("Applications and cases")

    def ready(self) -> None:
        from ecitizen.accounts.selectors import resident_links_register
        from ecitizen.cases.selectors import applicant_ids_in_department
        from ecitizen.cases.webhooks import register_webhook_events

        register_webhook_events()

        resident_links_register(applicant_ids_in_department)

        from ecitizen.accounts.models import Role
        from ecitizen.cases import services as cases
        from ecitizen.core.registry import NavItem, registry

        registry.register_capability(
            cases.CASES_WORK,
            label=_("Work cases"),
            roles=[Role.CASE_OFFICER, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            cases.CASES_SUPERVISE,
            label=_("Assign cases to officials"),
            roles=[Role.SUPERVISOR, Role.DEPARTMENT_ADMIN],
        )
        registry.register_capability(
            cases.CASES_APPLY_FOR_OTHERS,
            label=_("Apply for a resident"),
            roles=[Role.INTERMEDIARY, Role.CASE_OFFICER, Role.SUPERVISOR],
        )
        registry.register_capability(
            cases.CASES_IDENTITY_CHECK,
            label=_("Record an identity check made in person"),
            roles=[Role.CASE_OFFICER, Role.SUPERVISOR],
        )
        registry.register_nav(
            NavItem(
                "applications", _("Your applications"), "cases:applications", "resident", order=10
            )
        )
        registry.register_nav(
            NavItem(
                "cases",
                _("Cases"),
                "staff:case_queue",
                "staff",
                capability=cases.CASES_WORK,
                order=10,
            )
        )

        # Periodic job and event subscriptions (core.scheduler, core.events).
        from datetime import timedelta

        from ecitizen.core.events import BillPaid
        from ecitizen.core.registry import PeriodicJob

        registry.subscribe(BillPaid, cases.case_fee_paid_on_bill_paid, when=cases.bill_is_case_fee)
        registry.register_job(
            PeriodicJob(
                "cases.tick",
                ("cases", "tick"),
                timedelta(hours=1),
                "Draft reminders and expiry, SLA escalation.",
            )
        )

        from pathlib import Path

        # This app's notification templates, next to its code.
        registry.register_message_dir(Path(__file__).resolve().parent / "messages")

        # Its part of the demo: the services and their cases (docs/extending.md).
        from ecitizen.cases.demo import demo_cases_load
        from ecitizen.core.registry import DemoLoader

        registry.register_demo_loader(DemoLoader("cases", demo_cases_load, after=("people",)))

        # Its part of the public API: residents' applications and staff casework.
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("applications", "ecitizen.cases.api.applications", "Applications")
        )
        registry.register_api_router(ApiRouter("cases", "ecitizen.cases.api.staff", "Casework"))

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.cases.personal_data import PERSONAL_DATA
        from ecitizen.core.registry import registry

        registry.register_personal_data(PERSONAL_DATA)

        # Its figures on /metrics (docs/operations.md).
        from ecitizen.cases.metrics import case_metrics

        registry.register_metric_source("cases", case_metrics)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.cases import erasure as cases_erasure
        from ecitizen.core.registry import Eraser

        registry.register_eraser(
            Eraser(cases_erasure.NAME, cases_erasure.erase, cases_erasure.plan, order=100)
        )
        from ecitizen.core.registry import RetentionRule

        registry.register_retention_rule(
            RetentionRule(
                "cases.expired_drafts",
                _("Delete applications never sent, after they expired or were deleted"),
                cases_erasure.drafts_plan,
                cases_erasure.drafts_apply,
                period="expired_drafts",
            )
        )
        registry.register_retention_rule(
            RetentionRule(
                "cases.closed_cases",
                _("Remove the answers, messages and files of decided applications"),
                cases_erasure.closed_cases_plan,
                cases_erasure.closed_cases_apply,
                period="closed_cases",
            )
        )

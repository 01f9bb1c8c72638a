from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaxesConfig(AppConfig):
    name = "ecitizen.taxes"
    label = "taxes"
    verbose_name = _("Property tax")

    def ready(self) -> None:
        from ecitizen.accounts.models import Role
        from ecitizen.core.registry import NavItem, registry
        from ecitizen.taxes.selectors import TAX_ASSESSMENTS

        registry.register_capability(
            TAX_ASSESSMENTS,
            label=_("See property tax assessments"),
            roles=[Role.FINANCE_OFFICER, Role.AUDITOR, Role.PLATFORM_ADMIN],
        )
        registry.register_nav(
            NavItem(
                "property_tax",
                _("Property tax"),
                "staff:tax_runs",
                "staff",
                capability=TAX_ASSESSMENTS,
                order=45,
            )
        )

        # Periodic job (core.scheduler).
        from datetime import timedelta

        from ecitizen.core.registry import PeriodicJob

        registry.register_job(
            PeriodicJob(
                "taxes.remind",
                ("tax", "remind"),
                timedelta(days=1),
                "Instalment reminders and overdue notices.",
            )
        )

        from pathlib import Path

        # This app's notification templates, next to its code.
        registry.register_message_dir(Path(__file__).resolve().parent / "messages")

        # Its part of the demo: the tax roll, assessed and partly paid (docs/extending.md).
        from ecitizen.core.registry import DemoLoader
        from ecitizen.taxes.demo import demo_property_tax_load

        registry.register_demo_loader(
            DemoLoader("property_tax", demo_property_tax_load, after=("people",))
        )

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.registry import registry
        from ecitizen.taxes.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core.registry import Eraser
        from ecitizen.taxes import erasure as taxes_erasure

        registry.register_eraser(
            Eraser(taxes_erasure.NAME, taxes_erasure.erase, taxes_erasure.plan, order=160)
        )

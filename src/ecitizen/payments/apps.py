from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "ecitizen.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from ecitizen.accounts.selectors import resident_links_register
        from ecitizen.payments.selectors import payer_ids_in_department
        from ecitizen.payments.webhooks import register_webhook_events

        register_webhook_events()

        resident_links_register(payer_ids_in_department)

        from ecitizen.accounts.models import Role
        from ecitizen.core.registry import NavItem, registry
        from ecitizen.payments.selectors import FINANCE

        registry.register_capability(
            FINANCE,
            label=_("Work with payments, refunds and finance reports"),
            roles=[Role.FINANCE_OFFICER, Role.PLATFORM_ADMIN],
        )
        registry.register_nav(
            NavItem("pay", _("Pay"), "payments:pay_by_reference", "visitor", order=10)
        )
        registry.register_nav(
            NavItem("bills", _("Your bills"), "payments:bills", "resident", order=20)
        )
        registry.register_nav(
            NavItem(
                "payments", _("Payments"), "staff:payments", "staff", capability=FINANCE, order=40
            )
        )

        # Periodic jobs and housekeeping (core.scheduler).
        from datetime import timedelta

        from ecitizen.core.registry import PeriodicJob, PruneHook
        from ecitizen.payments.services import pay_throttle_prune

        registry.register_prune_hook(
            PruneHook(
                "payments.pay_throttle", pay_throttle_prune, "stale pay-by-reference failure counts"
            )
        )
        registry.register_job(
            PeriodicJob(
                "payments.reconcile",
                ("payments", "reconcile"),
                timedelta(minutes=5),
                "Settle or expire unfinished payments with their provider.",
            )
        )
        registry.register_job(
            PeriodicJob(
                "payments.ledger_check",
                ("ledger", "check"),
                timedelta(days=1),
                "Every ledger transaction balances and each bill equals its postings.",
            )
        )

        from pathlib import Path

        # This app's notification templates, next to its code.
        registry.register_message_dir(Path(__file__).resolve().parent / "messages")

        # Its part of the demo: parking fines to pay by reference (docs/extending.md).
        from ecitizen.core.registry import DemoLoader
        from ecitizen.payments.demo import demo_fines_load

        registry.register_demo_loader(DemoLoader("fines", demo_fines_load, after=("people",)))

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.registry import registry
        from ecitizen.payments.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Its part of the public API (the resident's bills).
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(ApiRouter("bills", "ecitizen.payments.api.router", "Bills"))

        # Its figures on /metrics (docs/operations.md).
        from ecitizen.payments.metrics import payment_metrics

        registry.register_metric_source("payments", payment_metrics)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core.registry import Eraser
        from ecitizen.payments import erasure as payments_erasure

        registry.register_eraser(
            Eraser(payments_erasure.NAME, payments_erasure.erase, payments_erasure.plan, order=170)
        )

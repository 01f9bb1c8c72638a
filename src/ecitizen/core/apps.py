from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "ecitizen.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        from django.core.checks import Tags, register

        from ecitizen.core import checks
        from ecitizen.core.access import AUDIT_READ
        from ecitizen.core.registry import registry

        registry.register_capability(AUDIT_READ, label=_("Read the audit trail"), roles=())

        register(checks.payments_check, Tags.security, deploy=True)
        register(checks.documents_check, Tags.security, deploy=True)
        register(checks.sms_check, Tags.security, deploy=True)

        # The scheduler's jobs of the core, and the checks of what apps register.
        from datetime import timedelta

        from ecitizen.core.events import event_subscribers_check
        from ecitizen.core.registry import PeriodicJob
        from ecitizen.core.scheduler import scheduler_jobs_check

        register(event_subscribers_check)
        register(scheduler_jobs_check)
        registry.register_job(
            PeriodicJob(
                "core.housekeeping",
                ("housekeeping",),
                timedelta(days=1),
                (
                    "Forget stale failure counts; delete stored files no row names; prune "
                    "finished task results."
                ),
            )
        )
        registry.register_job(
            PeriodicJob(
                "core.cache_prune",
                ("prune_cache",),
                timedelta(minutes=10),
                "Delete the database cache's expired entries (rate limits, used codes).",
            )
        )
        registry.register_job(
            PeriodicJob(
                "core.audit_anchor",
                ("audit", "anchor"),
                timedelta(days=1),
                "Sign the head of the audit chain.",
            )
        )

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core import erasure as core_erasure
        from ecitizen.core.registry import Eraser

        registry.register_eraser(
            Eraser(core_erasure.NAME, core_erasure.erase, core_erasure.plan, order=900)
        )

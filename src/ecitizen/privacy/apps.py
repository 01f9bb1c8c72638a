from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Residents' data rights: download everything the platform holds about them, ask
    for erasure (decided by the data-protection officer), retention applied by rule, and
    the records of processing. Every app describes its personal data to the registry;
    this app reads them back, so it names no app."""

    name = "ecitizen.privacy"
    label = "privacy"
    verbose_name = _("Data protection")

    def ready(self) -> None:
        from datetime import timedelta
        from pathlib import Path

        from ecitizen.accounts.models import Role
        from ecitizen.core.registry import NavItem, PeriodicJob, PruneHook, registry
        from ecitizen.privacy.exports import exports_prune
        from ecitizen.privacy.selectors import RECORDS_READ

        # --- Downloads of a resident's data and the records of processing -----------------
        # The data-protection officer's role is registered by the erasure part; the
        # capability names it so that holders of either role read the records.
        registry.register_capability(
            RECORDS_READ,
            label=_("Read the records of processing"),
            roles=["data_protection_officer", Role.PLATFORM_ADMIN],
        )
        registry.register_nav(
            NavItem("privacy_data", _("Your data"), "privacy:data", "account", order=90)
        )
        registry.register_nav(
            NavItem(
                "privacy_records",
                _("Records of processing"),
                "staff:privacy_records",
                "staff",
                capability=RECORDS_READ,
                order=88,
            )
        )
        registry.register_message_dir(Path(__file__).parent / "messages")
        registry.register_prune_hook(
            PruneHook("privacy.exports", exports_prune, "expired downloads of residents' data")
        )
        # Where downloads are stored: a file there that no export names (its worker died
        # before marking it ready) is an orphan, deleted by housekeeping (core.stored_files).
        from ecitizen.core.registry import StoredFiles
        from ecitizen.privacy.exports import EXPORTS_FOLDER

        registry.register_stored_files(
            StoredFiles(
                "privacy.exports", EXPORTS_FOLDER, columns=("privacy.DataExport.storage_name",)
            )
        )
        registry.register_job(
            PeriodicJob(
                "privacy.exports",
                ("privacy", "expire"),
                timedelta(hours=1),
                "Delete the downloads of residents' data past their time",
            )
        )
        # The privacy notice (core's page) links to the records and to "Your data" through
        # its panel slot.
        registry.register_panel("core.privacy", "privacy/_privacy_notice_panel.html")

        # --- Erasure on request and retention by rule (ADR 0023) -----------------------------
        from ecitizen.core.registry import RoleSpec
        from ecitizen.privacy.erasure import DPO_ROLE, ERASURE_DECIDE
        from ecitizen.privacy.retention import ERASURE_REQUESTS_RULE

        registry.register_role(
            RoleSpec(DPO_ROLE, _("Data-protection officer"), authority_wide=True, order=38)
        )
        registry.register_capability(
            ERASURE_DECIDE, label=_("Decide requests to erase a resident's data"), roles=[DPO_ROLE]
        )
        registry.register_nav(
            NavItem(
                "privacy_erasure_queue",
                _("Erasure requests"),
                "staff:privacy_erasure_queue",
                "staff",
                capability=ERASURE_DECIDE,
                order=87,
            )
        )
        registry.register_nav(
            NavItem(
                "privacy_erasure",
                _("Close your account"),
                "privacy:erasure_status",
                "account",
                order=95,
            )
        )
        registry.register_retention_rule(ERASURE_REQUESTS_RULE)
        from ecitizen.core.registry import Eraser
        from ecitizen.privacy.erasure import ERASER_NAME, privacy_erase, privacy_plan

        registry.register_eraser(Eraser(ERASER_NAME, privacy_erase, privacy_plan, order=800))
        registry.register_job(
            PeriodicJob(
                "privacy.retention",
                ("retention", "apply"),
                timedelta(days=1),
                "Apply the retention rules and record what they did",
            )
        )

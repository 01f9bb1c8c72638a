from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "ecitizen.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from ecitizen.accounts.models import Role
        from ecitizen.core.registry import registry
        from ecitizen.documents import services
        from ecitizen.documents.webhooks import register_webhook_events

        register_webhook_events()

        registry.register_capability(
            services.DOCUMENTS_CASEWORK,
            label=_("Open issued licences, permits and certificates"),
            roles=[Role.CASE_OFFICER, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            services.DOCUMENTS_RECEIPTS,
            label=_("Open payment receipts"),
            roles=[Role.FINANCE_OFFICER, Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            services.DOCUMENTS_STAFF,
            label=_("Open the staff pages of issued documents"),
            roles=registry.roles_with(services.DOCUMENTS_CASEWORK)
            | registry.roles_with(services.DOCUMENTS_RECEIPTS),
        )
        registry.register_capability(
            services.DOCUMENTS_REVOKE,
            label=_("Revoke issued documents"),
            roles=[Role.SUPERVISOR],
        )

        # Periodic job (core.scheduler).
        from datetime import timedelta

        from ecitizen.core.registry import PeriodicJob

        registry.register_job(
            PeriodicJob(
                "documents.sweep",
                ("documents", "sweep"),
                timedelta(days=1),
                "Delete stored uploads that nothing refers to any more.",
            )
        )

        # Where uploads are stored: a file there that no upload names is an orphan, deleted
        # by housekeeping (core.stored_files).
        from ecitizen.core.registry import StoredFiles
        from ecitizen.documents.storage import UPLOADS_FOLDER

        registry.register_stored_files(
            StoredFiles(
                "documents.uploads", UPLOADS_FOLDER, columns=("documents.Upload.storage_name",)
            )
        )

        from pathlib import Path

        # This app's notification templates, next to its code.
        registry.register_message_dir(Path(__file__).resolve().parent / "messages")

        # Its part of the public API: residents' documents and public verification.
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("documents", "ecitizen.documents.api.router", "Documents")
        )

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.registry import registry
        from ecitizen.documents.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core.registry import Eraser
        from ecitizen.documents import erasure as documents_erasure

        registry.register_eraser(
            Eraser(
                documents_erasure.NAME, documents_erasure.erase, documents_erasure.plan, order=500
            )
        )

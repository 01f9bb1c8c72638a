from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "ecitizen.feedback"
    label = "feedback"
    verbose_name = _("Feedback and complaints")

    def ready(self) -> None:
        from pathlib import Path

        from ecitizen.accounts.models import Role
        from ecitizen.core.events import CaseStateChanged
        from ecitizen.core.registry import DemoLoader, NavItem, PruneHook, registry
        from ecitizen.feedback import panels, services
        from ecitizen.feedback.demo import demo_feedback_load

        # Satisfaction figures, comments (redacted) and complaint figures: the officials
        # who run a department's services.
        registry.register_capability(
            services.FEEDBACK_READ,
            label=_("Read satisfaction figures, comments and complaint figures"),
            roles=[Role.CASE_OFFICER, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN],
        )
        # "You said, we did" speaks for the department: its supervisors and administrators.
        registry.register_capability(
            services.FEEDBACK_PUBLISH,
            label=_("Publish changes made in answer to feedback"),
            roles=[Role.SUPERVISOR, Role.DEPARTMENT_ADMIN],
        )
        # No item in the main navigation, which is full at 1280 px already: residents
        # reach /feedback/ from the confirmation pages' question (and the site's
        # "feedback" and contact links, which the core templates own).
        registry.register_nav(
            NavItem(
                "feedback_staff",
                _("Feedback"),
                "staff:feedback",
                "staff",
                capability=services.FEEDBACK_READ,
                order=60,
                section=("/staff/feedback/",),
            )
        )
        # The satisfaction question on the other apps' confirmation pages.
        template = "feedback/panels/satisfaction.html"
        registry.register_panel(panels.SLOT_CASE, template, context=panels.case_panel)
        registry.register_panel(panels.SLOT_PAYMENT, template, context=panels.payment_panel)
        registry.register_panel(panels.SLOT_REPORT, template, context=panels.report_panel)
        registry.register_panel(panels.SLOT_DOCUMENTS, template, context=panels.documents_panel)
        registry.register_panel(
            panels.SLOT_STAFF_CASE,
            "feedback/panels/staff_complaint.html",
            context=panels.staff_case_panel,
        )
        # A complaint's stages follow its case.
        registry.subscribe(
            CaseStateChanged, services.complaint_follow_case, when=services.is_complaint_case
        )
        registry.register_prune_hook(
            PruneHook(
                "feedback.unconfirmed",
                services.submissions_prune,
                "feedback never confirmed by email",
            )
        )
        # This app's notification templates, next to its code.
        registry.register_message_dir(Path(__file__).resolve().parent / "messages")

        # Its part of the public API ("You said, we did", public like its pages).
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("you-said-we-did", "ecitizen.feedback.api.router", "Feedback")
        )
        # Its part of the demo: ratings of every service, a few complaints.
        registry.register_demo_loader(DemoLoader("feedback", demo_feedback_load, after=("cases",)))

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.registry import registry
        from ecitizen.feedback.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core.registry import Eraser
        from ecitizen.feedback import erasure as feedback_erasure

        registry.register_eraser(
            Eraser(feedback_erasure.NAME, feedback_erasure.erase, feedback_erasure.plan, order=120)
        )
        from ecitizen.core.registry import RetentionRule

        registry.register_retention_rule(
            RetentionRule(
                "feedback.unconfirmed",
                _("Delete feedback whose email address was never confirmed"),
                feedback_erasure.unconfirmed_plan,
                feedback_erasure.unconfirmed_apply,
                period="unconfirmed_feedback",
            )
        )

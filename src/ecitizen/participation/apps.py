from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "ecitizen.participation"
    label = "participation"
    verbose_name = _("Participation")

    def ready(self) -> None:
        from datetime import timedelta
        from pathlib import Path

        from ecitizen.accounts.models import Role
        from ecitizen.core.registry import (
            DemoLoader,
            NavItem,
            PeriodicJob,
            PruneHook,
            RoleSpec,
            registry,
        )
        from ecitizen.participation.demo import demo_participation_load
        from ecitizen.participation.services import (
            PARTICIPATION_ANSWER,
            PARTICIPATION_MODERATE,
            PARTICIPATION_ORGANISE,
            PARTICIPATION_PAPER,
            PARTICIPATION_WORK,
            consultations,
        )

        # A department's engagement team: runs its processes, consultations and budgets.
        registry.register_role(RoleSpec("engagement_officer", _("Engagement officer"), order=37))
        registry.register_capability(
            PARTICIPATION_ORGANISE,
            label=_("Run participatory processes, consultations and budgets"),
            roles=["engagement_officer", Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            PARTICIPATION_MODERATE,
            label=_("Moderate comments and proposals"),
            roles=["engagement_officer", Role.SUPERVISOR, Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            PARTICIPATION_ANSWER,
            label=_("Answer proposals, review projects and report their delivery"),
            roles=[
                "engagement_officer",
                Role.CASE_OFFICER,
                Role.SUPERVISOR,
                Role.DEPARTMENT_ADMIN,
                Role.PLATFORM_ADMIN,
            ],
        )
        registry.register_capability(
            PARTICIPATION_PAPER,
            label=_("Enter paper responses, supports and ballots for residents"),
            roles=["engagement_officer", Role.CASE_OFFICER, Role.INTERMEDIARY, Role.PLATFORM_ADMIN],
        )
        # One navigation item for all four: its page links to what each official may do.
        registry.register_capability(
            PARTICIPATION_WORK,
            label=_("Reach the staff participation pages"),
            includes=[
                PARTICIPATION_ORGANISE,
                PARTICIPATION_MODERATE,
                PARTICIPATION_ANSWER,
                PARTICIPATION_PAPER,
            ],
        )
        registry.register_nav(
            NavItem(
                "participate", _("Have your say"), "participation:processes", "everyone", order=7
            )
        )
        registry.register_nav(
            NavItem(
                "participation_mine",
                _("Processes you can take part in"),
                "participation:mine",
                "account",
                order=48,
            )
        )
        # Assisted-digital helpers are not officials (no staff navigation): their
        # account page leads them to the paper entries.
        registry.register_nav(
            NavItem(
                "participation_paper",
                _("Paper participation"),
                "staff:participation_paper_entries",
                "account",
                capability=PARTICIPATION_PAPER,
                order=49,
            )
        )
        registry.register_nav(
            NavItem(
                "participation",
                _("Participation"),
                "staff:participation",
                "staff",
                capability=PARTICIPATION_WORK,
                order=78,
            )
        )
        registry.register_message_dir(Path(__file__).parent / "messages")
        # Anonymous responses whose emailed link was never used (it expires in 72 hours).
        registry.register_prune_hook(
            PruneHook(
                "participation.pending_responses",
                consultations.pending_responses_prune,
                "unconfirmed anonymous responses",
            )
        )
        registry.register_job(
            PeriodicJob(
                "participation.announce",
                ("participation", "announce"),
                timedelta(hours=1),
                "Tell followers of the phases that began and of published results",
            )
        )
        # Budget 2027, the regeneration consultation and the parks survey (participation/demo.py).
        registry.register_demo_loader(
            DemoLoader("participation", demo_participation_load, after=("people",))
        )

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.registry import registry
        from ecitizen.participation.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core.registry import Eraser
        from ecitizen.participation import erasure as participation_erasure

        registry.register_eraser(
            Eraser(
                participation_erasure.NAME,
                participation_erasure.erase,
                participation_erasure.plan,
                order=130,
            )
        )

        # Its part of the public API (read-only, public like its pages).
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("processes", "ecitizen.participation.api.router", "Participation")
        )

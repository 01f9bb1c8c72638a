from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VotingConfig(AppConfig):
    name = "ecitizen.voting"
    label = "voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        from datetime import timedelta
        from pathlib import Path

        from ecitizen.accounts.models import Role
        from ecitizen.core.registry import DemoLoader, NavItem, PeriodicJob, RoleSpec, registry
        from ecitizen.voting.demo import demo_voting_load
        from ecitizen.voting.services import VOTING_ADMINISTER, VOTING_CREDENTIALS, VOTING_WORK

        # The electoral office: prepares, opens, closes and publishes elections.
        registry.register_role(
            RoleSpec("election_administrator", _("Election administrator"), order=38)
        )
        # Issues voters' credentials: never the administrator of the same election.
        registry.register_role(
            RoleSpec("credential_authority", _("Credential authority"), order=39)
        )
        registry.register_capability(
            VOTING_ADMINISTER,
            label=_("Prepare, open, close and publish elections"),
            roles=["election_administrator", Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            VOTING_CREDENTIALS,
            label=_("Issue voters' credentials"),
            roles=["credential_authority"],
        )
        registry.register_capability(
            VOTING_WORK,
            label=_("Reach the staff election pages"),
            includes=[VOTING_ADMINISTER, VOTING_CREDENTIALS],
        )
        registry.register_nav(
            NavItem("voting", _("Elections"), "voting:elections", "account", order=47)
        )
        registry.register_nav(
            NavItem(
                "voting_staff",
                _("Elections"),
                "staff:voting",
                "staff",
                capability=VOTING_WORK,
                order=79,
            )
        )
        registry.register_message_dir(Path(__file__).parent / "messages")
        registry.register_job(
            PeriodicJob(
                "voting.tick",
                ("voting", "tick"),
                timedelta(minutes=5),
                "Close the ballot boxes of elections whose voting time is over",
            )
        )
        # Car-free Sundays (counted) and an open election the demo resident can vote in.
        registry.register_demo_loader(
            DemoLoader("voting", demo_voting_load, after=("people", "participation"))
        )

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.core.registry import registry
        from ecitizen.voting.personal_data import PERSONAL_DATA

        registry.register_personal_data(PERSONAL_DATA)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.core.registry import Eraser
        from ecitizen.voting import erasure as voting_erasure

        registry.register_eraser(
            Eraser(voting_erasure.NAME, voting_erasure.erase, voting_erasure.plan, order=140)
        )

        # Its part of the public API (read-only, public like its pages).
        from ecitizen.core.registry import ApiRouter

        registry.register_api_router(
            ApiRouter("elections", "ecitizen.voting.api.router", "Elections")
        )

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "ecitizen.accounts"
    label = "accounts"
    verbose_name = _("Accounts and organisation")

    def ready(self) -> None:
        from ecitizen.accounts import (
            hashers,  # noqa: F401 - connects its receiver of changed settings (tests)
            selectors,
            services,
            signals,  # noqa: F401 - connects the audit receivers
        )
        from ecitizen.accounts.models import Role
        from ecitizen.core.access import AUDIT_READ
        from ecitizen.core.registry import Identity, NavItem, RoleSpec, SecretStore, registry

        # The reviewed list of roles this app defines; other apps may register more.
        for order, (role, authority_wide, staff) in enumerate(
            [
                (Role.CASE_OFFICER, False, True),
                (Role.SUPERVISOR, False, True),
                (Role.DEPARTMENT_ADMIN, False, True),
                (Role.FINANCE_OFFICER, False, True),
                (Role.AUDITOR, True, True),
                (Role.PLATFORM_ADMIN, True, True),
                (Role.INTERMEDIARY, True, False),
            ]
        ):
            registry.register_role(
                RoleSpec(
                    role.value,
                    role.label,
                    authority_wide=authority_wide,
                    staff=staff,
                    order=order * 10,
                )
            )
        registry.register_capability(
            selectors.RESIDENTS_READ,
            label=_("Read residents' personal details"),
            roles=[Role.CASE_OFFICER, Role.SUPERVISOR, Role.PLATFORM_ADMIN],
        )
        registry.register_capability(
            selectors.PEOPLE_MANAGE,
            label=_("Give and remove staff roles"),
            roles=[Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN],
        )
        registry.grant(AUDIT_READ, Role.AUDITOR, Role.PLATFORM_ADMIN)

        registry.register_identity(
            Identity(
                holds=selectors.user_has_role,
                roles_held=selectors.user_roles_held,
                # Enrolled here, or asserted by the staff identity provider at sign-in.
                has_second_factor=selectors.user_has_second_factor,
                session_used_second_factor=selectors.session_used_second_factor,
                preferences_update=services.preferences_update,
            )
        )
        registry.register_secret_store(
            SecretStore(
                "mfa",
                pending=services.mfa_secrets_pending,
                rotate=services.mfa_secrets_rotate,
            )
        )

        for item in (
            NavItem("staff", _("Staff"), "staff:home", "staff", order=0),
            NavItem(
                "residents",
                _("Residents"),
                "staff:residents",
                "staff",
                capability=selectors.RESIDENTS_READ,
                order=20,
            ),
            NavItem(
                "people",
                _("People and roles"),
                "staff:people",
                "staff",
                capability=selectors.PEOPLE_MANAGE,
                order=30,
            ),
            NavItem(
                "audit", _("Audit trail"), "staff:audit", "staff", capability=AUDIT_READ, order=90
            ),
        ):
            registry.register_nav(item)

        # Housekeeping (core.scheduler runs `ecitizen housekeeping` daily).
        from ecitizen.core.registry import PruneHook

        registry.register_prune_hook(
            PruneHook(
                "accounts.signin_throttle",
                services.signin_throttle_prune,
                "stale sign-in failure counts",
            )
        )

        # Its part of the demo, which every other part runs after (docs/extending.md).
        from ecitizen.accounts.demo import demo_people_load
        from ecitizen.core.registry import DemoLoader

        registry.register_demo_loader(DemoLoader("people", demo_people_load))

        # What it holds about residents, for their data rights (the privacy app).
        from ecitizen.accounts.personal_data import PERSONAL_DATA
        from ecitizen.core.registry import registry

        registry.register_personal_data(PERSONAL_DATA)

        # Erasure on request and retention by rule (the privacy app; ADR 0023).
        from ecitizen.accounts import erasure as accounts_erasure
        from ecitizen.core.registry import Eraser

        registry.register_eraser(
            Eraser(accounts_erasure.NAME, accounts_erasure.erase, accounts_erasure.plan, order=1000)
        )

"""Staff sign-in through the authority's identity provider: groups mapped to roles at
every sign-in, two-factor authentication asserted by the provider or asked for here."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from ecitizen.accounts.models import Role, RoleAssignment, User
from ecitizen.core.models import AuditEvent
from tests.factories import PASSWORD, DepartmentFactory, UserFactory
from tests.oidc_provider.fixtures import eid_configured_fixture, oidc_provider_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def sign_in(client, provider, username):
    response = client.post(reverse("oidc_login", args=["staff"]), {"process": "login"})
    assert response.status_code == 302
    callback = urlsplit(provider.authorize(response["Location"], username))
    return client.get(f"{callback.path}?{callback.query}")


@pytest.fixture
def revenue(db):
    return DepartmentFactory(slug="revenue", name="Revenue")


def test_an_official_signs_in_with_roles_from_their_groups(client, eid_configured, revenue):
    response = sign_in(client, eid_configured, "officer")
    assert response.status_code == 302
    user = User.objects.get(email="olu.okafor@riverton.example")
    roles = {(a.role, a.department.slug) for a in RoleAssignment.objects.filter(user=user)}
    assert roles == {(Role.CASE_OFFICER, "revenue")}  # "unmapped-group" gives nothing
    assert AuditEvent.objects.filter(action="role.assigned", subject_user_id=user.pk).exists()
    assert AuditEvent.objects.filter(action="auth.staff_roles_synced", subject_user_id=user.pk)
    # The provider asserted a second factor (amr has "otp"): staff pages open at once.
    assert client.get(reverse("staff:home")).status_code == 200


def test_without_a_second_factor_from_the_provider_one_is_required_here(
    client, eid_configured, revenue
):
    sign_in(client, eid_configured, "clerk")  # amr ["pwd"], acr "low"
    user = User.objects.get(email="chris.clerk@riverton.example")
    assert RoleAssignment.objects.filter(user=user, role=Role.CASE_OFFICER).exists()
    response = client.get(reverse("staff:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_an_acr_at_the_configured_level_counts_as_a_second_factor(
    client, settings, eid_configured, revenue
):
    # The officer's acr is "substantial"; without the amr rule it is the acr that counts.
    staff = eid_configured.app("staff", mfa_amr=[], mfa_acr="substantial")
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": [eid_configured.app("eid"), staff],
        }
    }
    sign_in(client, eid_configured, "officer")
    assert client.get(reverse("staff:home")).status_code == 200
    client.logout()
    staff = eid_configured.app("staff", mfa_amr=[], mfa_acr="high")
    settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] = [staff]
    sign_in(client, eid_configured, "officer")
    assert client.get(reverse("staff:home")).status_code == 302


def test_someone_whose_groups_give_no_role_is_refused(client, eid_configured, revenue):
    response = sign_in(client, eid_configured, "nobody")
    assert response.status_code == 401
    assert "does not give you a role" in response.content.decode()
    assert not User.objects.filter(email="nadia.nobody@riverton.example").exists()
    assert not SocialAccount.objects.exists()


def test_roles_follow_the_groups_at_each_sign_in(client, settings, eid_configured, revenue):
    DepartmentFactory(slug="planning", name="Planning")
    sign_in(client, eid_configured, "officer")
    user = User.objects.get(email="olu.okafor@riverton.example")
    # An administrator gave a role by hand that no group maps to: it is kept.
    from ecitizen.accounts import services

    services.role_assign(user=user, role=Role.AUDITOR, department=None, actor=None, system=True)
    client.logout()
    # The authority moves the group to Planning.
    mapping = {"revenue-officers": [{"role": "supervisor", "department": "planning"}]}
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": [
                eid_configured.app(
                    "staff",
                    group_roles={
                        **mapping,
                        "former": [{"role": "case_officer", "department": "revenue"}],
                    },
                )
            ],
        }
    }
    sign_in(client, eid_configured, "officer")
    roles = {
        (a.role, a.department.slug if a.department else None)
        for a in RoleAssignment.objects.filter(user=user)
    }
    assert roles == {(Role.SUPERVISOR, "planning"), (Role.AUDITOR, None)}
    assert AuditEvent.objects.filter(action="role.revoked", subject_user_id=user.pk).exists()


def test_an_existing_official_signing_in_by_the_provider_keeps_their_account(
    client, eid_configured, revenue
):
    official = UserFactory(email="olu.okafor@riverton.example", full_name="Olu Okafor")
    client.force_login(official)
    response = client.post(reverse("oidc_login", args=["staff"]), {"process": "connect"})
    callback = urlsplit(eid_configured.authorize(response["Location"], "officer"))
    response = client.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 302
    assert SocialAccount.objects.get(provider="staff").user == official
    assert RoleAssignment.objects.filter(user=official, role=Role.CASE_OFFICER).exists()


# --- Roles from the provider hold only for sign-ins through it ---------------------------


def _held(user):
    return {
        (a.role, a.department.slug if a.department else None)
        for a in RoleAssignment.objects.filter(user=user).select_related("department")
    }


def _linked_official(client, provider, revenue):
    """An official with a password who linked the staff provider ("officer": the group
    revenue-officers) and holds, by hand, a role no group maps to."""
    from ecitizen.accounts import services

    official = UserFactory(email="olu.okafor@riverton.example", full_name="Olu Okafor")
    services.role_assign(
        user=official, role=Role.SUPERVISOR, department=revenue, actor=None, system=True
    )
    client.force_login(official)
    response = client.post(reverse("oidc_login", args=["staff"]), {"process": "connect"})
    callback = urlsplit(provider.authorize(response["Location"], "officer"))
    client.get(f"{callback.path}?{callback.query}")
    assert _held(official) == {(Role.CASE_OFFICER, "revenue"), (Role.SUPERVISOR, "revenue")}
    return official


def _withdrawn(user, reason):
    return AuditEvent.objects.filter(
        action="auth.staff_roles_withdrawn",
        subject_user_id=user.pk,
        changes__reason__after=reason,
    )


def test_unlinking_the_staff_provider_withdraws_the_roles_it_gave(client, eid_configured, revenue):
    official = _linked_official(client, eid_configured, revenue)
    link = SocialAccount.objects.get(provider="staff")
    response = client.post(reverse("socialaccount_connections"), {"account": link.pk})
    assert response.status_code == 302
    assert not SocialAccount.objects.filter(user=official).exists()
    # The provider's role is gone; the one given by hand stays.
    assert _held(official) == {(Role.SUPERVISOR, "revenue")}
    event = _withdrawn(official, "unlinked").get()
    assert event.changes["roles"]["before"] == ["Revenue — Case officer"]
    assert event.changes["provider"]["before"] == "staff"
    assert AuditEvent.objects.filter(
        action="role.revoked", subject_user_id=official.pk, actor_id=None
    ).exists()
    # A password sign-in afterwards does not bring it back.
    client.logout()
    client.post(reverse("account_login"), {"login": official.email, "password": PASSWORD})
    assert int(client.session["_auth_user_id"]) == official.pk
    assert _held(official) == {(Role.SUPERVISOR, "revenue")}


def test_a_password_sign_in_does_not_carry_the_providers_roles(client, eid_configured, revenue):
    official = _linked_official(client, eid_configured, revenue)
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": official.email, "password": PASSWORD}, follow=True
    )
    assert int(client.session["_auth_user_id"]) == official.pk
    assert _held(official) == {(Role.SUPERVISOR, "revenue")}
    assert _withdrawn(official, "signed_in_another_way").exists()
    assert "sign in with Riverton staff sign-in" in response.content.decode()
    # The link stays, and the next sign-in through the provider gives the role back.
    assert SocialAccount.objects.filter(user=official, provider="staff").exists()
    client.logout()
    sign_in(client, eid_configured, "officer")
    assert int(client.session["_auth_user_id"]) == official.pk
    assert _held(official) == {(Role.CASE_OFFICER, "revenue"), (Role.SUPERVISOR, "revenue")}


def test_a_sign_in_with_the_residents_eid_does_not_carry_them_either(
    client, eid_configured, revenue
):
    official = _linked_official(client, eid_configured, revenue)
    response = client.post(reverse("oidc_login", args=["eid"]), {"process": "connect"})
    callback = urlsplit(eid_configured.authorize(response["Location"], "amina"))
    client.get(f"{callback.path}?{callback.query}")
    assert SocialAccount.objects.filter(user=official, provider="eid").exists()
    client.logout()
    response = client.post(reverse("oidc_login", args=["eid"]), {"process": "login"})
    callback = urlsplit(eid_configured.authorize(response["Location"], "amina"))
    client.get(f"{callback.path}?{callback.query}")
    assert int(client.session["_auth_user_id"]) == official.pk
    assert _held(official) == {(Role.SUPERVISOR, "revenue")}
    assert _withdrawn(official, "signed_in_another_way").exists()


def test_an_official_never_linked_to_the_provider_keeps_roles_given_by_hand(
    client, eid_configured, case_officer
):
    import pyotp

    from tests.personas import TOTP_SECRET

    # Revenue case officer: a role the provider's mapping can give, given here by hand.
    client.post(reverse("account_login"), {"login": case_officer.email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert int(client.session["_auth_user_id"]) == case_officer.pk
    assert _held(case_officer) == {(Role.CASE_OFFICER, "revenue")}
    assert not AuditEvent.objects.filter(action="auth.staff_roles_withdrawn").exists()


def test_withdrawing_keeps_roles_no_group_maps_to(revenue):
    from ecitizen.accounts import services
    from tests.oidc_provider.fixtures import GROUP_ROLES

    official = UserFactory()
    for role, department in ((Role.CASE_OFFICER, revenue), (Role.SUPERVISOR, revenue)):
        services.role_assign(
            user=official, role=role, department=department, actor=None, system=True
        )
    services.role_assign(user=official, role=Role.AUDITOR, department=None, actor=None, system=True)
    removed = services.staff_roles_withdraw(
        user=official,
        provider_id="staff",
        group_roles=GROUP_ROLES,
        reason=services.WITHDRAWN_UNLINKED,
        keep={"auditors": [{"role": "auditor"}]},
    )
    assert removed == ["Revenue — Case officer"]
    assert _held(official) == {(Role.SUPERVISOR, "revenue"), (Role.AUDITOR, None)}
    # Nothing left to withdraw: nothing written.
    events = AuditEvent.objects.count()
    assert services.staff_roles_withdraw(
        user=official,
        provider_id="staff",
        group_roles=GROUP_ROLES,
        reason=services.WITHDRAWN_UNLINKED,
    ) == ["Auditor"]
    assert AuditEvent.objects.count() > events

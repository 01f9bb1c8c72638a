"""Staff sign-in through the authority's identity provider: groups mapped to roles at
every sign-in, two-factor authentication asserted by the provider or asked for here."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from ecitizen.accounts.models import Role, RoleAssignment, User
from ecitizen.core.models import AuditEvent
from tests.factories import DepartmentFactory, UserFactory
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

"""Sign-in and linking with a national eID over OpenID Connect, against a real provider
(django-oauth-toolkit in a second process, ``tests/oidc_provider``)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.db import connection
from django.urls import reverse

from ecitizen.accounts import selectors, services
from ecitizen.accounts.models import IdentityVerification, ResidentProfile, User
from ecitizen.accounts.oidc_settings import CLAIMS_KEY
from ecitizen.core.models import AuditEvent
from tests.factories import UserFactory
from tests.oidc_provider.fixtures import eid_configured_fixture, oidc_provider_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def start(client, provider_id="eid", **data):
    """Press "Sign in with ..." (or "Link"): ecitizen answers with the redirect to the
    provider's authorization endpoint."""
    response = client.post(reverse("oidc_login", args=[provider_id]), data)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def finish(client, callback_url):
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, provider, username="amina", provider_id="eid", **data):
    return finish(client, provider.authorize(start(client, provider_id, **data), username))


def test_the_authorization_request_asks_for_pkce_nonce_state_and_acr(client, eid_configured):
    # Parameters smuggled through the request (allauth accepts auth_params and scope)
    # are ignored: they could drop the acr asked for or choose the nonce.
    url = start(client, auth_params="acr_values=low&nonce=chosen", scope="offline")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(eid_configured.issuer + "/authorize/")
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["nonce"][0]) >= 32
    assert query["nonce"] != ["chosen"]
    assert query["state"][0]
    assert query["acr_values"] == ["substantial"]
    assert set(query["scope"][0].split()) == {"openid", "profile", "email"}


def test_an_unknown_person_signs_in_and_gets_a_verified_account(client, eid_configured):
    response = sign_in(client, eid_configured)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")
    user = User.objects.get(email="amina.rahman@eid.example")
    assert not user.has_usable_password()
    assert EmailAddress.objects.get(user=user).verified  # the provider said so
    profile = ResidentProfile.objects.get(user=user)
    assert profile.legal_name == "Amina Rahman"
    assert str(profile.date_of_birth) == "1986-04-12"
    assert profile.national_id == "RV31415926"
    assert selectors.national_id_holder("RV31415926") == user
    verification = IdentityVerification.objects.get(user=user)
    assert verification.provider == "eid"
    assert verification.acr == "substantial"
    assert verification.amr == ["pwd", "otp"]
    assert set(verification.verified_fields) == {"legal_name", "date_of_birth", "national_id"}
    # Encrypted at rest like every personal field; the link keeps no personal claims.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT national_id, date_of_birth, legal_name FROM accounts_residentprofile "
            "WHERE user_id = %s",
            [user.pk],
        )
        row = cursor.fetchone()
    for plaintext in ("RV31415926", "1986", "Amina"):
        assert plaintext not in str(row)
    link = SocialAccount.objects.get(user=user)
    assert link.provider == "eid"
    assert set(link.extra_data) <= {"sub", "iss", "acr", "amr", "auth_time"}
    assert CLAIMS_KEY not in link.extra_data
    assert AuditEvent.objects.filter(action="identity.verified", subject_user_id=user.pk).exists()
    # Signed in: the account page shows the verified identity.
    page = client.get(reverse("accounts:home")).content.decode()
    assert "Verified with Test eID" in page


def test_an_unverified_email_from_the_provider_must_be_confirmed(client, eid_configured):
    response = sign_in(client, eid_configured, username="bruno")
    user = User.objects.get(email="bruno.silva@eid.example")
    assert not EmailAddress.objects.get(user=user).verified
    assert response["Location"] == reverse("account_email_verification_sent")
    # The identity itself is verified all the same.
    assert IdentityVerification.objects.get(user=user).acr == "high"


def test_signing_in_again_signs_in_the_same_account(client, eid_configured):
    sign_in(client, eid_configured)
    client.logout()
    response = sign_in(client, eid_configured)
    assert response.status_code == 302
    assert User.objects.filter(email="amina.rahman@eid.example").count() == 1
    assert (
        int(client.session["_auth_user_id"])
        == User.objects.get(email="amina.rahman@eid.example").pk
    )


@pytest.mark.parametrize(
    ("mode", "reason", "message"),
    [
        ("wrong_signature", "bad_signature", "could not be trusted"),
        ("expired", "token_expired", "had expired"),
        ("replay_nonce", "nonce_mismatch", "did not belong to this sign-in"),
        ("low_acr", "acr_too_low", "lower level of assurance"),
    ],
)
def test_a_misbehaving_provider_is_refused_and_nothing_changes(
    client, eid_configured, mode, reason, message
):
    # A first sign-in gives the provider a nonce to replay, and an account to protect.
    sign_in(client, eid_configured)
    client.logout()
    user = User.objects.get(email="amina.rahman@eid.example")
    before = IdentityVerification.objects.get(user=user).verified_at
    users, links, events = (
        User.objects.count(),
        SocialAccount.objects.count(),
        AuditEvent.objects.filter(subject_user_id=user.pk).count(),
    )
    eid_configured.misbehave(mode)
    response = sign_in(client, eid_configured)
    assert response.status_code == 401
    page = response.content.decode()
    assert message in page
    assert "Nothing was changed" in page or "nothing was changed" in page
    assert "_auth_user_id" not in client.session
    assert (User.objects.count(), SocialAccount.objects.count()) == (users, links)
    assert AuditEvent.objects.filter(subject_user_id=user.pk).count() == events
    assert IdentityVerification.objects.get(user=user).verified_at == before
    refusal = AuditEvent.objects.filter(action="auth.identity_provider_refused").latest("pk")
    assert refusal.changes["reason"] == reason
    assert refusal.changes["provider"] == "eid"


def test_a_callback_with_a_forged_state_is_refused(client, eid_configured):
    callback = eid_configured.authorize(start(client), "amina")
    forged = callback.replace("state=", "state=forged")
    response = finish(client, forged)
    assert response.status_code == 401
    assert not User.objects.filter(email="amina.rahman@eid.example").exists()
    # The state is used once: the genuine callback, replayed after a success, fails too.
    assert finish(client, callback).status_code == 302
    client.logout()
    assert finish(client, callback).status_code == 401


def test_an_email_already_used_is_never_merged(client, eid_configured):
    UserFactory(email="amina.rahman@eid.example", full_name="Someone Else")
    response = sign_in(client, eid_configured)
    assert response.status_code == 401
    assert "already uses the email address" in response.content.decode()
    assert not SocialAccount.objects.exists()


def test_a_resident_links_their_eid_from_their_account(client, eid_configured, resident):
    client.force_login(resident)
    response = sign_in(client, eid_configured, process="connect")
    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_connections")
    assert SocialAccount.objects.get(provider="eid").user == resident
    profile = ResidentProfile.objects.get(user=resident)
    assert profile.national_id == "RV31415926"
    assert profile.legal_name == "Amina Rahman"
    assert selectors.identity_verified(resident)
    assert selectors.identity_verified(resident, minimum_acr="substantial")
    assert not selectors.identity_verified(resident, minimum_acr="high")
    page = client.get(reverse("socialaccount_connections")).content.decode()
    assert "Test eID" in page
    assert "Unlink" in page


def test_linking_a_national_id_held_by_another_account_is_refused(
    client, eid_configured, resident, second_resident
):
    services.profile_update(
        user=second_resident, data={"national_id": "RV31415926"}, actor=second_resident
    )
    client.force_login(resident)
    response = sign_in(client, eid_configured, process="connect")
    assert response.status_code == 401
    assert "already linked to another account" in response.content.decode()
    assert not SocialAccount.objects.exists()
    assert not IdentityVerification.objects.exists()
    assert ResidentProfile.objects.get(user=resident).national_id is None


def test_an_eid_linked_to_one_account_cannot_be_linked_to_another(client, eid_configured, resident):
    sign_in(client, eid_configured)
    client.logout()
    client.force_login(resident)
    response = sign_in(client, eid_configured, process="connect")
    assert response.status_code == 401
    assert "already linked to a different account" in response.content.decode()
    assert SocialAccount.objects.get().user.email == "amina.rahman@eid.example"


def test_unlinking_is_refused_when_it_is_the_only_way_in(client, eid_configured):
    sign_in(client, eid_configured)
    link = SocialAccount.objects.get()
    response = client.post(reverse("socialaccount_connections"), {"account": link.pk})
    assert response.status_code == 200
    assert "only way you sign in" in response.content.decode()
    assert SocialAccount.objects.filter(pk=link.pk).exists()
    assert selectors.identity_verified(link.user)


def test_unlinking_removes_the_verified_identity(client, eid_configured, resident):
    client.force_login(resident)
    sign_in(client, eid_configured, process="connect")
    link = SocialAccount.objects.get()
    response = client.post(reverse("socialaccount_connections"), {"account": link.pk})
    assert response.status_code == 302
    assert not SocialAccount.objects.exists()
    assert not selectors.identity_verified(resident)
    assert AuditEvent.objects.filter(
        action="identity.unlinked", subject_user_id=resident.pk
    ).exists()


def test_verified_values_cannot_be_changed_by_the_resident(client, eid_configured, resident):
    client.force_login(resident)
    sign_in(client, eid_configured, process="connect")
    with pytest.raises(services.VerifiedFieldLocked):
        services.profile_update(user=resident, data={"national_id": "RV00000001"}, actor=resident)
    # Unverified fields still can be, and a verified one given unchanged is fine.
    services.profile_update(
        user=resident, data={"town": "Riverton", "national_id": "rv3141 5926"}, actor=resident
    )


def test_requiring_a_verified_identity(resident, eid_configured):
    with pytest.raises(selectors.IdentityVerificationRequired) as refused:
        selectors.identity_verification_require(resident)
    assert refused.value.code == "identity_verification_required"
    assert "national eID" in str(refused.value.message)


def test_no_provider_configured_means_no_button_and_no_route(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {**settings.SOCIALACCOUNT_PROVIDERS["openid_connect"], "APPS": []}
    }
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with" not in page
    assert client.post(reverse("oidc_login", args=["eid"])).status_code == 404


def test_the_sign_in_page_offers_the_eid(client, eid_configured):
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Test eID" in page
    assert reverse("oidc_login", args=["eid"]) in page


def test_a_provider_that_does_not_answer_is_explained(client, settings, eid_configured):
    from ecitizen.accounts.oidc_settings import provider_app

    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": [
                provider_app(
                    provider_id="eid",
                    purpose="resident",
                    issuer="http://127.0.0.1:9",  # the discard port: nothing answers
                    client_id="ecitizen-eid",
                    secret="s3cret",
                    name="Test eID",
                )
            ],
        }
    }
    response = client.post(reverse("oidc_login", args=["eid"]), {"process": "login"})
    assert response.status_code == 401
    assert "is not answering at the moment" in response.content.decode()


def test_cancelling_at_the_provider_changes_nothing(client, eid_configured):
    url = start(client)
    state = parse_qs(urlsplit(url).query)["state"][0]
    response = client.get(
        reverse("oidc_callback", args=["eid"]), {"error": "access_denied", "state": state}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_login_cancelled")
    assert "You cancelled signing in" in client.get(response["Location"]).content.decode()
    assert not SocialAccount.objects.exists()
    assert not User.objects.filter(email="amina.rahman@eid.example").exists()


def test_a_resident_with_two_factor_authentication_still_gives_their_code(
    client, eid_configured, resident
):
    import pyotp

    from tests.personas import TOTP_SECRET

    client.force_login(resident)
    sign_in(client, eid_configured, process="connect")
    services.mfa_totp_activate(user=resident, secret=TOTP_SECRET, actor=resident)
    first = IdentityVerification.objects.get(user=resident).verified_at
    client.logout()
    response = sign_in(client, eid_configured)
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    # Not signed in yet: nothing filed. The claims wait in the session, sealed.
    assert IdentityVerification.objects.get(user=resident).verified_at == first
    assert "RV31415926" not in str(dict(client.session))
    done = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert done.status_code == 302
    assert int(client.session["_auth_user_id"]) == resident.pk
    assert IdentityVerification.objects.get(user=resident).verified_at > first


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("hs256", "algorithm_refused"),
        ("unknown_kid", "invalid_token"),
        ("wrong_audience", "invalid_token"),
        ("wrong_issuer", "invalid_token"),
        ("no_iat", "invalid_token"),
        # Authorized for another client (OIDC Core 3.1.3.7): azp not ours, or missing
        # from a token for several audiences.
        ("azp_other", "azp_mismatch"),
        ("two_audiences", "azp_missing"),
    ],
)
def test_other_untrustworthy_id_tokens_are_refused(client, eid_configured, mode, reason):
    eid_configured.misbehave(mode)
    response = sign_in(client, eid_configured)
    assert response.status_code == 401
    assert "could not be trusted" in response.content.decode()
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()
    refusal = AuditEvent.objects.filter(action="auth.identity_provider_refused").latest("pk")
    assert refusal.changes["reason"] == reason


# --- A sign-in starts only from a POST with our CSRF token (no login CSRF) ----------------


def _flow_started(client):
    """Whether a sign-in was started in this session (allauth stashes its state)."""
    return any("socialaccount" in key for key, _value in client.session.items())


def _confirm_form(page):
    import re

    found = re.search(r'<form [^>]*data-testid="provider-confirm".*?</form>', page, re.S)
    assert found is not None
    return found.group(0)


def test_a_get_only_asks_to_confirm_and_starts_nothing(client, settings, eid_configured):
    # Even with allauth's LOGIN_ON_GET turned on, a link (another site's, say) cannot
    # start a sign-in or a link: it shows a page with a form to confirm.
    settings.SOCIALACCOUNT_LOGIN_ON_GET = True
    url = reverse("oidc_login", args=["eid"])
    response = client.get(url, {"process": "connect", "next": "/accounts/"})
    assert response.status_code == 200
    assert not _flow_started(client)
    page = response.content.decode()
    assert "Continue to Test eID" in page
    assert "to link it to your account" in page
    assert "nothing has been changed" in page
    form = _confirm_form(page)
    assert form.startswith(f'<form method="post" action="{url}"')
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<input type="hidden" name="process" value="connect">' in form
    assert '<input type="hidden" name="next" value="/accounts/">' in form
    assert f'href="{reverse("socialaccount_connections")}"' in form  # Cancel
    # Confirming posts the form: now it starts, at the provider.
    response = client.post(url, {"process": "login"})
    assert response.status_code == 302
    assert response["Location"].startswith(eid_configured.issuer + "/authorize/")


def test_the_confirm_page_keeps_only_a_safe_next_and_a_known_process(client, eid_configured):
    url = reverse("oidc_login", args=["eid"])
    page = client.get(url, {"process": "redirect", "next": "https://evil.example/"})
    form = _confirm_form(page.content.decode())
    assert '<input type="hidden" name="process" value="login">' in form
    assert 'name="next"' not in form  # another site is not a place to come back to
    assert f'href="{reverse("account_login")}"' in form


@pytest.mark.parametrize("method", ["head", "options", "put", "delete"])
def test_no_other_method_starts_a_sign_in(client, eid_configured, method):
    # HEAD and OPTIONS are not checked for CSRF: they must not start a flow either.
    response = getattr(client, method)(reverse("oidc_login", args=["eid"]))
    assert response.status_code in {200, 403, 405}
    assert "Location" not in response
    assert not _flow_started(client)


def test_a_post_without_our_csrf_token_is_refused(eid_configured):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("oidc_login", args=["eid"]), {"process": "login"})
    assert response.status_code == 403
    assert not _flow_started(client)


def test_the_buttons_are_forms_that_post_with_a_csrf_token(client, eid_configured, resident):
    import re

    url = reverse("oidc_login", args=["eid"])
    page = client.get(reverse("account_login")).content.decode()
    form = re.search(rf'<form method="post" action="{url}".*?</form>', page, re.S)
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert f'href="{url}' not in page
    client.force_login(resident)
    page = client.get(reverse("socialaccount_connections")).content.decode()
    form = re.search(rf'<form method="post" action="{url}.*?</form>', page, re.S)
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert f'href="{url}' not in page


def test_an_unknown_provider_is_not_found_on_a_get_too(client, eid_configured):
    assert client.get(reverse("oidc_login", args=["nope"])).status_code == 404


# --- The authorized party (azp), OpenID Connect Core 3.1.3.7 -----------------------------


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"aud": "ecitizen-eid"}, None),
        ({"aud": ["ecitizen-eid"]}, None),
        ({"aud": "ecitizen-eid", "azp": "ecitizen-eid"}, None),
        ({"aud": ["ecitizen-eid", "other"], "azp": "ecitizen-eid"}, None),
        # azp present: it must be us, whatever the number of audiences.
        ({"aud": "ecitizen-eid", "azp": "other"}, "azp_mismatch"),
        ({"aud": ["ecitizen-eid"], "azp": "other"}, "azp_mismatch"),
        ({"aud": ["ecitizen-eid", "other"], "azp": "other"}, "azp_mismatch"),
        ({"aud": "ecitizen-eid", "azp": ""}, "azp_mismatch"),
        ({"aud": "ecitizen-eid", "azp": None}, "azp_mismatch"),
        ({"aud": "ecitizen-eid", "azp": ["ecitizen-eid"]}, "azp_mismatch"),
        # Several audiences: azp is required.
        ({"aud": ["ecitizen-eid", "other"]}, "azp_missing"),
    ],
)
def test_the_authorized_party_rule(claims, problem):
    from ecitizen.accounts.oidc import authorized_party_problem

    assert authorized_party_problem(claims, "ecitizen-eid") == problem


def test_an_id_token_for_several_audiences_authorized_for_us_is_accepted(client, eid_configured):
    eid_configured.misbehave("two_audiences_azp_ours")
    response = sign_in(client, eid_configured)
    assert response.status_code == 302
    assert User.objects.filter(email="amina.rahman@eid.example").exists()

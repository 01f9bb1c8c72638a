"""OAuth2 for integrators, through django-oauth-toolkit's endpoints: authorization code with
PKCE (S256 only) and the consent page, refresh, client credentials for a back-office
system's service account, revocation (by the client, and by the resident from their
account), introspection, scopes per kind of client, and tokens kept only as hashes."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from oauth2_provider.models import AccessToken, Grant, RefreshToken
from oauth2_provider.oauth2_backends import get_oauthlib_core

from ecitizen.accounts.models import Role, RoleAssignment
from ecitizen.api import clients
from ecitizen.api.models import Consent, IntegrationClient
from ecitizen.core.models import AuditEvent
from tests.personas import sign_in_official

REDIRECT = "https://app.example.test/callback"


def verifier_and_challenge() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def bearer_user(token: str, scopes=()):
    """What the API does with a token: DOT's verify_request (H1's ``auth`` module)."""
    request = RequestFactory().get("/api/v1/anything", HTTP_AUTHORIZATION=f"Bearer {token}")
    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=list(scopes))
    return oauth_request.user if valid else None


@pytest.fixture
def resident_app(platform_admin):
    client, secret = clients.client_register(
        name="Pocket Riverton",
        kind="resident_app",
        scopes=["profile", "applications:read", "webhooks"],
        redirect_uris=[REDIRECT],
        actor=platform_admin,
    )
    return client, secret


@pytest.fixture
def back_office(platform_admin, department):
    client, secret = clients.client_register(
        name="Revenue back office",
        kind="back_office",
        scopes=["cases:read", "cases:write", "webhooks"],
        department=department,
        role=Role.CASE_OFFICER,
        actor=platform_admin,
    )
    return client, secret


def authorize_query(client: IntegrationClient, challenge: str, **extra) -> str:
    params = {
        "response_type": "code",
        "client_id": client.application.client_id,
        "redirect_uri": REDIRECT,
        "scope": "profile applications:read",
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return reverse("oauth2_provider:authorize") + "?" + urlencode(params)


def consent(django_client, resident, client, challenge, *, allow=True):
    """Sign in, open the consent page and answer it; returns the redirect's query."""
    django_client.force_login(resident)
    page = django_client.get(authorize_query(client, challenge))
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if name != "allow"}
    if allow:
        data["allow"] = "on"
    answer = django_client.post(reverse("oauth2_provider:authorize"), data)
    assert answer.status_code == 302
    location = urlsplit(answer["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def exchange(django_client, client, secret, code, verifier):
    return django_client.post(
        reverse("oauth2_provider:token"),
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client.application.client_id,
            "client_secret": secret,
            "code_verifier": verifier,
        },
    )


# --- Authorization code with PKCE ---------------------------------------------------------


def test_pkce_flow_end_to_end(client, resident, resident_app):
    app, secret = resident_app
    verifier, challenge = verifier_and_challenge()
    client.force_login(resident)
    page = client.get(authorize_query(app, challenge))
    text = page.content.decode()
    assert "Let Pocket Riverton use your account?" in text
    assert (
        "See your name, your email address and whether your identity is verified" in text
    )  # profile, in plain words
    assert "See your applications and where they have got to" in text
    answer = consent(client, resident, app, challenge)
    assert answer["state"] == "st4te"
    client.logout()

    response = exchange(client, app, secret, answer["code"], verifier)
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert tokens["scope"].split() == ["profile", "applications:read"]
    assert bearer_user(tokens["access_token"]) == resident
    assert bearer_user(tokens["access_token"], ["applications:read"]) == resident
    assert bearer_user(tokens["access_token"], ["bills:read"]) is None  # not granted

    consent_row = Consent.objects.get(user=resident, application=app.application)
    assert consent_row.scope_list == ["profile", "applications:read"]
    event = AuditEvent.objects.get(action="api.consent_granted")
    assert event.subject_user_id == resident.pk
    assert event.actor_id == resident.pk

    # Refresh: a new pair, the old refresh token no longer works.
    refreshed = client.post(
        reverse("oauth2_provider:token"),
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": app.application.client_id,
            "client_secret": secret,
        },
    )
    assert refreshed.status_code == 200, refreshed.content
    assert bearer_user(refreshed.json()["access_token"]) == resident
    again = client.post(
        reverse("oauth2_provider:token"),
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": app.application.client_id,
            "client_secret": secret,
        },
    )
    assert again.status_code == 400


def test_a_wrong_verifier_is_refused(client, resident, resident_app):
    app, secret = resident_app
    _verifier, challenge = verifier_and_challenge()
    answer = consent(client, resident, app, challenge)
    client.logout()
    other_verifier, _other = verifier_and_challenge()
    response = exchange(client, app, secret, answer["code"], other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_a_code_is_used_once(client, resident, resident_app):
    app, secret = resident_app
    verifier, challenge = verifier_and_challenge()
    answer = consent(client, resident, app, challenge)
    client.logout()
    assert exchange(client, app, secret, answer["code"], verifier).status_code == 200
    assert exchange(client, app, secret, answer["code"], verifier).status_code == 400


@pytest.mark.parametrize(
    "pkce",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge": "", "code_challenge_method": ""},
    ],
    ids=["plain", "none"],
)
def test_pkce_s256_is_required(client, resident, resident_app, pkce):
    app, _secret = resident_app
    client.force_login(resident)
    response = client.get(authorize_query(app, "x" * 43, **pkce))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["invalid_request"]
    assert not Grant.objects.exists()


def test_an_unknown_redirect_is_not_followed(client, resident, resident_app):
    app, _secret = resident_app
    _verifier, challenge = verifier_and_challenge()
    client.force_login(resident)
    response = client.get(authorize_query(app, challenge, redirect_uri="https://evil.example/"))
    assert response.status_code == 400
    assert "This app's request cannot be used" in response.content.decode()


def test_saying_no_is_audited_and_grants_nothing(client, resident, resident_app):
    app, _secret = resident_app
    _verifier, challenge = verifier_and_challenge()
    answer = consent(client, resident, app, challenge, allow=False)
    assert answer["error"] == "access_denied"
    assert not Grant.objects.exists()
    assert not Consent.objects.exists()
    assert AuditEvent.objects.filter(
        action="api.consent_refused", subject_user_id=resident.pk
    ).exists()


def test_the_consent_page_needs_sign_in(client, resident_app):
    app, _secret = resident_app
    response = client.get(authorize_query(app, "x" * 43))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- Scopes per kind of client ------------------------------------------------------------


def test_a_resident_app_may_not_ask_for_casework(client, resident, resident_app):
    app, _secret = resident_app
    _verifier, challenge = verifier_and_challenge()
    client.force_login(resident)
    response = client.get(authorize_query(app, challenge, scope="profile cases:read"))
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["invalid_scope"]


@pytest.mark.parametrize(
    ("kind", "scopes"),
    [("resident_app", ["cases:read"]), ("back_office", ["profile"]), ("back_office", [])],
)
def test_registration_refuses_scopes_of_the_other_kind(platform_admin, department, kind, scopes):
    with pytest.raises(clients.ClientError):
        clients.client_register(
            name="Mixed",
            kind=kind,
            scopes=scopes,
            redirect_uris=[REDIRECT],
            department=department,
            role=Role.CASE_OFFICER,
            actor=platform_admin,
        )
    assert not IntegrationClient.objects.exists()


def test_only_a_platform_administrator_registers_clients(case_officer):
    with pytest.raises(clients.PermissionDenied):
        clients.client_register(
            name="Mine",
            kind="resident_app",
            scopes=["profile"],
            redirect_uris=[REDIRECT],
            actor=case_officer,
        )


# --- Client credentials -------------------------------------------------------------------


def client_credentials(django_client, client, secret, scope=None):
    basic = base64.b64encode(f"{client.application.client_id}:{secret}".encode()).decode()
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return django_client.post(
        reverse("oauth2_provider:token"), data, HTTP_AUTHORIZATION=f"Basic {basic}"
    )


def test_client_credentials_act_as_the_service_account(client, back_office, department):
    office, secret = back_office
    response = client_credentials(client, office, secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["scope"].split()) == {"cases:read", "cases:write", "webhooks"}
    assert "refresh_token" not in body
    account = bearer_user(body["access_token"], ["cases:read"])
    assert account == office.service_account
    assert not account.has_usable_password()
    assignment = RoleAssignment.objects.get(user=account)
    assert (assignment.role, assignment.department) == (Role.CASE_OFFICER, department)


def test_client_credentials_cannot_get_residents_scopes(client, back_office):
    office, secret = back_office
    response = client_credentials(client, office, secret, scope="profile")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_a_resident_app_cannot_use_client_credentials(client, resident_app):
    app, secret = resident_app
    response = client_credentials(client, app, secret)
    assert response.status_code in (400, 401)
    assert not AccessToken.objects.exists()


def test_a_wrong_secret_gets_no_token(client, back_office):
    office, _secret = back_office
    assert client_credentials(client, office, "wrong").status_code == 401


def test_the_service_account_acts_within_its_remit_only(client, back_office, resident):
    """The service account is an official of its department: a case there is visible to
    it, a case of another department is a 404 (through H1's API)."""
    from ecitizen.cases.tests.conftest import FIXTURES
    from ecitizen.cases.tests.support import submit_shed
    from ecitizen.catalogue.models import Service
    from ecitizen.catalogue.services import service_definitions_publish
    from tests.factories import DepartmentFactory

    office, secret = back_office  # in Revenue
    DepartmentFactory(slug="public-works", name="Public Works")
    service_definitions_publish(directory=FIXTURES, actor=None)
    shed = Service.objects.get(slug="shed-permit")  # Public Works
    outside = submit_shed(shed, resident)
    token = client_credentials(client, office, secret).json()["access_token"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(f"/api/v1/cases/{outside.reference}", **headers).status_code == 404
    # Move the service account's role to Public Works: the same case is now visible.
    RoleAssignment.objects.filter(user=office.service_account).update(department=outside.department)
    inside = client.get(f"/api/v1/cases/{outside.reference}", **headers)
    assert inside.status_code == 200, inside.content
    assert inside.json()["reference"] == outside.reference


# --- Tokens at rest -----------------------------------------------------------------------


def database_text() -> str:
    """Every value of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - our own table names
            chunks.extend(str(value) for row in cursor.fetchall() for value in row)
    return "\n".join(chunks)


def test_tokens_and_secrets_are_stored_only_as_hashes(client, resident, resident_app, back_office):
    app, app_secret = resident_app
    office, office_secret = back_office
    verifier, challenge = verifier_and_challenge()
    code = consent(client, resident, app, challenge)["code"]
    client.logout()
    tokens = exchange(client, app, app_secret, code, verifier).json()
    office_token = client_credentials(client, office, office_secret).json()["access_token"]
    minted = clients.access_token_issue(
        application=app.application, user=resident, scopes=["profile"]
    )

    stored = database_text()
    for raw in (
        tokens["access_token"],
        tokens["refresh_token"],
        office_token,
        minted,
        app_secret,
        office_secret,
    ):
        assert raw not in stored
    assert hashlib.sha256(tokens["access_token"].encode()).hexdigest() in stored
    assert all(token.token == "" for token in AccessToken.objects.all())
    assert all(token.token == "" for token in RefreshToken.objects.all())
    app.application.refresh_from_db()
    assert check_password(app_secret, app.application.client_secret)
    # ...and the hashed tokens still work.
    assert bearer_user(tokens["access_token"]) == resident
    assert bearer_user(minted) == resident


# --- Revocation and introspection ---------------------------------------------------------


def test_a_client_revokes_its_token(client, back_office):
    office, secret = back_office
    token = client_credentials(client, office, secret).json()["access_token"]
    response = client.post(
        reverse("oauth2_provider:revoke-token"),
        {"token": token, "client_id": office.application.client_id, "client_secret": secret},
    )
    assert response.status_code == 200
    assert bearer_user(token) is None


def introspect(django_client, client, secret, token):
    basic = base64.b64encode(f"{client.application.client_id}:{secret}".encode()).decode()
    return django_client.post(
        reverse("oauth2_provider:introspect"), {"token": token}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )


def test_introspection_answers_a_client_about_its_own_tokens_only(
    client, resident, resident_app, back_office
):
    app, app_secret = resident_app
    office, office_secret = back_office
    office_token = client_credentials(client, office, office_secret).json()["access_token"]
    mine = introspect(client, office, office_secret, office_token).json()
    assert mine["active"] is True
    assert set(mine["scope"].split()) == {"cases:read", "cases:write", "webhooks"}
    assert mine["client_id"] == office.application.client_id
    assert introspect(client, app, app_secret, office_token).json() == {"active": False}
    assert introspect(client, office, "wrong", office_token).status_code == 401
    expired = clients.access_token_issue(
        application=office.application, scopes=["cases:read"], expires_in=-10
    )
    assert introspect(client, office, office_secret, expired).json() == {"active": False}
    assert bearer_user(expired) is None


def test_the_resident_revokes_an_app_from_their_account(client, resident, resident_app):
    app, secret = resident_app
    verifier, challenge = verifier_and_challenge()
    code = consent(client, resident, app, challenge)["code"]
    tokens = exchange(client, app, secret, code, verifier).json()
    assert bearer_user(tokens["access_token"]) == resident

    page = client.get(reverse("integrations:connected_apps"))
    text = page.content.decode()
    assert "Pocket Riverton" in text
    assert "See your applications and where they have got to" in text
    row = Consent.objects.get(user=resident)
    response = client.post(reverse("integrations:connected_app_revoke", args=[row.pk]))
    assert response.status_code == 302

    assert bearer_user(tokens["access_token"]) is None
    refreshed = client.post(
        reverse("oauth2_provider:token"),
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": app.application.client_id,
            "client_secret": secret,
        },
    )
    assert refreshed.status_code == 400
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert AuditEvent.objects.filter(action="api.consent_revoked", subject_user_id=resident.pk)
    after = client.get(reverse("integrations:connected_apps")).content.decode()
    assert "Pocket Riverton can no longer use your account." in after
    assert "No app is connected to your account." in after


def test_a_resident_cannot_revoke_anothers_consent(client, resident, second_resident, resident_app):
    app, _secret = resident_app
    row = clients.consent_record(user=resident, application=app.application, scopes=["profile"])
    token = clients.access_token_issue(
        application=app.application, user=resident, scopes=["profile"]
    )
    client.force_login(second_resident)
    client.post(reverse("integrations:connected_app_revoke", args=[row.pk]))
    row.refresh_from_db()
    assert row.revoked_at is None
    assert bearer_user(token) == resident


def test_disabling_a_client_revokes_everything(client, platform_admin, resident, resident_app):
    app, _secret = resident_app
    token = clients.access_token_issue(
        application=app.application, user=resident, scopes=["profile"]
    )
    clients.client_disable(client=app, actor=platform_admin)
    assert bearer_user(token) is None
    _verifier, challenge = verifier_and_challenge()
    client.force_login(resident)
    response = client.get(authorize_query(app, challenge))
    assert response.status_code == 400  # an unknown client: no redirect
    assert AuditEvent.objects.filter(action="api.client_disabled").exists()


# --- The platform administrator's pages ---------------------------------------------------


def test_registering_a_client_shows_its_secret_once(client, platform_admin, department):
    sign_in_official(client, platform_admin)
    response = client.post(
        reverse("staff:api_client_new"),
        {
            "name": "Revenue sync",
            "kind": "back_office",
            "scopes": ["cases:read", "webhooks"],
            "department": department.pk,
            "role": Role.CASE_OFFICER,
        },
    )
    assert response.status_code == 200
    secret = response.context["secret"]
    office = IntegrationClient.objects.get()
    assert secret
    assert secret in response.content.decode()
    assert office.application.client_secret != secret
    assert check_password(secret, office.application.client_secret)
    detail = client.get(reverse("staff:api_client", args=[office.pk])).content.decode()
    assert office.application.client_id in detail
    assert secret not in detail
    assert AuditEvent.objects.filter(action="api.client_registered").exists()

    rotated = client.post(reverse("staff:api_client_rotate", args=[office.pk]))
    new_secret = rotated.context["secret"]
    assert new_secret != secret
    office.application.refresh_from_db()
    assert check_password(new_secret, office.application.client_secret)
    assert not check_password(secret, office.application.client_secret)


def test_the_registration_form_explains_mistakes(client, platform_admin):
    sign_in_official(client, platform_admin)
    response = client.post(
        reverse("staff:api_client_new"),
        {"name": "Mixed", "kind": "resident_app", "scopes": ["cases:read"]},
    )
    assert response.status_code == 200
    assert "cannot be granted: cases:read" in response.content.decode()
    assert not IntegrationClient.objects.exists()


def test_officials_without_the_capability_cannot_reach_client_pages(client, case_officer):
    sign_in_official(client, case_officer)
    assert client.get(reverse("staff:api_clients")).status_code == 403


# --- Access rules -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_get_no_error_and_nothing_private(db, client, method):
    """The endpoints clients authenticate at themselves answer without a 5xx; the pages
    of a resident or an administrator send an anonymous visitor to sign in."""
    public = ["token", "revoke-token", "introspect"]
    for name in public:
        view = resolve_view(reverse(f"oauth2_provider:{name}"))
        assert view.access_rule == "public"
        response = getattr(client, method)(reverse(f"oauth2_provider:{name}"))
        assert response.status_code in (400, 401, 405), (name, response.status_code)
    for url in (
        reverse("oauth2_provider:authorize"),
        reverse("integrations:connected_apps"),
        reverse("integrations:connected_app_revoke", args=[1]),
        reverse("staff:api_clients"),
        reverse("staff:api_client_new"),
        reverse("staff:api_client", args=[1]),
        reverse("staff:api_client_rotate", args=[1]),
        reverse("staff:api_client_toggle", args=[1]),
    ):
        view = resolve_view(url)
        assert view.access_rule != "public", url
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url


def test_residents_reach_no_client_page(client, resident):
    client.force_login(resident)
    for url in (reverse("staff:api_clients"), reverse("staff:api_client_new")):
        assert client.get(url).status_code == 403


def resolve_view(url):
    from django.urls import resolve

    return resolve(url).func


def test_the_demo_registers_two_clients_and_prints_them(platform_admin):
    """The demo loader registers one app acting for residents and one back-office system;
    its note gives their ids and a working demo secret. A second load (idempotent) makes
    no client, writes no audit event and says where the secret is rotated."""
    from types import SimpleNamespace

    from ecitizen.api.demo import demo_api_load
    from ecitizen.core.models import AuditEvent
    from ecitizen.core.registry import DemoPerson
    from tests.factories import DepartmentFactory

    DepartmentFactory(slug="public-works", name="Public Works")
    local, _at, domain = platform_admin.email.partition("@")
    city = SimpleNamespace(
        staff=(DemoPerson(local, "Admin", role=Role.PLATFORM_ADMIN),),
        email=lambda name: f"{name}@{domain}",
    )
    context = SimpleNamespace(city=city, notes=[])
    demo_api_load(context)
    events = AuditEvent.objects.count()
    office = IntegrationClient.objects.get(kind="back_office")
    app = IntegrationClient.objects.get(kind="resident_app")
    note = context.notes[-1]
    assert office.application.client_id in note
    assert app.application.client_id in note
    secret = note.split("the secret ", 1)[1].split(" ", 1)[0]
    assert check_password(
        secret, office.application.__class__.objects.get(pk=office.application.pk).client_secret
    )

    demo_api_load(context)
    assert IntegrationClient.objects.count() == 2
    assert AuditEvent.objects.count() == events
    assert "/staff/api-clients/" in context.notes[-1]
    assert secret not in context.notes[-1]

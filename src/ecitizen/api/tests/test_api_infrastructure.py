"""What every API operation shares: problem details for every error, bearer tokens and
scopes, idempotency keys, rate limits, cursor pages, the OpenAPI document and the
interactive docs."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from ecitizen.api.tests import support as helpers
from ecitizen.api.tests.support import bearer
from ecitizen.cases.models import Case
from ecitizen.core.idempotency import idempotency_prune
from ecitizen.core.models import IdempotencyRecord

# The shared fixtures (pytest finds them as this module's attributes).
api_admin = helpers.api_admin
published = helpers.published
resident_app = helpers.resident_app
token_for = helpers.token_for
works = helpers.works


APPLY = {
    "service": "garden-waste-collection",
    "answers": {"lives_in_riverton": True, "bin_count": 2, "collection_address": "1 High St"},
    "declaration": True,
}
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["instance"] == response.request["PATH_INFO"]
    return body


def _post(client, url, body, token=None, **headers):
    data = body if isinstance(body, str) else json.dumps(body)
    auth = bearer(token) if token else {}
    return client.post(url, data=data, content_type="application/json", **auth, **headers)


# --- problems ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_token_is_a_401_with_a_bearer_challenge(client):
    response = client.get("/api/v1/applications")
    _problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_an_expired_token_is_refused_as_invalid(client, resident, token_for):
    token = token_for(resident, expires_in=-60)
    response = client.get("/api/v1/applications", **bearer(token))
    _problem(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.django_db
def test_an_unknown_token_is_refused_as_invalid(client):
    response = client.get("/api/v1/applications", **bearer("not-a-token-we-issued"))
    _problem(response, 401, "invalid_token")


@pytest.mark.django_db
def test_a_scope_not_granted_is_a_403_and_changes_nothing(client, published, resident, token_for):
    token = token_for(resident, scopes=["applications:read"])
    response = _post(client, "/api/v1/applications", APPLY, token)
    body = _problem(response, 403, "insufficient_scope")
    assert "applications:write" in body["detail"]
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_malformed_json_is_a_400_and_changes_nothing(client, published, resident, token_for):
    response = _post(client, "/api/v1/applications", '{"service": "garden', token_for(resident))
    _problem(response, 400, "malformed_json")
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_a_415(client, published, resident, token_for):
    response = client.post(
        "/api/v1/applications",
        data={"service": "garden-waste-collection"},
        **bearer(token_for(resident)),
    )  # multipart/form-data
    body = _problem(response, 415, "unsupported_media_type")
    assert "application/json" in body["detail"]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_invalid_fields_are_a_422_listing_each_error(client, published, resident, token_for):
    response = _post(client, "/api/v1/applications", {"answers": []}, token_for(resident))
    body = _problem(response, 422, "validation_failed")
    fields = {error["field"] for error in body["errors"]}
    assert {"service", "answers", "declaration"} <= fields


@pytest.mark.django_db
def test_unknown_addresses_and_methods_are_problems_too(client):
    _problem(client.get("/api/v1/no/such/thing"), 404, "not_found")
    response = client.delete("/api/v1/services")
    _problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    _problem(client.get("/api/v1/services/no-such-service"), 404, "not_found")


@pytest.mark.django_db
def test_an_unexpected_failure_is_a_500_problem_without_details(client, monkeypatch):
    from ecitizen.catalogue import selectors

    def broken(**kwargs):
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(selectors, "services_published", broken)
    response = client.get("/api/v1/services")
    body = _problem(response, 500, "server_error")
    assert "secret detail" not in response.content.decode()
    assert body["title"] == "Internal server error"


# --- idempotency ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_retry_with_the_same_key_replays_the_first_answer(client, published, resident, token_for):
    token = token_for(resident)
    first = _post(client, "/api/v1/applications", APPLY, token, HTTP_IDEMPOTENCY_KEY="k-1")
    again = _post(client, "/api/v1/applications", APPLY, token, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1
    # Another key is another application (a new one: the first draft was sent).
    other = _post(client, "/api/v1/applications", APPLY, token, HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 201
    assert other.json()["reference"] != first.json()["reference"]


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_409(client, published, resident, token_for):
    token = token_for(resident)
    _post(client, "/api/v1/applications", APPLY, token, HTTP_IDEMPOTENCY_KEY="k-1")
    changed = {**APPLY, "answers": {**APPLY["answers"], "bin_count": 3}}
    response = _post(client, "/api/v1/applications", changed, token, HTTP_IDEMPOTENCY_KEY="k-1")
    _problem(response, 409, "idempotency_key_reused")
    assert Case.objects.count() == 1
    assert Case.objects.get().answers["bin_count"] == 2


@pytest.mark.django_db
def test_keys_are_scoped_per_user(client, published, resident, second_resident, token_for):
    first = _post(
        client, "/api/v1/applications", APPLY, token_for(resident), HTTP_IDEMPOTENCY_KEY="same"
    )
    second = _post(
        client,
        "/api/v1/applications",
        APPLY,
        token_for(second_resident),
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert Case.objects.filter(applicant=second_resident).count() == 1


@pytest.mark.django_db
def test_a_refused_request_is_replayed_as_refused(client, published, resident, token_for):
    token = token_for(resident)
    wrong = {**APPLY, "answers": {**APPLY["answers"], "bin_count": 99}}
    first = _post(client, "/api/v1/applications", wrong, token, HTTP_IDEMPOTENCY_KEY="bad")
    _problem(first, 422, "invalid_answers")
    again = _post(client, "/api/v1/applications", wrong, token, HTTP_IDEMPOTENCY_KEY="bad")
    assert again.status_code == 422
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_keys_expire_and_are_pruned(client, published, resident, token_for):
    token = token_for(resident)
    _post(client, "/api/v1/applications", APPLY, token, HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_prune() == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_stored_answers_are_encrypted(client, published, resident, token_for):
    from django.db import connection

    _post(client, "/api/v1/applications", APPLY, token_for(resident), HTTP_IDEMPOTENCY_KEY="enc")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM core_idempotencyrecord")
        (raw,) = cursor.fetchone()
    assert "1 High St" not in raw


# --- rate limits --------------------------------------------------------------------------


@pytest.mark.django_db
def test_calls_past_the_rate_limit_are_a_429_with_retry_after(
    client, settings, resident, token_for
):
    settings.API_RATE_LIMIT_ANONYMOUS = 3
    settings.API_RATE_LIMIT = 2
    for _ in range(3):
        assert client.get("/api/v1/services").status_code == 200
    response = client.get("/api/v1/services")
    _problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    # A client with a token has its own allowance, counted per client.
    token = token_for(resident)
    assert client.get("/api/v1/applications", **bearer(token)).status_code == 200
    assert client.get("/api/v1/applications", **bearer(token)).status_code == 200
    _problem(client.get("/api/v1/applications", **bearer(token)), 429, "rate_limited")


# --- pages --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_page_with_a_signed_cursor(client, published):
    first = client.get("/api/v1/services?limit=1").json()
    assert len(first["items"]) == 1
    assert first["next"]
    second = client.get(first["next"]).json()
    assert second["items"][0]["slug"] != first["items"][0]["slug"]
    assert second["next"] is None
    cursor = re.search(r"cursor=([^&]+)", first["next"]).group(1)
    _problem(client.get(f"/api/v1/services?cursor={cursor}x"), 422, "invalid_cursor")
    # A cursor of one list is refused by another.
    _problem(client.get(f"/api/v1/documents/verify/x?cursor={cursor}"), 404, "unknown_document")
    _problem(client.get("/api/v1/services?limit=1000"), 422, "validation_failed")


# --- the OpenAPI document and the docs ------------------------------------------------------


@pytest.mark.django_db
def test_the_openapi_document_declares_problems_scopes_and_idempotency(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["version"] == "1"
    apply = document["paths"]["/api/v1/applications"]["post"]
    assert apply["security"] == [{"OAuth2": ["applications:write"]}]
    for status in ("400", "401", "403", "404", "409", "415", "422", "429", "500"):
        assert "application/problem+json" in apply["responses"][status]["content"], status
    assert any(p["name"] == "Idempotency-Key" for p in apply["parameters"])
    flows = document["components"]["securitySchemes"]["OAuth2"]["flows"]
    assert {"authorizationCode", "clientCredentials"} <= set(flows)
    assert "cases:write" in flows["clientCredentials"]["scopes"]
    assert "security" not in document["paths"]["/api/v1/services"]["get"]


@pytest.mark.django_db
def test_the_interactive_docs_load_only_our_own_files(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in source for source in sources)
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    assert "<script>" not in html  # every script is a file: the CSP needs no exception
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy

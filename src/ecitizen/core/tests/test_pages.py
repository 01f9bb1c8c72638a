"""Public pages, error pages without a database, display settings and language."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from ecitizen.core import views
from ecitizen.core.middleware import DISPLAY_COOKIE


@pytest.mark.parametrize("status", [400, 403, 404, 500, 503])
def test_error_pages_render_without_the_database(status):
    # No django_db mark: pytest-django makes any database access fail this test.
    handler = {
        400: views.bad_request,
        403: views.permission_denied,
        404: views.page_not_found,
        500: views.server_error,
        503: lambda request: views._error_response(503, request),
    }[status]
    request = RequestFactory().get("/somewhere")
    response = handler(request) if status >= 500 else handler(request, Exception("x"))
    assert response.status_code == status
    page = response.content.decode()
    assert "City of Riverton" in page
    assert 'href="#main-content"' in page  # the skip link: the real layout, not a bare page
    assert "help@riverton.example" in page


@pytest.mark.django_db
def test_unknown_urls_get_the_styled_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "govuk-template" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["privacy", "accessibility", "cookies", "contact", "home"])
def test_public_pages(client, name):
    response = client.get(reverse(f"core:{name}"))
    assert response.status_code == 200
    assert "City of Riverton" in response.content.decode()


def test_page_templates_can_be_replaced_by_the_deployer(client, settings, tmp_path, db):
    (tmp_path / "core" / "pages").mkdir(parents=True)
    (tmp_path / "core" / "pages" / "privacy.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Our own notice</h1>{% endblock %}'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    assert "Our own notice" in client.get(reverse("core:privacy")).content.decode()


@pytest.mark.django_db
def test_visitors_keep_display_settings_in_a_cookie(client):
    response = client.post(
        reverse("core:display"), {"text_size": "larger", "contrast": "high"}, follow=True
    )
    assert client.cookies[DISPLAY_COOKIE].value == "larger.high"
    assert "app-text-size--larger" in response.content.decode()
    assert "app-contrast--high" in response.content.decode()
    bad = client.post(reverse("core:display"), {"text_size": "enormous", "contrast": "high"})
    assert bad.status_code == 200
    assert "There is a problem" in bad.content.decode()


def test_signed_in_display_settings_follow_the_account(client, resident):
    client.force_login(resident)
    client.post(reverse("core:display"), {"text_size": "large", "contrast": "standard"})
    resident.refresh_from_db()
    assert resident.text_size == "large"
    other_device = type(client)()
    other_device.force_login(resident)
    assert "app-text-size--large" in other_device.get(reverse("accounts:home")).content.decode()


def test_language_choice_is_kept_and_remembered_on_the_account(client, resident):
    client.force_login(resident)
    response = client.post(reverse("core:language"), {"language": "ar", "next": "/account/"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    resident.refresh_from_db()
    assert resident.language == "ar"
    page = client.get("/account/").content.decode()
    assert 'lang="ar"' in page
    assert 'dir="rtl"' in page
    # An unknown language or an off-site "next" is refused.
    client.post(reverse("core:language"), {"language": "xx", "next": "/account/"})
    response = client.post(
        reverse("core:language"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_content_security_policy_allows_only_our_origin_and_the_pages_nonce(client):
    response = client.get(reverse("core:home"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    page = response.content.decode()
    assert page.count(f'nonce="{nonce}"') == 2  # the js-enabled switch and the brand colour
    assert "<script>" not in page


@pytest.mark.django_db
def test_the_footer_offers_the_source_code_when_configured(client, settings):
    assert "Source code" not in client.get(reverse("core:home")).content.decode()
    settings.SOURCE_CODE_URL = "https://git.example.org/riverton/ecitizen"
    page = client.get(reverse("core:home")).content.decode()
    assert 'href="https://git.example.org/riverton/ecitizen">Source code</a>' in page


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/services/", "/services/search/?q=permit"])
def test_while_the_database_is_unreachable_pages_answer_the_styled_503(path):
    """Any request that needs the database while it is down (restarting, refusing
    connections) gets the 503 page with Retry-After, not the 500 page."""
    from unittest import mock

    from django.db import OperationalError, connection
    from django.test import Client

    client = Client(raise_request_exception=False)
    refused = OperationalError("connection refused: is the server running?")
    with mock.patch.object(connection, "ensure_connection", side_effect=refused):
        response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == str(views.OUTAGE_RETRY_AFTER_SECONDS)
    page = response.content.decode()
    assert "Sorry, the service is unavailable" in page
    assert 'href="#main-content"' in page  # the styled layout
    # Once it is back, the same client is served again.
    assert client.get("/").status_code == 200


def test_other_errors_stay_500():
    request = RequestFactory().get("/somewhere")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = views.server_error(request)
    assert response.status_code == 500

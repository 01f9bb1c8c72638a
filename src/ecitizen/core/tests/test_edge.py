"""What every request and response goes through: refused methods, body limits, proxy
headers, Permissions-Policy, and no caching of anything that belongs to one person."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ecitizen.core.http import BODY_TOO_LARGE_ATTRIBUTE, client_ip
from ecitizen.core.middleware import EdgeMiddleware, RequestGuardMiddleware
from ecitizen.core.uploads import LimitedUploadHandler, OversizedUpload
from tests.personas import sign_in_official

MB = 1024 * 1024


def _cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


# --- Methods ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["TRACE", "TRACK"])
@pytest.mark.parametrize("path", ["/", "/account/", "/static/ecitizen/brand/favicon.svg", "/nope/"])
def test_trace_and_track_are_refused_everywhere(client, method, path):
    response = client.generic(method, path)
    assert response.status_code == 405
    assert "TRACE" not in response["Allow"]


# --- Permissions-Policy ---------------------------------------------------------------------


@pytest.mark.django_db
def test_permissions_policy_denies_what_no_page_uses(client):
    policy = client.get("/")["Permissions-Policy"]
    features = dict(item.strip().split("=", 1) for item in policy.split(","))
    for denied in ("camera", "microphone", "payment", "usb", "serial", "hid", "midi"):
        assert features[denied] == "()", denied
    assert features["geolocation"] == "(self)"  # "use my location" on a street report


# --- Cache-Control --------------------------------------------------------------------------


def _groups(pattern) -> dict[str, object]:
    converters = getattr(pattern.pattern, "converters", {})
    return {group: converters.get(group) for group in pattern.pattern.regex.groupindex}


def _walk(resolver, namespace="", groups=None):
    for entry in resolver.url_patterns:
        inherited = {**(groups or {}), **_groups(entry)}
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, inner, inherited)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, inherited


def _every_url() -> list[str]:
    samples = {"IntConverter": 1, "UUIDConverter": uuid.UUID(int=1)}
    urls = []
    for name, groups in _walk(get_resolver()):
        kwargs = {
            group: samples.get(type(converter).__name__ if converter else "", "sample")
            for group, converter in groups.items()
        }
        try:
            urls.append(reverse(name, kwargs=kwargs))
        except Exception:  # noqa: S112 - allauth's optional patterns; the access test names them
            continue
    return urls


@pytest.mark.django_db
def test_every_response_to_a_signed_in_official_is_not_stored(client, platform_admin):
    """Whatever the page and whatever the answer (200, 302, 404...), nothing a signed-in
    person receives may be kept by a shared cache or the browser (library computers)."""
    sign_in_official(client, platform_admin)
    stored = []
    for url in _every_url():
        if "logout" in url:
            continue
        response = client.get(url)
        if not {"no-store", "private"} <= _cache_control(response):
            stored.append(f"{url} -> {response.status_code} {response.get('Cache-Control')}")
    assert not stored, stored


@pytest.mark.django_db
def test_pages_with_personal_data_are_not_stored(client, resident, supervisor):
    client.force_login(resident)
    for name in (
        "accounts:profile_edit",
        "accounts:home",
        "notifications:inbox",
        "payments:bills",
        "cases:applications",
        "documents:list",
        "accounts:data_tracker",
    ):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert {"no-store", "private"} <= _cache_control(response), name
    staff = Client()
    sign_in_official(staff, supervisor)
    response = staff.get(reverse("staff:resident_detail", args=[resident.profile.pk]))
    assert response.status_code in (200, 404)
    assert {"no-store", "private"} <= _cache_control(response)


@pytest.mark.django_db
def test_public_pages_and_static_files_keep_their_caching(resident, settings):
    anonymous = Client()
    for url in ("/", reverse("catalogue:list"), reverse("core:privacy")):
        response = anonymous.get(url)
        assert response.status_code == 200
        assert "no-store" not in _cache_control(response), url
    # Static files are served before anyone is recognised: cacheable even when signed in.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    signed_in = Client()
    signed_in.force_login(resident)
    response = signed_in.get("/static/ecitizen/brand/favicon.svg")
    assert response.status_code == 200
    assert "no-store" not in _cache_control(response)
    assert "max-age" in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_a_sign_in_waiting_for_its_second_factor_is_not_stored(client, case_officer):
    from tests.factories import PASSWORD

    response = client.post(
        reverse("account_login"), {"login": case_officer.email, "password": PASSWORD}
    )
    assert response.status_code == 302  # on to the second factor
    page = client.get(response["Location"])
    assert {"no-store", "private"} <= _cache_control(page)


# --- Proxies --------------------------------------------------------------------------------


def _request(remote, forwarded="", proto=""):
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    if proto:
        meta["HTTP_X_FORWARDED_PROTO"] = proto
    return RequestFactory().get("/", **meta)


def test_forwarded_for_is_believed_only_from_trusted_proxy_networks(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    settings.TRUSTED_PROXY_COUNT = 0
    # Through the load balancer (10.0.0.5) and an internal proxy (10.1.2.3).
    assert client_ip(_request("10.0.0.5", "198.51.100.7, 10.1.2.3")) == "198.51.100.7"
    # A client's own forged entries, left of the real one, are ignored.
    assert client_ip(_request("10.0.0.5", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    # A client that reaches the web process directly cannot claim another address.
    assert client_ip(_request("203.0.113.9", "198.51.100.7")) == "203.0.113.9"
    assert client_ip(_request("2001:db8::1", "::ffff:192.0.2.44")) == "192.0.2.44"
    # Garbage a trusted proxy would never write stops the walk at the last good hop.
    assert client_ip(_request("10.0.0.5", "not-an-address")) == "10.0.0.5"


def test_the_older_proxy_count_still_works(settings):
    settings.TRUSTED_PROXIES = []
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request("10.0.0.5", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request("10.0.0.5", "198.51.100.7")) == "10.0.0.5"


def test_forwarded_proto_is_believed_only_from_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        return HttpResponse("ok")

    middleware = EdgeMiddleware(view)
    middleware(_request("203.0.113.9", proto="https"))
    assert seen["secure"] is False
    middleware(_request("10.0.0.5", proto="https"))
    assert seen["secure"] is True


# --- Request bodies -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_body_announced_too_large_is_refused_before_it_is_read(client, resident, settings):
    settings.REQUEST_MAX_MB = 2
    client.force_login(resident)
    # The test client's payload raises if anything reads past the 10 bytes really sent.
    response = client.generic(
        "POST",
        reverse("accounts:profile_edit"),
        b"x" * 10,
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(3 * MB),
    )
    assert response.status_code == 413
    text = response.content.decode()
    assert "The files you sent are too big" in text
    assert "smaller than 20 MB" in text


def test_a_body_that_grows_too_large_while_read_is_cut_off(settings):
    settings.REQUEST_MAX_MB = 2
    settings.UPLOAD_MAX_MB = 1
    request = RequestFactory().post("/")
    handler = LimitedUploadHandler(request)
    handler.new_file("file", "a.pdf", "application/pdf", None)
    handler.receive_data_chunk(b"x" * MB, 0)
    handler.new_file("file", "b.pdf", "application/pdf", None)
    handler.receive_data_chunk(b"x" * (MB - 1), 0)
    with pytest.raises(RequestDataTooBig):
        handler.receive_data_chunk(b"x" * 2, MB - 1)
    assert getattr(request, BODY_TOO_LARGE_ATTRIBUTE) is True

    def view(_request):
        setattr(_request, BODY_TOO_LARGE_ATTRIBUTE, True)
        return HttpResponse("Bad request", status=400)

    response = RequestGuardMiddleware(view)(RequestFactory().post("/"))
    assert response.status_code == 413


def test_a_file_past_the_upload_limit_keeps_only_its_size(settings):
    settings.UPLOAD_MAX_MB = 1
    handler = LimitedUploadHandler(RequestFactory().post("/"))
    handler.new_file("file", "big.pdf", "application/pdf", None)
    passed = [handler.receive_data_chunk(b"x" * (MB // 2), 0) for _ in range(3)]
    assert passed[0] is not None
    assert passed[1] is not None
    assert passed[2] is None  # the next handlers keep nothing past the limit
    oversized = handler.file_complete(MB + MB // 2)
    assert isinstance(oversized, OversizedUpload)
    assert oversized.size == MB + MB // 2
    assert oversized.name == "big.pdf"
    # A file within the limit is left to Django's own handlers.
    handler.new_file("file", "small.pdf", "application/pdf", None)
    handler.receive_data_chunk(b"x" * 10, 0)
    assert handler.file_complete(10) is None

"""The Content-Security-Policy header written from the policy kept per process
(core.content_policy) is the header django-csp's own middleware writes, response by
response: with and without a nonce, exempt, excluded, with a policy of the view's own,
report-only, after a change of settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE, SELF
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.test import Client, RequestFactory, override_settings

from ecitizen.core.content_policy import KeptPolicyCSPMiddleware

HEADERS = (HEADER, HEADER_REPORT_ONLY)


def _through(
    middleware_class: type[CSPMiddleware],
    path: str,
    view: Callable[[HttpRequest], HttpResponse],
    *,
    nonce: str | None,
) -> tuple[HttpRequest, HttpResponse]:
    """``view``'s response to a GET of ``path`` through ``middleware_class``; the page
    uses ``nonce`` as its nonce (as a template writing ``csp_nonce`` does), or none."""
    request = RequestFactory().get(path)

    def page(request: HttpRequest) -> HttpResponse:
        if nonce is not None:
            str(request.csp_nonce)  # type: ignore[attr-defined]
            request._csp_nonce = nonce  # type: ignore[attr-defined] # the same on both sides
        return view(request)

    response = middleware_class(page)(request)
    return request, response


def _headers(response: HttpResponse) -> dict[str, str | None]:
    return {name: response.get(name) for name in HEADERS}


def _both(
    path: str = "/services/",
    view: Callable[[HttpRequest], HttpResponse] = lambda request: HttpResponse("page"),
    *,
    nonce: str | None = "bm9uY2Utb2YtdGhlLXBhZ2U=",
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The headers django-csp writes and the headers the kept policy writes."""
    _request, theirs = _through(CSPMiddleware, path, view, nonce=nonce)
    _request, ours = _through(KeptPolicyCSPMiddleware, path, view, nonce=nonce)
    return _headers(theirs), _headers(ours)


def test_a_page_with_a_nonce_gets_django_csps_header_with_its_own_nonce() -> None:
    theirs, ours = _both(nonce="Zmlyc3Q=")
    assert ours == theirs
    assert "'nonce-Zmlyc3Q='" in str(ours[HEADER])
    # Each response its own nonce, from the same kept policy.
    assert _both(nonce="c2Vjb25k")[1][HEADER] == str(ours[HEADER]).replace("Zmlyc3Q=", "c2Vjb25k")


def test_a_page_without_a_nonce_gets_the_policy_without_one() -> None:
    theirs, ours = _both(nonce=None)
    assert ours == theirs
    assert "nonce" not in str(ours[HEADER])
    assert ours[HEADER_REPORT_ONLY] is None  # the settings have no report-only policy


def test_after_the_header_is_written_a_nonce_can_no_longer_be_asked_for() -> None:
    request, _response = _through(
        KeptPolicyCSPMiddleware, "/", lambda request: HttpResponse(), nonce=None
    )
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # type: ignore[attr-defined]


def test_a_view_with_a_policy_of_its_own_gets_django_csps_header() -> None:
    def consent(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("consent")
        response._csp_update = {"form-action": ["https://app.example"]}  # type: ignore[attr-defined]
        return response

    theirs, ours = _both(view=consent)
    assert ours == theirs
    assert "https://app.example" in str(ours[HEADER])


def test_exempt_responses_and_headers_already_set_are_left_as_django_csp_leaves_them() -> None:
    def exempt(request: HttpRequest) -> HttpResponse:
        response = HttpResponse()
        response._csp_exempt = True  # type: ignore[attr-defined]
        return response

    def own_header(request: HttpRequest) -> HttpResponse:
        response = HttpResponse()
        response[HEADER] = "default-src 'none'"
        return response

    theirs, ours = _both(view=exempt)
    assert ours == theirs == {HEADER: None, HEADER_REPORT_ONLY: None}
    theirs, ours = _both(view=own_header)
    assert ours == theirs == {HEADER: "default-src 'none'", HEADER_REPORT_ONLY: None}


REPORTED = {
    "EXCLUDE_URL_PREFIXES": ["/excluded/"],
    "DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, NONCE], "report-uri": "/r/"},
}


@pytest.mark.parametrize("path", ["/services/", "/excluded/page/"])
@pytest.mark.parametrize("nonce", ["cmVwb3J0", None])
def test_a_report_only_policy_and_excluded_prefixes_follow_a_change_of_settings(
    path: str, nonce: str | None
) -> None:
    before = _both(path, nonce=nonce)[1]  # kept under the settings of the project
    with override_settings(
        CONTENT_SECURITY_POLICY={**REPORTED, "DIRECTIVES": {"default-src": ["'none'"]}},
        CONTENT_SECURITY_POLICY_REPORT_ONLY=REPORTED,
    ):
        theirs, ours = _both(path, nonce=nonce)
    assert ours == theirs
    assert ours != before
    if path.startswith("/excluded/"):
        assert ours == {HEADER: None, HEADER_REPORT_ONLY: None}
    else:
        assert ours[HEADER] == "default-src 'none'"
        assert "report-uri /r/" in str(ours[HEADER_REPORT_ONLY])
    assert _both(path, nonce=nonce)[1] == before  # and the project's again afterwards


def test_with_debug_on_django_csp_leaves_its_error_pages_alone() -> None:
    with override_settings(DEBUG=True):
        theirs, ours = _both(view=lambda request: HttpResponseNotFound())
    assert ours == theirs == {HEADER: None, HEADER_REPORT_ONLY: None}


def _nonce_of(header: str) -> str:
    return header.split("'nonce-", 1)[1].split("'", 1)[0]


@pytest.mark.django_db
def test_each_page_of_the_site_carries_its_own_nonce_which_its_inline_script_uses() -> None:
    first, second = Client().get("/"), Client().get("/")
    nonces = [_nonce_of(response[HEADER]) for response in (first, second)]
    assert nonces[0] != nonces[1]
    for response, nonce in zip((first, second), nonces, strict=True):
        assert f'<script nonce="{nonce}">' in response.content.decode()
    assert second[HEADER] == first[HEADER].replace(nonces[0], nonces[1])

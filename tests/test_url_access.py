"""Walk the whole URL map: no view is public unless listed here, and residents reach no
staff page. A new URL that these tests cannot build fails them, so it gets looked at."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.views.generic import RedirectView

#: Views anyone may reach without signing in. Adding to this list is a security decision.
PUBLIC_URL_NAMES = {
    "core:home",
    "core:privacy",
    "core:accessibility",
    "core:cookies",
    "core:contact",
    "core:display",
    "core:language",
    "core:session_ended",
    "core:healthz",
    # Probes for load balancers and orchestrators (no data), and the Prometheus metrics,
    # which check the scraper's token or network themselves (ecitizen.core.observability).
    "core:livez",
    "core:readyz",
    "core:metrics",
    # Data rights: the public summary of the records of processing, linked from the
    # privacy notice (GDPR articles 13 and 14).
    "privacy:records",
    # Erasure: the statement of what was erased and kept, for a resident whose account is
    # closed and can no longer sign in; reached by a random token (kept hashed) emailed to
    # them, unknown tokens are 404.
    "privacy:erasure_statement",
    # OAuth2: clients authenticate themselves at these endpoints, never with a session.
    "oauth2_provider:token",
    "oauth2_provider:revoke-token",
    "oauth2_provider:introspect",
    # eID and staff identity-provider sign-in start and return before anyone is signed in,
    # and allauth's pages for a cancelled or failed third-party sign-in.
    "oidc_login",
    "oidc_callback",
    "socialaccount_login_cancelled",
    "socialaccount_login_error",
    # The service catalogue: anyone can find a service and read its start page.
    "catalogue:list",
    "catalogue:search",
    "catalogue:start",
    # Paying: the payer's browser returns from the provider, visitors pay by reference
    # (each page checks the bill or payment belongs to this session or account), the
    # providers' webhooks (signed), and the sandbox provider's hosted pages.
    "payments:pay_by_reference",
    "payments:pay",
    "payments:return",
    "payments:receipt",
    "payments:webhook",
    "payments:sandbox_card",
    "payments:sandbox_challenge",
    "payments:sandbox_cancel",
    # Records released under freedom of information, published by an official.
    "cases:records",
    "cases:record_file",
    # allauth: signing up, signing in and recovering an account happen before sign-in.
    "account_login",
    "account_signup",
    "account_confirm_email",
    "account_email_verification_sent",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_inactive",
    # Anyone shown a document may check it is genuine (it shows only what is printed on it).
    "documents:verify",
    "documents:verify_document",
    # Feedback: anyone sends a compliment, a suggestion or a complaint (confirming an email
    # address by a link if not signed in), rates what they just did (the form carries the
    # transaction, signed), follows their complaint at its signed address, and reads
    # "You said, we did".
    "feedback:start",
    "feedback:send",
    "feedback:check_email",
    "feedback:thanks",
    "feedback:confirm",
    "feedback:complaint",
    "feedback:rate",
    "feedback:changes",
    "feedback:service_changes",
    # Street reports: anyone may report a problem (an email link confirms it) and read the
    # public reports, their photos, the wards' outline and the feeds. A held photo is shown
    # only to the session that added it.
    "reports:list",
    "reports:start",
    "reports:where",
    "reports:nearby",
    "reports:describe",
    "reports:questions",
    "reports:photos",
    "reports:held_photo",
    "reports:about",
    "reports:check",
    "reports:sent",
    "reports:confirm",
    "reports:detail",
    "reports:photo",
    "reports:wards",
    "reports:feed_ward",
    "reports:feed_ward_atom",
    "reports:feed_category",
    "reports:feed_category_atom",
    # Email alerts of new reports: anyone sets one up (an email link confirms it when not
    # signed in), and anyone holding an alert email's signed link stops that alert.
    "reports:alert_new",
    "reports:alert_sent",
    "reports:alert_confirm",
    "reports:alert_unsubscribe",
    # Open311 GeoReport v2 for apps: reading is public; posting a request or an update
    # checks the app's api_key itself (a 403 error document without one).
    "open311:discovery",
    "open311:services",
    "open311:service",
    "open311:requests",
    "open311:request",
    "open311:token",
    "open311:updates",
    # Open data is public by nature: the catalogue's pages, downloads and DCAT-AP. Drafts
    # and private datasets answer 404 to anyone outside their department (the selectors).
    "opendata:search",
    "opendata:dataset",
    "opendata:dataset_history",
    "opendata:dataset_revision",
    "opendata:resource",
    "opendata:resource_schema",
    "opendata:organizations",
    "opendata:organization",
    "opendata:resource_download",
    "opendata:resource_export",
    "opendata:dcat_catalog_root",
    "opendata:dcat_catalog",
    "opendata:dcat_dataset",
    # The CKAN Action API: reads are public; writes check the publisher's API token in the
    # Authorization header themselves (CKAN's 403 without one), never a session cookie.
    "opendata:ckan_action",
    "opendata:ckan_action_unversioned",
    "opendata:ckan_api",
    "opendata:ckan_api_version",
    # The public performance page: the four KPIs of every service, small counts suppressed
    # (aggregates of no one in particular), and the same figures as CSV.
    "insights:performance",
    "insights:performance_csv",
    # Participation: processes, consultations, proposals, budgets and results are public;
    # responding, supporting and voting are open to a census code without an account, so
    # those pages check who takes part themselves (views/common.participant).
    "participation:processes",
    "participation:code_of_conduct",
    "participation:process",
    "participation:process_document",
    "participation:census_claim",
    "participation:consultation",
    "participation:consultation_respond",
    "participation:consultation_confirm",
    "participation:consultation_done",
    "participation:consultation_results",
    "participation:consultation_outcome",
    "participation:proposals",
    "participation:proposal",
    "participation:proposal_photo",
    "participation:proposal_support",
    "participation:budget",
    "participation:ballot",
    "participation:ballot_check",
    "participation:ballot_done",
    "participation:budget_results",
    "participation:budget_pabulib",
    "participation:project",
    # Voting: an election's public record is public by design — its parameters, trustees,
    # ballot box (trackers only), result, archive and in-browser verification. Voting and
    # a trustee's page need sign-in.
    "voting:elections",
    "voting:election",
    "voting:ballots",
    "voting:result",
    "voting:verify",
    "voting:archive",
    # The REST API's own documents: where they are, the OpenAPI document, the interactive
    # reference and the problem answered for unknown addresses. Each API operation
    # declares its own rule (see PUBLIC_API_OPERATIONS).
    "api_v1:api-root",
    "api_v1:openapi-json",
    "api_v1:docs",
    "api_v1:not_found",
}

#: API operations (by URL name and method) anyone may call without a token. Every other
#: operation needs an OAuth2 token (401 without one). Adding to this list is a security
#: decision, like PUBLIC_URL_NAMES.
PUBLIC_API_OPERATIONS = {
    # The service catalogue and definitions, public like catalogue:list and :start.
    ("api_v1:services_list", "GET"),
    ("api_v1:service_detail", "GET"),
    # Document verification by the code printed on it, like documents:verify_document.
    ("api_v1:document_verify", "GET"),
    # Street reports, open data and elections are public like their pages.
    ("api_v1:reports_list", "GET"),
    ("api_v1:report_detail", "GET"),
    ("api_v1:participation_processes", "GET"),
    ("api_v1:elections_list", "GET"),
    ("api_v1:election_detail", "GET"),
    ("api_v1:datasets_list", "GET"),
    ("api_v1:dataset_detail", "GET"),
    ("api_v1:service_changes_list", "GET"),
}

#: Non-public views that send an anonymous visitor somewhere other than sign-in, and where.
ANONYMOUS_REDIRECTS = {"account_logout": "/"}

_SAMPLE_BY_NAME = {"uidb36": "1", "key": "1-set-password", "pk": "1", "fmt": "json"}
#: Values tried next when a pattern's regex refuses the first sample (DCAT's formats, the
#: CKAN API's version).
_OTHER_SAMPLES_BY_NAME = {"fmt": ["ttl"], "ver": ["3"]}
_SAMPLE_BY_CONVERTER = {"IntConverter": 1, "UUIDConverter": uuid.UUID(int=1)}


def _groups(pattern) -> dict[str, object]:
    """The named groups of one pattern, each with its converter (or None for regexes)."""
    converters = getattr(pattern.pattern, "converters", {})
    return {group: converters.get(group) for group in pattern.pattern.regex.groupindex}


def _walk(resolver: URLResolver, namespace: str = "", groups=None):
    for entry in resolver.url_patterns:
        inherited = {**(groups or {}), **_groups(entry)}
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            yield from _walk(entry, inner, inherited)
        elif isinstance(entry, URLPattern):
            yield namespace, entry, inherited


def _reverse_with_samples(name: str, kwargs: dict[str, object]) -> str | None:
    """The URL of ``name`` with the first samples its pattern accepts, or ``None``."""
    attempts = [kwargs]
    for group, others in _OTHER_SAMPLES_BY_NAME.items():
        if group in kwargs:
            attempts += [{**attempt, group: other} for attempt in attempts for other in others]
    for attempt in attempts:
        try:
            return reverse(name, kwargs=attempt)
        except Exception:  # noqa: S112 (the next sample may fit)
            continue
    return None


def all_urls() -> list[tuple[str, str, object]]:
    """(url name, a concrete URL, the view callback) for every named pattern."""
    found = []
    unbuildable = []
    for namespace, pattern, groups in _walk(get_resolver()):
        if not pattern.name:
            if getattr(pattern.callback, "view_class", None) is RedirectView:
                continue  # allauth's old addresses, redirecting to named (walked) pages
            unbuildable.append(str(pattern.pattern))
            continue
        name = namespace + pattern.name
        kwargs = {}
        for group, converter in groups.items():
            kind = type(converter).__name__ if converter else ""
            kwargs[group] = _SAMPLE_BY_CONVERTER.get(kind, _SAMPLE_BY_NAME.get(group, "sample"))
        url = _reverse_with_samples(name, kwargs)
        if url is None:
            unbuildable.append(name)
            continue
        found.append((name, url, pattern.callback))
    assert not unbuildable, (
        f"URL patterns this test cannot build (name them or add samples): {unbuildable}"
    )
    return found


URLS = all_urls()


@pytest.mark.parametrize(("name", "url", "callback"), URLS, ids=[u[0] for u in URLS])
def test_every_ecitizen_view_declares_its_access_rule(name, url, callback):
    view = getattr(callback, "view_class", callback)
    if hasattr(callback, "api_operations"):
        _assert_api_operations_declare_auth(name, callback)
        return
    if not getattr(view, "__module__", "").startswith("ecitizen."):
        return  # third-party views (allauth) are covered by the behavioural tests below
    assert getattr(callback, "access_rule", None), f"{name} ({url}) declares no access rule"
    if name in PUBLIC_URL_NAMES:
        assert callback.access_rule == "public"
    else:
        assert callback.access_rule != "public", f"{name} is public but not on the public list"


@pytest.mark.parametrize(("name", "url", "callback"), URLS, ids=[u[0] for u in URLS])
def test_every_address_reaches_its_own_view(name, url, callback):
    """A path goes to the first pattern that matches it, so the URL map's order decides
    which view answers: each named address comes back to its own name, no earlier pattern
    taking it (ecitizen/urls.py puts the prefixed mounts first, for speed)."""
    match = resolve(url)
    assert (match.view_name, match.func) == (name, callback)


def _assert_api_operations_declare_auth(name: str, callback) -> None:
    """An API path (django-ninja's view, wrapped by ecitizen.api): each of its
    operations needs an OAuth2 token unless it is on PUBLIC_API_OPERATIONS."""
    from ecitizen.api.auth import OAuth2

    assert callback.access_rule == "api", name
    for operation in callback.api_operations:
        for method in operation.methods:
            guarded = any(isinstance(auth, OAuth2) for auth in operation.auth_callbacks or [])
            if (name, method) in PUBLIC_API_OPERATIONS:
                assert not guarded, f"{method} {name} is on the public list but needs a token"
            else:
                assert guarded, f"{method} {name} needs no token but is not on the public list"


def _api_operation(callback, method: str):
    return next((op for op in callback.api_operations if method.upper() in op.methods), None)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_no_api_operation_outside_the_public_list_answers_without_a_token(client, resident, method):
    """Anonymous callers, and residents signed in to the website (a session cookie is
    not an API credential, so no page of another site can use it), get 401."""
    api_urls = [(n, u, c) for n, u, c in URLS if hasattr(c, "api_operations")]
    assert len(api_urls) > 5, "the walk found no API operations"
    reached = []
    for signed_in in (False, True):
        if signed_in:
            client.force_login(resident)
        for name, url, callback in api_urls:
            operation = _api_operation(callback, method)
            response = getattr(client, method)(url, content_type="application/json")
            assert response.status_code < 500, f"{method.upper()} {url} -> {response.status_code}"
            assert response["Content-Type"].startswith(
                ("application/json", "application/problem+json")
            )
            if operation is None:
                assert response.status_code == 405, f"{method.upper()} {url}"
            elif (
                name,
                method.upper(),
            ) not in PUBLIC_API_OPERATIONS and response.status_code != 401:
                reached.append(f"{method.upper()} {url} ({name}) -> {response.status_code}")
    assert not reached, f"reached without a token: {reached}"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_nothing_outside_the_public_list_answers_an_anonymous_visitor(client, method):
    reached = []
    for name, url, callback in URLS:
        if hasattr(callback, "api_operations"):
            continue  # API operations: test_no_api_operation_outside_the_public_list_...
        response = getattr(client, method)(url)
        assert response.status_code < 500, (
            f"{method.upper()} {url} ({name}) -> {response.status_code}"
        )
        if name in PUBLIC_URL_NAMES:
            continue
        # Anything else must send the visitor to sign in, or refuse the method.
        to_sign_in = response.status_code == 302 and response["Location"].startswith(
            reverse("account_login")
        )
        expected_elsewhere = response.status_code == 302 and response[
            "Location"
        ] == ANONYMOUS_REDIRECTS.get(name)
        if not (to_sign_in or expected_elsewhere or response.status_code in (403, 404, 405)):
            reached.append(f"{name} ({url}) -> {response.status_code}")
    assert not reached, f"anonymous visitors reached non-public views: {reached}"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_residents_reach_no_staff_view(client, resident, method):
    client.force_login(resident)
    staff_urls = [
        (name, url)
        for name, url, callback in URLS
        if name.startswith("staff:")
        or str(getattr(callback, "access_rule", "")).startswith("staff:")
    ]
    assert staff_urls, "the walk found no staff views"
    for name, url in staff_urls:
        response = getattr(client, method)(url)
        assert response.status_code in (403, 405), (
            f"resident {method.upper()} {url} ({name}) -> {response.status_code}"
        )


@pytest.mark.django_db
def test_officials_without_mfa_are_sent_to_set_it_up(client, official_without_mfa):
    client.force_login(official_without_mfa)
    gated = []
    for name, url, callback in URLS:
        rule = str(getattr(callback, "access_rule", ""))
        if not rule.startswith("staff:") or "remove" in url:
            continue
        response = client.get(url)
        from ecitizen.core.access import capability_roles

        if "case_officer" in capability_roles(rule.removeprefix("staff:") or None):
            # a capability of a role the official holds
            assert response.status_code == 302, name
            assert response["Location"] == reverse("mfa_activate_totp"), name
            gated.append(name)
        else:
            assert response.status_code == 403, name
    assert "staff:home" in gated


@pytest.mark.django_db
def test_officials_whose_session_skipped_the_second_factor_must_confirm_it(client, case_officer):
    client.force_login(case_officer)  # a session without the second factor
    response = client.get(reverse("staff:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))

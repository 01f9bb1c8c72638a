"""The ``Content-Security-Policy`` header: django-csp's middleware, with the site's policy
written once per process instead of on every response.

django-csp 4 builds the header on every response: it copies the policy's parts into a
dict (``dataclasses.asdict``, a deep copy), then reads the settings, copies each
directive and joins them, twice (the policy and the report-only policy). That was a
fifth of the CPU of a bare view behind the middleware (``bench/pages.py``'s floor), paid
by every request. Yet a response that no view gave a policy of its own gets the site's
policy from the settings alone, with only the nonce changing.

:class:`KeptPolicyCSPMiddleware` writes that policy once per process (forgotten when a
setting changes, :class:`~ecitizen.core.processcache.Kept`): once with the nonce's place
marked, joined around each request's nonce, and once without a nonce for the responses
whose page used none. A response with a policy of its own (django-csp's decorators, or
``_csp_update`` as the OAuth consent page sets it) goes through django-csp's own code,
unchanged. ``core/tests/test_content_policy.py`` compares the headers with django-csp's
own middleware's, so that an upgrade that changes them fails there.
"""

from __future__ import annotations

import http.client

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from ecitizen.core.processcache import Kept

#: What a view sets on its response to give it a policy of its own (django-csp 4's
#: decorators and ``_csp_update``); any of them sends the response through django-csp.
_OWN_POLICY_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)

#: Stands for the nonce while the policy is built: a header value cannot hold it, and a
#: nonce (base64) never does.
_NONCE_PLACE = "\x00"

#: The responses django-csp leaves without a header when ``DEBUG`` is on (its debug pages).
_DEBUG_STATUSES = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)


class _SitePolicy:
    """The site's policy (or report-only policy) from the settings, as django-csp builds it."""

    def __init__(self, report_only: bool) -> None:
        setting = (
            "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
        )
        self.without_nonce = build_policy(report_only=report_only)
        if _NONCE_PLACE in self.without_nonce:
            raise ImproperlyConfigured(f"{setting} holds a NUL character")
        self.around_nonce = build_policy(nonce=_NONCE_PLACE, report_only=report_only).split(
            _NONCE_PLACE
        )
        policy = getattr(settings, setting, None) or {}
        self.excluded_prefixes = tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())

    def header(self, nonce: str | None) -> str:
        """The header's value for a response whose page used ``nonce`` (or none)."""
        return self.without_nonce if nonce is None else nonce.join(self.around_nonce)


_site_policies: Kept[_SitePolicy] = Kept()


def _site_policy(report_only: bool) -> _SitePolicy:
    return _site_policies.get_or_make(report_only, lambda: _SitePolicy(report_only))


class KeptPolicyCSPMiddleware(CSPMiddleware):
    """django-csp's ``CSPMiddleware``; a response without a policy of its own gets the
    site's policy as kept (:func:`_site_policy`), with the same header, the same
    exemptions (``_csp_exempt``, ``_csp_exempt_ro``, ``EXCLUDE_URL_PREFIXES``) and the
    same guard against reading the nonce after the header is written."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if any(getattr(response, name, None) is not None for name in _OWN_POLICY_ATTRIBUTES):
            return super().process_response(request, response)
        if response.status_code in _DEBUG_STATUSES and settings.DEBUG:
            return response
        nonce = getattr(request, "_csp_nonce", None)
        for report_only, header, exempt in (
            (False, HEADER, "_csp_exempt"),
            (True, HEADER_REPORT_ONLY, "_csp_exempt_ro"),
        ):
            policy = _site_policy(report_only)
            if (
                policy.without_nonce
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(policy.excluded_prefixes)
            ):
                response[header] = policy.header(nonce)
        if nonce is None:
            # As django-csp: a nonce asked for from now on would not be in the header.
            request.csp_nonce = CheckableLazyObject(  # type: ignore[attr-defined]
                self._csp_nonce_post_response
            )
        return response

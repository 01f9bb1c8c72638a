"""How the settings describe an OpenID Connect identity provider (a national eID for
residents, the authority's own identity provider for staff).

Pure functions without Django imports: ``ecitizen.settings`` calls them while it is
being read, and tests call them to point the platform at a provider they started.
Each returns one entry of allauth's ``SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]``;
what ecitizen adds on top of allauth sits under ``settings["ecitizen"]`` and is read by
:mod:`ecitizen.accounts.oidc`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: ``purpose`` of a provider: residents' national eID, or the authority's staff IdP.
RESIDENT = "resident"
STAFF = "staff"

#: Key, in ``SocialAccount.extra_data``, of the verified claims sealed (encrypted) while
#: a sign-in is under way; removed once they are filed in the profile.
CLAIMS_KEY = "ecitizen_claims"

#: ``amr`` values that say the person used more than a password (RFC 8176).
DEFAULT_MFA_AMR = ("mfa", "otp", "hwk", "swk", "sc", "face", "fpt", "iris")


class OIDCSettingsError(ValueError):
    """A provider setting is wrong; the message names the variable and what to do."""


def _issuer_valid(name: str, issuer: str, *, allow_http: bool) -> str:
    issuer = issuer.strip().rstrip("/")
    match = re.fullmatch(r"(https?)://([^/?#\s]+)(/[^?#\s]*)?", issuer)
    if not match:
        raise OIDCSettingsError(
            f"{name} must be the provider's issuer URL, like https://eid.example.gov, "
            f"not {issuer!r}"
        )
    host = match.group(2).split(":")[0]
    if match.group(1) == "http" and not (allow_http or host in {"127.0.0.1", "localhost"}):
        raise OIDCSettingsError(
            f"{name} must be an https address (tokens and identities travel over it)"
        )
    return issuer


def group_roles_parse(name: str, raw: str | Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """``{"group": [{"role": code, "department": slug, "ward": code}, ...]}`` from JSON.

    A group maps to one or more roles; ``department`` is required except for
    authority-wide roles (checked when applied, against the registered roles); ``ward``
    limits the role to one ward. A single object instead of a list is accepted.
    """
    try:
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError as exc:
        raise OIDCSettingsError(f"{name} must be JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise OIDCSettingsError(f"{name} must be a JSON object of group name to roles")
    mapping: dict[str, list[dict[str, str]]] = {}
    for group, roles in data.items():
        entries = [roles] if isinstance(roles, dict) else roles
        if not isinstance(entries, list) or not entries:
            raise OIDCSettingsError(f"{name}: group {group!r} must map to a role or a list")
        parsed = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("role"), str):
                raise OIDCSettingsError(
                    f"{name}: each role of group {group!r} must be an object with a "
                    '"role" code, like {"role": "case_officer", "department": "revenue"}'
                )
            unknown = set(entry) - {"role", "department", "ward"}
            if unknown:
                raise OIDCSettingsError(
                    f"{name}: group {group!r} has unknown keys {sorted(unknown)} "
                    "(use role, department, ward)"
                )
            parsed.append({key: str(value) for key, value in entry.items() if value})
        mapping[str(group)] = parsed
    return mapping


def provider_app(
    *,
    provider_id: str,
    purpose: str,
    issuer: str,
    client_id: str,
    secret: str,
    name: str,
    scope: Iterable[str] = ("openid", "profile", "email"),
    acr_values: Iterable[str] = (),
    acr_levels: Iterable[str] = (),
    minimum_acr: str = "",
    claims: Mapping[str, str] | None = None,
    groups_claim: str = "groups",
    group_roles: Mapping[str, Any] | str | None = None,
    mfa_amr: Iterable[str] = DEFAULT_MFA_AMR,
    mfa_acr: str = "",
    fetch_userinfo: bool = True,
    allow_http: bool = False,
    env_prefix: str = "",
) -> dict[str, Any]:
    """One allauth app entry for an OpenID Connect provider, checked.

    ``acr_levels``: the provider's levels of assurance from lowest to highest, so that
    ``minimum_acr`` (resident provider: the least accepted) and ``mfa_acr`` (staff
    provider: the level from which the provider's sign-in counts as two-factor) can be
    compared. Raises :class:`OIDCSettingsError` naming ``env_prefix`` variables.
    """
    if purpose not in {RESIDENT, STAFF}:
        raise OIDCSettingsError(f"purpose must be {RESIDENT} or {STAFF}")
    if not client_id or not secret:
        raise OIDCSettingsError(
            f"{env_prefix}CLIENT_ID and {env_prefix}CLIENT_SECRET are required with "
            f"{env_prefix}ISSUER"
        )
    levels = [level for level in acr_levels if level]
    for setting, level in (("MINIMUM_ACR", minimum_acr), ("MFA_ACR", mfa_acr)):
        if level and level not in levels:
            raise OIDCSettingsError(
                f"{env_prefix}{setting} {level!r} must be one of {env_prefix}ACR_LEVELS "
                f"(lowest to highest: {', '.join(levels) or 'empty'})"
            )
    scopes = [item for item in scope if item]
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    wanted_claims = {"name": "name", "birthdate": "birthdate", "national_id": "national_id"}
    wanted_claims.update({key: value for key, value in (claims or {}).items() if value})
    return {
        "provider_id": provider_id,
        "name": name,
        "client_id": client_id,
        "secret": secret,
        "settings": {
            "server_url": _issuer_valid(f"{env_prefix}ISSUER", issuer, allow_http=allow_http),
            "oauth_pkce_enabled": True,
            "fetch_userinfo": fetch_userinfo,
            "scope": scopes,
            "token_auth_method": "client_secret_post",
            "ecitizen": {
                "purpose": purpose,
                "acr_values": [value for value in acr_values if value],
                "acr_levels": levels,
                "minimum_acr": minimum_acr,
                "claims": wanted_claims,
                "groups_claim": groups_claim,
                "group_roles": group_roles_parse(f"{env_prefix}GROUP_ROLES", group_roles or {}),
                "mfa_amr": [value for value in mfa_amr if value],
                "mfa_acr": mfa_acr,
            },
        },
    }

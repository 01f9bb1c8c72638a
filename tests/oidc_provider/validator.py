"""The provider's claims (from ``people.json``) and its misbehaviours.

The switch is a JSON file (``OIDC_TEST_CONTROL``) that the test process writes through
``Provider.misbehave``: ``{"mode": ...}`` with one of

- ``normal``;
- ``wrong_signature``: the ID token is signed with a key that is not in the JWKS (its
  header still names the published key);
- ``expired``: the ID token expired two minutes before it was issued... to the client;
- ``replay_nonce``: the ID token carries the nonce of an earlier sign-in instead of this
  one's (a token replayed from another flow);
- ``low_acr``: ``acr`` is the lowest level (``low``) whatever the person's;
- ``hs256``: signed with HMAC-SHA256 under a shared key (no public-key signature);
- ``unknown_kid``: signed with the rogue key, whose id is not in the JWKS either;
- ``wrong_audience``: issued for another client;
- ``wrong_issuer``: ``iss`` names another provider;
- ``no_iat``: without ``iat``;
- ``azp_other``: for us (``aud``) but authorized for another client (``azp``);
- ``two_audiences``: for us and another client, without ``azp``;
- ``two_audiences_azp_ours``: for us and another client, authorized for us (a valid
  token: ``azp`` names us).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator

HERE = Path(__file__).resolve().parent
PEOPLE = {p["username"]: p for p in json.loads((HERE / "people.json").read_text())["people"]}


def control() -> dict[str, Any]:
    path = Path(os.environ["OIDC_TEST_CONTROL"])
    return json.loads(path.read_text()) if path.exists() else {}


def _remember_nonce(nonce: str) -> None:
    """Nonces seen, kept beside the switch (a replay reuses the first)."""
    path = Path(os.environ["OIDC_TEST_CONTROL"]).with_suffix(".nonces")
    seen = json.loads(path.read_text()) if path.exists() else []
    if nonce and nonce not in seen:
        seen.append(nonce)
        path.write_text(json.dumps(seen))


def _earlier_nonce(current: str) -> str:
    path = Path(os.environ["OIDC_TEST_CONTROL"]).with_suffix(".nonces")
    seen = json.loads(path.read_text()) if path.exists() else []
    earlier = [n for n in seen if n != current]
    return earlier[0] if earlier else "a-nonce-of-another-sign-in"


def _authorized_party_misbehave(mode: str, id_token: dict[str, Any], client_id: str) -> None:
    """``aud`` and ``azp`` as the ``azp_other``, ``two_audiences`` and
    ``two_audiences_azp_ours`` modes want them."""
    if mode == "azp_other":
        id_token["azp"] = "another-client"
    if mode in {"two_audiences", "two_audiences_azp_ours"}:
        id_token["aud"] = [client_id, "another-client"]
    if mode == "two_audiences_azp_ours":
        id_token["azp"] = client_id


class MisbehavingValidator(OAuth2Validator):
    # Every claim goes to userinfo, whatever the scope (national_id, groups...).
    oidc_claim_scope = None

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        person = PEOPLE.get(request.user.username, {})
        claims = dict(person.get("claims", {}))
        if control().get("mode") == "low_acr":
            claims["acr"] = "low"
        return claims

    def finalize_id_token(
        self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Any
    ) -> str:
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        mode = control().get("mode", "normal")
        now = int(time.time())
        if mode == "expired":
            id_token["iat"] = now - 400
            id_token["exp"] = now - 120
        if mode == "wrong_audience":
            id_token["aud"] = "another-client"
        if mode == "wrong_issuer":
            id_token["iss"] = "https://impostor.example"
        if mode == "no_iat":
            id_token.pop("iat", None)
        _authorized_party_misbehave(mode, id_token, request.client_id)
        if mode == "replay_nonce":
            id_token["nonce"] = _earlier_nonce(str(id_token.get("nonce", "")))
        else:
            _remember_nonce(str(id_token.get("nonce", "")))
        key = request.client.jwk_key
        header = {"typ": "JWT", "alg": "RS256", "kid": key.thumbprint()}
        signing_key = key
        if mode in {"wrong_signature", "unknown_kid"}:
            signing_key = jwk.JWK.from_pem(Path(os.environ["OIDC_TEST_ROGUE_KEY"]).read_bytes())
        if mode == "unknown_kid":
            header["kid"] = signing_key.thumbprint()
        if mode == "hs256":
            header = {"typ": "JWT", "alg": "HS256", "kid": key.thumbprint()}
            signing_key = jwk.JWK(kty="oct", k="c2hhcmVkLXNlY3JldC1mb3ItdGVzdHMtb25seS0wMDAw")
        token_jwt = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        token_jwt.make_signed_token(signing_key)
        self._save_id_token(id_token["jti"], request, expiration_time or timezone.now())
        return str(token_jwt.serialize())

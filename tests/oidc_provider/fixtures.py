"""pytest fixtures around the test OpenID Connect provider (a second process).

Import them into a test module (``from tests.oidc_provider.fixtures import
eid_configured_fixture, oidc_provider_fixture  # noqa: F401``); they are named
``oidc_provider`` and ``eid_configured``. The provider listens on a free port of
127.0.0.1 (the only host pytest-socket lets tests reach) with its own SQLite file, an
RS256 key generated for the run, and a second key it never publishes (to sign with
when told to misbehave).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ecitizen.accounts.oidc_settings import provider_app

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PEOPLE = {p["username"]: p for p in json.loads((HERE / "people.json").read_text())["people"]}
CLIENTS = {c["provider_id"]: c for c in json.loads((HERE / "people.json").read_text())["clients"]}
ACR_LEVELS = ["low", "substantial", "high"]
#: The staff provider's groups, as an authority would map them.
GROUP_ROLES = {
    "revenue-officers": [{"role": "case_officer", "department": "revenue"}],
    "auditors": [{"role": "auditor"}],
}


def _pem_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Provider:
    """The running provider: its issuer, and the test-only switch."""

    issuer: str
    control: Path
    process: subprocess.Popen[bytes]
    sessions: dict[str, requests.Session] = field(default_factory=dict)

    def misbehave(self, mode: str) -> None:
        """``normal``, ``wrong_signature``, ``expired``, ``replay_nonce``, ``low_acr``
        and the others ``validator.py`` lists; applies to the ID tokens issued from now
        on."""
        self.control.write_text(json.dumps({"mode": mode}))

    def app(self, provider_id: str = "eid", **overrides: Any) -> dict[str, Any]:
        """ecitizen's settings entry for this provider (as ``settings.py`` builds it)."""
        client = CLIENTS[provider_id]
        options: dict[str, Any] = {
            "provider_id": provider_id,
            "purpose": "resident" if provider_id == "eid" else "staff",
            "issuer": self.issuer,
            "client_id": client["client_id"],
            "secret": client["secret"],
            "name": "Test eID" if provider_id == "eid" else "Riverton staff sign-in",
            "acr_levels": ACR_LEVELS,
        }
        if provider_id == "eid":
            options.update(acr_values=["substantial"], minimum_acr="substantial")
        else:
            options.update(group_roles=GROUP_ROLES, mfa_acr="substantial")
        options.update(overrides)
        return provider_app(**options)

    def authorize(self, authorize_url: str, username: str) -> str:
        """Sign ``username`` in at the provider and follow the authorization request;
        returns the callback URL (with ``code`` and ``state``) the provider redirects
        the browser to, without following it (ecitizen's test client does that)."""
        session = requests.Session()
        response = session.get(authorize_url, allow_redirects=False, timeout=10)
        if response.status_code == 302 and "/login/" in response.headers["Location"]:
            login_url = urljoin(authorize_url, response.headers["Location"])
            person = PEOPLE[username]
            next_url = dict(
                pair.split("=", 1) for pair in urlsplit(login_url).query.split("&") if pair
            ).get("next", "")
            response = session.post(
                login_url,
                data={
                    "username": username,
                    "password": person["password"],
                    "next": requests.utils.unquote(next_url),
                },
                allow_redirects=False,
                timeout=10,
            )
            assert response.status_code == 302, response.text[:500]
            response = session.get(
                urljoin(authorize_url, response.headers["Location"]),
                allow_redirects=False,
                timeout=10,
            )
        assert response.status_code == 302, response.text[:500]
        return str(response.headers["Location"])


@pytest.fixture(scope="session", name="oidc_provider")
def oidc_provider_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """Start the provider in its own process; stop it after the session."""
    folder = tmp_path_factory.mktemp("oidc_provider")
    (folder / "key.pem").write_bytes(_pem_key())
    (folder / "rogue.pem").write_bytes(_pem_key())
    port_file = folder / "port"
    env = {
        **os.environ,
        "OIDC_TEST_DB": str(folder / "provider.sqlite3"),
        "OIDC_TEST_KEY": str(folder / "key.pem"),
        "OIDC_TEST_ROGUE_KEY": str(folder / "rogue.pem"),
        "OIDC_TEST_CONTROL": str(folder / "control.json"),
        "OIDC_TEST_PORT_FILE": str(port_file),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = (folder / "provider.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.server", "0"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        issuer = ""
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    "the test OIDC provider stopped: " + (folder / "provider.log").read_text()
                )
            if port_file.exists() and port_file.read_text():
                issuer = f"http://127.0.0.1:{port_file.read_text()}/o"
                try:
                    answer = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                    if answer.ok and answer.json().get("issuer") == issuer:
                        break
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        else:
            raise RuntimeError("the test OIDC provider did not answer within 60 seconds")
        provider = Provider(issuer=issuer, control=folder / "control.json", process=process)
        provider.misbehave("normal")
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(name="eid_configured")
def eid_configured_fixture(settings: Any, oidc_provider: Provider) -> Iterator[Provider]:
    """ecitizen pointed at the test provider: the national eID (``eid``) and the staff
    identity provider (``staff``), the provider's origin allowed as a form target."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": [oidc_provider.app("eid"), oidc_provider.app("staff")],
        }
    }
    oidc_provider.misbehave("normal")
    yield oidc_provider
    oidc_provider.misbehave("normal")

"""The demo that ``scripts/run`` starts runs the way production runs: DEBUG off, gunicorn,
compressed static files, styled error pages, the real Content Security Policy — with the
sandbox payments, the demo certificate and the text-message outbox allowed explicitly in
the settings it writes (``ecitizen_demo_env`` in ``scripts/lib/setup.sh``), and every page
saying it is a demonstration."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "static": s.STORAGES["staticfiles"]["BACKEND"],
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "ACCOUNT_DEFAULT_HTTP_PROTOCOL": s.ACCOUNT_DEFAULT_HTTP_PROTOCOL,
    "DEMO_BANNER": s.DEMO_BANNER,
    "PAYMENTS_NOT_REAL": s.PAYMENTS_NOT_REAL,
    "AUDIT_SIGNING_KEYS": sorted(s.AUDIT_SIGNING_KEYS),
    "EMAIL_DELIVERY_BACKEND": s.EMAIL_DELIVERY_BACKEND,
    "SECRET_KEY": s.SECRET_KEY,
}))
"""


def _clean_env(env_file: Path, var_dir: Path, **extra: str) -> dict[str, str]:
    """Only the demo's file configures the process (none of the test run's variables)."""
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", str(var_dir)),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "ecitizen.settings",
        "ECITIZEN_ENV_FILE": str(env_file),
        "VAR_DIR": str(var_dir),
        **extra,
    }


def _write_demo_env(env_file: Path) -> None:
    subprocess.run(
        ["bash", "-c", '. scripts/lib/setup.sh && ecitizen_demo_env "$1"', "-", str(env_file)],
        cwd=ROOT,
        env={"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=True,
        capture_output=True,
        timeout=120,
    )


def _settings(env_file: Path, var_dir: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        env=_clean_env(env_file, var_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_demo_settings_are_production_with_what_is_not_real_allowed(tmp_path):
    env_file = tmp_path / "dev.env"
    _write_demo_env(env_file)
    assert env_file.stat().st_mode & 0o077 == 0, "the file holds keys: readable by its owner only"
    found = _settings(env_file, tmp_path)
    assert found["DEBUG"] is False
    assert found["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert found["static"] == "ecitizen.core.static_storage.KeptManifestStaticFilesStorage"
    # Plain http on this machine: no redirect to https, cookies that http can carry, and
    # links in emails that open.
    assert found["SECURE_SSL_REDIRECT"] is False
    assert found["SESSION_COOKIE_SECURE"] is found["CSRF_COOKIE_SECURE"] is False
    assert found["ACCOUNT_DEFAULT_HTTP_PROTOCOL"] == "http"
    assert found["DEMO_BANNER"] is True
    assert found["PAYMENTS_NOT_REAL"] is True
    assert found["AUDIT_SIGNING_KEYS"] == ["dev1"]
    assert found["EMAIL_DELIVERY_BACKEND"].endswith("console.EmailBackend")
    # Run again: nothing is generated twice (the database is encrypted with these keys).
    before = env_file.read_text()
    _write_demo_env(env_file)
    assert env_file.read_text() == before


def test_a_development_mode_file_is_switched_to_the_demo_and_keeps_its_keys(tmp_path):
    env_file = tmp_path / "dev.env"
    _write_demo_env(env_file)
    old = [
        line
        for line in env_file.read_text().splitlines()
        if line.split("=", 1)[0]
        in {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "AUDIT_SIGNING_KEYS"}
    ]
    # What scripts/run wrote while the demo ran Django's development server.
    env_file.write_text("\n".join(["DEBUG=true", *old]) + "\n")
    _write_demo_env(env_file)
    lines = env_file.read_text().splitlines()
    assert "DEBUG=false" in lines
    assert "DEBUG=true" not in lines
    assert lines[1 : len(old) + 1] == old
    assert _settings(env_file, tmp_path)["DEBUG"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("banner", [True, False])
def test_every_page_says_when_the_site_is_a_demo(client, settings, banner):
    settings.DEMO_BANNER = banner
    for url in (reverse("core:home"), "/no/such/page/", reverse("account_login")):
        page = client.get(url).content.decode()
        assert ('id="demo-site"' in page) is banner, url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    deadline = time.monotonic() + 60
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        finally:
            connection.close()


def test_the_demo_serves_like_production(tmp_path):
    """gunicorn as scripts/run starts it, with the settings it writes: the home page with
    the real CSP and the demo banner, the styled 404, brotli-compressed CSS."""
    env_file, var_dir = tmp_path / "dev.env", tmp_path / "var"
    var_dir.mkdir()
    _write_demo_env(env_file)
    env = _clean_env(env_file, var_dir)
    ecitizen = str(BIN / "ecitizen")
    for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
        subprocess.run([ecitizen, *command], env=env, cwd=tmp_path, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "python:ecitizen.gunicorn_config",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "ecitizen.wsgi:application",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        status, headers, body = _get(port, "/")
        assert status == 200
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        page = body.decode()
        assert 'id="demo-site"' in page
        assert 'id="payments-not-real"' in page
        stylesheet = page.split('<link rel="stylesheet" href="', 1)[1].split('"', 1)[0]
        assert stylesheet.startswith("/static/ecitizen/build/main.")
        assert stylesheet != "/static/ecitizen/build/main.css", "hashed by the manifest"

        status, _headers, body = _get(port, "/no/such/page/")
        assert status == 404
        assert "govuk-template" in body.decode()
        assert "URLconf" not in body.decode(), "Django's debug page"

        status, headers, body = _get(port, stylesheet, {"Accept-Encoding": "br, gzip"})
        assert status == 200
        assert headers["Content-Encoding"] == "br"
        assert len(body) < 40_000
        # Hashed names never change content: browsers and proxies keep them for a year
        # without asking again (WhiteNoise), and the compressed copy is cached apart.
        cache_control = {part.strip() for part in headers["Cache-Control"].split(",")}
        assert {"public", "immutable"} <= cache_control, cache_control
        max_age = next(int(p.split("=")[1]) for p in cache_control if p.startswith("max-age="))
        assert max_age >= 365 * 24 * 3600
        assert "Accept-Encoding" in headers["Vary"]
    finally:
        server.terminate()
        server.wait(timeout=30)

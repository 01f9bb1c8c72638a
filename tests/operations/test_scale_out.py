"""Several web processes behind the shipped HAProxy configuration, against one PostgreSQL
and one Redis, stand for several machines: a signed-in resident stays signed in whichever
process answers, one process dying loses no request, all of them down gets the outage
page, and the site comes back by itself when a process does.

Real processes: two gunicorns with ``ecitizen.gunicorn_config`` (as deploy/systemd runs
them), Debian's HAProxy with ``deploy/haproxy/haproxy.cfg`` as shipped (only its
environment variables set), the test's PostgreSQL database, Redis as ``CACHE_URL``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.adapters
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection
from urllib3.util.retry import Retry

from ecitizen.core.tests.test_worker_kill import _postgres_url
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
GUNICORN = Path(sys.executable).with_name("gunicorn")
#: Upper bound of every wait (polling; nothing is asserted about how long it took).
PATIENCE = 60.0

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs Debian's haproxy"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            value = condition()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


def _redis_url() -> str:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return "redis://127.0.0.1:6379/13"
    except OSError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (the shared cache)")


class Site:
    """The web processes and the load balancer of one test."""

    def __init__(self, workdir: Path, database_url: str, cache_url: str) -> None:
        self.workdir = workdir
        self.ports = {"web1": _free_port(), "web2": _free_port()}
        self.web: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CACHE_URL": cache_url,
            "VAR_DIR": str(workdir),
            "ECITIZEN_ENV_FILE": os.devnull,
            # HAProxy is the proxy in front: its X-Forwarded-For and X-Request-ID are believed.
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "LOG_LEVEL": "WARNING",
        }
        self.balancer_port = _free_port()
        self.balancer: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.balancer_port}"

    def start_web(self, name: str) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        self.web[name] = subprocess.Popen(
            [
                str(GUNICORN),
                *("-c", "python:ecitizen.gunicorn_config"),
                *("--bind", f"127.0.0.1:{self.ports[name]}"),
                *("--workers", "1", "--threads", "2", "ecitizen.wsgi:application"),
            ],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill_web(self, name: str) -> None:
        """SIGKILL the gunicorn master and its worker at once (their own process group):
        a machine lost, nothing graceful."""
        process = self.web.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def start_balancer(self) -> None:
        outage = self.workdir / "ecitizen-503.http"
        subprocess.run(
            [sys.executable, "-m", "ecitizen", "outage", str(outage)],
            env=self.env,
            check=True,
            capture_output=True,
        )
        env = {
            **os.environ,
            "ECITIZEN_LISTEN": f"127.0.0.1:{self.balancer_port}",
            "ECITIZEN_WEB1": f"127.0.0.1:{self.ports['web1']}",
            "ECITIZEN_WEB2": f"127.0.0.1:{self.ports['web2']}",
            # A third machine that is down from the start: the health check keeps it out.
            "ECITIZEN_WEB3": f"127.0.0.1:{_free_port()}",
            "ECITIZEN_OUTAGE_PAGE": str(outage),
        }
        log = (self.workdir / "haproxy.log").open("ab")
        self.balancer = subprocess.Popen(
            ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def ready_behind_balancer(self) -> bool:
        return requests.get(f"{self.url}/readyz", timeout=5).status_code == 200

    def in_rotation(self, name: str) -> bool:
        """Does ``name`` answer ``/readyz`` itself, and has HAProxy's health check not
        left it out of rotation (no "DOWN" in HAProxy's log since its last "UP")?"""
        url = f"http://127.0.0.1:{self.ports[name]}/readyz"
        if requests.get(url, timeout=5).status_code != 200:
            return False
        log = (self.workdir / "haproxy.log").read_text(errors="replace")
        changes = re.findall(rf"Server ecitizen_web/{name} is (UP|DOWN)", log)
        return not changes or changes[-1] == "UP"

    def stop(self) -> None:
        for name in list(self.web):
            self.kill_web(name)
        if self.balancer is not None:
            self.balancer.terminate()
            self.balancer.wait(timeout=30)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    if connection.vendor != "postgresql":
        pytest.skip("several web processes share one PostgreSQL")
    site = Site(tmp_path, _postgres_url(connection.settings_dict), _redis_url())
    try:
        yield site
    finally:
        site.stop()
        for log in sorted(tmp_path.glob("*.log")):
            sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-8000:]}\n")


def _sign_in(browser: requests.Session, url: str, email: str) -> None:
    page = browser.get(f"{url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = browser.post(
        f"{url}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "login": email, "password": PASSWORD},
        headers={"Referer": f"{url}/accounts/login/"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text[:500]


def _signed_in_page(browser: requests.Session, url: str) -> requests.Response:
    response = browser.get(f"{url}/account/", timeout=10, allow_redirects=False)
    assert response.status_code == 200, (response.status_code, response.headers)
    return response


def test_a_resident_stays_signed_in_whichever_web_process_answers(site: Site):
    resident = UserFactory(email="scale.out@example.test", full_name="Ada Scale")
    # The tests' fast hasher is this process's setting only: the web processes check
    # passwords with production's Argon2.
    hasher = Argon2PasswordHasher()
    type(resident).objects.filter(pk=resident.pk).update(
        password=hasher.encode(PASSWORD, hasher.salt())
    )
    site.start_web("web1")
    site.start_web("web2")
    site.start_balancer()
    _wait(site.ready_behind_balancer, "the site behind HAProxy")

    browser = requests.Session()
    # A GET whose keep-alive connection the balancer closed is sent again on a new one, as
    # browsers do for idempotent requests (RFC 9110, 9.2.2); posts are never re-sent.
    browser.mount(
        "http://",
        requests.adapters.HTTPAdapter(
            max_retries=Retry(total=2, connect=2, read=2, allowed_methods={"GET"})
        ),
    )
    _sign_in(browser, site.url, resident.email)
    page = _signed_in_page(browser, site.url)
    assert "Ada Scale" in page.text
    # HAProxy named the request; ecitizen, trusting it, kept that id.
    assert re.fullmatch(r"[0-9A-F]+(-[0-9A-F]+){4}", page.headers["X-Request-ID"])

    # One machine lost: every request is answered by the other, still signed in.
    site.kill_web("web1")
    for _ in range(10):
        assert "Ada Scale" in _signed_in_page(browser, site.url).text

    # It comes back, the other is lost: the session was never the process's own.
    site.start_web("web1")
    _wait(lambda: site.in_rotation("web1"), "web1 back in rotation")
    site.kill_web("web2")
    for _ in range(10):
        assert "Ada Scale" in _signed_in_page(browser, site.url).text

    # All lost: the load balancer's outage page, the site's own, in every language.
    site.kill_web("web1")
    # (A list: a Response is false when its status is an error.)
    (outage,) = _wait(
        lambda: (r := requests.get(site.url, timeout=5)).status_code == 503 and [r],
        "the outage page",
    )
    assert "Sorry, the service is unavailable" in outage.text
    assert outage.headers["Retry-After"] == "30"
    assert 'lang="ar" dir="rtl"' in outage.text

    # And it comes back by itself when a machine does.
    site.start_web("web2")
    _wait(site.ready_behind_balancer, "the site back")
    assert "Ada Scale" in _signed_in_page(browser, site.url).text

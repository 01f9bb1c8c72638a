"""Several web processes behind the shipped HAProxy configuration, against one PostgreSQL
and one Redis, stand for several machines: a signed-in resident stays signed in whichever
process answers, one process dying loses no request, all of them down gets the outage
page, and the site comes back by itself when a process does.

Real processes: two gunicorns with ``ecitizen.gunicorn_config`` (as deploy/systemd runs
them), Debian's HAProxy with ``deploy/haproxy/haproxy.cfg`` as shipped (only its
environment variables set), the test's PostgreSQL database, Redis as ``CACHE_URL``.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import requests.adapters
from django.db import connection
from urllib3.util.retry import Retry

from tests.factories import PASSWORD, UserFactory
from tests.processes import Site, needs_haproxy, postgres_url, wait_for, with_production_password

pytestmark = [pytest.mark.django_db(transaction=True), needs_haproxy]


def _redis_url() -> str:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return "redis://127.0.0.1:6379/13"
    except OSError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (the shared cache)")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The web processes and the load balancer of this test, on its database, with Redis as
    the shared cache."""
    if connection.vendor != "postgresql":
        pytest.skip("several web processes share one PostgreSQL")
    with Site(tmp_path, postgres_url(connection.settings_dict), CACHE_URL=_redis_url()) as site:
        yield site


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
    resident = with_production_password(
        UserFactory(email="scale.out@example.test", full_name="Ada Scale")
    )
    site.start_web("web1")
    site.start_web("web2")
    site.start_balancer()
    wait_for(site.ready_behind_balancer, "the site behind HAProxy")

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
    wait_for(lambda: site.in_rotation("web1"), "web1 back in rotation")
    site.kill_web("web2")
    for _ in range(10):
        assert "Ada Scale" in _signed_in_page(browser, site.url).text

    # All lost: the load balancer's outage page, the site's own, in every language.
    site.kill_web("web1")
    # (A list: a Response is false when its status is an error.)
    (outage,) = wait_for(
        lambda: (r := requests.get(site.url, timeout=5)).status_code == 503 and [r],
        "the outage page",
    )
    assert "Sorry, the service is unavailable" in outage.text
    assert outage.headers["Retry-After"] == "30"
    assert 'lang="ar" dir="rtl"' in outage.text

    # And it comes back by itself when a machine does.
    site.start_web("web2")
    wait_for(site.ready_behind_balancer, "the site back")
    assert "Ada Scale" in _signed_in_page(browser, site.url).text

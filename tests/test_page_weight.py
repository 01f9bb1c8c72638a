"""A typical page stays light: at most 100 kB transferred (gzip of HTML, CSS and JS),
counted from the real built assets that the page links to."""

from __future__ import annotations

import gzip
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

BUDGET = 100 * 1024


def _linked_assets(html: str) -> list[str]:
    links = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    links += re.findall(r'<link[^>]+href="([^"]+)"[^>]+rel="stylesheet"', html)
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    return sorted(set(links + scripts))


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


@pytest.mark.parametrize("url_name", ["core:home", "account_login", "accounts:home"])
def test_typical_pages_are_under_100_kb(client, resident, url_name, settings):
    if url_name == "accounts:home":
        client.force_login(resident)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    html = response.content.decode()
    assets = _linked_assets(html)
    assert any(a.endswith(".css") for a in assets), "the page links no stylesheet"
    total = _gzip_size(response.content)
    for url in assets:
        assert url.startswith(settings.STATIC_URL), url
        path = finders.find(url.removeprefix(settings.STATIC_URL).split("?")[0])
        assert path, f"{url} is not built: run `npm run build` in frontend/"
        with open(path, "rb") as handle:
            total += _gzip_size(handle.read())
    assert total <= BUDGET, f"{url_name}: {total / 1024:.1f} kB transferred"

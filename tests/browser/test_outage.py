"""The pages of a bad day, in a real browser and checked with axe-core: the site's 503 page
while the database cannot be reached, and the load balancer's outage page (self-contained:
no stylesheet can be fetched from a site that is down), in each language it holds."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from playwright.sync_api import Page, expect

from ecitizen.core.management.commands.outage import outage_page
from tests.browser.conftest import ARTIFACTS, assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.db_specific
def test_while_the_database_is_down_the_site_answers_its_styled_503(page: Page, live_server):
    """The outage is simulated where a real one shows: every statement fails as on a lost
    connection. Not by refusing connections: on SQLite the live server shares the test's
    open in-memory connection, so Django's own per-request bookkeeping (which only looks
    at an open connection) would meet a refusal no real outage makes it meet, and fail
    before any of the platform's code runs (hence ``db_specific``: run on both)."""
    lost = OperationalError("server closed the connection unexpectedly")
    page.ecitizen_expected_statuses.add(503)  # type: ignore[attr-defined]
    with (
        mock.patch.object(CursorWrapper, "_execute", side_effect=lost),
        mock.patch.object(CursorWrapper, "_executemany", side_effect=lost),
    ):
        response = page.goto("/services/")
        assert response is not None
        assert response.status == 503
        assert response.headers["retry-after"] == "30"
        expect(page.locator("main h1")).to_have_text("Sorry, the service is unavailable")
        # The real layout: the site's stylesheet loaded (static files need no database).
        expect(page.get_by_role("banner")).to_be_visible()
        assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
        assert_accessible(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "outage-503.png", full_page=True)
    # Back by itself once the database answers.
    assert page.goto("/services/").status == 200
    assert_accessible(page)


def test_the_load_balancer_s_outage_page_stands_alone_in_every_language(page: Page):
    page.set_content(outage_page())
    sections = page.locator("main section")
    expect(sections).to_have_count(3)
    expect(sections.nth(0)).to_have_attribute("lang", "en")
    expect(sections.nth(2)).to_have_attribute("dir", "rtl")
    expect(page.locator("h1").first).to_have_text("Sorry, the service is unavailable")
    assert_accessible(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "outage-balancer.png", full_page=True)

"""The API's interactive reference in a real browser: Swagger UI served from our own
static files starts under the site's Content Security Policy (no console error), shows
the operations, and passes axe (WCAG 2.2 AA) and the 375 px check, also with an
operation opened."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible


@pytest.mark.django_db(transaction=True)
def test_the_api_reference_works_and_is_accessible(page: Page, live_server):
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ecitizen API", timeout=15000)
    expect(page.locator(".opblock").first).to_be_visible()
    assert_accessible(page)
    page.locator(".opblock-post .opblock-summary-control").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert_accessible(page)

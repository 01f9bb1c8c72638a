"""A data publisher's journey: signs in with their authenticator code, describes a new
dataset, uploads a CSV with an error and reads its row and column, uploads the fixed
file, publishes the dataset, and finds it on the public page. Every page is checked
with axe-core (WCAG 2.2 AA) and at 375 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ecitizen.opendata.models import Dataset
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import enter_totp_code, sign_in_by_keyboard, submit_main_form
from tests.factories import DepartmentFactory
from tests.personas import TOTP_SECRET, _official

pytestmark = pytest.mark.django_db(transaction=True)

# Row 3 (the second row of data) has a cell too few.
WITH_AN_ERROR = b"id,species,planted,height_m\n1,Oak,2020-03-01,4.5\n2,Elm,2021-11-20\n"
FIXED = b"id,species,planted,height_m\n1,Oak,2020-03-01,4.5\n2,Elm,2021-11-20,3\n"


@pytest.fixture(autouse=True)
def _datastore_dir(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


def _upload(page: Page, name: str, content: bytes) -> None:
    page.set_input_files(
        "#id_upload", files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def test_a_publisher_fixes_a_file_and_publishes_the_dataset(page: Page):
    parks = DepartmentFactory(slug="parks", name="Parks and Open Spaces")
    publisher = _official("publisher", parks, email="parks.publisher@example.test")

    sign_in_by_keyboard(page, publisher.email)
    assert_accessible(page)  # the code page
    enter_totp_code(page, TOTP_SECRET)
    assert_accessible(page)

    # Their datasets (none yet), then "Create a dataset".
    page.goto("/staff/opendata/")
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Your datasets")
    with page.expect_navigation():
        page.get_by_role("link", name="Create a dataset").click()
    assert_accessible(page)

    # (A form with a mistake answers 400, which the console check counts as an error:
    # the error summary and kept answers are tested in test_publisher_pages.py.)
    page.fill("#id_name", "street-trees")
    page.select_option("#id_licence_id", "OGL-UK-3.0")
    page.fill("#id_title_en", "Street trees")
    page.fill("#id_description_en", "Every tree the council looks after, with its height.")
    page.check("input[name=themes][value=ENVI]")
    page.fill("#id_keywords", "trees, parks")
    page.fill("#id_temporal_start_day", "1")
    page.fill("#id_temporal_start_month", "4")
    page.fill("#id_temporal_start_year", "2025")
    page.select_option("#id_frequency", "ANNUAL")
    submit_main_form(page)
    assert page.url.endswith("/staff/opendata/datasets/street-trees/"), page.url
    assert_accessible(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("draft")
    expect(page.locator("main h1")).to_have_text("Street trees")

    # A CSV with an error: its page names the row and the column.
    with page.expect_navigation():
        page.get_by_role("link", name="Add a file").click()
    assert_accessible(page)
    page.fill("#id_title", "Trees")
    _upload(page, "trees.csv", WITH_AN_ERROR)
    assert_accessible(page)
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is 1 problem in this file")
    expect(summary).to_contain_text("Row 3, column 4 (height_m)")
    first = page.locator("main table tr#problem-1 td")
    expect(first.nth(0)).to_have_text("3")
    expect(first.nth(1)).to_have_text("4")
    expect(first.nth(2)).to_have_text("height_m")

    # Publishing is refused while the file has the problem.
    page.get_by_role("link", name="Street trees").first.click()
    page.wait_for_url("**/staff/opendata/datasets/street-trees/")
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Publish the dataset").click()
    assert_accessible(page)
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Fix the problems")

    # The fixed file replaces it: valid, with a preview of its rows.
    with page.expect_navigation():
        page.locator("main table a", has_text="Trees").click()
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Replace the file").click()
    assert_accessible(page)
    _upload(page, "trees-fixed.csv", FIXED)
    assert_accessible(page)
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    expect(page.locator("main .govuk-summary-list .govuk-tag")).to_have_text("Valid")
    expect(page.locator("main table").first).to_contain_text("Elm")

    # Published.
    with page.expect_navigation():
        page.locator(".govuk-back-link").click()
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Publish the dataset").click()
    assert_accessible(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("anyone can find")
    assert Dataset.objects.get(name="street-trees").state == Dataset.State.PUBLISHED

    # Anyone finds it on its public page.
    page.context.clear_cookies()
    page.goto("/dataset/street-trees/")
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Street trees")
    expect(page.locator("main")).to_contain_text("Parks and Open Spaces")

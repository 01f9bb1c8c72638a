"""Downloading your data in a real browser, checked with axe-core on every page: the
resident finds "Your data" from their account, asks for a download by keyboard, sees it
being prepared (no timed refresh: a link checks progress), is told it is ready (a message
in their inbox), downloads the ZIP; another resident's browser gets "page not found" for
the same link. The same page in Arabic (right to left). Also the public summary of the
records of processing, reached from the privacy notice's panel when the page has it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.accounts.services import preferences_update
from ecitizen.notifications.models import Notification
from ecitizen.privacy import exports, tasks
from ecitizen.privacy.models import DataExport
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import press_enter_and_wait, sign_in_by_cookie, tab_to

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    """Hold the preparing task in a queue of the test's own, as a busy worker would, so
    that the journey sees the download being prepared; the test then runs it."""
    held: list[str] = []
    monkeypatch.setattr(tasks, "export_prepare_task", SimpleNamespace(enqueue=held.append))
    return held


@pytest.mark.smoke
def test_a_resident_asks_for_their_data_waits_and_downloads_it(
    page: Page, live_server, resident, second_resident, queued
):
    sign_in_by_cookie(page, live_server, resident)
    page.goto(reverse("accounts:home"))
    assert_accessible(page)
    tab_to(page, f"main a[href='{reverse('privacy:data')}']")
    press_enter_and_wait(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    assert_accessible(page)

    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    expect(page.locator("#export-progress")).to_contain_text("We are preparing your data")
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert_accessible(page)
    # Asking again while it is being prepared starts nothing: there is no button to.
    assert page.locator("main form button[type=submit]").count() == 0
    assert len(queued) == 1

    # The worker prepares it.
    exports.export_prepare(export_id=queued[0])
    assert Notification.objects.filter(recipient=resident, event=exports.READY_EVENT).exists()

    tab_to(page, "#export-progress a")
    press_enter_and_wait(page)
    expect(page.get_by_role("heading", name="Your data is ready")).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download your data").click()
    download = download_info.value
    assert download.suggested_filename.startswith("your-data-")
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        names = set(archive.namelist())
        data = json.loads(archive.read("data.json"))
    assert {"data.json", "summary.pdf"} <= names
    assert data["sources"]["accounts"]["items"][0]["email"] == resident.email

    # The resident's inbox says it is ready and links to the page.
    page.goto(reverse("notifications:inbox"))
    assert_accessible(page)
    expect(page.locator("main")).to_contain_text("Your data is ready to download")

    # Another resident's browser: the link is "page not found" (asked without rendering
    # the error page, whose 404 the console would report as an error).
    export = DataExport.objects.get(owner=resident)
    page.context.clear_cookies()
    sign_in_by_cookie(page, live_server, second_resident)
    response = page.request.get(
        live_server.url + reverse("privacy:data_download", args=[export.pk])
    )
    assert response.status == 404


def test_your_data_reads_right_to_left_in_arabic(page: Page, live_server, resident, queued):
    preferences_update(user=resident, language="ar")
    page.context.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    sign_in_by_cookie(page, live_server, resident)
    page.goto(reverse("privacy:data"))
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert_accessible(page)
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    expect(page.locator("#export-progress")).to_be_visible()
    assert_accessible(page)


def test_the_records_of_processing_are_public_and_readable(page: Page, live_server):
    page.goto(reverse("privacy:records"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "What we process about residents and why"
    )
    expect(page.get_by_role("heading", name="Your applications")).to_be_visible()
    assert_accessible(page)


def test_the_data_protection_officer_reads_the_records(page: Page, live_server, platform_admin):
    sign_in_by_cookie(page, live_server, platform_admin, official=True)
    page.goto(reverse("staff:privacy_records"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Records of processing")
    expect(page.get_by_role("link", name="Download as CSV")).to_be_visible()
    assert_accessible(page)

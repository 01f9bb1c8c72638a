"""An officer fixes a street report: from the list of reports in their remit to the
report's case (with the report's panel: where, the photo, the map), "Mark as fixed" with
a public update typed by keyboard, and the public report page then shows the new status
and that text. Every page is checked with axe-core (WCAG 2.2 AA) and at 375 px."""

from __future__ import annotations

import io
import shutil

import pytest
from playwright.sync_api import Page, expect

from ecitizen.accounts.models import Jurisdiction, Role
from ecitizen.accounts.services import department_ensure
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.core.registry import Panel, registry
from ecitizen.reports import geo, services, staff_views
from ecitizen.reports.demo import CATEGORIES_DIR
from ecitizen.reports.tests.conftest import RIVERSIDE, jpeg_with_gps
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import enter_totp_code, sign_in_by_keyboard, submit_main_form, tab_to
from tests.factories import UserFactory
from tests.personas import TOTP_SECRET, _official

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC_UPDATE = "We filled the pothole on Mill Lane this morning. Thank you for telling us."


def _blank_tile() -> bytes:
    """A map tile (a plain 256 px square): no test reaches the real tile server."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (230, 230, 220)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def pothole_category(tmp_path, monkeypatch):
    """Riverton's pothole category published, Public Works, Riverton's wards, and the
    report panel on the staff case page (as ``ReportsConfig.ready`` registers it)."""
    monkeypatch.setattr(
        registry,
        "panels",
        {
            "cases.staff_case": [
                Panel(
                    "cases.staff_case",
                    "reports/staff/_case_panel.html",
                    10,
                    staff_views.case_panel_context,
                )
            ]
        },
    )
    department_ensure(
        slug="public-works", name="Public Works", email="works@example.test", actor=None
    )
    for ward in geo.area().wards:
        Jurisdiction.objects.get_or_create(code=ward.code, defaults={"name": ward.name})
    folder = tmp_path / "categories"
    folder.mkdir()
    shutil.copy(CATEGORIES_DIR / "pothole.yaml", folder)
    service_definitions_publish(directory=folder, actor=None)


def test_an_officer_fixes_a_report_and_the_public_page_says_so(page: Page, pothole_category):
    resident = UserFactory(email="reporter@example.test", full_name="Rita Porter")
    report = services.report_submit(
        data=services.ReportInput(
            category="pothole",
            latitude=RIVERSIDE[0],
            longitude=RIVERSIDE[1],
            title="Deep pothole outside number 12",
            description="About 30 cm wide; cyclists swerve round it.",
            address="Mill Lane",
            answers={"location": "road", "size": "large", "hazard": True},
            photos=[jpeg_with_gps()],
        ),
        reporter=resident,
        actor=resident,
    )
    reference = report.reference
    works = report.case.department
    officer = _official(Role.CASE_OFFICER, works, email="works.officer@example.test")
    tile = _blank_tile()
    page.route(
        "https://tile.openstreetmap.org/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=tile),
    )

    sign_in_by_keyboard(page, officer.email)
    assert_accessible(page)  # the code page
    enter_totp_code(page, TOTP_SECRET)
    assert_accessible(page)

    # The reports in the officer's remit: the report, with a pin on the map.
    page.goto("/staff/reports/")
    assert_accessible(page)
    expect(page.locator("main [data-report-map=list]")).to_be_visible()
    link = page.locator(f"main table a[href='/staff/cases/{reference}/']")
    expect(link).to_have_text(reference)
    with page.expect_navigation():
        link.click()
    assert_accessible(page)

    # The case page, with the report's panel: where it is, its photo, the map.
    expect(page.locator("main h1")).to_contain_text(reference)
    panel = page.locator("main section[aria-labelledby=street-report-heading]")
    expect(panel.locator("h2")).to_have_text("Street report")
    expect(panel).to_contain_text("Mill Lane")
    expect(panel).to_contain_text("Riverside ward")
    photo = panel.locator("figure img")
    expect(photo).to_be_visible()
    assert photo.evaluate("image => image.complete && image.naturalWidth > 0")
    expect(panel.locator("[data-report-map=show]")).to_be_visible()

    # "Mark as fixed", with the public update typed by keyboard.
    tab_to(page, f"main a[href='/staff/cases/{reference}/actions/fix/']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Mark as fixed")
    tab_to(page, "#id_text")
    page.keyboard.type(PUBLIC_UPDATE)
    submit_main_form(page)
    assert page.url.endswith(f"/staff/cases/{reference}/"), page.url
    assert_accessible(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Done: Mark as fixed"
    )
    # The panel lists the public update.
    expect(panel.locator(".app-timeline__item").first).to_contain_text(PUBLIC_UPDATE)

    # Anyone reading the report sees the new status and the officer's words.
    page.context.clear_cookies()
    page.goto(f"/reports/{reference}/")
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Deep pothole outside number 12")
    expect(page.locator("main .govuk-summary-list .govuk-tag")).to_have_text("Fixed")
    expect(page.locator("main")).to_contain_text(PUBLIC_UPDATE)
    report.refresh_from_db()
    assert report.state == "fixed"
    assert not report.is_open

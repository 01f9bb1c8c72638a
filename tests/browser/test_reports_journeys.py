"""Reporting a street problem in a real browser: a pothole by map (a pin, "use my
location") with a photo; by street search with JavaScript off; anonymously, confirmed by
the emailed link; "me too" on a report nearby instead of a duplicate.

Map tiles never come from the internet: the tile server's requests are answered with a
blank tile. Every page is checked with axe-core (WCAG 2.2 AA) and at 375 px.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

import ecitizen
from ecitizen.accounts.models import Jurisdiction
from ecitizen.accounts.services import department_ensure
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.notifications.models import Notification
from ecitizen.reports import geo, selectors, services
from ecitizen.reports.models import Report, ReportSupporter
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import sign_in_by_keyboard

pytestmark = pytest.mark.django_db(transaction=True)

CATEGORIES = Path(ecitizen.__file__).resolve().parent / "reports" / "categories"
#: A point in Riverside ward (on Towpath Road, RV2 2EB, in the gazetteer).
TOWPATH_ROAD = (52.189733, -2.243986)


def _blank_tile() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (236, 240, 234)).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_with_gps() -> bytes:
    """A phone photo whose EXIF says where it was taken (and the phone's make)."""
    from PIL import Image

    image = Image.new("RGB", (800, 600), (90, 90, 95))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 11.0, 23.0), "W", (2.0, 14.0, 49.0)
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture
def categories(db):
    """Riverton's departments, wards and eight report categories, as the demo has them."""
    department_ensure(slug="public-works", name="Public Works", email="", actor=None)
    department_ensure(
        slug="transport-licensing", name="Transport & Licensing", email="", actor=None
    )
    for ward in geo.area().wards:
        Jurisdiction.objects.get_or_create(code=ward.code, defaults={"name": ward.name})
    service_definitions_publish(directory=CATEGORIES, actor=None)


@pytest.fixture
def tiles(page: Page) -> list[str]:
    """Answer the tile server's requests with a blank tile; returns the URLs asked for."""
    asked: list[str] = []
    host = urlsplit(settings.MAP_TILE_URL).netloc
    blank = _blank_tile()

    def fulfil(route):
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=blank)

    page.context.route(re.compile(rf"^https?://{re.escape(host)}/"), fulfil)
    return asked


def _continue(page: Page, name: str = "Continue") -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def _choose_category(page: Page, title: str = "Pothole") -> None:
    page.goto(reverse("reports:start"))
    assert_accessible(page)
    page.get_by_label(title, exact=True).check()
    _continue(page)


def _describe_and_answer(page: Page) -> None:
    expect(page.get_by_role("heading", name="Describe the problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Summary").fill("Deep pothole outside number 12")
    page.get_by_label("Details").fill("About 30 cm wide. Cyclists swerve round it.")
    _continue(page)
    # The category's own questions (reports/categories/pothole.yaml).
    assert_accessible(page)
    page.get_by_label("On the road").check()
    page.locator("input[name=hazard][value=yes]").check()
    _continue(page)


def _send(page: Page) -> None:
    expect(page.get_by_role("heading", name="Check your report before sending it")).to_be_visible()
    assert_accessible(page)
    _continue(page, "Send report")


@pytest.mark.smoke
def test_report_a_pothole_by_map_with_a_photo(page: Page, resident, categories, tiles):
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    _choose_category(page)

    # Where: the map is shown (JavaScript), with the area's tiles and wards.
    map_canvas = page.locator("#report-map.leaflet-container")
    expect(map_canvas).to_be_visible()
    expect(page.locator(".leaflet-tile-loaded").first).to_be_attached()
    expect(
        page.locator("path.leaflet-interactive, .leaflet-overlay-pane path").first
    ).to_be_attached()
    assert_accessible(page)
    # Selecting the map drops the pin there; "use my location" moves it.
    map_canvas.click()
    expect(page.locator("input[name=lat]")).not_to_have_value("")
    expect(page.locator("[data-map-status]")).to_contain_text("Pin put on the map")
    # By keyboard: the map pans with the arrow keys, then the pin goes in its middle.
    map_canvas.focus()
    page.keyboard.press("ArrowUp")
    first = page.locator("input[name=lat]").input_value()
    page.get_by_role("button", name="Put the pin in the middle of the map").focus()
    page.keyboard.press("Enter")
    expect(page.locator("input[name=lat]")).not_to_have_value(first)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": TOWPATH_ROAD[0], "longitude": TOWPATH_ROAD[1]})
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("input[name=lat]")).to_have_value(f"{TOWPATH_ROAD[0]:.6f}")
    expect(page.locator("input[name=lon]")).to_have_value(f"{TOWPATH_ROAD[1]:.6f}")
    page.get_by_label("Where exactly?").fill("Outside number 12")
    assert_accessible(page)
    _continue(page)
    assert tiles, "the map asked for no tiles"

    _describe_and_answer(page)

    # Photos: a phone photo with its location in it.
    assert_accessible(page)
    page.get_by_label("Add photos").set_input_files(
        [{"name": "pothole.jpg", "mimeType": "image/jpeg", "buffer": _jpeg_with_gps()}]
    )
    _continue(page)
    assert_accessible(page)
    page.get_by_label(re.compile(r"^Yes, show .Alex Morgan.$")).check()
    _continue(page)
    expect(page.get_by_role("img", name="Photo 1")).to_be_visible()
    _send(page)

    report = Report.objects.get()
    expect(page.locator(".govuk-panel")).to_contain_text(report.reference)
    assert_accessible(page)
    assert report.ward.code == "riverside"
    assert report.address == "Outside number 12, Towpath Road"
    (photo,) = selectors.report_photos_public(report)

    from PIL import Image

    from ecitizen.documents.services import upload_read

    kept = Image.open(io.BytesIO(upload_read(upload=photo.display)))
    assert not kept.getexif(), "the photo kept its EXIF (and GPS)"

    # The report's page: the place on a small map and in words, the photo, the name.
    page.get_by_role("link", name="See your report").click()
    expect(page.get_by_role("heading", name=report.title)).to_be_visible()
    expect(page.locator(".leaflet-marker-icon")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Photo 1 of the problem"))).to_be_visible()
    expect(page.locator("main")).to_contain_text("by Alex Morgan")
    expect(page.locator("main")).to_contain_text("Riverside ward")
    expect(page.locator("main")).not_to_contain_text(resident.email)
    assert_accessible(page)


@pytest.mark.parametrize("javascript_enabled", [False])
def test_report_by_street_search_without_javascript(page: Page, resident, categories):
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    _choose_category(page, "Streetlight not working")

    # No map without JavaScript: the street search is the way.
    expect(page.locator("[data-report-map]")).to_be_hidden()
    assert_accessible(page)
    _continue(page)  # nothing chosen yet
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select where the problem is on the map, or search for a street or postcode"
    )
    assert_accessible(page)
    page.get_by_label("Street name or postcode").fill("towpath")
    _continue(page, "Search")
    assert_accessible(page)
    page.get_by_label("Towpath Road, RV2 2EB").check()
    page.get_by_label("Where exactly?").fill("Lamp post by the bridge")
    _continue(page)

    expect(page.get_by_role("heading", name="Describe the problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Summary").fill("Streetlight out")
    page.get_by_label("Details").fill("Dark all night for a week.")
    _continue(page)
    assert_accessible(page)
    page.get_by_label("It is completely out").check()
    _continue(page)
    assert_accessible(page)
    _continue(page)  # no photo
    assert_accessible(page)
    page.get_by_label("No", exact=True).check()
    _continue(page)
    _send(page)

    report = Report.objects.get()
    expect(page.locator(".govuk-panel")).to_contain_text(report.reference)
    assert_accessible(page)
    assert report.category == "streetlight"
    assert report.address == "Lamp post by the bridge, Towpath Road, RV2 2EB"
    assert report.case.answers["fault"] == "out"
    # Going back after sending shows the confirmation, not the form.
    page.goto(reverse("reports:check"))
    expect(page.locator(".govuk-panel")).to_contain_text(report.reference)
    assert_accessible(page)


def test_report_anonymously_with_email_confirmation(page: Page, categories, tiles):
    _choose_category(page, "Graffiti")
    assert_accessible(page)
    page.get_by_label("Street name or postcode").fill("RV2 2EB")
    _continue(page, "Search")
    assert_accessible(page)
    page.get_by_label("Towpath Road, RV2 2EB").check()
    _continue(page)

    assert_accessible(page)
    page.get_by_label("Summary").fill("Graffiti on the bridge")
    page.get_by_label("Details").fill("Spray paint over the whole wall.")
    _continue(page)
    assert_accessible(page)
    for question in page.locator("main fieldset").all():
        question.locator("input[type=radio]").first.check()
    _continue(page)
    assert_accessible(page)
    _continue(page)  # no photo
    assert_accessible(page)
    page.get_by_label("Email address").fill("walker@example.test")
    page.locator("input[name=show_name][value=no]").check()
    _continue(page)
    _send(page)

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.locator("main")).to_contain_text("walker@example.test")
    assert_accessible(page)
    report = Report.objects.get()
    assert not report.is_public

    body = Notification.objects.get(event="report_confirm").body
    link = re.search(r"(/reports/confirm/[^/\s]+/)", body).group(1)
    page.goto(link)
    assert_accessible(page)
    report.refresh_from_db()
    assert report.case_id is None, "opening the link must not send the report"
    _continue(page, "Send my report")
    report.refresh_from_db()
    expect(page.locator(".govuk-panel")).to_contain_text(report.reference)
    assert_accessible(page)
    assert report.is_public


def test_me_too_on_a_nearby_report(page: Page, resident, second_resident, categories, tiles):
    existing = services.report_submit(
        data=services.ReportInput(
            category="pothole",
            latitude=TOWPATH_ROAD[0] + 0.0001,
            longitude=TOWPATH_ROAD[1],
            title="Pothole by the towpath gate",
            description="Deep, full of water.",
            address="Towpath Road",
            answers={"location": "road", "size": "", "hazard": True},
        ),
        reporter=second_resident,
        actor=second_resident,
    )
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    _choose_category(page)
    assert_accessible(page)
    page.get_by_label("Street name or postcode").fill("towpath")
    _continue(page, "Search")
    assert_accessible(page)
    # Choosing the street moves the pin on the map too.
    page.get_by_label("Towpath Road, RV2 2EB").check()
    expect(page.locator("input[name=lat]")).to_have_value(str(TOWPATH_ROAD[0]))
    _continue(page)

    expect(page.get_by_role("heading", name="Is it one of these?")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Pothole by the towpath gate")
    expect(page.locator("main")).to_contain_text("10 metres away")
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role(
            "button", name=re.compile(r"^Me too\b.*Pothole by the towpath gate")
        ).click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "You have said you have this problem too"
    )
    expect(page.locator("main")).to_contain_text("1 person has said “me too”")
    assert_accessible(page)
    assert ReportSupporter.objects.filter(report=existing, user=resident).exists()
    assert Report.objects.count() == 1

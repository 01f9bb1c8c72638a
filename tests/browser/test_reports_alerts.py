"""Email alerts of new street reports in a real browser: a visitor subscribes to a ward
from the public list, confirms by the emailed link, gets an alert once a new report is
public (the job run), and stops it by the email's link; a signed-in resident sets one up
around a street found by search and stops it on "Your alerts".

Map tiles never come from the internet (the ``tiles`` fixture answers with a blank tile).
Every page is checked with axe-core (WCAG 2.2 AA) and at 375 px.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from ecitizen.accounts.models import Jurisdiction
from ecitizen.accounts.services import department_ensure
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.notifications.models import Notification
from ecitizen.reports import geo, services
from ecitizen.reports.demo import CATEGORIES_DIR
from ecitizen.reports.models import ReportAlert
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import sign_in_by_keyboard, submit_main_form, tab_to

pytestmark = pytest.mark.django_db(transaction=True)

#: A point in Riverside ward (on Towpath Road, RV2 2EB, in the gazetteer).
TOWPATH_ROAD = (52.189733, -2.243986)


@pytest.fixture
def riverton(db):
    """Riverton's departments, wards and eight report categories, as the demo has them."""
    department_ensure(slug="public-works", name="Public Works", email="", actor=None)
    department_ensure(
        slug="transport-licensing", name="Transport & Licensing", email="", actor=None
    )
    for ward in geo.area().wards:
        Jurisdiction.objects.get_or_create(code=ward.code, defaults={"name": ward.name})
    service_definitions_publish(directory=CATEGORIES_DIR, actor=None)


@pytest.fixture
def tiles(page: Page) -> None:
    """Answer the map's tile requests with a blank tile (never the internet)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (236, 240, 234)).save(buffer, format="PNG")
    host = urlsplit(settings.MAP_TILE_URL).netloc
    page.context.route(
        re.compile(rf"^https?://{re.escape(host)}/"),
        lambda route: route.fulfill(status=200, content_type="image/png", body=buffer.getvalue()),
    )


def _path(body: str, prefix: str) -> str:
    """The path of the first link in ``body`` that starts with ``prefix``."""
    return re.search(rf"https?://[^/\s]+({re.escape(prefix)}[^\s]*)", body).group(1)


def _click(page: Page, name: str, role: str = "button") -> None:
    with page.expect_navigation():
        page.get_by_role(role, name=name, exact=True).click()


def _new_report(reporter, title: str):
    return services.report_submit(
        data=services.ReportInput(
            category="graffiti",
            latitude=TOWPATH_ROAD[0],
            longitude=TOWPATH_ROAD[1],
            title=title,
            description="Spray paint over the whole wall.",
            address="Towpath Road",
        ),
        reporter=reporter,
        actor=reporter,
    )


def test_a_visitor_subscribes_to_a_ward_confirms_gets_an_alert_and_stops_it(
    page: Page, second_resident, riverton, tiles
):
    page.goto(reverse("reports:list") + "?ward=riverside")
    assert_accessible(page)
    _click(page, "Get an email when new problems are reported in this ward", role="link")
    expect(page.get_by_role("heading", name="Get email alerts about new problems")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Riverside")
    assert_accessible(page)

    # No address: the error names the field, and the choice made is kept.
    page.get_by_label("Which problems? (optional)").select_option(label="Graffiti")
    _click(page, "Get email alerts")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your email address")
    expect(page.get_by_label("Which problems? (optional)")).to_have_value("graffiti")
    assert_accessible(page)
    page.get_by_label("Email address").fill("walker@example.test")
    _click(page, "Get email alerts")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.locator("main")).to_contain_text("walker@example.test")
    assert_accessible(page)
    alert = ReportAlert.objects.get()
    assert not alert.is_active

    # The link in the email: opening it only asks; the button starts the alert.
    body = Notification.objects.get(event="report_alert_confirm").body
    page.goto(_path(body, "/reports/alerts/confirm/"))
    assert_accessible(page)
    alert.refresh_from_db()
    assert not alert.is_active
    _click(page, "Start my alerts")
    expect(page.locator(".govuk-panel")).to_contain_text("Problems reported in Riverside ward")
    assert_accessible(page)
    alert.refresh_from_db()
    assert alert.is_active

    # A new report is made public; the job's next run (its window ends a little before
    # the run: here, minutes later) sends it, once.
    report = _new_report(second_resident, "Graffiti on the lock gates")
    later = timezone.now() + services.ALERT_SETTLE + timedelta(minutes=1)
    assert services.report_alerts_send(now=later).reports == 1
    assert services.report_alerts_send(now=later).reports == 0
    digest = Notification.objects.get(event="report_alert")
    assert digest.recipient == alert.user
    assert "Graffiti on the lock gates (Graffiti)" in digest.body

    page.goto(_path(digest.body, f"/reports/{report.reference}/"))
    expect(page.get_by_role("heading", name="Graffiti on the lock gates")).to_be_visible()
    assert_accessible(page)

    # The link at the bottom of every alert email stops it (after a button).
    page.goto(_path(digest.body, "/reports/alerts/stop/"))
    expect(page.get_by_role("heading", name="Stop these email alerts?")).to_be_visible()
    assert_accessible(page)
    _click(page, "Stop these alerts")
    expect(page.locator(".govuk-panel")).to_contain_text("Your alerts have stopped")
    assert_accessible(page)
    assert not ReportAlert.objects.exists()


@pytest.mark.parametrize("javascript_enabled", [False])
def test_a_resident_sets_up_an_alert_near_a_street_and_stops_it_on_your_alerts(
    page: Page, resident, riverton
):
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    page.goto(reverse("reports:alert_new"))
    assert_accessible(page)
    # Continue without a ward: the error is named and linked.
    _click(page, "Continue")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a ward")
    assert_accessible(page)
    page.get_by_label("Street name or postcode").fill("towpath")
    _click(page, "Search")
    assert_accessible(page)
    _click(page, "Towpath Road, RV2 2EB", role="link")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Towpath Road, RV2 2EB")
    assert_accessible(page)
    page.get_by_label("500 metres").check()
    submit_main_form(page)

    expect(page.get_by_role("heading", name="Your alerts")).to_be_visible()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Your alert is set up")
    expect(page.locator("main")).to_contain_text(
        "Problems reported within 500 metres of Towpath Road, RV2 2EB"
    )
    assert_accessible(page)
    alert = ReportAlert.objects.get()
    assert (alert.user, alert.radius_m, alert.is_active) == (resident, 500, True)

    tab_to(page, "main form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "You will not get alerts about new problems reported within 500 metres"
    )
    expect(page.locator("main")).to_contain_text("You have no email alerts.")
    assert_accessible(page)
    assert not ReportAlert.objects.exists()

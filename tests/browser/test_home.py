"""The home page in a real browser: checked with axe-core at a desktop and a phone width,
in English and Arabic, no wider than the screen; searching from it by keyboard; a signed-in
resident's things to do, each one link away."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ecitizen.cases import services
from ecitizen.payments.models import Bill
from ecitizen.payments.services import BillSpec, LineSpec, bill_create
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import press_enter_and_wait, tab_to
from tests.factories import PASSWORD

# riverton (Riverton's departments, and its services published one by one).
pytest_plugins = ["tests.browser.conftest_services"]
pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 375)


def _check_at_each_width(page: Page) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/")
        assert_accessible(page)
        wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wider <= 0, f"the home page is {wider}px wider than a {width}px screen"


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_home_page_for_visitors_and_residents(
    page: Page, live_server, riverton, resident, language
):
    parking = riverton("residents-parking-permit")
    riverton("renew-driving-licence")
    draft = services.draft_start(service=parking, applicant=resident, actor=resident)
    bill = bill_create(
        spec=BillSpec(
            reference="HOME-0001",
            kind=Bill.Kind.FEE,
            description="Parking permit fee",
            department_id=parking.department_id,
            due_date=timezone.localdate() + timedelta(days=14),
            lines=[LineSpec("Parking permit fee", 6_000, "fee")],
            payer_id=resident.pk,
        ),
        actor=None,
    )
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    _check_at_each_width(page)
    expect(page.locator("#popular-services + ul a")).to_have_count(2)

    if language == "en":
        # Search from the home page, by keyboard.
        tab_to(page, "#service-search")
        page.keyboard.type("parking")
        press_enter_and_wait(page)
        assert_accessible(page)
        expect(page.locator("main")).to_contain_text("residents' parking permit")

    # "Sign in" on the home page comes back to it.
    page.goto("/")
    assert_accessible(page)
    tab_to(page, 'main a[href^="/accounts/login/"]')
    press_enter_and_wait(page)
    assert_accessible(page)
    tab_to(page, "#id_login")
    page.keyboard.type(resident.email)
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    press_enter_and_wait(page)
    assert page.url == f"{live_server.url}/"
    _check_at_each_width(page)
    tasks = page.locator(".govuk-task-list__item")
    expect(tasks).to_have_count(2)
    expect(page.locator(f'a[href="/pay/{bill.reference}/"]')).to_be_visible()
    # The application to finish is one keyboard step away.
    tab_to(page, f'a[href="/application/{draft.pk}/"]')
    press_enter_and_wait(page)
    assert_accessible(page)
    assert f"/application/{draft.pk}/" in page.url

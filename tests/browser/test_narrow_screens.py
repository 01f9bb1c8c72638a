"""Layout at the sizes people use: the pages that were wider than a phone's screen at
375 px (the finance daily report, "Your bills", the instalments table, the staff payment
page, the notification deliveries) fit it; at 1280 px the navigation and the language
links each keep to one row in every language; a reference never breaks across lines; a
back link is inside a landmark.

Every page any browser journey visits is also measured at 375 px by ``assert_accessible``
(tests/browser/conftest.py); this file visits the pages that overflowed, with the data
that made them overflow (long descriptions, provider event ids, "Send again" buttons)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from ecitizen.accounts import services as accounts
from ecitizen.demo import riverton
from ecitizen.documents.tests.signing_fixtures import (  # noqa: F401 - fixtures
    media_storage,
    signing_certificate,
)
from ecitizen.notifications.models import Channel, Notification, Status
from ecitizen.payments.models import Bill, PaymentEvent, PaymentState
from ecitizen.payments.services import BillSpec, LineSpec, bill_create, payment_record_offline
from tests.browser.conftest import NARROW_WIDTH, assert_accessible
from tests.browser.journeys import sign_in_by_cookie

PAGE_WIDTH = "document.documentElement.scrollWidth"


def _use_language(page: Page, live_server, language: str) -> None:
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )


@pytest.fixture
def riverton_finance(db, resident, platform_admin, signing_certificate, media_storage):  # noqa: F811 - fixtures
    """Riverton's departments and wards (with their French and Arabic names); Alex's
    bills: a fee with a long description, paid at the desk with events of long provider
    ids, and property tax in four instalments; a failed notification."""
    from ecitizen.taxes import services as taxes
    from ecitizen.taxes.config import CONFIG_DIR
    from ecitizen.taxes.services import OwnerSpec, PropertySpec

    departments = {
        slug: accounts.department_ensure(
            slug=slug, name=name, names=riverton.DEPARTMENT_NAMES[slug], actor=None
        )
        for slug, name in riverton.DEPARTMENTS
    }
    wards = {
        code: accounts.jurisdiction_ensure(
            code=code, name=name, names=riverton.WARD_NAMES[code], actor=None
        )
        for code, name in riverton.WARDS
    }
    fee = bill_create(
        spec=BillSpec(
            reference="RIV-BP-2026-000012-F",
            kind=Bill.Kind.FEE,
            description="Apply for a building permit (RIV-BP-2026-000012)",
            department_id=departments["planning-building"].pk,
            due_date=timezone.localdate() + timedelta(days=30),
            lines=[LineSpec("Building permit fee", 35_000, "fee")],
            payer_id=resident.pk,
            source_key="test:narrow:fee",
        ),
        actor=None,
    )
    payment = payment_record_offline(bill=fee, amount_minor=35_000)
    for number in range(3):
        PaymentEvent.objects.create(
            payment=payment,
            source=PaymentEvent.Source.WEBHOOK,
            provider_event_id=f"sbx_evt_Q2hlY2tpbmdUaGVXaWR0aE9mVGhl{number}",
            state=PaymentState.SUCCESS,
        )
    taxes.tax_config_load(path=CONFIG_DIR / "2026.yaml", actor=None)
    taxes.property_register(
        spec=PropertySpec(
            parcel="RV000888",
            address_line_1="141 Lock Keeper's Walk",
            town="Riverton",
            postcode="RV3 5WR",
            ward_id=wards["riverside"].pk,
            use_class="residential",
            assessed_value_minor=22_000_000,
            owners=(
                OwnerSpec(
                    name="Alex Morgan",
                    owner_id=resident.pk,
                    share=Decimal("1"),
                    owner_occupier=True,
                    start=date(2020, 1, 1),
                ),
            ),
        ),
        actor=None,
    )
    taxes.tax_assess(year=2026, actor=None)
    Notification.objects.create(
        recipient=resident,
        event="case_submitted",
        channel=Channel.EMAIL,
        language="en",
        subject="We have received your application RIV-BP-2026-000012",
        body="We have received your application.",
        address=resident.email,
        status=Status.FAILED,
        attempts=5,
        last_error="smtp_refused",
    )
    return {"payment": payment}


def test_the_pages_that_overflowed_fit_a_narrow_screen(
    page: Page, live_server, riverton_finance, resident, platform_admin
):
    page.set_viewport_size({"width": NARROW_WIDTH, "height": 800})
    sign_in_by_cookie(page, live_server, resident, official=False)
    for url in [reverse("payments:bills"), reverse("taxes:overview")]:
        page.goto(url)
        assert page.evaluate(PAGE_WIDTH) <= NARROW_WIDTH, url
        assert_accessible(page)
    expect(page.locator("main")).to_contain_text("Instalments of bill")
    page.context.clear_cookies()
    sign_in_by_cookie(page, live_server, platform_admin, official=True)
    for url in [
        reverse("staff:payments_report"),
        reverse("staff:payments"),
        reverse("staff:payment", args=[riverton_finance["payment"].pk]),
        reverse("staff:notifications"),
    ]:
        page.goto(url)
        assert page.url.endswith(url), page.url
        assert page.evaluate(PAGE_WIDTH) <= NARROW_WIDTH, url
        assert_accessible(page)
    # A wide table scrolls inside its own region, reachable by keyboard.
    page.goto(reverse("staff:payments_report"))
    region = page.locator("main .app-table-scroll").first
    assert region.get_attribute("tabindex") == "0"
    assert region.evaluate("element => element.scrollWidth > element.clientWidth")
    assert_accessible(page)


#: How many rows the elements make: an element starts a new row when it is below the
#: bottom of every element before it (items of one row may sit a few pixels apart).
ROWS = """elements => {
  let rows = 0;
  let bottom = -Infinity;
  for (const box of elements.map(e => e.getBoundingClientRect()).sort((a, b) => a.top - b.top)) {
    if (box.top >= bottom - 1) rows += 1;
    bottom = Math.max(bottom, box.bottom);
  }
  return rows;
}"""


def _rows(page: Page, selector: str) -> int:
    return page.eval_on_selector_all(selector, ROWS)


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_navigation_and_languages_keep_to_one_row_on_a_wide_screen(
    page: Page, live_server, riverton_finance, platform_admin, language
):
    """At 1280 px the platform administrator's eleven navigation items wrapped onto two
    rows and the language links stacked: the staff sections are now a second navigation
    of their own (on staff pages), each on one row."""
    page.set_viewport_size({"width": 1280, "height": 800})
    _use_language(page, live_server, language)
    sign_in_by_cookie(page, live_server, platform_admin, official=True)
    for url in [reverse("catalogue:list"), reverse("staff:payments")]:
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == language
        assert _rows(page, ".govuk-service-navigation__item") == 1, url
        assert _rows(page, ".app-language__item") == 1, url
        assert_accessible(page)
    sections = page.locator(".app-sub-navigation__item")
    assert sections.count() >= 6
    assert _rows(page, ".app-sub-navigation__item") == 1


def test_a_reference_is_not_broken_across_lines(
    page: Page, live_server, riverton_finance, resident
):
    """The sandbox's card page broke "RIV-BP-2026-000012-F" after a hyphen on a phone."""
    fee = bill_create(
        spec=BillSpec(
            reference="RIV-RP-2026-000010-F",
            kind=Bill.Kind.FEE,
            description="Apply for a residents' parking permit (RIV-RP-2026-000010)",
            department_id=Bill.objects.first().department_id,
            due_date=timezone.localdate() + timedelta(days=14),
            lines=[LineSpec("Permit fee", 6_000, "fee")],
            payer_id=resident.pk,
            source_key="test:narrow:permit",
        ),
        actor=None,
    )
    page.set_viewport_size({"width": NARROW_WIDTH, "height": 800})
    sign_in_by_cookie(page, live_server, resident, official=False)
    page.goto(reverse("payments:pay", args=[fee.reference]))
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main h1")).to_have_text("Enter card details")
    assert_accessible(page)
    reference = page.locator("main .app-reference", has_text=fee.reference)
    assert reference.evaluate("element => element.getClientRects().length") == 1


def test_a_back_link_is_inside_a_landmark(page: Page, live_server, resident):
    """axe's best-practice rule "region" (not among the WCAG tags the journeys run)."""
    sign_in_by_cookie(page, live_server, resident, official=False)
    page.goto(reverse("notifications:inbox"))
    assert_accessible(page)  # loads axe
    expect(page.locator("nav.app-before-content a.govuk-back-link")).to_be_visible()
    found = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'rule', values: ['region']}})"
        ".then(result => result.violations.map(v => v.nodes.map(n => n.target)))"
    )
    assert found == [], found

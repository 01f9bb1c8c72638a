""" "Your property tax" in a real browser: reached by keyboard from sign-in, the pay
links reachable with the Tab key, the property page, in English and Arabic (right to
left), every page checked with axe-core. Paying with the sandbox card is the payments
journey's test."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.payments.models import Bill
from ecitizen.payments.services import payment_record_offline
from ecitizen.taxes import services
from ecitizen.taxes.config import CONFIG_DIR
from ecitizen.taxes.services import OwnerSpec, PropertySpec
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import press_enter_and_wait, sign_in_by_keyboard, tab_to
from tests.factories import JurisdictionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def home(department, resident):
    """Alex's home on the 2026 roll, its first instalment paid."""
    services.tax_config_load(path=CONFIG_DIR / "2026.yaml", actor=None)
    ward = JurisdictionFactory(code="riverside", name="Riverside")
    prop = services.property_register(
        spec=PropertySpec(
            parcel="RV000777",
            address_line_1="14 Lock Keeper's Walk",
            town="Riverton",
            postcode="RV3 5LK",
            ward_id=ward.pk,
            use_class="residential",
            assessed_value_minor=31_250_000,
            owners=(
                OwnerSpec(
                    name="Alex Morgan",
                    owner_id=resident.pk,
                    owner_occupier=True,
                    start=date(2019, 6, 1),
                ),
            ),
        ),
        actor=None,
    )
    services.tax_assess(year=2026, actor=None, issued_on=date(2026, 3, 16))
    bill = Bill.objects.get(source_key="tax:2026:RV000777")
    payment_record_offline(bill=bill, amount_minor=bill.instalments[0]["amount_minor"])
    return prop


@pytest.mark.parametrize("language", [pytest.param("en", marks=pytest.mark.smoke), "ar"])
def test_a_resident_reads_their_property_tax_by_keyboard(
    page: Page, live_server, resident, home, language
):
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)

    page.goto(reverse("taxes:overview"))
    assert_accessible(page)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
    bill = Bill.objects.get(source_key="tax:2026:RV000777")
    main = page.locator("main")
    expect(main).to_contain_text("14 Lock Keeper's Walk")
    expect(main).to_contain_text(bill.reference)
    expect(main.locator("tbody tr")).to_have_count(4)  # four instalments

    # The next unpaid instalment and the whole balance can be paid; both are reachable
    # with the Tab key and lead to the payments page for this bill.
    pay = reverse("payments:pay", args=[bill.reference])
    tab_to(page, f"main a[href='{pay}?instalment=2']")
    tab_to(page, f"main a[href='{pay}']")

    # The property's own page, opened with Enter.
    tab_to(page, f"main a[href='{reverse('taxes:property', args=[home.parcel])}']")
    press_enter_and_wait(page)
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("14 Lock Keeper's Walk")
    expect(page.locator("main")).to_contain_text("RV000777")

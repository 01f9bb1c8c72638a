"""Paying in the browser: a visitor pays a parking fine by reference without an account;
a declined card gives a clear message and the payer tries again; the receipt downloads.
Every page, the sandbox provider's card page included, is checked with axe."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ecitizen.accounts.models import Department
from ecitizen.documents.tests.signing_fixtures import (  # noqa: F401 - fixtures
    media_storage,
    signing_certificate,
)
from ecitizen.payments.ledger import ledger_verify
from ecitizen.payments.models import Bill, LedgerTransaction, Payment, PaymentState
from ecitizen.payments.services import BillSpec, LineSpec, bill_create
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import press_enter_and_wait, sign_in_by_keyboard, tab_to
from tests.browser.services_support import DECLINED_CARD, fill_card, pay_by_card


@pytest.fixture
def fine(db, signing_certificate, media_storage):  # noqa: F811 - fixtures
    department = Department.objects.create(slug="transport-licensing", name="Transport & Licensing")
    return bill_create(
        spec=BillSpec(
            reference="PCN-2026-000042",
            kind=Bill.Kind.FINE,
            description="Parking penalty charge: parked on a double yellow line",
            department_id=department.pk,
            due_date=timezone.localdate() + timedelta(days=14),
            lines=[LineSpec("Penalty charge", 7_000, "fine")],
            verification_postcode="RV1 4AB",
            source_key="test:pcn:42",
        ),
        actor=None,
    )


@pytest.mark.smoke
def test_a_visitor_pays_a_fine_by_reference_by_keyboard(page: Page, fine):
    page.goto("/pay/")
    assert_accessible(page)
    # The tests pay through the sandbox: every page says that payments are not real.
    expect(page.locator("#payments-not-real")).to_contain_text(
        "Payments on this site are not real."
    )
    tab_to(page, "#id_reference")
    page.keyboard.type("pcn-2026-000042")
    tab_to(page, "#id_postcode")
    page.keyboard.type("RV9 9ZZ")  # not the postcode on the notice
    press_enter_and_wait(page)
    assert_accessible(page)
    expect(page.locator("main")).to_contain_text("We could not find a bill with this reference")
    tab_to(page, "#id_postcode")
    page.keyboard.press("Control+A")
    page.keyboard.type("rv1 4ab")
    press_enter_and_wait(page)
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Pay your bill")
    expect(page.locator("main")).to_contain_text("£70.00")
    # Nothing personal of the bill is shown: no name, no address.
    expect(page.locator("main")).not_to_contain_text("RV1 4AB")
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    fill_card(page, "4242 4242 4242 4242", keyboard=True)
    assert_accessible(page)
    expect(page.locator("main .govuk-panel")).to_contain_text("Payment received")
    expect(page.locator("main .govuk-panel")).to_contain_text("£70.00")
    fine.refresh_from_db()
    assert fine.balance_minor == 0
    receipt = page.locator("main a", has_text="Download your receipt")
    response = page.request.get(receipt.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    assert ledger_verify().ok


def test_a_declined_card_is_explained_and_the_payer_tries_again(page: Page, fine, resident):
    Bill.objects.filter(pk=fine.pk).update(payer=resident)
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    page.goto("/account/bills/")
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("main a", has_text="Pay").first.click()
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    fill_card(page, DECLINED_CARD)
    expect(page.locator("main h1")).to_have_text("Your payment did not go through")
    expect(page.locator("main")).to_contain_text("Your card was declined. No money was taken.")
    fine.refresh_from_db()
    assert fine.paid_minor == 0
    # The payment page of the declined attempt cannot be used again.
    declined = Payment.objects.get(state=PaymentState.FAILED)
    page.goto(declined.next_url)
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("This payment page has expired")
    page.go_back()
    assert_accessible(page)
    pay_by_card(page)  # "Try again"
    expect(page.locator("main .govuk-panel")).to_contain_text("Payment received")
    fine.refresh_from_db()
    assert fine.balance_minor == 0
    assert LedgerTransaction.objects.filter(kind="payment").count() == 1


@pytest.fixture
def tax_bill(department, resident, signing_certificate, media_storage):  # noqa: F811 - fixtures
    """Alex's home on the 2026 roll, assessed: four instalments, none paid."""
    from ecitizen.taxes import services as taxes
    from ecitizen.taxes.config import CONFIG_DIR
    from ecitizen.taxes.services import OwnerSpec, PropertySpec
    from tests.factories import JurisdictionFactory

    taxes.tax_config_load(path=CONFIG_DIR / "2026.yaml", actor=None)
    ward = JurisdictionFactory(code="riverside", name="Riverside")
    taxes.property_register(
        spec=PropertySpec(
            parcel="RV000888",
            address_line_1="3 Weaver's Row",
            town="Riverton",
            postcode="RV3 5WR",
            ward_id=ward.pk,
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
    return Bill.objects.get(payer=resident, kind=Bill.Kind.PROPERTY_TAX)


def test_a_resident_pays_one_property_tax_instalment_and_downloads_the_receipt(
    page: Page, tax_bill, resident
):
    first = tax_bill.instalment_status()[0]
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    page.goto("/account/property-tax/")
    assert_accessible(page)
    pay_by_card(page)  # "Pay this instalment"
    expect(page.locator("main .govuk-panel")).to_contain_text("Payment received")
    tax_bill.refresh_from_db()
    assert tax_bill.paid_minor == first["amount_minor"]
    status = tax_bill.instalment_status()
    assert status[0]["outstanding_minor"] == 0
    assert status[1]["paid_minor"] == 0
    payment = Payment.objects.get(bill=tax_bill)
    assert payment.instalment_number == 1
    with page.expect_download() as download:
        page.locator("main a", has_text="Download your receipt").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")
    assert ledger_verify().ok

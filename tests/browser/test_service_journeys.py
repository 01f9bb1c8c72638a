"""Riverton's six services in a real browser, from the start page to the issued document:
a resident applies, an official of the service's department takes the workflow actions
to the decision, the resident downloads the document. One application is made by
keyboard only (the driving licence: radios, checkboxes, a date, a photo), one with
JavaScript turned off (the parking permit, with its upload); the building permit goes
through a "more information needed" round trip on its way. Also: a resident who cannot
use a service, and a validation error that keeps the answers.

Every page either browser loads is checked with axe-core (WCAG 2.2 AA).
"""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from ecitizen.accounts.models import Department, Role
from ecitizen.cases.models import Case, Draft
from ecitizen.cases.services import spec_for
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import enter_totp_code, sign_in_by_keyboard
from tests.browser.services_support import (
    Journey,
    apply,
    download_document,
    fill_question_page,
    in_days,
    open_case,
    open_case_from_queue,
    pay_by_card,
    pdf,
    png,
    start_application,
    take_action,
    take_actions,
)
from tests.personas import TOTP_SECRET, _official

# riverton, official_page (and the signing key and media folder they use).
pytest_plugins = ["tests.browser.conftest_services"]
pytestmark = pytest.mark.django_db(transaction=True)

HOME = "12 River Walk\nRiverton\nRV1 2AB"

JOURNEYS = {
    "residents-parking-permit": Journey(
        slug="residents-parking-permit",
        answers={
            "zone": "B",
            "home_address": HOME,
            "vehicle_registration": "RV21 KTE",
            "vehicle_make": "Ford Fiesta",
            "keeper": "me",
            "proof_of_address": [pdf("council-tax-bill.pdf")],
        },
        steps=[("start_review", {}), ("approve", {})],
        final_state="approved",
        status="Your parking permit is ready",
        document="Residents' parking permit",
    ),
    "birth-certificate-copy": Journey(
        slug="birth-certificate-copy",
        answers={
            "born_in_riverton": "yes",
            "whose_certificate": "mine",
            "full_name_mine": "Alex Morgan",
            "date_of_birth_mine": datetime.date(1990, 2, 28),
            "place_of_birth": "Riverton General Hospital",
            "mother_name": "Jane Morgan (née Ellis)",
            "father_name": None,
            "copies": "2",
            "delivery": "collect",
        },
        steps=[("start_identity_check", {}), ("confirm_identity", {}), ("record_found", {})],
        final_state="approved",
        status="Your copies are ready",
        document="Certified copy of a birth certificate",
    ),
    "building-permit": Journey(
        slug="building-permit",
        answers={
            "permission_to_build": "yes",
            "applicant_role": "owner",
            "project_address": HOME,
            "project_type": "extension",
            "description": "A single-storey rear extension, 4 m by 3 m, brick with a tiled roof.",
            "planned_start": None,
            "estimated_value": "18000",
            "plans": [pdf("plans.pdf", "Site plan, floor plans and elevations")],
            "phone": "07700 900123",
            "email": "resident@example.test",
        },
        steps=[
            ("start_planning_review", {}),
            ("accept_planning", {}),
            ("book_inspection", {"text": "The inspector will visit on Tuesday at 10am."}),
            ("inspection_passed", {"files": [pdf("inspection-report.pdf", "Inspection")]}),
        ],
        final_state="approved",
        status="Your building permit has been granted",
        document="Building permit",
    ),
    "freedom-of-information": Journey(
        slug="freedom-of-information",
        answers={
            "requester_name": "Alex Morgan",
            "information": "The number of potholes repaired in Riverside ward in 2025, by month.",
            "format": "electronic",
            "reply_by_email": "yes",
            "email": "resident@example.test",
        },
        steps=[
            ("start_search", {}),
            ("send_to_review", {}),
            (
                "release",
                {
                    "text": "Here are the figures you asked for.",
                    "files": [pdf("potholes-2025.pdf", "Potholes repaired in 2025")],
                },
            ),
        ],
        final_state="released",
        status="Information released",
        document="Response to your freedom of information request",
    ),
    "renew-driving-licence": Journey(
        slug="renew-driving-licence",
        answers={
            "holds_riverton_licence": "yes",
            "licence_revoked": "no",
            "full_name": "Alex Morgan",
            "date_of_birth": datetime.date(1985, 3, 27),
            "national_id": "RV20260001",
            "licence_number": "RV12345678",
            "categories": ["B"],
            "photo": [png("photo.png")],
            "medical_condition": "no",
            "address": HOME,
            "phone": None,
        },
        steps=[("start_review", {}), ("approve", {})],
        final_state="approved",
        status="Your new licence is on its way",
        document="Driving licence",
    ),
    "trading-licence": Journey(
        slug="trading-licence",
        answers={
            "trades_in_riverton": "yes",
            "business_name": "Morgan's Bicycles",
            "legal_structure": "sole_trader",
            "responsible_name": "Alex Morgan",
            "national_id": "RV20260001",
            "trading_address": "3 Market Square\nRiverton\nRV1 1AA",
            "trade_category": "retail",
            "opening_hours": "Monday to Saturday, 9am to 5pm.",
            "start_date": in_days(45),
            "phone": "07700 900123",
            "email": "resident@example.test",
        },
        steps=[("start_review", {}), ("approve", {})],
        final_state="approved",
        status="Your trading licence has been granted",
        document="Trading licence",
    ),
}


def _official_for(service, steps):
    """An official allowed to take every step: a role every action's ``by.roles`` names,
    in the department the actions belong to (``by.department`` or the service's)."""
    spec = spec_for(service.current_version)
    actions = [spec.actions[action_id] for action_id, _ in steps]
    departments = {spec.action_department(action) for action in actions}
    assert len(departments) == 1, departments
    roles = set.intersection(*(set(action["by"]["roles"]) for action in actions))
    role = Role.CASE_OFFICER if Role.CASE_OFFICER in roles else sorted(roles)[0]
    department = Department.objects.get(slug=departments.pop())
    return _official(role, department, email=f"{department.slug}.officer@example.test")


def _sign_in_official(page: Page, official) -> None:
    sign_in_by_keyboard(page, official.email)
    assert_accessible(page)  # the code page
    enter_totp_code(page, TOTP_SECRET)
    assert_accessible(page)


@pytest.mark.parametrize(
    ("slug", "keyboard", "javascript_enabled"),
    [
        pytest.param(
            "residents-parking-permit", False, False, id="parking-permit-without-javascript"
        ),
        pytest.param(
            "renew-driving-licence",
            True,
            True,
            id="driving-licence-by-keyboard",
            marks=pytest.mark.smoke,
        ),
        pytest.param("birth-certificate-copy", False, True, id="birth-certificate"),
        pytest.param("freedom-of-information", False, True, id="freedom-of-information"),
        pytest.param("trading-licence", False, True, id="trading-licence"),
    ],
)
def test_apply_decide_and_download_the_document(
    page: Page, official_page: Page, riverton, resident, slug, keyboard, javascript_enabled
):
    """The sixth service, the building permit, goes the whole way in
    :func:`test_building_permit_more_information_round_trip`."""
    journey = JOURNEYS[slug]
    service = riverton(slug)
    official = _official_for(service, journey.steps)

    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    reference = apply(page, slug, journey.answers, keyboard=keyboard)
    case = Case.objects.get(reference=reference)
    assert case.applicant_id == resident.pk
    assert case.service_id == service.pk
    assert case.state == spec_for(service.current_version).initial_state
    if case.payment_status == "due":
        # The fee is due on applying: paid by card, the case moves on by itself.
        pay_by_card(page, keyboard=keyboard)
        expect(page.locator("main .govuk-panel")).to_contain_text("Payment received")
        case.refresh_from_db()
        assert case.payment_status == "paid"
        assert case.due_date is not None

    _sign_in_official(official_page, official)
    take_actions(official_page, reference, journey.steps)
    case.refresh_from_db()
    assert case.state == journey.final_state

    open_case(page, reference)
    expect(page.locator("main .govuk-summary-list .govuk-tag")).to_have_text(journey.status)
    # What the official attached (the released records, for instance) reaches the resident.
    for _, given in journey.steps:
        for attached in given.get("files", []):
            expect(
                page.locator("main .app-timeline").get_by_role("link", name=attached["name"])
            ).to_be_visible()
    download_document(page, journey.document, keyboard=keyboard)


def test_building_permit_more_information_round_trip(
    page: Page, official_page: Page, riverton, resident
):
    """Planning review, a request for more information answered with a message and a
    file, building control, the site inspection, the permit."""
    journey = JOURNEYS["building-permit"]
    service = riverton("building-permit")
    officer = _official_for(service, journey.steps)
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    reference = apply(page, "building-permit", journey.answers)
    assert Case.objects.get(reference=reference).state == "submitted"

    # The planning officer asks for more information.
    question = "Please add the distance between the extension and the boundary to the site plan."
    _sign_in_official(official_page, officer)
    open_case_from_queue(official_page, reference)
    take_action(official_page, reference, "start_planning_review", {})
    take_action(official_page, reference, "request_planning_information", {"text": question})

    # The resident sees the banner and the message, and replies with a file.
    open_case(page, reference)
    banner = page.locator("main .govuk-notification-banner")
    expect(banner).to_contain_text("We need more information from you")
    expect(page.locator("main .govuk-summary-list .govuk-tag")).to_have_text(
        "We need more information from you"
    )
    expect(page.locator("main .app-timeline")).to_contain_text(question)
    reply_link = page.locator("main a.govuk-button", has_text="Send the information we asked for")
    with page.expect_navigation():
        reply_link.click()
    assert_accessible(page)
    answer = "The extension is 2.5 metres from the boundary; the revised site plan shows it."
    page.locator("#id_text").fill(answer)
    page.locator("main form input[type=file]").set_input_files(
        [pdf("revised-site-plan.pdf", "Revised plan")]
    )
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith(f"/applications/{reference}/"), page.url
    assert_accessible(page)
    expect(page.locator("main .govuk-summary-list .govuk-tag")).to_have_text(
        "We are checking your project against the planning rules"
    )
    expect(page.locator("main .govuk-notification-banner--important")).to_have_count(0)
    expect(page.locator("main .app-timeline")).to_contain_text(answer)

    # The officer reads the reply and its file, and takes the case to the permit.
    official_page.reload()
    assert_accessible(official_page)
    history = official_page.locator("main .app-timeline")
    expect(history).to_contain_text(answer)
    expect(history.get_by_role("link", name="revised-site-plan.pdf")).to_be_visible()
    for action_id, given in journey.steps[1:]:
        take_action(official_page, reference, action_id, given)
    assert Case.objects.get(reference=reference).state == journey.final_state

    open_case(page, reference)
    expect(page.locator("main .govuk-summary-list .govuk-tag")).to_have_text(journey.status)
    # The permit's fee is due once approved: the resident pays it, then gets the permit.
    expect(page.locator("main .govuk-notification-banner")).to_contain_text("Pay the fee")
    pay_by_card(page)
    expect(page.locator("main .govuk-panel")).to_contain_text("Payment received")
    open_case(page, reference)
    download_document(page, journey.document)


def test_a_resident_outside_the_parking_zones_is_told_why(page: Page, riverton, resident):
    riverton("residents-parking-permit")
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    start_application(page, "residents-parking-permit")
    assert_accessible(page)
    page.locator("input[name=answer][value=none]").check()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/cannot-apply/zone/" in page.url, page.url
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("You cannot use this service")
    expect(page.locator("main")).to_contain_text(
        "Residents' parking permits exist only in zones A (Old Town), B (Riverside) and C "
        "(Harbour). Outside these zones, street parking is free and you do not need a permit."
    )
    assert not Case.objects.exists()


def test_a_wrong_answer_is_explained_and_the_other_answers_are_kept(page: Page, riverton, resident):
    riverton("residents-parking-permit")
    answers = dict(JOURNEYS["residents-parking-permit"].answers)
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    start_application(page, "residents-parking-permit")
    # Through the zone question and the address page to the vehicle page.
    assert page.url.endswith("/eligibility/zone/"), page.url
    assert_accessible(page)
    page.locator("input[name=answer][value=B]").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    assert page.url.endswith("/page/address/"), page.url
    assert_accessible(page)
    fill_question_page(page, answers)
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
    assert page.url.endswith("/page/vehicle/"), page.url
    assert_accessible(page)
    fill_question_page(page, {**answers, "vehicle_registration": "NOT A PLATE!", "keeper": "lease"})
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
    assert page.url.endswith("/page/vehicle/"), page.url
    assert_accessible(page)

    assert page.title().startswith("Error: "), page.title()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("There is a problem")
    link = summary.get_by_role(
        "link", name="Enter the registration number in the right format, like AB12 CDE"
    )
    expect(link).to_have_attribute("href", "#id_vehicle_registration")
    expect(page.locator("#id_vehicle_registration-error")).to_contain_text(
        "Enter the registration number in the right format"
    )
    # Nothing already typed is lost.
    expect(page.locator("#id_vehicle_registration")).to_have_value("NOT A PLATE!")
    expect(page.locator("#id_vehicle_make")).to_have_value("Ford Fiesta")
    expect(page.locator("input[name=keeper][value=lease]")).to_be_checked()
    # The summary's link takes the person to the field.
    link.click()
    expect(page.locator("#id_vehicle_registration")).to_be_focused()

    page.locator("#id_vehicle_registration").fill("RV21 KTE")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
    assert page.url.endswith("/page/proof/"), page.url
    assert_accessible(page)
    draft = Draft.objects.get(applicant=resident)
    assert draft.answers["vehicle_registration"] == "RV21 KTE"
    assert draft.answers["vehicle_make"] == "Ford Fiesta"
    assert draft.answers["keeper"] == "lease"

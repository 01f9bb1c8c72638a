"""Feedback in a real browser: a visitor pays a parking fine and, on the page that
confirms the payment, says how satisfied they were (by keyboard); a visitor makes a
complaint without an account, confirms it from the email, and takes it through stage 1
(acknowledged, replied to by the complaints team in the case queue) and stage 2 (a
review they ask for on the complaint's own page, replied to by a supervisor).

Every page either browser loads is checked with axe-core (WCAG 2.2 AA).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from ecitizen.accounts.models import Department, Role
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.documents.tests.signing_fixtures import (  # noqa: F401 - fixtures
    media_storage,
    signing_certificate,
)
from ecitizen.feedback.demo import DEFINITIONS
from ecitizen.feedback.models import Rating, Step, Submission
from ecitizen.payments.models import Bill, Payment
from ecitizen.payments.services import BillSpec, LineSpec, bill_create
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import (
    enter_totp_code,
    press_enter_and_wait,
    sign_in_by_keyboard,
    tab_to,
)
from tests.browser.services_support import (
    fill_card,
    open_case_from_queue,
    tab_until,
    take_action,
)
from tests.personas import TOTP_SECRET, _official

# official_page: the complaints officer's own browser.
pytest_plugins = ["tests.browser.conftest_services"]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fine(db, signing_certificate, media_storage):  # noqa: F811 - fixtures
    department = Department.objects.create(slug="transport-licensing", name="Transport & Licensing")
    return bill_create(
        spec=BillSpec(
            reference="PCN-2026-000077",
            kind=Bill.Kind.FINE,
            description="Parking penalty charge: parked on a double yellow line",
            department_id=department.pk,
            due_date=timezone.localdate() + timedelta(days=14),
            lines=[LineSpec("Penalty charge", 7_000, "fine")],
            verification_postcode="RV1 4AB",
            source_key="test:pcn:77",
        ),
        actor=None,
    )


def _choose_radio_by_keyboard(page: Page, name: str, label: str) -> None:
    """Tab into the radio group, move with the arrow keys to the option labelled
    ``label``, select it with Space."""
    tab_until(page, "e.name === arg", name, f"the radios {name!r}")
    target = page.get_by_label(label, exact=True)
    for _ in range(10):
        if target.evaluate("element => element === document.activeElement"):
            page.keyboard.press("Space")
            expect(target).to_be_checked()
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no radio {label!r} reachable with the arrow keys")


@pytest.mark.smoke
def test_a_visitor_pays_a_fine_and_rates_the_payment_by_keyboard(page: Page, fine):
    page.goto("/pay/")
    assert_accessible(page)
    tab_to(page, "#id_reference")
    page.keyboard.type("PCN-2026-000077")
    tab_to(page, "#id_postcode")
    page.keyboard.type("RV1 4AB")
    press_enter_and_wait(page)
    assert_accessible(page)
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    fill_card(page, "4242 4242 4242 4242", keyboard=True)
    assert_accessible(page)
    expect(page.locator("main .govuk-panel")).to_contain_text("Payment received")

    # The confirmation asks how it went: GOV.UK's five-point scale and a comment.
    question = page.locator("main form[action='/feedback/rate/']")
    expect(question).to_contain_text("How satisfied were you with this service?")
    expect(question).to_contain_text("We remove anything that looks like personal information")
    # Sent without a choice: the error is named, and the comment is kept.
    tab_to(page, "#feedback-comment")
    page.keyboard.type("Easy. Text me on 07700 900461 when it is cleared.")
    tab_to(page, "main form[action='/feedback/rate/'] button[type=submit]")
    press_enter_and_wait(page)
    assert_accessible(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select how satisfied you were with this service"
    )
    expect(page.locator("#feedback-comment")).to_have_value(
        "Easy. Text me on 07700 900461 when it is cleared."
    )
    _choose_radio_by_keyboard(page, "level", "Satisfied")
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Thank you for your feedback")

    rating = Rating.objects.get()
    assert (rating.step, rating.service_key, rating.level) == (Step.PAYMENT, "payments.fine", 4)
    assert rating.department_id == fine.department_id
    assert rating.comment == "Easy. Text me on [phone] when it is cleared."

    # Back on the payment's page, the question has been answered.
    payment = Payment.objects.get(bill=fine)
    page.goto(reverse("payments:return", args=[payment.pk]))
    assert_accessible(page)
    expect(page.locator("main")).to_contain_text("Thank you for your feedback.")
    expect(page.locator("main form[action='/feedback/rate/']")).to_have_count(0)


def _mail_link(pattern: str) -> str:
    """The path of the newest link matching ``pattern`` in the mail sent so far."""
    for message in reversed(mail.outbox):
        match = re.search(r"https?://[^/\s]+(" + pattern + ")", message.body)
        if match:
            return match.group(1)
    raise AssertionError(f"no mail with a link like {pattern}")


@pytest.fixture
def complaints(db):
    """The complaints procedure (this app's definition), Public Works to complain about,
    and the Communications supervisor who works the complaints."""
    Department.objects.create(slug="public-works", name="Public Works")
    comms = Department.objects.create(slug="communications", name="Communications")
    service_definitions_publish(directory=DEFINITIONS, actor=None)
    return _official(Role.SUPERVISOR, comms, email="comms.supervisor@example.test")


def _officer_takes(official_page: Page, official, reference: str, actions) -> None:
    if "/staff/" not in official_page.url:
        sign_in_by_keyboard(official_page, official.email)
        assert_accessible(official_page)
        enter_totp_code(official_page, TOTP_SECRET)
        assert_accessible(official_page)
    open_case_from_queue(official_page, reference)
    for action_id, text in actions:
        take_action(official_page, reference, action_id, {"text": text})


def test_a_visitor_s_complaint_goes_through_stage_1_and_stage_2(
    page: Page, official_page: Page, complaints
):
    official = complaints
    page.goto("/feedback/")
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Make a complaint").click()
    assert_accessible(page)
    page.locator("#id_about").select_option(label="Public Works (in general)")
    page.locator("#id_what_happened").fill(
        "Our street's bins were not collected for three weeks in a row."
    )
    page.locator("#id_name").fill("Vera Visitor")
    page.locator("#id_email").fill("vera.visitor@example.test")
    with page.expect_navigation():
        page.get_by_role("button", name="Send your complaint").click()
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Check your email")
    assert not Submission.objects.filter(case__isnull=False).exists()

    page.goto(_mail_link(r"/feedback/confirm/[^/\s]+/"))
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text("Your complaint")
    expect(page.locator("main")).to_contain_text("We acknowledge it by")
    complaint = Submission.objects.get()
    reference = complaint.case.reference
    expect(page.locator("main")).to_contain_text(reference)
    link = page.url.removeprefix(page.url.split("/feedback/")[0])

    # Stage 1: the complaints team acknowledges and replies, from the case queue.
    _officer_takes(
        official_page,
        official,
        reference,
        [
            ("acknowledge", ""),
            ("respond", "We are sorry: the crew missed your street. It is now on the round."),
        ],
    )
    complaint.refresh_from_db()
    assert complaint.acknowledged_at is not None
    assert complaint.responded_at is not None

    # The complainant follows the emailed link, reads the reply and asks for a review.
    assert _mail_link(r"/feedback/complaints/[^/\s]+/") == link
    page.goto(link)
    assert_accessible(page)
    expect(page.locator("main")).to_contain_text("the crew missed your street")
    with page.expect_navigation():
        page.get_by_role("button", name="Ask for a review").click()
    assert_accessible(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Tell us why you are not satisfied with our reply"
    )
    page.locator("#id_reason").fill("They were missed again this week.")
    with page.expect_navigation():
        page.get_by_role("button", name="Ask for a review").click()
    assert_accessible(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "You have asked for a review of your complaint."
    )
    expect(page.locator("main")).to_contain_text("A senior officer is reviewing your complaint")
    expect(page.locator("main")).to_contain_text("We reply to your review request by")

    # Stage 2: the supervisor replies.
    _officer_takes(
        official_page,
        official,
        reference,
        [("respond_stage2", "We have changed the round so that your street is done first.")],
    )
    page.reload()
    assert_accessible(page)
    expect(page.locator("main")).to_contain_text("We have sent our final reply to your complaint")
    expect(page.locator("main")).to_contain_text("your street is done first")
    complaint.refresh_from_db()
    assert complaint.stage2_responded_at is not None
    assert complaint.closed_at is not None

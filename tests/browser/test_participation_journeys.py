"""Taking part in a real browser: a resident responds to an open survey (in English, and in
Arabic, right to left); supports a proposal, and a second click says they already did; casts
a knapsack ballot by keyboard only, the running total read out as they tick, then changes it
(the last one counts); casts an approval ballot with JavaScript off (the "Update total"
button); an assisted-digital helper enters a paper ballot for a resident by their national
identity number; the organiser counts the ballots, publishes the results, and the public
results page shows the winners and what each way of counting would have chosen.

The world is built through the participation services (a published process of the Revenue
department, its phases dated around today, a survey, a proposal, a budget with one heading
for the whole area). Every page is checked with axe-core (WCAG 2.2 AA) and at 375 px by
``assert_accessible``."""

from __future__ import annotations

import re
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from ecitizen.accounts.services import identity_verification_record, preferences_update
from ecitizen.participation.models import (
    Ballot,
    Budget,
    Channel,
    Consultation,
    Heading,
    Phase,
    Process,
    Project,
    Response,
    Support,
)
from ecitizen.participation.services import budgets, consultations, processes, proposals
from ecitizen.participation.services.common import (
    person_key_for_national_id,
    person_key_for_user,
)
from tests.browser.conftest import AccessibilityLedger, assert_accessible
from tests.browser.journeys import (
    enter_totp_code,
    press_enter_and_wait,
    sign_in_by_cookie,
    sign_in_by_keyboard,
    tab_to,
)
from tests.personas import TOTP_SECRET

pytestmark = pytest.mark.django_db(transaction=True)

#: Where the journeys leave the screenshots of the survey, ballot and results pages.
SCREENSHOTS = Path(tempfile.gettempdir())
NATIONAL_ID = "RV12345678"
#: The survey's questions, in English and Arabic.
QUESTIONS = [
    {
        "id": "visits",
        "type": "single_choice",
        "label": {"en": "How often do you visit Riverside Park?", "ar": "كم مرة تزور حديقة النهر؟"},
        "error_label": {"en": "how often you visit the park", "ar": "عدد مرات زيارتك للحديقة"},
        "choices": [
            {"value": "weekly", "label": {"en": "Every week", "ar": "كل أسبوع"}},
            {"value": "monthly", "label": {"en": "Every month", "ar": "كل شهر"}},
            {"value": "rarely", "label": {"en": "Rarely", "ar": "نادرًا"}},
        ],
    },
    {
        "id": "play",
        "type": "yes_no",
        "label": {"en": "Should the play area be extended?", "ar": "هل يجب توسيع منطقة اللعب؟"},
        "errors": {
            "required": {
                "en": "Select yes if the play area should be extended",
                "ar": "اختر نعم إذا كان يجب توسيع منطقة اللعب",
            }
        },
    },
    {
        "id": "ideas",
        "type": "long_text",
        "required": False,
        "label": {"en": "What else would you change?", "ar": "ما الذي تود تغييره أيضًا؟"},
        "error_label": {"en": "what you would change", "ar": "ما تود تغييره"},
    },
]
#: The budget's projects (title, cost in pounds) in its one heading of £400,000.
PROJECTS = [
    ("New playground at Riverside Park", 250_000),
    ("Trees along Mill Lane", 150_000),
    ("Safer crossing by the school", 100_000),
    ("Benches on the towpath", 50_000),
]


# --- the world, through the services -----------------------------------------------------


def _process(officer, department, *, title: str, slug: str, phases) -> Process:
    """A published process of ``department`` made by ``officer`` (its organiser), with
    ``phases`` (kind, first and last day as offsets from today)."""
    today = timezone.localdate()
    process = processes.process_create(
        title=title,
        summary=f"{title}: have your say.",
        description="What we plan, and how you can take part.",
        department=department,
        wards=[],
        slug=slug,
        actor=officer,
    )
    for kind, first, last in phases:
        processes.phase_add(
            process=process,
            kind=kind,
            starts_on=today + timedelta(days=first),
            ends_on=today + timedelta(days=last),
            actor=officer,
        )
    return processes.process_publish(process=process, actor=officer)


def _budget(
    officer,
    department,
    *,
    kind: str = Budget.BallotKind.KNAPSACK,
    max_projects: int | None = None,
    vote: tuple[int, int] = (-2, 10),
    amount: int = 400_000,
    projects=PROJECTS,
) -> tuple[Process, Heading, list[Project]]:
    """The process "budget-2027" with a vote phase from ``vote[0]`` to ``vote[1]`` days from
    today, a budget of ``amount`` pounds counted by equal shares (completed) with one
    heading for the whole area ("city") and ``projects``, all found feasible."""
    process = _process(
        officer,
        department,
        title="Riverton budget 2027",
        slug="budget-2027",
        phases=[(Phase.Kind.VOTE, *vote)],
    )
    budget = budgets.budget_create(
        process=process,
        settings=budgets.BudgetSettings(
            total_amount=Decimal(amount), ballot_kind=kind, max_projects=max_projects
        ),
        actor=officer,
    )
    heading = budgets.heading_add(
        budget=budget,
        fields=budgets.HeadingFields(slug="city", name="Whole city", amount=Decimal(amount)),
        actor=officer,
    )
    made = []
    for title, cost in projects:
        project = budgets.project_add(
            heading=heading,
            title=title,
            description=f"{title}: what it is and where.",
            department=department,
            cost=Decimal(cost),
            actor=officer,
        )
        made.append(
            budgets.project_review(
                project=project, feasibility=Project.Feasibility.FEASIBLE, actor=officer
            )
        )
    return process, heading, made


@pytest.fixture
def survey(engagement_officer, department) -> Consultation:
    """An open survey "Riverside Park" (with its Arabic texts) of a process whose
    information phase runs around today."""
    process = _process(
        engagement_officer,
        department,
        title="Riverside regeneration plan",
        slug="riverside",
        phases=[(Phase.Kind.INFORMATION, -5, 20)],
    )
    now = timezone.now()
    made = consultations.consultation_create(
        process=process,
        data=consultations.ConsultationInput(
            title="Riverside Park",
            kind=Consultation.Kind.SURVEY,
            body="We plan to extend the park.\n\nTell us what you think.",
            opens_at=now - timedelta(days=2),
            closes_at=now + timedelta(days=14),
            questions=QUESTIONS,
            translations={
                "ar": {
                    "title": "حديقة النهر",
                    "body": "نخطط لتوسيع الحديقة. أخبرنا برأيك.",
                }
            },
        ),
        actor=engagement_officer,
    )
    return consultations.consultation_open(consultation=made, actor=engagement_officer)


# --- steps -------------------------------------------------------------------------------


def _sign_in_official(page: Page, user) -> None:
    """Password, then the authenticator code (officials need their second factor)."""
    sign_in_by_keyboard(page, user.email)
    assert_accessible(page)  # the code page
    enter_totp_code(page, TOTP_SECRET)
    assert_accessible(page)


def _click(page: Page, locator) -> None:
    with page.expect_navigation():
        locator.click()
    assert_accessible(page)


def _tick_by_keyboard(page: Page, project: Project) -> None:
    """Reach the project's checkbox with Tab and toggle it with Space."""
    box = f"main input[name=projects][value='{project.pk}']"
    was = page.locator(box).is_checked()
    tab_to(page, box)
    page.keyboard.press("Space")
    expect(page.locator(box)).to_be_checked(checked=not was)


def _press(page: Page, selector: str) -> None:
    """Reach ``selector`` with Tab, press Enter, and check the page it leads to."""
    tab_to(page, selector)
    press_enter_and_wait(page)
    assert_accessible(page)


def _total(page: Page):
    return page.locator("[data-ballot-total]")


# --- 1 and 7: a survey, in English and in Arabic -----------------------------------------


@pytest.mark.parametrize("language", [pytest.param("en", marks=pytest.mark.smoke), "ar"])
def test_a_resident_responds_to_an_open_survey(page: Page, live_server, resident, survey, language):
    preferences_update(user=resident, language=language)
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)

    page.goto(reverse("participation:processes"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
    assert_accessible(page)
    process_link = f"main a[href='{reverse('participation:process', args=['riverside'])}']"
    _click(page, page.locator(process_link))
    consultation = reverse("participation:consultation", args=["riverside", survey.slug])
    _click(page, page.locator(f"main a[href='{consultation}']"))
    title = "حديقة النهر" if language == "ar" else "Riverside Park"
    expect(page.locator("main h1")).to_have_text(title)
    respond = reverse("participation:consultation_respond", args=["riverside", survey.slug])
    _click(page, page.locator(f"main a[href='{respond}']"))

    # The questions, in the reader's language.
    visits = QUESTIONS[0]["label"][language]
    expect(page.locator("main form")).to_contain_text(visits)
    page.locator("input[name=visits][value=monthly]").check()
    page.locator("input[name=play][value=yes]").check()
    ideas = "مزيد من المقاعد قرب الماء" if language == "ar" else "More benches by the water"
    page.locator("#id_ideas").fill(ideas)
    page.screenshot(path=str(SCREENSHOTS / f"participation-survey-{language}.png"), full_page=True)
    _click(page, page.locator("main form button[type=submit]"))

    expect(page.locator(".govuk-panel--confirmation")).to_be_visible()
    assert page.url.endswith(
        reverse("participation:consultation_done", args=["riverside", survey.slug])
    )
    if language == "en":
        expect(page.locator(".govuk-panel__title")).to_have_text("Your response is recorded")
    response = Response.objects.get()
    assert response.person_key == person_key_for_user(resident)
    assert response.channel == Channel.ONLINE
    assert response.answers["visits"] == "monthly"
    assert response.answers["play"] is True
    assert response.answers["ideas"] == ideas


# --- 2: supporting a proposal ------------------------------------------------------------


def _second_tab(page: Page):
    """Another tab of the same browser (same session), its pages recorded in the same axe
    ledger as ``page``'s."""
    ledger: AccessibilityLedger = page.ecitizen_ledger  # type: ignore[attr-defined]
    tab = page.context.new_page()
    tab.on("load", lambda loaded: ledger.loaded.append(loaded.url))
    tab.ecitizen_ledger = ledger  # type: ignore[attr-defined]
    tab.ecitizen_browser = page.ecitizen_browser  # type: ignore[attr-defined]
    tab.ecitizen_javascript = page.ecitizen_javascript  # type: ignore[attr-defined]
    return tab


def test_a_resident_supports_a_proposal_once(
    page: Page, live_server, resident, second_resident, engagement_officer, department
):
    process = _process(
        engagement_officer,
        department,
        title="Riverside regeneration plan",
        slug="riverside",
        phases=[(Phase.Kind.PROPOSALS, -3, 20)],
    )
    proposal = proposals.proposal_submit(
        process=process,
        title="A footbridge to the island",
        description="A light footbridge from the towpath to the island, for walkers.",
        ward=None,
        author=second_resident,
        actor=second_resident,
    )
    sign_in_by_cookie(page, live_server, resident)
    page.goto(reverse("participation:proposals", args=[process.slug]))
    assert_accessible(page)
    _click(page, page.get_by_role("link", name="A footbridge to the island"))
    expect(page.locator("main")).to_contain_text("0 people support this proposal.")
    # The resident has the proposal open in another tab too.
    other = _second_tab(page)
    other.goto(page.url)
    assert_accessible(other)

    _click(page, page.get_by_role("button", name="Support this proposal"))
    expect(page.locator("main")).to_contain_text("Thank you: your support is counted.")
    expect(page.locator("main")).to_contain_text("1 person supports this proposal.")
    expect(page.locator("main")).to_contain_text("You support this proposal.")
    expect(page.get_by_role("button", name="Support this proposal")).to_have_count(0)

    # A second click, from the other tab: refused, and said so.
    _click(other, other.get_by_role("button", name="Support this proposal"))
    expect(other.locator("main")).to_contain_text(
        "You have already supported this proposal. Each person can support it once."
    )
    expect(other.locator("main")).not_to_contain_text("Thank you: your support is counted.")
    expect(other.locator("main")).to_contain_text("1 person supports this proposal.")
    other.close()
    assert Support.objects.count() == 1
    support = Support.objects.get()
    assert (support.proposal_id, support.person_key) == (proposal.pk, person_key_for_user(resident))
    proposal.refresh_from_db()
    assert proposal.support_count == 1


# --- 3: a knapsack ballot by keyboard, then changed --------------------------------------


def test_a_knapsack_ballot_by_keyboard_then_changed(
    page: Page, live_server, resident, engagement_officer, department
):
    process, heading, (playground, trees, crossing, benches) = _budget(
        engagement_officer, department
    )
    sign_in_by_cookie(page, live_server, resident)
    page.goto(reverse("participation:budget", args=[process.slug]))
    assert_accessible(page)
    ballot_url = reverse("participation:ballot", args=[process.slug, heading.slug])
    _press(page, f"main a[href='{ballot_url}']")

    # The running total, updated as projects are ticked.
    expect(_total(page)).to_have_attribute("aria-live", "polite")
    expect(_total(page)).to_have_text("£0.00 of £400,000.00 chosen, £400,000.00 left")
    _tick_by_keyboard(page, playground)
    expect(_total(page)).to_have_text("£250,000.00 of £400,000.00 chosen, £150,000.00 left")
    _tick_by_keyboard(page, benches)
    expect(_total(page)).to_have_text("£300,000.00 of £400,000.00 chosen, £100,000.00 left")
    page.screenshot(path=str(SCREENSHOTS / "participation-ballot.png"), full_page=True)
    _press(page, "main button[value=continue]")

    expect(page.locator("main h1")).to_have_text("Check your vote in Whole city")
    expect(page.locator("main table")).to_contain_text("New playground at Riverside Park")
    expect(page.locator("main table")).to_contain_text("Benches on the towpath")
    expect(page.locator("main table tfoot")).to_contain_text("£300,000")
    _press(page, "main form button[type=submit]")

    expect(page.locator(".govuk-panel--confirmation")).to_contain_text(
        "Your vote in Whole city is cast"
    )
    ballot = Ballot.objects.get()
    assert ballot.choices == [playground.pk, benches.pk]
    assert ballot.person_key == person_key_for_user(resident)

    # Changing it: the current vote comes ticked; over the budget, the total says so.
    _press(page, f"main a[href='{ballot_url}']")
    expect(page.locator("main")).to_contain_text("Your current vote is ticked")
    for project, ticked in ((playground, True), (benches, True), (trees, False)):
        expect(page.locator(f"input[value='{project.pk}']")).to_be_checked(checked=ticked)
    _tick_by_keyboard(page, trees)
    expect(_total(page)).to_have_text(
        "£450,000.00 of £400,000.00 chosen, £50,000.00 over the budget"
    )
    _tick_by_keyboard(page, playground)
    _tick_by_keyboard(page, crossing)
    expect(_total(page)).to_have_text("£300,000.00 of £400,000.00 chosen, £100,000.00 left")
    _press(page, "main button[value=continue]")
    _press(page, "main form button[type=submit]")
    expect(page.locator(".govuk-panel--confirmation")).to_be_visible()
    expect(page.locator("main table")).to_contain_text("Trees along Mill Lane")
    expect(page.locator("main table")).not_to_contain_text("New playground")

    ballot = Ballot.objects.get()  # one ballot: the last one counts
    assert sorted(ballot.choices) == sorted([trees.pk, crossing.pk, benches.pk])
    assert ballot.changes == 1
    assert ballot.channel == Channel.ONLINE


def test_the_update_total_button_is_hidden_while_the_script_keeps_the_total(
    page: Page, live_server, resident, engagement_officer, department
):
    process, heading, _projects = _budget(engagement_officer, department)
    sign_in_by_cookie(page, live_server, resident)
    page.goto(reverse("participation:ballot", args=[process.slug, heading.slug]))
    assert_accessible(page)
    expect(page.locator("[data-ballot-update]")).to_have_attribute("hidden", "")
    expect(page.get_by_role("button", name="Update total")).to_be_hidden()


# --- 4: an approval ballot without JavaScript --------------------------------------------


@pytest.mark.parametrize("javascript_enabled", [False])
def test_an_approval_ballot_without_javascript(
    page: Page, live_server, resident, engagement_officer, department
):
    process, heading, (playground, trees, crossing, _benches) = _budget(
        engagement_officer, department, kind=Budget.BallotKind.APPROVAL, max_projects=2
    )
    sign_in_by_cookie(page, live_server, resident)
    page.goto(reverse("participation:ballot", args=[process.slug, heading.slug]))
    assert_accessible(page)
    expect(page.locator("main")).to_contain_text("Choose up to 2 projects.")
    expect(_total(page)).to_have_text("Projects chosen: 0 of 2")

    # Without the script, "Update total" asks the server, and keeps the choices.
    update = page.get_by_role("button", name="Update total")
    expect(update).to_be_visible()
    page.locator(f"input[value='{playground.pk}']").check()
    _click(page, update)
    expect(_total(page)).to_have_text("Projects chosen: 1 of 2")
    expect(page.locator(f"input[value='{playground.pk}']")).to_be_checked()

    # Three projects: refused, with the error summary, the choices kept.
    page.locator(f"input[value='{trees.pk}']").check()
    page.locator(f"input[value='{crossing.pk}']").check()
    _click(page, page.get_by_role("button", name="Continue"))
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("#ballot-error")).to_be_visible()
    for project in (playground, trees, crossing):
        expect(page.locator(f"input[value='{project.pk}']")).to_be_checked()
    assert not Ballot.objects.exists()

    page.locator(f"input[value='{playground.pk}']").uncheck()
    _click(page, page.get_by_role("button", name="Continue"))
    expect(page.locator("main table")).to_contain_text("Trees along Mill Lane")
    _click(page, page.get_by_role("button", name="Cast your vote"))
    expect(page.locator(".govuk-panel--confirmation")).to_be_visible()
    ballot = Ballot.objects.get()
    assert sorted(ballot.choices) == sorted([trees.pk, crossing.pk])
    assert ballot.person_key == person_key_for_user(resident)


# --- 5: a paper ballot entered by an assisted-digital helper -----------------------------


def test_a_helper_enters_a_paper_ballot_for_a_resident(
    page: Page, resident, intermediary, engagement_officer, department
):
    _process, heading, (playground, trees, _crossing, benches) = _budget(
        engagement_officer, department
    )
    # The resident, whose number the national eID vouched for, voted online first; the
    # paper ballot entered with that number will replace it (counted once).
    identity_verification_record(
        user=resident,
        provider_id="eid",
        claims={"national_id": NATIONAL_ID},
        claim_names={"national_id": "national_id"},
    )
    resident.refresh_from_db()
    budgets.ballot_cast(
        heading=heading,
        project_ids=[playground.pk],
        person_key=person_key_for_user(resident),
        channel=Channel.ONLINE,
        actor=resident,
    )
    _sign_in_official(page, intermediary)
    # The paper home: the processes of their remit, and their own entries.
    page.goto(reverse("staff:participation_paper_entries"))
    assert_accessible(page)
    expect(page.locator("main")).to_contain_text("You have not entered anything on paper yet.")
    _click(page, page.get_by_role("link", name="Riverton budget 2027"))
    _click(page, page.get_by_role("link", name="A ballot for “Whole city”"))
    expect(page.locator("main h1")).to_contain_text("Enter a paper ballot for “Whole city”")

    page.get_by_label("Trees along Mill Lane").check()
    page.get_by_label("Benches on the towpath").check()
    page.get_by_label("Their national identity number").fill(NATIONAL_ID)
    page.get_by_label("I checked their identity document and they may take part").check()
    _click(page, page.get_by_role("button", name="Record the ballot"))
    expect(page.locator("body")).to_contain_text("The paper ballot is recorded.")

    ballot = Ballot.objects.get()
    assert ballot.person_key == person_key_for_national_id(NATIONAL_ID)
    assert sorted(ballot.choices) == sorted([trees.pk, benches.pk])
    assert (ballot.channel, ballot.replaced_channel) == (Channel.PAPER, Channel.ONLINE)
    assert ballot.entered_by == intermediary

    # Back on the paper home, their own entries: the ballot they entered.
    _click(page, page.locator("a.govuk-back-link"))
    expect(page.locator("main h1")).to_have_text("Paper participation")
    expect(page.locator("main table")).to_contain_text("Riverton budget 2027")
    expect(page.locator("main table")).to_contain_text("Ballot")


# --- 6: the organiser counts and publishes the results -----------------------------------


def test_the_organiser_counts_and_publishes_the_results(
    page: Page, live_server, engagement_officer, department
):
    process, heading, (playground, trees, crossing, benches) = _budget(
        engagement_officer,
        department,
        vote=(-10, -1),
        # A small fund: equal shares completed raises each voter's share £1 a step, a count
        # each, so that £400,000 among 10 voters would take seconds to count.
        amount=4_000,
        projects=[
            ("New playground at Riverside Park", 3_000),
            ("Trees along Mill Lane", 1_000),
            ("Safer crossing by the school", 1_000),
            ("Benches on the towpath", 1_000),
        ],
    )
    # During the vote: 6 people chose the playground and the trees, 4 the crossing and the
    # benches. Most votes that still fit: playground and trees; equal shares: trees and the
    # crossing; completed: the benches too.
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        for voter in range(10):
            chosen = [playground, trees] if voter < 6 else [crossing, benches]
            budgets.ballot_cast(
                heading=heading,
                project_ids=[p.pk for p in chosen],
                person_key=f"voter-{voter}",
                channel=Channel.ONLINE,
                actor=None,
            )

    sign_in_by_cookie(page, live_server, engagement_officer, official=True)
    page.goto(reverse("staff:participation_budget_results", args=[process.slug]))
    assert_accessible(page)
    _click(page, page.get_by_role("button", name="Count the ballots"))
    # A worker counts (here the tests' immediate task backend, as the request commits).
    expect(page.locator("body")).to_contain_text("The ballots are being counted.")
    page.reload()
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    _click(page, page.get_by_role("button", name="Publish the results"))
    expect(page.locator("body")).to_contain_text("The results are published")
    _click(page, page.get_by_role("link", name="The public results page"))

    expect(page.locator("main h1")).to_have_text("Results of the vote")
    page.screenshot(path=str(SCREENSHOTS / "participation-results.png"), full_page=True)
    main = page.locator("main")
    expect(main).to_contain_text("£4,000.00 to spend; 10 people voted.")
    winners = page.locator("main section ul.govuk-list").first
    expect(winners.locator("li")).to_have_count(3)
    for won in ("Trees along Mill Lane", "Safer crossing by the school", "Benches on the towpath"):
        expect(winners).to_contain_text(won)
    expect(winners).not_to_contain_text("New playground")

    # Side by side: every way of counting, and the money each used.
    table = page.locator("main table")
    headers = [re.sub(r"\s+", " ", h).strip() for h in table.locator("thead th").all_inner_texts()]
    assert headers[3:] == [
        "Most votes that still fit (greedy)",
        "Equal shares",
        "Equal shares, completed (this budget's)",
    ]
    rows = {
        re.sub(r"^\d+\. ", "", row.locator("th").inner_text().strip()): [
            cell.strip() for cell in row.locator("td").all_inner_texts()
        ]
        for row in table.locator("tbody tr").all()
    }
    assert rows["New playground at Riverside Park"][0] == "6"
    assert rows["New playground at Riverside Park"][2:] == ["Chosen", "Not chosen", "Not chosen"]
    assert rows["Trees along Mill Lane"][2:] == ["Chosen", "Chosen", "Chosen"]
    assert rows["Safer crossing by the school"][2:] == ["Not chosen", "Chosen", "Chosen"]
    assert rows["Benches on the towpath"][2:] == ["Not chosen", "Not chosen", "Chosen"]
    used = [cell.strip() for cell in table.locator("tfoot td").all_inner_texts()]
    assert used == ["£4,000.00", "£2,000.00", "£3,000.00"]
    process.budget.refresh_from_db()
    assert process.budget.results_published_at is not None

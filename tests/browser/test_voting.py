"""Voting in a real browser (the Belenios booth, the trustees' page, the verifier).

A voter casts by keyboard only: signs in, types their credential, chooses (a blank vote on
the question that allows one), encrypts, reads the tracker and the "not cast yet" warning,
casts, and finds the tracker in the ballot box; the typed credential is never sent, only
the encrypted ballot. The booth refuses an empty, a mistyped and another voter's
credential. The Benaloh check re-does the encryption and throws that ballot away. The
same journey in Arabic on a small phone; without JavaScript the booth says why it needs
it and what else to do. Three trustees make the election's key in their browsers (the
key file saved and chosen again), two of them decrypt the tally; the result page shows
the counts and the verifier checks the public record.

Each test builds one small election through the services (``voting.tests.world``). Every
page is checked with axe-core (WCAG 2.2 AA) and at 375 px by ``assert_accessible``, and
the browser console must stay free of errors."""

from __future__ import annotations

import json
import re
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import time_machine
from django.urls import reverse
from playwright.sync_api import Page, Request, expect

from ecitizen.accounts.services import preferences_update
from ecitizen.voting.models import CastBallot, Voter
from ecitizen.voting.services import counting, credentials, elections
from ecitizen.voting.services.common import election_bytes_of
from ecitizen.voting.tests.world import World, make_world
from ecitizen_verify.credentials import BASE58, normalise
from ecitizen_verify.election import parse_election
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import (
    press_enter_and_wait,
    sign_in_by_cookie,
    sign_in_by_keyboard,
    tab_to,
)

pytestmark = pytest.mark.django_db(transaction=True)

#: Where the journeys leave their screenshots of the booth, the cast and trustee pages.
SCREENSHOTS = Path(tempfile.gettempdir())


@pytest.fixture
def world(election_administrator, credential_authority, department) -> World:
    """An open election of two questions ("Car-free Sundays?": one answer or blank;
    "Which streets?": none to two), two voters and two trustees."""
    return make_world(
        election_administrator, credential_authority, department, voters=2, trustees=2, threshold=1
    )


# --- steps -------------------------------------------------------------------------------


#: The elements a page script hid (the ``hidden`` attribute) that are displayed all the
#: same, because a GOV.UK class sets their ``display`` (a button, an error message).
SHOWN_THOUGH_HIDDEN = """() => [...document.querySelectorAll("main [hidden]")]
  .filter((element) => getComputedStyle(element).display !== "none")
  .map((element) => element.id || element.className)"""


def _check(page: Page) -> None:
    """axe, the width of a small phone, and nothing shown that a script hid."""
    assert_accessible(page)
    if page.ecitizen_javascript:  # type: ignore[attr-defined]
        assert page.evaluate(SHOWN_THOUGH_HIDDEN) == [], page.url


def _booth(page: Page, world: World) -> None:
    page.goto(reverse("voting:vote", args=[world.election.slug]))
    expect(page.locator("#booth")).to_be_visible()
    expect(page.locator("[data-needs-js]")).to_be_hidden()
    _check(page)


def _continue_with(page: Page, credential: str) -> None:
    page.locator("#credential").fill(credential)
    page.locator("#credential-continue").click()


def _encrypt(page: Page) -> str:
    """Encrypt the choices on the review step; the tracker shown."""
    page.locator("#encrypt").click()
    expect(page.locator("#step-cast")).to_be_visible()
    tracker = page.locator("#tracker").inner_text()
    assert len(tracker) in (43, 44), tracker
    return tracker


def _requests_of(page: Page) -> list[Request]:
    """Every request the page makes from now on."""
    made: list[Request] = []

    def keep(request: Request) -> None:
        made.append(request)

    page.on("request", keep)
    return made


def _mistyped(credential: str) -> str:
    """The credential with its first character one further in Base58: a typing mistake
    its check character always catches."""
    first = BASE58.index(credential[0])
    typo = BASE58[first + 1 if first + 1 < len(BASE58) else first - 1] + credential[1:]
    assert normalise(typo) is None
    return typo


# --- 1: by keyboard only -----------------------------------------------------------------


@pytest.mark.smoke
def test_a_voter_casts_by_keyboard_and_finds_the_tracker_in_the_ballot_box(
    page: Page, live_server, world: World
):
    voter = world.voters[0]
    credential = world.keys[voter.email]
    requests = _requests_of(page)
    sign_in_by_keyboard(page, voter.email)
    _check(page)
    page.goto(reverse("voting:election", args=[world.election.slug]))
    _check(page)
    tab_to(page, f"main a[href='{reverse('voting:vote', args=[world.election.slug])}']")
    press_enter_and_wait(page)
    expect(page.locator("#booth")).to_be_visible()
    expect(page.locator("[data-needs-js]")).to_be_hidden()
    _check(page)

    # Step 1: the credential, typed.
    tab_to(page, "#credential")
    page.keyboard.type(credential)
    page.keyboard.press("Tab")
    expect(page.locator("#credential-continue")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#step-choices")).to_be_visible()
    expect(page.locator("#step-choices h2")).to_be_focused()
    expect(page.locator("#step-credential")).to_be_hidden()
    _check(page)

    # Step 2: a blank vote on the first question (radios: arrows move the choice), two
    # streets on the second (checkboxes: Space ticks).
    tab_to(page, "#q1-a1")
    page.keyboard.press("Space")
    expect(page.locator("#q1-a1")).to_be_checked()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#q1-blank")).to_be_checked()
    expect(page.locator("#q1-blank")).to_be_focused()
    for box in ("#q2-a1", "#q2-a3"):
        tab_to(page, box)
        page.keyboard.press("Space")
        expect(page.locator(box)).to_be_checked()
    tab_to(page, "#choices-continue")
    page.keyboard.press("Enter")

    # Step 3: what will be encrypted, then encrypt.
    expect(page.locator("#step-review")).to_be_visible()
    expect(page.locator("#step-review h2")).to_be_focused()
    review = page.locator("#review-list")
    expect(review.locator(".govuk-summary-list__row")).to_have_count(2)
    expect(review.locator(".govuk-summary-list__row").nth(0)).to_contain_text("Blank")
    expect(review.locator(".govuk-summary-list__row").nth(1)).to_contain_text("High Street, Quay")
    _check(page)
    tab_to(page, "#encrypt")
    page.keyboard.press("Enter")
    expect(page.locator("#step-cast")).to_be_visible()
    tracker = page.locator("#tracker").inner_text()
    assert tracker
    expect(page.locator("#step-cast .govuk-warning-text")).to_contain_text(
        "Your ballot is encrypted but NOT cast yet."
    )
    assert not CastBallot.objects.exists()
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-booth-tracker-en.png"), full_page=True)

    # Cast: the confirmation shows the same tracker.
    tab_to(page, "#cast-form button[type=submit]")
    press_enter_and_wait(page)
    assert page.url.endswith(reverse("voting:cast", args=[world.election.slug]))
    expect(page.locator(".govuk-panel__title")).to_have_text("Your vote has been cast")
    expect(page.locator(".govuk-panel .app-tracker")).to_have_text(tracker)
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-cast-en.png"), full_page=True)
    cast = CastBallot.objects.get()
    assert cast.tracker == tracker
    assert cast.voter == Voter.objects.get(election=world.election, user=voter)

    # The ballot box, by the link: the tracker is found.
    tab_to(page, "main a:has-text('Find your ballot in the ballot box')")
    press_enter_and_wait(page)
    expect(page.locator("#tracker")).to_have_value(tracker)
    expect(page.locator(".govuk-panel")).to_contain_text("Your ballot is in the box")
    expect(page.locator("main table")).to_contain_text(tracker)
    _check(page)
    # And typed into the box's search, as from the receipt.
    page.goto(reverse("voting:ballots", args=[world.election.slug]))
    _check(page)
    tab_to(page, "#tracker")
    page.keyboard.type(tracker)
    press_enter_and_wait(page)
    expect(page.locator(".govuk-panel")).to_contain_text("Your ballot is in the box")
    _check(page)

    # Only the encrypted ballot was posted; the credential never left the page.
    secrets = {credential, credential.replace("-", "")}
    for request in requests:
        sent = " ".join([request.url, request.post_data or "", *request.all_headers().values()])
        assert not any(secret in sent for secret in secrets), request.url
    posts = [r for r in requests if r.method == "POST" and "/voting/" in r.url]
    assert len(posts) == 1
    form = parse_qs(posts[0].post_data or "")
    assert set(form) == {"csrfmiddlewaretoken", "ballot"}
    ballot = json.loads(form["ballot"][0])
    assert ballot["credential"] == cast.voter.public_credential
    assert len(ballot["answers"]) == 2


# --- 2: the booth's refusals -------------------------------------------------------------


def _refused(page: Page, typed: str, message: str) -> None:
    """Continue with ``typed``: the error summary (focused) and the field's message say
    ``message``; the summary's link leads to the field; nothing moves on."""
    _continue_with(page, typed)
    summary = page.locator("#booth-errors")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.locator("h2")).to_have_text("There is a problem")
    expect(summary.locator("a")).to_have_text(message)
    expect(page.locator("#credential-group")).to_have_class(re.compile("govuk-form-group--error"))
    expect(page.locator("#credential-error")).to_have_text(f"Error: {message}")
    expect(page.locator("#credential")).to_have_attribute(
        "aria-describedby", "credential-hint credential-error"
    )
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator("#step-choices")).to_be_hidden()
    _check(page)
    page.keyboard.press("Tab")
    expect(summary.locator("a")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#credential")).to_be_focused()


def test_the_booth_refuses_a_missing_mistyped_or_other_credential(
    page: Page, live_server, world: World
):
    alice, bob = world.voters
    sign_in_by_cookie(page, live_server, alice)
    requests = _requests_of(page)
    _booth(page, world)
    _refused(page, "", "Enter your voting credential")
    _refused(
        page,
        _mistyped(world.keys[alice.email]),
        "This is not a credential: check each character against the email. Credentials "
        "use no 0, O, I or l.",
    )
    _refused(
        page,
        world.keys[bob.email],
        "This credential is not yours for this election. Check it against the one you were "
        "sent for this election.",
    )
    # The choices too: the first question needs an answer (or a blank vote).
    _continue_with(page, world.keys[alice.email])
    expect(page.locator("#booth-errors")).to_be_hidden()
    expect(page.locator("#credential-error")).to_be_hidden()
    expect(page.locator("#credential")).to_have_attribute("aria-describedby", "credential-hint")
    expect(page).not_to_have_title(re.compile("Error"))
    expect(page.locator("#step-choices h2")).to_be_focused()
    page.locator("#choices-continue").click()
    expect(page.locator("#booth-errors")).to_be_focused()
    expect(page.locator("#booth-errors a")).to_have_text("Choose an answer")
    expect(page.locator("#question-1-error")).to_have_text("Error: Choose an answer")
    expect(page.locator("#question-1-group fieldset")).to_have_attribute(
        "aria-describedby", "question-1-hint question-1-error"
    )
    _check(page)
    page.locator("#booth-errors a").click()
    expect(page.locator("#q1-a1")).to_be_focused()
    assert not CastBallot.objects.exists()
    assert not [r for r in requests if r.method == "POST"]


# --- 3: the Benaloh check ----------------------------------------------------------------


def _choose_and_review(page: Page, credential: str) -> None:
    """Credential, "Yes" and "Mill Lane", then the review step."""
    _continue_with(page, credential)
    page.locator("label[for=q1-a1]").click()
    page.locator("label[for=q2-a2]").click()
    page.locator("#choices-continue").click()
    expect(page.locator("#step-review")).to_be_visible()


def _encrypts(world: World, revealed: dict) -> bool:
    """The independent check the revealed numbers allow, in Python: each ciphertext of the
    ballot is (g^r, y^r g^m) for its choice m and revealed r."""
    protocol = parse_election(election_bytes_of(world.election))
    group, y = protocol.group, protocol.public_key
    for answer, choices, exponents in zip(
        revealed["ballot"]["answers"], revealed["choices"], revealed["randomness"], strict=True
    ):
        for ciphertext, m, r in zip(answer["choices"], choices, exponents, strict=True):
            alpha = group.power(group.g, int(r))
            beta = group.multiply(group.power(y, int(r)), group.power(group.g, m))
            if (int(ciphertext["alpha"]), int(ciphertext["beta"])) != (alpha, beta):
                return False
    return True


def test_the_benaloh_check_throws_the_ballot_away_then_the_voter_casts(
    page: Page, live_server, world: World
):
    voter = world.voters[0]
    sign_in_by_cookie(page, live_server, voter)
    requests = _requests_of(page)
    _booth(page, world)
    _choose_and_review(page, world.keys[voter.email])
    checked = _encrypt(page)

    page.get_by_text("Check that my ballot is encrypted correctly").click()
    expect(page.locator("#challenge")).to_be_visible()
    _check(page)
    page.locator("#challenge").click()
    expect(page.locator("#step-checked")).to_be_visible()
    expect(page.locator("#checked-heading")).to_be_focused()
    expect(page.locator("#checked-heading")).to_have_text(
        "Check passed: this encrypted ballot said what you chose"
    )
    expect(page.locator("#checked-text")).to_contain_text(
        "The ballot has been thrown away and was not cast."
    )
    expect(page.locator("#checked-list")).to_contain_text("Yes")
    expect(page.locator("#checked-list")).to_contain_text("Mill Lane")
    expect(page.locator("#step-cast")).to_be_hidden()
    page.get_by_text("The checked ballot and its secret numbers").click()
    revealed = json.loads(page.locator("#checked-data").input_value())
    assert set(revealed) == {"ballot", "choices", "randomness"}
    assert revealed["choices"] == [[0, 1, 0], [0, 1, 0]]
    assert _encrypts(world, revealed)
    _check(page)
    assert not CastBallot.objects.exists()
    assert not [r for r in requests if r.method == "POST"]

    # Encrypt again (a new ballot, a new tracker) and cast that one.
    page.get_by_role("button", name="Encrypt my choices again").click()
    expect(page.locator("#step-review h2")).to_be_focused()
    tracker = _encrypt(page)
    assert tracker != checked
    expect(page.locator("#step-cast details")).not_to_have_attribute("open", "")
    with page.expect_navigation():
        page.get_by_role("button", name="Cast my ballot").click()
    expect(page.locator(".govuk-panel .app-tracker")).to_have_text(tracker)
    _check(page)
    assert list(CastBallot.objects.values_list("tracker", flat=True)) == [tracker]


# --- 4: in Arabic, on a small phone ------------------------------------------------------


def test_a_voter_casts_in_arabic_on_a_small_phone(page: Page, live_server, world: World):
    voter = world.voters[1]
    preferences_update(user=voter, language="ar")
    page.context.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    page.set_viewport_size({"width": 360, "height": 640})
    sign_in_by_cookie(page, live_server, voter)
    page.goto(reverse("voting:election", args=[world.election.slug]))
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    _check(page)
    with page.expect_navigation():
        page.locator(f"main a[href='{reverse('voting:vote', args=[world.election.slug])}']").click()
    expect(page.locator("#booth")).to_be_visible()
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-booth-ar-phone.png"), full_page=True)
    _continue_with(page, world.keys[voter.email])
    page.locator("label[for=q1-a2]").click()
    page.locator("label[for=q2-a1]").click()
    page.locator("label[for=q2-a3]").click()
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-booth-choices-ar-phone.png"), full_page=True)
    page.locator("#choices-continue").click()
    tracker = _encrypt(page)
    # The tracker reads left to right (a "/" or "+" at its end stays there).
    expect(page.locator("#tracker")).to_have_css("direction", "ltr")
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-booth-tracker-ar-phone.png"), full_page=True)
    with page.expect_navigation():
        page.locator("#cast-form button[type=submit]").click()
    expect(page.locator(".govuk-panel .app-tracker")).to_have_text(tracker)
    expect(page.locator(".govuk-panel .app-tracker code")).to_have_css("direction", "ltr")
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-cast-ar-phone.png"), full_page=True)
    assert CastBallot.objects.get().tracker == tracker
    box = reverse("voting:ballots", args=[world.election.slug])
    with page.expect_navigation():
        page.locator(f"main a[href^='{box}?tracker=']").click()
    expect(page.locator(".govuk-panel--confirmation")).to_be_visible()
    expect(page.locator("main table code")).to_have_text(tracker)
    expect(page.locator("#tracker")).to_have_css("direction", "ltr")
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-ballots-ar-phone.png"), full_page=True)


# --- 5: without JavaScript ---------------------------------------------------------------


@pytest.mark.parametrize("javascript_enabled", [False])
def test_without_javascript_the_booth_says_why_and_what_else_to_do(
    page: Page, live_server, world: World
):
    voter = world.voters[0]
    sign_in_by_cookie(page, live_server, voter)
    page.goto(reverse("voting:vote", args=[world.election.slug]))
    needs = page.locator("[data-needs-js]")
    expect(needs).to_be_visible()
    expect(needs).to_contain_text("That needs JavaScript")
    expect(needs).to_contain_text("polling station")
    expect(needs).to_contain_text("assisted-digital helper")
    expect(page.locator("#booth")).to_be_hidden()
    expect(page.locator("#credential")).to_be_hidden()
    _check(page)
    # The verifier too says it needs JavaScript, and offers the record to download.
    page.goto(reverse("voting:verify", args=[world.election.slug]))
    expect(page.locator("[data-needs-js]")).to_be_visible()
    expect(page.locator("#verifier")).to_be_hidden()
    expect(page.get_by_role("link", name=re.compile("Download the public record"))).to_be_visible()
    _check(page)
    assert not CastBallot.objects.exists()


# --- 6: the trustees' key ceremony and decryption ----------------------------------------


def _as(page: Page, live_server, user) -> None:
    page.context.clear_cookies()
    sign_in_by_cookie(page, live_server, user)


def _send(page: Page, done: str) -> None:
    """Wait for the browser's work, send it, and see ``done`` said."""
    expect(page.locator("#working")).to_have_text("Ready: send it.", timeout=60_000)
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#send")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(done)
    _check(page)


def _issue_and_open(world: World, authority, administrator) -> None:
    """Credentials issued by the platform (kept in ``world.keys``), then the opening."""
    issued: list[str] = []

    def keep() -> str:
        issued.append(credentials.reproducible_credentials(f"test:{len(issued)}")())
        return issued[-1]

    credentials.credentials_issue(election=world.election, actor=authority, make=keep)
    voters = Voter.objects.filter(election=world.election).order_by("pk")
    for voter, credential in zip(voters, issued, strict=True):
        world.keys[voter.email] = credential
    elections.election_open(election=world.election, actor=administrator)
    world.refresh()


def _close(world: World) -> None:
    with time_machine.travel(world.election.closes_at + timedelta(minutes=1)):
        counting.election_close(election=world.election, actor=world.election.administrator)
    world.refresh()


def test_three_trustees_make_the_key_and_two_decrypt_the_result(
    page: Page,
    live_server,
    tmp_path,
    election_administrator,
    credential_authority,
    department,
):
    world = make_world(
        election_administrator,
        credential_authority,
        department,
        voters=2,
        trustees=3,
        threshold=2,
        open_now=False,
    )
    elections.election_freeze(election=world.election, actor=election_administrator)
    trustees = list(world.election.trustees.order_by("position").select_related("user"))
    url = reverse("voting:trustee", args=[world.election.slug])
    key_files: dict[int, Path] = {}

    # Step 1: each trustee's browser makes their key file, which they save.
    for trustee in trustees:
        _as(page, live_server, trustee.user)
        page.goto(url)
        expect(page.locator("main h2").first).to_have_text("Step 1 of 3")
        expect(page.locator("#send")).to_be_disabled()
        _check(page)
        page.locator("#make-key").click()
        expect(page.locator("#make-key")).to_be_hidden()
        expect(page.locator("#key-download")).to_be_focused()
        with page.expect_download() as saving:
            page.keyboard.press("Enter")
        download = saving.value
        assert (
            download.suggested_filename == f"{world.election.slug}-trustee-{trustee.position}.key"
        )
        key_files[trustee.position] = tmp_path / download.suggested_filename
        download.save_as(key_files[trustee.position])
        if trustee.position == 1:
            _check(page)  # "Make my key file" is gone: a second click would change the key
            page.screenshot(path=str(SCREENSHOTS / "voting-trustee-step1.png"), full_page=True)
        page.locator("label[for=kept]").click()
        _send(page, "Step 1 of 3 is done.")
        if trustee.position == 1:
            expect(page.locator("main [role=status]")).to_contain_text(
                "Waiting for the other trustees: 1 of 3 have."
            )
    seed = key_files[1].read_text(encoding="utf-8").strip()
    assert seed
    assert seed not in "".join(t.certificate for t in world.election.trustees.all())

    # Steps 2 and 3: each chooses their key file again.
    for step in (2, 3):
        for trustee in trustees:
            _as(page, live_server, trustee.user)
            page.goto(url)
            expect(page.locator("main h2").first).to_have_text(f"Step {step} of 3")
            _check(page)
            page.locator("#key-file").set_input_files(key_files[trustee.position])
            if step == 2 and trustee.position == 1:
                page.screenshot(path=str(SCREENSHOTS / "voting-trustee-step2.png"), full_page=True)
            _send(page, f"Step {step} of 3 is done.")
    world.refresh()
    assert world.election.threshold_parameters
    expect(page.locator("main")).to_contain_text("The key is made.")

    # Voting, through the services: a "Yes" with High Street, a "No" with High Street
    # and the Quay.
    _issue_and_open(world, credential_authority, election_administrator)
    alice, bob = world.voters
    world.cast(alice, [[0, 1, 0], [1, 0, 0]])
    world.cast(bob, [[0, 0, 1], [1, 0, 1]])
    _close(world)

    # Two trustees decrypt; the first tries another trustee's key file first.
    _as(page, live_server, trustees[0].user)
    page.goto(url)
    expect(page.locator("main h2").first).to_have_text("Decrypt the tally")
    _check(page)
    page.locator("#key-file").set_input_files(key_files[2])
    expect(page.locator("#key-error")).to_contain_text(
        "This is not your key file for this election.", timeout=60_000
    )
    expect(page.locator("#send")).to_be_disabled()
    _check(page)
    page.locator("#key-file").set_input_files(key_files[1])
    expect(page.locator("#key-error")).to_be_hidden()
    _send(page, "Your decryption was checked and recorded.")
    _as(page, live_server, trustees[2].user)
    page.goto(url)
    _check(page)
    page.locator("#key-file").set_input_files(key_files[3])
    _send(page, "Your decryption was checked and recorded.")
    assert world.election.trustees.filter(decrypted_at__isnull=False).count() == 2

    counting.result_publish(election=world.election, actor=election_administrator)
    page.goto(reverse("voting:result", args=[world.election.slug]))
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-result.png"), full_page=True)
    tables = page.locator("main table")
    expect(tables).to_have_count(2)
    for table, expected in zip(
        (tables.nth(0), tables.nth(1)),
        (
            [("Yes", "1"), ("No", "1"), ("Blank", "0")],
            [("High Street", "2"), ("Mill Lane", "0"), ("Quay", "1")],
        ),
        strict=True,
    ):
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(len(expected))
        for index, (label, count) in enumerate(expected):
            expect(rows.nth(index).locator("th")).to_have_text(label)
            expect(rows.nth(index).locator("td").first).to_have_text(count)


# --- 7: the verifier ---------------------------------------------------------------------


def test_anyone_verifies_a_counted_election_in_the_browser(page: Page, live_server, world: World):
    from ecitizen.voting.services.counting import trustee_decryption_submit

    alice, bob = world.voters
    world.cast(alice, [[0, 1, 0], [1, 0, 0]])
    world.cast(bob, [[1, 0, 0], [0, 0, 0]])
    _close(world)
    trustee = world.trustees[0]
    trustee_decryption_submit(trustee=trustee, partial=world.decrypt(1), actor=trustee.user)
    counting.result_publish(election=world.election, actor=world.election.administrator)

    page.goto(reverse("voting:verify", args=[world.election.slug]))
    expect(page.locator("[data-needs-js]")).to_be_hidden()
    _check(page)
    page.get_by_role("button", name="Verify now").click()
    expect(page.locator("#verify-status")).to_have_text("All checks passed.", timeout=60_000)
    lines = page.locator("#verify-lines li")
    expect(lines.first).to_be_visible()
    assert lines.count() >= 3
    expect(page.locator("#verify-progress")).to_have_js_property("value", 2)
    _check(page)
    page.screenshot(path=str(SCREENSHOTS / "voting-verify.png"), full_page=True)

"""Steps of the service journeys (apply → process → decide → download), shared by
``test_service_journeys.py``.

A resident fills any of Riverton's services from a dict of answers (by pointer or by
keyboard only); an official takes the workflow actions on the staff pages; the resident
downloads the document the decision issued. Every page these steps load is checked with
:func:`tests.browser.conftest.assert_accessible`.
"""

from __future__ import annotations

import datetime
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, FileChooser, Page, expect

from ecitizen.demo.cases import _minimal_pdf, _minimal_png
from tests.browser.conftest import AccessibilityLedger, assert_accessible
from tests.browser.journeys import press_enter_and_wait, tab_to

#: Controls of the question pages' forms that are not questions.
NOT_QUESTIONS = {"csrfmiddlewaretoken", "remove_file", "add_another"}
DATE_PARTS = ("day", "month", "year")
SENT_PATH = re.compile(r"/applications/(?P<reference>RIV-[A-Z]+-\d{4}-\d{6})/sent/$")
#: How many pages an application may take before the helper gives up (a loop).
MAX_STEPS = 25
#: How long a key press on a file input may take to open its chooser (seconds).
CHOOSER_WAIT_SECONDS = 20


def pdf(name: str, title: str = "Riverton test document") -> dict[str, Any]:
    """A small valid PDF as a Playwright file payload (for ``set_input_files``)."""
    return {"name": name, "mimeType": "application/pdf", "buffer": _minimal_pdf(title)}


def png(name: str) -> dict[str, Any]:
    """A small valid PNG (a plain square standing in for a photo) as a file payload."""
    return {"name": name, "mimeType": "image/png", "buffer": _minimal_png(random.Random(7))}


@dataclass(frozen=True)
class Journey:
    """One service from the resident's answers to the issued document.

    ``answers`` maps every eligibility question and every question the resident is shown
    to its answer: a string (text, radio value, ``"yes"``/``"no"``), a list (checkboxes, or
    file payloads for a file question), a :class:`datetime.date`, or ``None`` to leave an
    optional question empty. ``steps`` are the official's actions, in order, from the
    initial state to the state that issues the document, each with what the official
    types and attaches.
    """

    slug: str
    answers: dict[str, Any]
    steps: list[tuple[str, dict[str, Any]]]
    final_state: str
    status: str  # the status label the resident sees at the end
    document: str  # the issued document's title


@dataclass
class PageHandles:
    """A page opened on a context of its own, with the same checks as the ``page``
    fixture (axe ledger, console errors)."""

    page: Page
    ledger: AccessibilityLedger
    console_errors: list[str] = field(default_factory=list)


def open_page(browser: Browser, base_url: str, *, javascript_enabled: bool = True) -> PageHandles:
    """A second person's browser (an official beside the resident): a new context set up
    like the harness's ``page`` fixture, so that ``assert_accessible`` works on it. The
    caller closes ``page.context`` and checks the ledger and console errors."""
    context = browser.new_context(
        base_url=base_url, locale="en-GB", java_script_enabled=javascript_enabled
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    handles = PageHandles(page=page, ledger=AccessibilityLedger())
    page.on("load", lambda loaded: handles.ledger.loaded.append(loaded.url))
    page.on(
        "console",
        lambda message: (
            handles.console_errors.append(f"{message.text} ({page.url})")
            if message.type == "error"
            else None
        ),
    )
    page.ecitizen_ledger = handles.ledger  # type: ignore[attr-defined]
    page.ecitizen_browser = browser  # type: ignore[attr-defined]
    page.ecitizen_javascript = javascript_enabled  # type: ignore[attr-defined]
    return handles


# --- keyboard ---------------------------------------------------------------------------------


def tab_until(page: Page, predicate: str, arg: Any, what: str, limit: int = 80) -> None:
    """Press Tab until ``predicate(document.activeElement, arg)`` (JavaScript) holds."""
    script = f"([arg]) => {{ const e = document.activeElement; return !!e && ({predicate}); }}"
    for _ in range(limit):
        if page.evaluate(script, [arg]):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{what} cannot be reached with the Tab key")


def _choose_radio_by_keyboard(page: Page, name: str, value: str) -> None:
    """Tab into the radio group, move with the arrow keys to ``value``, select it with Space."""
    tab_until(page, "e.name === arg", name, f"the radios {name!r}")
    for _ in range(20):
        if page.evaluate("() => document.activeElement.value") == value:
            page.keyboard.press("Space")
            expect(page.locator(f"input[name='{name}'][value='{value}']")).to_be_checked()
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no radio {value!r} in {name!r} reachable with the arrow keys")


def _type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    if text:
        page.keyboard.type(text)


def _choose_files_by_keyboard(page: Page, selector: str, files: Any) -> None:
    """Open the file chooser of a file input from the keyboard and choose ``files``.

    On a loaded host, headless Chromium now and then opens no chooser within seconds of
    the key press (in one CI run, neither Space within 5 s nor then Enter within 15 s).
    So a listener kept for the whole step takes a chooser however late it opens, each key
    gets a generous wait, and if none comes a person would press again, as this does
    (with Enter, the other key that opens it): the test still proves keyboard access."""
    choosers: list[FileChooser] = []

    def take(chooser: FileChooser) -> None:
        choosers.append(chooser)

    page.on("filechooser", take)
    try:
        for key in ("Space", "Enter"):
            tab_to(page, selector)
            page.keyboard.press(key)
            deadline = time.monotonic() + CHOOSER_WAIT_SECONDS
            while not choosers and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            if choosers:
                break
        else:
            raise AssertionError(f"no file chooser opened from the keyboard on {selector}")
        # Both presses may have opened one: each is answered, none left open.
        for chooser in choosers:
            chooser.set_files(files)
    finally:
        page.remove_listener("filechooser", take)


def _by_keyboard(page: Page, question_id: str, kind: str, value: Any) -> None:
    if kind == "radio":
        _choose_radio_by_keyboard(page, question_id, value)
    elif kind == "checkbox":
        for box in page.locator(f"input[name='{question_id}']").all():
            wanted = box.get_attribute("value") in value
            if box.is_checked() != wanted:
                tab_to(page, f"input[name='{question_id}'][value='{box.get_attribute('value')}']")
                page.keyboard.press("Space")
    elif kind == "file":
        _choose_files_by_keyboard(page, f"input[name='{question_id}']", value)
    elif kind == "date":
        parts = [str(value.day), str(value.month), str(value.year)] if value else ["", "", ""]
        for part, text in zip(DATE_PARTS, parts, strict=True):
            _type_into(page, f"#id_{question_id}_{part}", text)
    else:
        _type_into(page, f"#id_{question_id}", value or "")


def _by_pointer(page: Page, question_id: str, kind: str, value: Any) -> None:
    if kind == "radio":
        page.locator(f"input[name='{question_id}'][value='{value}']").check()
    elif kind == "checkbox":
        for box in page.locator(f"input[name='{question_id}']").all():
            box.set_checked(box.get_attribute("value") in value)
    elif kind == "file":
        page.locator(f"input[name='{question_id}']").set_input_files(value)
    elif kind == "date":
        parts = [str(value.day), str(value.month), str(value.year)] if value else ["", "", ""]
        for part, text in zip(DATE_PARTS, parts, strict=True):
            page.locator(f"#id_{question_id}_{part}").fill(text)
    else:
        page.locator(f"#id_{question_id}").fill(value or "")


def _questions_on_page(page: Page) -> dict[str, str]:
    """The questions of the current page's form: id → kind (radio, checkbox, file, date,
    text)."""
    controls = page.evaluate(
        """() => Array.from(document.querySelectorAll('main form [name]'))
            .map(e => [e.name, e.type || e.tagName.toLowerCase()])"""
    )
    questions: dict[str, str] = {}
    for name, kind in controls:
        if name in NOT_QUESTIONS:
            continue
        base, _, part = name.rpartition("_")
        if part in DATE_PARTS and base:
            questions[base] = "date"
        elif kind in {"radio", "checkbox", "file"}:
            questions[name] = kind
        else:
            questions.setdefault(name, "text")
    return questions


def fill_question_page(page: Page, answers: dict[str, Any], *, keyboard: bool = False) -> None:
    """Answer every question on the current page from ``answers`` (each must be there)."""
    questions = _questions_on_page(page)
    missing = [question_id for question_id in questions if question_id not in answers]
    assert not missing, f"no answer given for {missing} on {page.url}"
    for question_id, kind in questions.items():
        (_by_keyboard if keyboard else _by_pointer)(page, question_id, kind, answers[question_id])


def _press_button(page: Page, name: str, *, keyboard: bool) -> None:
    """Submit the main form with its button labelled ``name`` and wait for the next page."""
    button = page.locator("main form button[type=submit]", has_text=name)
    expect(button).to_have_count(1)
    if keyboard:
        tab_until(
            page,
            "e.tagName === 'BUTTON' && e.type === 'submit' && e.textContent.trim() === arg",
            name,
            f"the {name!r} button",
        )
        press_enter_and_wait(page)
    else:
        with page.expect_navigation():
            button.click()


def _problem(page: Page) -> str:
    summary = page.locator(".govuk-error-summary")
    if summary.count():
        return summary.inner_text()
    return page.locator("main").inner_text()[:600]


def start_application(page: Page, slug: str, *, keyboard: bool = False) -> None:
    """From the service's start page, "Start now" (the resident is signed in)."""
    page.goto(f"/services/{slug}/")
    assert_accessible(page)
    start = page.locator("main a.govuk-button--start")
    expect(start).to_contain_text("Start now")
    if keyboard:
        tab_to(page, "main a.govuk-button--start")
        press_enter_and_wait(page)
    else:
        with page.expect_navigation():
            start.click()


def answer_until_sent(page: Page, answers: dict[str, Any], *, keyboard: bool = False) -> str:
    """From the page the application is on, answer eligibility questions and question
    pages, tick the declaration on "Check your answers" and send. Every page is checked
    with axe. Returns the case reference shown on the confirmation page."""
    for _ in range(MAX_STEPS):
        assert_accessible(page)
        path = page.url.split("?")[0].split("#")[0]
        sent = SENT_PATH.search(path)
        if sent:
            reference = sent.group("reference")
            expect(page.locator(".govuk-panel--confirmation")).to_contain_text(reference)
            return reference
        if "/eligibility/" in path:
            question_id = path.rstrip("/").rsplit("/", 1)[1]
            assert question_id in answers, f"no answer given for {question_id} on {path}"
            if keyboard:
                _choose_radio_by_keyboard(page, "answer", answers[question_id])
            else:
                page.locator(f"input[name=answer][value='{answers[question_id]}']").check()
            _press_button(page, "Continue", keyboard=keyboard)
        elif "/page/" in path:
            fill_question_page(page, answers, keyboard=keyboard)
            _press_button(page, "Save and continue", keyboard=keyboard)
        elif path.endswith("/check/"):
            expect(page.locator("main h1")).to_have_text(
                "Check your answers before sending your application"
            )
            if keyboard:
                tab_to(page, "#id_declaration")
                page.keyboard.press("Space")
            else:
                page.locator("#id_declaration").check()
            _press_button(page, "Accept and send", keyboard=keyboard)
        else:
            raise AssertionError(f"unexpected page {page.url}: {_problem(page)}")
        if page.url.split("?")[0] == path:
            raise AssertionError(f"the page {path} did not accept the answers: {_problem(page)}")
    raise AssertionError(f"the application did not end after {MAX_STEPS} pages")


def apply(page: Page, slug: str, answers: dict[str, Any], *, keyboard: bool = False) -> str:
    """The signed-in resident applies for ``slug`` with ``answers``; returns the reference."""
    start_application(page, slug, keyboard=keyboard)
    return answer_until_sent(page, answers, keyboard=keyboard)


# --- officials --------------------------------------------------------------------------------


def open_case_from_queue(page: Page, reference: str) -> None:
    """The official finds the case in their queue and opens it."""
    page.goto("/staff/cases/")
    assert_accessible(page)
    link = page.locator(f"main a[href='/staff/cases/{reference}/']")
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    assert_accessible(page)
    expect(page.locator("main h1")).to_contain_text(reference)


def take_action(page: Page, reference: str, action_id: str, given: dict[str, Any]) -> None:
    """On the staff case page, the official opens the action, types ``given["text"]``,
    attaches ``given["files"]`` and submits; back on the case page, "Done" is shown."""
    link = page.locator(f"main a[href='/staff/cases/{reference}/actions/{action_id}/']")
    expect(link).to_have_count(1)
    label = link.inner_text().strip()
    with page.expect_navigation():
        link.click()
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text(label)
    if given.get("text"):
        page.locator("#id_text").fill(given["text"])
    if given.get("files"):
        page.locator("main form input[type=file]").set_input_files(given["files"])
    if given.get("publish"):
        page.locator("#id_publish").check()
    _press_button(page, label, keyboard=False)
    assert page.url.split("?")[0].endswith(f"/staff/cases/{reference}/"), (
        f"{action_id} was not accepted: {_problem(page)}"
    )
    assert_accessible(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(f"Done: {label}")


def take_actions(page: Page, reference: str, steps: list[tuple[str, dict[str, Any]]]) -> None:
    open_case_from_queue(page, reference)
    for action_id, given in steps:
        take_action(page, reference, action_id, given)


# --- the resident's document ------------------------------------------------------------------


def open_case(page: Page, reference: str) -> None:
    page.goto(f"/applications/{reference}/")
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text(reference)


def download_document(page: Page, title: str, *, keyboard: bool = False) -> bytes:
    """On the resident's case page: the "Download <title> (PDF)" link answers 200 with a
    PDF, and following it downloads the file. Returns the file's bytes."""
    link = page.locator("main a[href^='/account/documents/'][href$='/download/']")
    expect(link).to_have_count(1)
    expect(link).to_have_text(f"Download {title} (PDF)")
    href = link.get_attribute("href")
    assert href
    response = page.request.get(href)
    assert response.status == 200, (response.status, response.text()[:500])
    assert response.headers["content-type"].split(";")[0] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    with page.expect_download() as download_info:
        if keyboard:
            tab_to(page, f"main a[href='{href}']")
            page.keyboard.press("Enter")
        else:
            link.click()
    download = download_info.value
    path = download.path()
    assert path is not None, download.failure()
    content = path.read_bytes()
    assert content.startswith(b"%PDF"), content[:40]
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    return content


def in_days(days: int) -> datetime.date:
    return datetime.date.today() + datetime.timedelta(days=days)


# --- paying -------------------------------------------------------------------------------------

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def fill_card(page: Page, card: str, *, keyboard: bool = False) -> None:
    """On the sandbox provider's card page: a card that expires next year, then "Pay now"."""
    expect(page.locator("main h1")).to_have_text("Enter card details")
    assert_accessible(page)
    values = {
        "#id_card_number": card,
        "#id_expiry": f"12/{(datetime.date.today().year + 1) % 100:02d}",
        "#id_name": "Alex Morgan",
        "#id_security_code": "123",
    }
    for selector, value in values.items():
        if keyboard:
            tab_to(page, selector)
            page.keyboard.type(value)
        else:
            page.locator(selector).fill(value)
    _press_button(page, "Pay now", keyboard=keyboard)


def pay_by_card(page: Page, card: str = SUCCESS_CARD, *, keyboard: bool = False) -> None:
    """From a page with a "Pay" button or link (confirmation, case page, bills): pay on
    the sandbox provider's page and come back to the outcome page."""
    pay = page.locator("main a.govuk-button", has_text=re.compile(r"^\s*(Pay|Try again)")).first
    if keyboard:
        tab_until(
            page,
            "e.classList.contains('govuk-button') && /^(Pay|Try again)/.test(e.textContent.trim())",
            None,
            "the Pay button",
        )
        press_enter_and_wait(page)
    else:
        with page.expect_navigation():
            pay.click()
    assert_accessible(page)
    _press_button(page, "Continue to payment", keyboard=keyboard)
    fill_card(page, card, keyboard=keyboard)
    assert_accessible(page)

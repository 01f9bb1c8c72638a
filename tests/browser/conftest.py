"""Browser journeys: Debian's Chromium driven by Playwright against the live server, with
axe-core checking every page a test visits (WCAG 2.2 AA tags).

Every page load is recorded; a test fails at teardown if it visited a page it did not
check with :func:`assert_accessible`.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE_SCRIPT = (
    Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
AXE_RUN = (
    "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: No page may be wider than a small phone's screen (375 CSS pixels): people would have
#: to scroll sideways to read it (WCAG 1.4.10, reflow).
NARROW_WIDTH = 375
#: ``null`` when the page is no wider than the window, else its width and the elements
#: that stick out (those not inside a scrolling or clipping box).
WIDER_THAN_THE_SCREEN = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  if (root.scrollWidth <= width) return null;
  const clipped = (element) => {
    for (let box = element.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    // Its box, or its content (a long word overflows the box of its paragraph).
    const right = Math.max(box.right, box.left + element.scrollWidth);
    if (right > width + 1 && !clipped(element)) {
      const classes = typeof element.className === "string" ? element.className.trim() : "";
      const dotted = classes ? "." + classes.replace(/ +/g, ".") : "";
      const name = element.tagName.toLowerCase() + dotted;
      out.push(`${name} (${Math.round(box.left)} to ${Math.round(right)})`);
    }
  }
  return {page_width: root.scrollWidth, screen_width: width, sticking_out: out.slice(0, 8)};
}"""
# Chromium must not try to reach Google's services from this sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: scripts/test installs Debian's chromium.")
    if not AXE_SCRIPT.exists():
        pytest.fail("axe-core is missing: run `npm ci` in frontend/ (scripts/test does).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class AccessibilityLedger:
    """Which page loads a test made and which of them it checked with axe."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.checked: set[int] = set()

    def unchecked(self) -> list[str]:
        return [url for index, url in enumerate(self.loaded) if index not in self.checked]


@pytest.fixture
def javascript_enabled() -> bool:
    """Override (parametrize) to drive a journey with JavaScript turned off."""
    return True


@pytest.fixture
def page(browser: Browser, live_server, request, javascript_enabled) -> Page:
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", java_script_enabled=javascript_enabled
    )
    context.set_default_timeout(15_000)
    new_page = context.new_page()
    ledger = AccessibilityLedger()
    new_page.on("load", lambda loaded: ledger.loaded.append(loaded.url))
    # Console errors include Content-Security-Policy refusals and script failures. A test
    # that loads an error page on purpose names its status in ecitizen_expected_statuses:
    # the browser's report of that status is then no error.
    console_errors: list[str] = []
    expected_statuses: set[int] = set()

    def on_console(message) -> None:
        if message.type != "error":
            return
        if any(f"with a status of {code} " in message.text for code in expected_statuses):
            return
        console_errors.append(f"{message.text} ({new_page.url})")

    new_page.on("console", on_console)
    new_page.ecitizen_expected_statuses = expected_statuses  # type: ignore[attr-defined]
    new_page.ecitizen_ledger = ledger  # type: ignore[attr-defined]
    new_page.ecitizen_browser = browser  # type: ignore[attr-defined]
    new_page.ecitizen_javascript = javascript_enabled  # type: ignore[attr-defined]
    yield new_page
    failed = request.node.rep_call.failed if hasattr(request.node, "rep_call") else False
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        new_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    if not failed:
        unchecked = ledger.unchecked()
        assert not unchecked, f"pages visited without an axe check: {unchecked}"
        assert not console_errors, f"errors in the browser console: {console_errors}"


class SharedClock:
    """The server's clock (time-machine, in this process, so the live server's too) and the
    page's clock (Playwright's fake timers), moved forward together: a journey about
    minutes or hours of idleness takes no real time and does not depend on the machine's
    speed. Both clocks also keep running on their own."""

    def __init__(self, page: Page, traveller) -> None:
        self.page = page
        self.traveller = traveller

    def advance(self, seconds: float) -> None:
        """Move both clocks ``seconds`` ahead, firing the page's timers due meanwhile (a
        request that one of them starts reaches a server already at the new time)."""
        self.traveller.shift(seconds)
        self.page.clock.run_for(round(seconds * 1000))


@pytest.fixture
def shared_clock(page: Page):
    """Install before the first ``page.goto``: the page's fake timers are set up when a
    document loads."""
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now(), tick=True) as traveller:
        page.clock.install()
        yield SharedClock(page, traveller)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _axe_violations(page: Page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the browser's debugging protocol rather than added as a
        # <script> tag, which the page's Content-Security-Policy would rightly refuse.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;true")
    return page.evaluate(AXE_RUN, AXE_TAGS)["violations"]


def _too_wide(page: Page, width: int = NARROW_WIDTH) -> dict | None:
    """Lay the page out ``width`` pixels wide (then back to its size): ``None`` when it
    fits, else how wide it is and the elements that stick out."""
    size = page.viewport_size or {"width": 1280, "height": 720}
    page.set_viewport_size({"width": width, "height": size["height"]})
    try:
        return page.evaluate(WIDER_THAN_THE_SCREEN)
    finally:
        page.set_viewport_size(size)


def _checks_without_javascript(page: Page) -> tuple[list[dict], dict | None]:
    """axe needs JavaScript; a page opened without it is checked as it stands: its DOM,
    scripts removed, served at the same address to a second page that runs axe (and
    measures its width)."""
    html = re.sub(r"<script\b.*?</script>", "", page.content(), flags=re.DOTALL | re.IGNORECASE)
    browser: Browser = page.ecitizen_browser  # type: ignore[attr-defined]
    context = browser.new_context(locale="en-GB")
    try:
        checker = context.new_page()
        checker.route(
            page.url,
            lambda route: route.fulfill(status=200, content_type="text/html", body=html),
        )
        checker.goto(page.url)
        return _axe_violations(checker), _too_wide(checker)
    finally:
        context.close()


def assert_accessible(page: Page) -> None:
    """Run axe-core (WCAG 2.0/2.1/2.2 A and AA) on the current page; fail on any violation.
    Also fail when the page, laid out on a small phone's screen (``NARROW_WIDTH``), is
    wider than that screen: people would have to scroll sideways to read it."""
    page.wait_for_load_state("load")
    if page.ecitizen_javascript:  # type: ignore[attr-defined]
        found = _axe_violations(page)
        too_wide = _too_wide(page)
    else:
        found, too_wide = _checks_without_javascript(page)
    violations = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in found
    ]
    assert not violations, f"axe violations on {page.url}:\n{json.dumps(violations, indent=2)}"
    assert too_wide is None, (
        f"{page.url} is wider than a {NARROW_WIDTH} px screen:\n{json.dumps(too_wide, indent=2)}"
    )
    ledger: AccessibilityLedger = page.ecitizen_ledger  # type: ignore[attr-defined]
    ledger.checked.update(index for index, url in enumerate(ledger.loaded) if url == page.url)

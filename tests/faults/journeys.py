"""Residents doing real journeys over HTTP (``requests``: forms fetched, posted with their
CSRF token, redirects followed), who keep going when the site fails under them, as a
patient person would: a page that does not come (connection reset, 502, 503) is asked
for again after a moment, and a form that got no answer is sent again, unchanged (the
browser's "resubmit").

What each resident was *shown* is recorded: the references on confirmation pages, the
payments whose "Payment received" page appeared, and every outage page met on the way.
The tests then hold the platform to it.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.factories import PASSWORD

#: Statuses after which a person tries again: the balancer lost the process (502), the
#: site or the balancer says the service is unavailable (503), the balancer gave up (504).
TRY_AGAIN = {502, 503, 504}
SENT = re.compile(r"/applications/(?P<reference>[A-Z0-9-]+)/sent/$")
PAID = re.compile(r"/payments/(?P<payment>[0-9a-f-]{36})/return/$")
CARD = re.compile(r"/sandbox-pay/(?P<charge>[^/]+)/$")
UNAVAILABLE = "Sorry, the service is unavailable"


class JourneyFailed(AssertionError):
    pass


@dataclass
class Outage:
    """An answer that said "try again later"."""

    status: int
    url: str
    styled: bool  # the site's own page (its stylesheet and header), not the balancer's
    retry_after: str | None
    says_unavailable: bool


@dataclass
class Record:
    confirmations: list[str] = field(default_factory=list)
    payments: list[str] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # connection errors
    other: list[tuple[int, str]] = field(default_factory=list)  # anything else unexpected


def csrf_token(page: requests.Response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if match is None:
        raise JourneyFailed(f"no form on {page.url} ({page.status_code}): {page.text[:300]}")
    return match.group(1)


class Resident:
    """One person's browser."""

    def __init__(self, base_url: str, email: str, *, patience: float = 60.0) -> None:
        self.base = base_url
        self.email = email
        self.patience = patience
        self.browser = requests.Session()
        self.record = Record()
        self.stop = threading.Event()

    # --- HTTP, patiently --------------------------------------------------------------------

    def _note(self, response: requests.Response) -> None:
        text = response.text
        self.record.outages.append(
            Outage(
                status=response.status_code,
                url=response.url,
                styled="govuk-header" in text and "/static/" in text,
                retry_after=response.headers.get("Retry-After"),
                says_unavailable=UNAVAILABLE in text,
            )
        )

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        """The final page of ``method path`` (redirects followed), asked again (the same
        request, the same form data) while the site fails."""
        url = path if path.startswith("http") else self.base + path
        deadline = time.monotonic() + self.patience
        while True:
            try:
                response = self.browser.request(
                    method,
                    url,
                    data=data,
                    files=files,
                    headers={"Referer": url},
                    timeout=20,
                )
            except requests.RequestException as error:
                self.record.errors.append(f"{method} {url}: {type(error).__name__}")
            else:
                if response.status_code not in TRY_AGAIN:
                    return response
                self._note(response)
            if time.monotonic() > deadline:
                raise JourneyFailed(f"{method} {url}: no answer within {self.patience} s")
            time.sleep(0.3)

    def get(self, path: str) -> requests.Response:
        return self.request("GET", path)

    def post(
        self,
        page: requests.Response,
        data: dict[str, Any],
        files: dict[str, Any] | None = None,
    ) -> requests.Response:
        """Send the form of ``page`` (to its own address, as the platform's forms are)."""
        return self.request(
            "POST", page.url, {"csrfmiddlewaretoken": csrf_token(page), **data}, files
        )

    def expect(self, page: requests.Response, pattern: str) -> re.Match[str]:
        match = re.search(pattern, page.url)
        if page.status_code != 200 or match is None:
            self.record.other.append((page.status_code, page.url))
            raise JourneyFailed(
                f"{self.email}: expected {pattern}, got {page.status_code} {page.url}: "
                f"{page.text[:500]}"
            )
        return match

    # --- journeys ---------------------------------------------------------------------------

    def sign_in(self) -> None:
        page = self.get("/accounts/login/")
        answer = self.post(page, {"login": self.email, "password": PASSWORD})
        account = self.get("/account/")
        if "/accounts/login/" in account.url:
            raise JourneyFailed(f"{self.email} could not sign in: {answer.text[:300]}")

    def apply_for_garden_waste(self, bins: int) -> str:
        """Sign up for garden waste collection (the cases tests' ``garden-waste.yaml``)
        up to its confirmation page; returns the reference it shows."""
        page = self.get("/apply/garden-waste-collection/")
        self.expect(page, r"/eligibility/lives_in_riverton/$")
        page = self.post(page, {"answer": "yes"})
        self.expect(page, r"/page/bins/$")
        page = self.post(page, {"bin_count": str(bins)})
        self.expect(page, r"/page/address/$")
        page = self.post(page, {"collection_address": "12 Mill Lane\nRiverton"})
        self.expect(page, r"/check/$")
        page = self.post(page, {"declaration": "on"})
        reference = self.expect(page, SENT.pattern)["reference"]
        if reference not in page.text or "Pay now" not in page.text:
            raise JourneyFailed(f"confirmation of {reference} without it: {page.text[:500]}")
        self.record.confirmations.append(reference)
        return reference

    def pay(self, bill_reference: str) -> str:
        """Pay a bill with the sandbox's success card, up to "Payment received"; returns
        the payment's id."""
        page = self.get(f"/pay/{bill_reference}/")
        key = re.search(r'name="key" value="([^"]+)"', page.text)
        if key is None:
            raise JourneyFailed(f"no payment form for {bill_reference}: {page.text[:500]}")
        page = self.post(page, {"key": key.group(1)})
        if CARD.search(page.url):
            page = self.post(
                page,
                {
                    "card_number": "4242 4242 4242 4242",
                    "expiry": "12/39",
                    "name": "Alex Morgan",
                    "security_code": "123",
                },
            )
        if CARD.search(page.url) and "This payment page has expired" in page.text:
            # The card was taken but the answer was lost: the page sends us back.
            back = re.search(r'href="(/payments/[0-9a-f-]{36}/return/)"', page.text)
            if back is None:
                raise JourneyFailed(f"a used card page without a way back: {page.text[:500]}")
            page = self.get(html.unescape(back.group(1)))
        payment = self.expect(page, PAID.pattern)["payment"]
        while "We are checking your payment" in page.text and not self.stop.is_set():
            time.sleep(0.5)
            page = self.get(page.url)
        if "Payment received" not in page.text:
            raise JourneyFailed(f"payment {payment} not received: {page.text[:800]}")
        self.record.payments.append(payment)
        return payment

    def start_shed_permit(self) -> requests.Response:
        """Apply for a shed permit (the cases tests' ``shed-permit.yaml``) up to the page
        asking for the plans."""
        page = self.get("/apply/shed-permit/")
        self.expect(page, r"/eligibility/owns_property/$")
        page = self.post(page, {"answer": "yes"})
        self.expect(page, r"/page/shed/$")
        page = self.post(page, {"shed_value": "800", "material": "metal"})
        self.expect(page, r"/page/plans/$")
        return page

    def upload_plans(self, page: requests.Response, pdf: bytes) -> requests.Response:
        """Send the plans (a PDF) on the plans page; the answer is the next page, or the
        same page with what went wrong."""
        return self.post(page, {}, files={"plan_files": ("plans.pdf", pdf, "application/pdf")})

    def finish_shed_permit(self, page: requests.Response) -> str:
        """From the page after the plans to the confirmation; returns its reference."""
        self.expect(page, r"/page/contact/$")
        page = self.post(page, {"applicant_name": "Alex Morgan"})
        self.expect(page, r"/check/$")
        page = self.post(page, {"declaration": "on"})
        reference = self.expect(page, SENT.pattern)["reference"]
        if reference not in page.text:
            raise JourneyFailed(f"confirmation of {reference} without it: {page.text[:500]}")
        self.record.confirmations.append(reference)
        return reference

    def apply_and_pay(self, bins: int) -> tuple[str, str]:
        reference = self.apply_for_garden_waste(bins)
        return reference, self.pay(f"{reference}-F")


class Load:
    """Residents, each in a thread of their own, doing ``journey(resident, n)`` for
    n = 0, 1... until :meth:`finish` is called and each has done ``at_least`` more since
    the last call of :meth:`mark`."""

    def __init__(self, residents: list[Resident], journey: Callable[[Resident, int], Any]):
        self.residents = residents
        self.journey = journey
        self.failures: list[BaseException] = []
        self.done = [0] * len(residents)
        self._marks = [0] * len(residents)
        self._finishing = threading.Event()
        self._at_least = 1
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=r.email, daemon=True)
            for i, r in enumerate(residents)
        ]

    def _run(self, index: int) -> None:
        resident = self.residents[index]
        try:
            while not resident.stop.is_set():
                if self._finishing.is_set() and self.done[index] >= (
                    self._marks[index] + self._at_least
                ):
                    return
                self.journey(resident, self.done[index])
                self.done[index] += 1
        except BaseException as error:
            self.failures.append(error)

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def mark(self) -> None:
        """From now on, count the journeys again."""
        self._marks = list(self.done)

    def journeys_since_mark(self) -> int:
        return min(done - mark for done, mark in zip(self.done, self._marks, strict=True))

    def finish(self, at_least: int = 1, patience: float = 120.0) -> None:
        self._at_least = at_least
        self._finishing.set()
        deadline = time.monotonic() + patience
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            for resident in self.residents:
                resident.stop.set()
            raise JourneyFailed("the residents' journeys did not end in time")
        if self.failures:
            raise self.failures[0]

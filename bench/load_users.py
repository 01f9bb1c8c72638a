"""The people of the load scenario (``bench/load.py``): Locust users, one class per kind
of visit, each step a named request checked as a browser's user would check it.

Arrivals are open: for each kind of visit, an arrival greenlet puts visits in a queue at
the kind's rate (Poisson arrivals), and a pool of simulated people takes them. A visit
that waits for a free person is late (its lag is measured); the rate does not slow down
when the server does, as real arrivals do not. People who sign in (applicants, payers,
officers) do so once, when the pool starts, and keep their session for every visit.

Nothing is skipped when it fails: a step that answers anything but what a person would
expect (status, page, confirmation) is a Locust failure and ends the visit, which counts
as failed. A visit counts as completed only when its last page shows success (the
confirmation panel with the case's reference, "Payment received", "Done: ..." on the
case page, the account page after the code).

Only ``bench/load.py`` and ``bench/scale_out.py`` import this module, after gevent has
patched the standard library.
"""

from __future__ import annotations

import html
import itertools
import random
import re
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import gevent
import pyotp
from gevent.queue import Empty, Queue
from locust import FastHttpUser, constant, task

# --- what the run shares --------------------------------------------------------------------

#: Filled by :func:`configure` from ``bench.load_setup prepare``'s answer.
DATA: dict[str, Any] = {}
_rng = random.Random(16)  # noqa: S311 - load generation, not secrets


@dataclass
class VisitStats:
    started: int = 0
    completed: int = 0
    failed: int = 0
    durations: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: Why visits failed (the first words of the reason), how often.
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


#: Per kind of visit, since the last :func:`reset_visits`.
VISITS: dict[str, VisitStats] = defaultdict(VisitStats)


def reset_visits() -> None:
    VISITS.clear()


class Pools:
    """Accounts, bills and fines handed out to the simulated people."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.applicants: deque[str] = deque(data["applicants"])
        self.payers: deque[tuple[str, deque[str]]] = deque(
            (email, deque(references)) for email, references in data["bills"].items()
        )
        self.officers: deque[tuple[str, str]] = deque(tuple(row) for row in data["officers"])
        self.fines: deque[tuple[str, str]] = deque(tuple(row) for row in data["fines"])
        # Residents with an authenticator: one sign-in per account per 30-second period,
        # since a code cannot be used twice (allauth remembers used codes).
        self.signers: deque[tuple[str, str, float]] = deque(
            (email, secret, 0.0) for email, secret in data["signers"]
        )
        #: Cases an officer has taken: two officers do not act on the same case at once.
        self.claimed: set[str] = set()

    def signer(self) -> tuple[str, str] | None:
        """A resident with an authenticator whose code of this period is unused."""
        now = time.time()
        for _ in range(len(self.signers)):
            email, secret, ready = self.signers.popleft()
            if ready <= now:
                # Usable again from the next 30-second period (a new code).
                self.signers.append((email, secret, (int(now // 30) + 1) * 30.0))
                return email, secret
            self.signers.append((email, secret, ready))
        return None


POOLS: Pools | None = None


def configure(data: dict[str, Any]) -> None:
    global POOLS  # noqa: PLW0603 - one scenario per process
    DATA.clear()
    DATA.update(data)
    POOLS = Pools(data)


def pools() -> Pools:
    assert POOLS is not None, "configure() first"
    return POOLS


_addresses: Iterator[int] = itertools.count(1)


def next_address() -> str:
    """A distinct client address (10.x.y.z) per simulated person, sent as
    X-Forwarded-For: per-address limits then count people, as behind a load balancer."""
    number = next(_addresses)
    return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


# --- reading pages --------------------------------------------------------------------------

MAIN = re.compile(r"<main\b.*?</main>", re.S)
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
CONTROL = re.compile(r"<(input|textarea|select|button)\b([^>]*)>", re.S)
ATTRIBUTE = re.compile(r'([\w:.-]+)(?:="([^"]*)")?')
TEXTAREA = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea>", re.S)
TAG_TEXT = re.compile(r"<[^>]+>")


def main_of(page: str) -> str:
    found = MAIN.search(page)
    return found.group(0) if found else ""


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(TAG_TEXT.sub(" ", fragment)).split())


def _attributes(text: str) -> dict[str, str]:
    return {name: html.unescape(value or "") for name, value in ATTRIBUTE.findall(text)}


@dataclass
class Control:
    tag: str
    name: str
    type: str
    value: str
    checked: bool


@dataclass
class Form:
    action: str
    multipart: bool
    controls: list[Control]

    def csrf(self) -> str:
        for control in self.controls:
            if control.name == "csrfmiddlewaretoken":
                return control.value
        return ""

    def hidden(self) -> list[tuple[str, str]]:
        return [(c.name, c.value) for c in self.controls if c.type == "hidden" and c.name]


def forms_of(page: str) -> list[Form]:
    """The POST forms of the page's ``<main>``, their controls in order."""
    result = []
    for head, body in FORM.findall(main_of(page)):
        attributes = _attributes(head)
        if attributes.get("method", "get").lower() != "post":
            continue
        textareas = iter(TEXTAREA.findall(body))
        controls = []
        for tag, raw in CONTROL.findall(body):
            attrs = _attributes(raw)
            name = attrs.get("name", "")
            kind = attrs.get("type", "text" if tag == "input" else tag).lower()
            value = attrs.get("value", "")
            if tag == "textarea":
                _head, content = next(textareas, ("", ""))
                value = html.unescape(content).removeprefix("\n")
            controls.append(Control(tag, name, kind, value, "checked" in attrs))
        result.append(
            Form(
                action=attributes.get("action", ""),
                multipart="multipart" in attributes.get("enctype", ""),
                controls=controls,
            )
        )
    return result


def main_form(page: str, *, sign_out: bool = False) -> Form:
    """The page's form: the sign-out form when ``sign_out``, else the first other one
    (not the sandbox's "cancel" either)."""
    for form in forms_of(page):
        if ("/logout/" in form.action) == sign_out and "/cancel/" not in form.action:
            return form
    raise VisitFailed("no form on the page")


def multipart(
    fields: list[tuple[str, str]], files: list[tuple[str, str, bytes, str]]
) -> tuple[bytes, str]:
    """A multipart/form-data body (fields, then files: name, filename, bytes, type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, filename, content, kind in files:
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- visits ---------------------------------------------------------------------------------


#: Sign-ins of the people who keep a session, when the pool starts.
SESSIONS = {"signed in": 0, "failed": 0}


class VisitFailed(Exception):
    """A step did not give what a person expects: the visit ends, failed."""


@dataclass
class Answer:
    status: int
    text: str
    location: str


class Visitor(FastHttpUser):
    """A simulated person. ``kind`` names the visits its class makes; the run puts them
    in the class's :attr:`arrivals` queue, and each person takes the next one."""

    abstract = True
    wait_time = constant(0)
    kind: ClassVar[str] = ""
    key: ClassVar[str] = ""  # its name in --mix
    arrivals: ClassVar[Queue]
    #: Visits put in the queue since the window opened.
    arrived: ClassVar[int] = 0
    # One connection per person, kept alive between requests, as a browser does.
    concurrency = 1
    network_timeout = 60.0
    connection_timeout = 60.0

    def on_start(self) -> None:
        self.address = next_address()

    # The visit itself.
    def visit(self) -> None:
        raise NotImplementedError

    @task
    def take_visit(self) -> None:
        try:
            due = self.arrivals.get(timeout=1)
        except Empty:
            return
        stats = VISITS[self.kind]
        stats.started += 1
        started = time.perf_counter()
        stats.lags.append(max(0.0, started - due))
        try:
            self.visit()
        except VisitFailed as failure:
            stats.failed += 1
            stats.reasons[str(failure)[:140]] += 1
            return
        except Exception as error:
            stats.failed += 1
            stats.reasons[f"client error: {error!r}"[:140]] += 1
            raise
        stats.completed += 1
        stats.durations.append(time.perf_counter() - started)

    # One request.
    def call(
        self,
        name: str,
        path: str,
        *,
        method: str = "GET",
        form: list[tuple[str, str]] | None = None,
        files: list[tuple[str, str, bytes, str]] | None = None,
        expect: int = 200,
        contains: str | None = None,
        redirect_to: str | None = None,
    ) -> Answer:
        """Send one request (redirects are not followed: the next page is its own step)
        and check it: the status, a text the page must contain, where a redirect goes.
        Anything else is a failure of the step and of the visit."""
        headers = {"X-Forwarded-For": self.address}
        body: bytes | str | None = None
        if files:
            body, headers["Content-Type"] = multipart(form or [], files)
        elif form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        with self.client.request(
            method,
            path,
            name=name,
            data=body,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            status = response.status_code or 0
            location = (response.headers or {}).get("Location", "") if status else ""
            text = response.text or "" if status == 200 else ""
            problem = ""
            if status != expect:
                problem = f"HTTP {status}, expected {expect}"
                if location:
                    problem += f" (to {urlsplit(location).path})"
                elif status in {200, 400, 403, 404, 410, 429}:
                    problem += f": {text_of(main_of(response.text or ''))[:160]}"
                elif not status:
                    problem = f"no answer: {response.error!r}"[:200]
            elif contains is not None and contains not in text:
                problem = f"the page does not say {contains!r}: {text_of(main_of(text))[:160]}"
            elif redirect_to is not None and not urlsplit(location).path.startswith(redirect_to):
                problem = f"redirected to {location!r}, expected {redirect_to!r}"
            if problem:
                response.failure(problem)
            else:
                response.success()
        if problem:
            raise VisitFailed(f"{name}: {problem}")
        return Answer(
            status,
            text,
            urlsplit(location).path
            + ("?" + urlsplit(location).query if urlsplit(location).query else ""),
        )

    def submit(
        self,
        name: str,
        path: str,
        page: str,
        values: list[tuple[str, str]],
        *,
        files: list[tuple[str, str, bytes, str]] | None = None,
        redirect_to: str | None = None,
        sign_out: bool = False,
    ) -> Answer:
        """POST the page's main form (its CSRF token and hidden fields plus ``values``) and
        expect a redirect (Post/Redirect/Get: an error would answer 200 with the form)."""
        form = main_form(page, sign_out=sign_out)
        given = {name for name, _ in values}
        fields = [(n, v) for n, v in form.hidden() if n not in given] + values
        return self.call(
            name,
            form.action or path,
            method="POST",
            form=fields,
            files=files,
            expect=302,
            redirect_to=redirect_to,
        )

    def start_session(self, prefix: str, email: str, secret: str | None) -> None:
        """Sign in once for all the visits to come. A failure is counted, and the next
        visit tries again (and fails if it cannot)."""
        self.session_args = (prefix, email, secret)
        self.signed_in = False
        try:
            self.sign_in(prefix, email, secret)
        except VisitFailed:
            SESSIONS["failed"] += 1
            return
        self.signed_in = True
        SESSIONS["signed in"] += 1

    def ensure_session(self) -> None:
        if not self.signed_in:
            self.sign_in(*self.session_args)
            self.signed_in = True

    def sign_in(self, prefix: str, email: str, secret: str | None) -> None:
        """Password, then the authenticator's code when the account has one; lands on
        the account page."""
        page = self.call(f"{prefix}: GET sign-in page", "/accounts/login/", contains="Sign in")
        answer = self.submit(
            f"{prefix}: POST password",
            "/accounts/login/",
            page.text,
            [("login", email), ("password", DATA["password"])],
        )
        if secret:
            if not answer.location.startswith("/accounts/2fa/authenticate/"):
                raise VisitFailed(f"no code asked for {email}: to {answer.location}")
            page = self.call(f"{prefix}: GET code page", answer.location, contains="code")
            answer = self.submit(
                f"{prefix}: POST code",
                answer.location,
                page.text,
                [("code", pyotp.TOTP(secret).now())],
                redirect_to="/account/",
            )
        elif not answer.location.startswith("/account/"):
            raise VisitFailed(f"{email} not signed in: to {answer.location}")


def arrivals(user_class: type[Visitor], rate: float, rng: random.Random) -> gevent.Greenlet:
    """Put visits in ``user_class``'s queue at ``rate`` a second (Poisson arrivals)."""

    def loop() -> None:
        due = time.perf_counter()
        while True:
            due += rng.expovariate(rate)
            gevent.sleep(max(0.0, due - time.perf_counter()))
            user_class.arrivals.put(due)
            user_class.arrived += 1

    return gevent.spawn(loop)


def saturate(user_class: type[Visitor], backlog: int, seconds: float) -> gevent.Greenlet:
    """Keep ``backlog`` visits waiting in ``user_class``'s queue for ``seconds`` at most: a
    closed model, each person starts the next visit as soon as theirs ends, so the load
    is as many visits under way as there are people (``bench/scale_out.py``)."""

    def loop() -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(max(0, backlog - user_class.arrivals.qsize())):
                user_class.arrivals.put(time.perf_counter())
                user_class.arrived += 1
            gevent.sleep(0.05)

    return gevent.spawn(loop)


# --- the floor ------------------------------------------------------------------------------


class Floor(Visitor):
    """The bare "ok" view behind the same middleware, on the same server, all along."""

    kind = "floor"
    key = "floor"

    def visit(self) -> None:
        self.call("floor: GET bare view", "/bench/bare/", contains="ok")


# --- anonymous visitors ---------------------------------------------------------------------

SEARCHES = ["parking permit", "licence", "birth certificate", "building", "information", "tax"]
DATA_WORDS = ["trees", "parking", "air quality", "budget", "population", "waste", "road"]


class CatalogueVisitor(Visitor):
    """Home page, the catalogue, a search, a service's start page."""

    kind = "catalogue and search"
    key = "catalogue"

    def visit(self) -> None:
        self.call("catalogue: GET home", "/", contains="</main>")
        self.call("catalogue: GET services", "/services/", contains="</main>")
        words = _rng.choice(SEARCHES)
        self.call(
            "catalogue: GET search",
            "/services/search/?" + urlencode({"q": words}),
            contains="</h1>",
        )
        slug = _rng.choice(DATA["services"])
        self.call("catalogue: GET start page", f"/services/{slug}/", contains="Start now")


class OpenDataVisitor(Visitor):
    """The open-data catalogue's search page, CKAN's ``package_search``, a dataset."""

    kind = "open data"
    key = "opendata"

    def visit(self) -> None:
        words = _rng.choice(DATA_WORDS)
        self.call("open data: GET dataset search", "/dataset/?" + urlencode({"q": words}))
        self.call(
            "open data: GET CKAN package_search",
            "/api/3/action/package_search?" + urlencode({"q": words, "rows": 10}),
            contains='"success": true',
        )
        name = _rng.choice(DATA["datasets"])
        self.call("open data: GET dataset", f"/dataset/{name}/", contains="</h1>")


class Open311Visitor(Visitor):
    """An Open311 app: the service list, open requests in a 500 m box, one request."""

    kind = "Open311"
    key = "open311"

    def visit(self) -> None:
        self.call(
            "open311: GET services.json", "/open311/v2/services.json", contains="service_code"
        )
        south, west, north, east = DATA["area"]
        lat, lon = _rng.uniform(south, north), _rng.uniform(west, east)
        d_lat, d_lon = 0.00225, 0.0037  # about 250 m either way at Riverton's latitude
        box = f"{lon - d_lon:.6f},{lat - d_lat:.6f},{lon + d_lon:.6f},{lat + d_lat:.6f}"
        answer = self.call(
            "open311: GET requests.json (box)",
            "/open311/v2/requests.json?" + urlencode({"bbox": box, "status": "open"}),
            contains="[",
        )
        found = re.findall(r'"service_request_id":\s*"([^"]+)"', answer.text)
        if found:
            self.call(
                "open311: GET request",
                f"/open311/v2/requests/{_rng.choice(found)}.json",
                contains="service_request_id",
            )


class DashboardVisitor(Visitor):
    """The public performance page and its figures as CSV."""

    kind = "dashboards"
    key = "dashboards"

    def visit(self) -> None:
        self.call("dashboards: GET performance", "/performance/", contains="<table")
        self.call("dashboards: GET performance CSV", "/performance/kpis.csv")


# --- paying ---------------------------------------------------------------------------------


def _card_year() -> str:
    return f"{(time.gmtime().tm_year + 1) % 100:02d}"


class PayingVisitor(Visitor):
    abstract = True

    def pay_on_sandbox(self, prefix: str, pay_path: str, page: str, reference: str) -> None:
        """From the bill's "Pay" page: continue to the sandbox's card page, pay with the
        card that succeeds, come back to "Payment received"."""
        answer = self.submit(
            f"{prefix}: POST continue to payment", pay_path, page, [], redirect_to="/sandbox-pay/"
        )
        card_page = self.call(
            f"{prefix}: GET sandbox card page", answer.location, contains="Enter card details"
        )
        answer = self.submit(
            f"{prefix}: POST card",
            answer.location,
            card_page.text,
            [
                ("card_number", "4242 4242 4242 4242"),
                ("expiry", f"12/{_card_year()}"),
                ("name", "Load Payer"),
                ("security_code", "123"),
            ],
            redirect_to="/payments/",
        )
        done = self.call(
            f"{prefix}: GET payment received", answer.location, contains="Payment received"
        )
        if reference not in done.text:
            raise VisitFailed(f"the payment page does not name {reference}")


class PayByReference(PayingVisitor):
    """A visitor pays a parking fine with its reference and postcode, no account."""

    kind = "pay by reference"
    key = "payref"

    def visit(self) -> None:
        if not pools().fines:
            VISITS[self.kind].extra["no unpaid fine left"] += 1
            raise VisitFailed("no unpaid fine left")
        reference, postcode = pools().fines.popleft()
        page = self.call("pay by ref: GET form", "/pay/", contains="postcode")
        answer = self.submit(
            "pay by ref: POST reference and postcode",
            "/pay/",
            page.text,
            [("reference", reference), ("postcode", postcode)],
            redirect_to=f"/pay/{reference}/",
        )
        page = self.call("pay by ref: GET bill", answer.location, contains=reference)
        self.pay_on_sandbox("pay by ref", answer.location, page.text, reference)


class BillPayer(PayingVisitor):
    """A signed-in resident pays one of their bills from "Your bills"."""

    kind = "pay a bill"
    key = "paybill"

    def on_start(self) -> None:
        super().on_start()
        if not pools().payers:
            raise RuntimeError("more payers than accounts: raise the pool (bench/load.py)")
        self.email, self.bills = pools().payers.popleft()
        self.start_session("payer sign-in", self.email, None)

    def visit(self) -> None:
        self.ensure_session()
        if not self.bills:
            VISITS[self.kind].extra["no unpaid bill left"] += 1
            raise VisitFailed("no unpaid bill left")
        reference = self.bills.popleft()
        self.call("pay a bill: GET your bills", "/account/bills/", contains=reference)
        path = f"/pay/{reference}/"
        page = self.call("pay a bill: GET bill", path, contains=reference)
        self.pay_on_sandbox("pay a bill", path, page.text, reference)


# --- residents ------------------------------------------------------------------------------


class SignInVisitor(Visitor):
    """A resident with an authenticator signs in (password, then the code), sees their
    account page, and signs out."""

    kind = "sign in with TOTP"
    key = "signin"

    def visit(self) -> None:
        account = pools().signer()
        if account is None:
            VISITS[self.kind].extra["no account with an unused code"] += 1
            raise VisitFailed("no account with an unused code: raise --signers")
        email, secret = account
        # Each sign-in from a fresh browser: no cookie of an earlier visit.
        self.client.cookiejar.clear()
        self.sign_in("sign in", email, secret)
        self.call("sign in: GET account", "/account/", contains=email)
        page = self.call("sign in: GET sign-out page", "/accounts/logout/", contains="Sign out")
        self.submit("sign in: POST sign out", "/accounts/logout/", page.text, [], sign_out=True)


HOME = "12 River Walk\nRiverton\nRV1 2AB"
#: What an applicant answers, by question id (a value of a radio, "" for an optional
#: question left empty, a list for checkboxes). Questions a page prefills (the name,
#: the email address) keep the prefilled answer when they are not here.
ANSWERS: dict[str, dict[str, Any]] = {
    "freedom-of-information": {
        "requester_name": "Load Applicant",
        "information": (
            "The number of potholes reported in Northgate ward each month in 2025, and how "
            "many were repaired within 28 days."
        ),
        "format": "electronic",
        "reply_by_email": "yes",
    },
    "building-permit": {
        "permission_to_build": "yes",
        "applicant_role": "owner",
        "project_address": HOME,
        "project_type": "extension",
        "description": "A single-storey rear extension, 4 m by 3 m, brick with a tiled roof.",
        "planned_start": "",
        "estimated_value": "18000",
        "plans": "file",
        "phone": "07700 900123",
    },
}
SENT = re.compile(r"^/applications/(?P<reference>[A-Z]+-[A-Z]+-\d{4}-\d+)/sent/$")
MAX_PAGES = 25


class Applicant(Visitor):
    """A signed-in resident applies for a service, page by page, from its start page to
    the confirmation with the case's reference: the freedom-of-information request
    (free, no file) or, one time in three, the building permit (a PDF of the plans)."""

    kind = "apply"
    key = "apply"

    def on_start(self) -> None:
        super().on_start()
        if not pools().applicants:
            raise RuntimeError("more applicants than accounts: raise the pool (bench/load.py)")
        self.email = pools().applicants.popleft()
        self.start_session("applicant sign-in", self.email, None)

    def visit(self) -> None:
        self.ensure_session()
        slug = (
            "building-permit"
            if _rng.random() < DATA.get("permit_share", 1 / 3)
            else "freedom-of-information"
        )
        short = "permit" if slug == "building-permit" else "FOI"
        prefix = f"apply {short}"
        self.call(f"{prefix}: GET start page", f"/services/{slug}/", contains="Start now")
        answer = self.call(
            f"{prefix}: GET start", f"/apply/{slug}/", expect=302, redirect_to="/application/"
        )
        location = answer.location
        answers = ANSWERS[slug]
        for _ in range(MAX_PAGES):
            sent = SENT.match(location)
            if sent:
                reference = sent.group("reference")
                self.call(
                    f"{prefix}: GET confirmation",
                    location,
                    contains=reference,
                )
                VISITS[self.kind].extra[f"submitted: {short}"] += 1
                return
            if "/eligibility/" in location:
                question = location.rstrip("/").rsplit("/", 1)[1]
                page = self.call(f"{prefix}: GET eligibility question", location)
                answer = self.submit(
                    f"{prefix}: POST eligibility answer",
                    location,
                    page.text,
                    [("answer", answers[question])],
                )
            elif "/page/" in location:
                page = self.call(f"{prefix}: GET question page", location)
                values, files = self._answer(main_form(page.text), answers)
                answer = self.submit(
                    f"{prefix}: POST question page" + (" with upload" if files else ""),
                    location,
                    page.text,
                    values,
                    files=files,
                )
            elif location.endswith("/check/"):
                page = self.call(
                    f"{prefix}: GET check answers", location, contains="Check your answers"
                )
                answer = self.submit(
                    f"{prefix}: POST accept and send",
                    location,
                    page.text,
                    [("declaration", "on")],
                    redirect_to="/applications/",
                )
            else:
                raise VisitFailed(f"{prefix}: unexpected page {location}")
            if answer.location.split("?")[0] == location.split("?")[0]:
                raise VisitFailed(f"{prefix}: {location} did not accept the answers")
            location = answer.location
        raise VisitFailed(f"{prefix}: no confirmation after {MAX_PAGES} pages")

    @staticmethod
    def _answer(
        form: Form, answers: dict[str, Any]
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str, bytes, str]]]:
        """The values for the page's questions: given answers, else what the page
        prefilled; a missing answer to a question without one fails the visit."""
        values: list[tuple[str, str]] = []
        files: list[tuple[str, str, bytes, str]] = []
        done: set[str] = set()
        for control in form.controls:
            name = control.name
            if not name or control.type in {"hidden", "submit", "button"} or name in done:
                continue
            if name in {"remove_file", "add_another"}:
                continue
            base, _, part = name.rpartition("_")
            question = base if part in {"day", "month", "year"} and base in answers else name
            if question not in answers:
                if control.type in {"radio", "checkbox", "file"} or not control.value:
                    raise VisitFailed(f"no answer for the question {question!r}")
                values.append((name, control.value))  # prefilled
                done.add(name)
                continue
            given = answers[question]
            if control.type == "file":
                files.append((name, "plans.pdf", DATA["pdf"], "application/pdf"))
            elif control.type in {"radio", "checkbox"}:
                values.append((name, given))
            elif question != name:  # a part of a date
                values.append((name, ""))
            else:
                values.append((name, given))
            done.add(name)
        return values, files


# --- officials ------------------------------------------------------------------------------

QUEUE = "/staff/cases/?" + urlencode({"service": "freedom-of-information", "state": "submitted"})
CASE_LINK = re.compile(r'href="/staff/cases/([A-Z]+-FOI-\d{4}-\d+)/"')


class Officer(Visitor):
    """A freedom-of-information officer (signed in with their authenticator) opens the
    queue of new requests, opens one nobody else has taken, and accepts it ("Accept the
    request and start searching"): back on the case page, "Done: ..." is shown."""

    kind = "officer: queue and transition"
    key = "officer"

    def on_start(self) -> None:
        super().on_start()
        if not pools().officers:
            raise RuntimeError("more officers than accounts: raise the pool (bench/load.py)")
        self.email, secret = pools().officers.popleft()
        self.start_session("officer sign-in", self.email, secret)

    def visit(self) -> None:
        self.ensure_session()
        queue = self.call("officer: GET queue (new FOI requests)", QUEUE, contains="</h1>")
        claimed = pools().claimed
        references = [ref for ref in CASE_LINK.findall(queue.text) if ref not in claimed]
        if not references:
            VISITS[self.kind].extra["queue empty: no transition"] += 1
            return
        reference = references[-1]  # the oldest on the page: sorted by due date
        claimed.add(reference)
        case_path = f"/staff/cases/{reference}/"
        page = self.call("officer: GET case", case_path, contains=reference)
        action = f"{case_path}actions/start_search/"
        if action not in page.text:
            raise VisitFailed(f"{reference}: no 'start searching' action offered")
        page = self.call("officer: GET action page", action, contains="start searching")
        self.submit(
            "officer: POST transition",
            action,
            page.text,
            [("text", "")],
            redirect_to=case_path,
        )
        self.call("officer: GET case after transition", case_path, contains="Done: ")
        VISITS[self.kind].extra["transitions"] += 1


#: Every kind of visit, in the order reports list them.
VISITORS: list[type[Visitor]] = [
    CatalogueVisitor,
    OpenDataVisitor,
    Open311Visitor,
    DashboardVisitor,
    SignInVisitor,
    Applicant,
    BillPayer,
    PayByReference,
    Officer,
]


def user_class(base: type[Visitor], count: int) -> type[Visitor]:
    """A run's class of ``base``: ``count`` people taking visits from a fresh queue."""
    return type(
        base.__name__,
        (base,),
        {"fixed_count": count, "arrivals": Queue(), "arrived": 0, "__module__": __name__},
    )

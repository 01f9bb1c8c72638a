"""The "report a problem" journey's state, for the views: the answers given so far (kept
in the session, so that nothing is lost going back and forth, signed in or not), which
page comes next, and the photos held until the report is sent.

The answers live under one session key as plain JSON. Photos are too large for a
session: each one is checked and stripped of its metadata (:func:`photo_prepare`) on
the photo page, then held, encrypted, in the shared cache (``CACHE_URL``, which every
web process reaches) for :data:`HOLD_SECONDS`; the session keeps only their keys. The
cache forgets them by itself when a journey is abandoned. A photo the cache lost (an
eviction) is detected when the report is sent: the resident is asked to add it again.

Nothing here writes the database: reports are written by :mod:`ecitizen.reports.services`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse

from ecitizen.core.crypto import DecryptionError, decrypt_bytes, encrypt_bytes
from ecitizen.reports import geo
from ecitizen.reports.photos import PreparedPhoto
from ecitizen.reports.services import Category, ReportError, category_get

SESSION_KEY = "reports.journey"
#: The last reports sent from this session, by journey token: the confirmation page,
#: and the answer to a second click of "Send report".
SENT_KEY = "reports.sent"
#: How long photos are held: longer than a resident's idle session, so a photo never
#: outlives the answers it belongs to by much, nor disappears before them.
HOLD_SECONDS = 6 * 3600
#: How far a pin may be from a street of the gazetteer for that street to name it.
NEAREST_STREET_M = 250
STEPS = ("category", "where", "nearby", "describe", "questions", "photos", "about", "check")
_URL_NAMES = {
    "category": "reports:start",
    "where": "reports:where",
    "nearby": "reports:nearby",
    "describe": "reports:describe",
    "photos": "reports:photos",
    "about": "reports:about",
    "check": "reports:check",
}


# --- held photos ---------------------------------------------------------------------------


def _held_key(key: str, part: str) -> str:
    return f"reports:held-photo:{key}:{part}"


def photo_hold(prepared: PreparedPhoto, *, filename: str) -> dict[str, Any]:
    """Hold a checked photo (both its copies, encrypted) and return what the session
    keeps of it."""
    key = secrets.token_urlsafe(16)
    for part, data in (("original", prepared.original), ("display", prepared.display)):
        blob = encrypt_bytes(data, context=_held_key(key, part))
        cache.set(_held_key(key, part), blob, HOLD_SECONDS)
    return {
        "key": key,
        "name": filename[:100],
        "content_type": prepared.content_type,
        "extension": prepared.extension,
        "size": len(prepared.original),
    }


def photo_held(key: str, part: str = "original") -> bytes | None:
    """The bytes of a held photo (``original`` or ``display``), or ``None`` when the cache
    no longer has them."""
    blob = cache.get(_held_key(key, part))
    if not isinstance(blob, bytes):
        return None
    try:
        return decrypt_bytes(blob, context=_held_key(key, part))
    except DecryptionError:
        return None


def photo_release(key: str) -> None:
    """Forget a held photo (removed by the resident, or sent with the report)."""
    cache.delete_many([_held_key(key, "original"), _held_key(key, "display")])


# --- places --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """A point the resident chose, inside the area, with what names it."""

    lat: float
    lon: float
    ward: str
    street: str


def place_value(place: geo.Place) -> str:
    """A gazetteer place as a radio's value."""
    return f"{place.lat},{place.lon}"


def place_label(place: geo.Place) -> str:
    return f"{place.street}, {place.postcode}"


def ward_name(code: str) -> str:
    try:
        return geo.area().ward_name(code)
    except KeyError:
        return code


def nearest_street(lat: float, lon: float) -> str:
    """The street of the gazetteer nearest the point, if one is within
    :data:`NEAREST_STREET_M` ("" otherwise): a pin dropped on a map, put in words."""
    best: tuple[float, str] | None = None
    for place in geo.gazetteer():
        metres = geo.distance_m(lat, lon, place.lat, place.lon)
        if metres <= NEAREST_STREET_M and (best is None or metres < best[0]):
            best = (metres, place.street)
    return best[1] if best else ""


# --- the journey -----------------------------------------------------------------------------


class Journey:
    """The answers of this session's report in progress, and where the resident goes
    next. Call :meth:`save` after changing :attr:`data`."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.data: dict[str, Any] = dict(request.session.get(SESSION_KEY) or {})
        if not self.data.get("token"):
            # The key of this journey's submission: a second "Send report" for the same
            # token finds the report the first one made.
            self.data["token"] = secrets.token_urlsafe(16)
        self._category: Category | None = None

    def save(self) -> None:
        self.request.session[SESSION_KEY] = self.data

    def clear(self) -> None:
        """End the journey: its photos are let go, its answers forgotten."""
        for photo in self.data.get("photos", []):
            photo_release(photo["key"])
        self.request.session.pop(SESSION_KEY, None)
        self.data = {"token": secrets.token_urlsafe(16)}

    @property
    def started(self) -> bool:
        return bool(self.data.get("category"))

    # --- answers -----------------------------------------------------------------------
    @property
    def category(self) -> Category | None:
        """The category chosen, if it is still one residents can report."""
        code = self.data.get("category")
        if not code:
            return None
        if self._category is None or self._category.code != code:
            try:
                self._category = category_get(code)
            except ReportError:
                return None
        return self._category

    def set_category(self, code: str) -> None:
        if code != self.data.get("category"):
            # Another category asks other questions, and has other open reports nearby.
            for key in ("answers", "nearby_done", "nearby_count"):
                self.data.pop(key, None)
        self.data["category"] = code
        self._category = None

    def set_location(self, located: Located, *, where: str, nearby_count: int) -> None:
        if (located.lat, located.lon) != (self.data.get("lat"), self.data.get("lon")):
            self.data.pop("nearby_done", None)
        self.data.update(
            lat=located.lat,
            lon=located.lon,
            ward=located.ward,
            street=located.street,
            where=where,
            nearby_count=nearby_count,
        )

    @property
    def address(self) -> str:
        """Where, in words, for the report: the words the resident wrote, then the street."""
        parts = [self.data.get("where", ""), self.data.get("street", "")]
        return ", ".join(part for part in parts if part)

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self.data.get("answers") or {})

    @property
    def photos(self) -> list[dict[str, Any]]:
        return list(self.data.get("photos") or [])

    # --- the category's question pages ----------------------------------------------------
    def question_pages(self) -> list[dict[str, Any]]:
        """The category's pages shown for the answers so far, each with questions."""
        category = self.category
        if category is None:
            return []
        spec = category.spec
        answers = self.answers
        return [
            page for page in spec.visible_pages(answers) if spec.visible_questions(page, answers)
        ]

    # --- which page ---------------------------------------------------------------------
    def applies(self, step: str) -> bool:
        if step == "nearby":
            return bool(self.data.get("nearby_count"))
        if step == "questions":
            return bool(self.question_pages())
        return True

    def complete(self, step: str) -> bool:
        """Whether ``step``'s page has been answered (``check`` never is)."""
        data = self.data
        category = self.category
        answered = {
            "category": lambda: category is not None,
            "where": lambda: "lat" in data and "lon" in data,
            "nearby": lambda: bool(data.get("nearby_done")),
            "describe": lambda: bool(data.get("title") and data.get("description")),
            "questions": lambda: (
                category is not None and category.spec.first_unanswered_page(self.answers) is None
            ),
            "photos": lambda: bool(data.get("photos_done")),
            "about": lambda: (
                "show_name" in data
                and bool(self.request.user.is_authenticated or data.get("email"))
            ),
        }
        check = answered.get(step)
        return bool(check and check())

    def first_incomplete(self) -> str:
        for step in STEPS:
            if self.applies(step) and not self.complete(step):
                return step
        return "check"

    def ready_for(self, step: str) -> bool:
        """Whether every page before ``step`` has been answered."""
        for earlier in STEPS[: STEPS.index(step)]:
            if self.applies(earlier) and not self.complete(earlier):
                return False
        return True

    def url(self, step: str, *, returning: bool = False) -> str:
        if step == "questions":
            pages = self.question_pages()
            unanswered = self.category.spec.first_unanswered_page(self.answers) if pages else None  # type: ignore[union-attr]
            page = unanswered or (pages[0] if pages else None)
            if page is None:
                return self.url("photos", returning=returning)
            url = reverse("reports:questions", args=[page["id"]])
        else:
            url = reverse(_URL_NAMES[step])
        return f"{url}?return=check" if returning and step != "check" else url

    def next_url(self, step: str, *, returning: bool) -> str:
        """Where to go after ``step`` was answered: back to check your answers (or the
        first page that a change left unanswered) for a change, else the next page."""
        if returning:
            return self.url(self.first_incomplete(), returning=True)
        for later in STEPS[STEPS.index(step) + 1 :]:
            if self.applies(later):
                return self.url(later)
        return self.url("check")

    def previous_url(self, step: str, *, returning: bool = False) -> str:
        """The back link of ``step``'s page."""
        if returning:
            return self.url("check")
        for earlier in reversed(STEPS[: STEPS.index(step)]):
            if earlier == "questions" and self.applies("questions"):
                pages = self.question_pages()
                return reverse("reports:questions", args=[pages[-1]["id"]])
            if self.applies(earlier):
                return self.url(earlier)
        return reverse("reports:list")

"""A checked service definition, read: the questions a resident is asked, the fee, the
workflow an official follows.

:class:`ServiceSpec` wraps the definition dictionary of a published
:class:`~ecitizen.catalogue.models.ServiceVersion`. It assumes the definition passed the
checks of :mod:`ecitizen.catalogue.definitions` (references are sound), so it never
validates again.

Answers are kept as JSON values: text as ``str``, number as ``int``, money as a decimal
``str`` ("125.50"), date as ISO ``str``, yes/no as ``bool``, multiple choice as a list of
``str``, file as a list of upload ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import translation

Answers = Mapping[str, Any]


def localised(text: Mapping[str, str] | None, language: str | None = None) -> str:
    """The text in ``language`` (default: the active language), else in English."""
    if not text:
        return ""
    language = (language or translation.get_language() or "en").split("-")[0]
    return text.get(language) or text.get("en") or next(iter(text.values()))


def extension_names(definition: Mapping[str, Any]) -> tuple[str, ...]:
    """The names of a definition's ``extensions`` blocks (the apps' own parts: ``report``,
    ``complaint``...), sorted; none when it has no object there."""
    extensions = definition.get("extensions")
    return tuple(sorted(extensions)) if isinstance(extensions, dict) else ()


def condition_met(condition: Mapping[str, Any] | None, answers: Answers) -> bool:
    """Whether a ``show_if`` condition holds for the answers given so far. A condition on
    a question not answered (or hidden) does not hold."""
    if not condition:
        return True
    if condition["question"] not in answers:
        return False
    answer = answers[condition["question"]]
    if "equals" in condition:
        return bool(answer == condition["equals"])
    return answer in condition["in"]


class ServiceSpec:
    """Read-only view of one definition version."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        self.definition = definition
        self.slug: str = definition["slug"]
        self.department: str = definition["department"]
        self.pages: list[dict[str, Any]] = list(definition["pages"])
        self.eligibility: list[dict[str, Any]] = list(definition.get("eligibility", []))
        self.questions: dict[str, dict[str, Any]] = {
            question["id"]: question for page in self.pages for question in page["questions"]
        }
        workflow = definition["workflow"]
        self.states: dict[str, dict[str, Any]] = {s["id"]: s for s in workflow["states"]}
        self.actions: dict[str, dict[str, Any]] = {a["id"]: a for a in workflow["actions"]}
        self.initial_state: str = workflow["initial_state"]
        self.notifications: dict[str, dict[str, Any]] = {
            n["id"]: n for n in definition.get("notifications", [])
        }

    # --- what the resident reads -----------------------------------------------------
    def title(self, language: str | None = None) -> str:
        return localised(self.definition["title"], language)

    def summary(self, language: str | None = None) -> str:
        return localised(self.definition["summary"], language)

    @property
    def reference_code(self) -> str:
        """Letters of the service in case references (``BP`` in RIV-BP-2026-000123)."""
        code = self.definition.get("reference_code")
        if code:
            return str(code)
        return "".join(word[0] for word in self.slug.split("-") if word)[:4].upper()

    @property
    def requires_verified_identity(self) -> bool:
        """Applying needs an identity verified by the national eID (``minimum_acr``
        given alone implies it)."""
        return bool(self.definition.get("requires_verified_identity") or self.minimum_acr)

    @property
    def minimum_acr(self) -> str:
        """The lowest level of assurance of that verification accepted ("" for any)."""
        return str(self.definition.get("minimum_acr") or "")

    @property
    def sla_business_days(self) -> int | None:
        sla = self.definition.get("sla")
        return int(sla["business_days"]) if sla else None

    @property
    def sla_warn_days(self) -> int:
        return int(self.definition.get("sla", {}).get("warn_business_days_before", 2))

    # --- the questions -----------------------------------------------------------------
    def page(self, page_id: str) -> dict[str, Any] | None:
        return next((page for page in self.pages if page["id"] == page_id), None)

    def eligibility_question(self, question_id: str) -> dict[str, Any] | None:
        return next((q for q in self.eligibility if q["id"] == question_id), None)

    def visible_pages(self, answers: Answers) -> list[dict[str, Any]]:
        """Pages shown for these answers, in order. Conditions only look at earlier pages
        (the definition checks enforce it), so one pass is enough."""
        return [page for page in self.pages if condition_met(page.get("show_if"), answers)]

    @staticmethod
    def visible_questions(page: Mapping[str, Any], answers: Answers) -> list[dict[str, Any]]:
        return [q for q in page["questions"] if condition_met(q.get("show_if"), answers)]

    def relevant_answers(self, answers: Answers) -> dict[str, Any]:
        """The answers to questions still shown: an answer on a page a later change hid
        is dropped, so it is neither checked, charged nor submitted."""
        kept: dict[str, Any] = {
            q["id"]: answers[q["id"]] for q in self.eligibility if q["id"] in answers
        }
        for page in self.pages:
            if not condition_met(page.get("show_if"), kept):
                continue
            for question in page["questions"]:
                if question["id"] in answers and condition_met(question.get("show_if"), kept):
                    kept[question["id"]] = answers[question["id"]]
        return kept

    def page_complete(self, page: Mapping[str, Any], answers: Answers) -> bool:
        """Every question shown on the page has an answer (an optional question left
        blank is stored as an empty answer when the page is saved)."""
        return all(q["id"] in answers for q in self.visible_questions(page, answers))

    def first_unanswered_page(self, answers: Answers) -> dict[str, Any] | None:
        for page in self.visible_pages(answers):
            if not self.page_complete(page, answers):
                return page
        return None

    def page_after(self, page_id: str, answers: Answers) -> dict[str, Any] | None:
        pages = self.visible_pages(answers)
        ids = [page["id"] for page in pages]
        if page_id not in ids:
            return self.first_unanswered_page(answers)
        following = pages[ids.index(page_id) + 1 :]
        return following[0] if following else None

    def page_before(self, page_id: str, answers: Answers) -> dict[str, Any] | None:
        pages = self.visible_pages(answers)
        ids = [page["id"] for page in pages]
        if page_id not in ids or ids.index(page_id) == 0:
            return None
        return pages[ids.index(page_id) - 1]

    # --- the fee ---------------------------------------------------------------------
    @property
    def fee_kind(self) -> str:
        return str(self.definition.get("fee", {}).get("kind", "none"))

    @property
    def fee_due(self) -> str:
        return str(self.definition.get("fee", {}).get("due", "before_submission"))

    def fee(self, answers: Answers) -> Decimal | None:
        """The fee for these answers, in Decimal rounded to the currency's minor unit
        (cents, whole yen, fils); ``None`` when the service is free or the answer the fee
        depends on is not given yet."""
        from ecitizen.payments.money import minor_quantum

        unit = minor_quantum()
        fee = self.definition.get("fee", {})
        kind = fee.get("kind", "none")
        if kind == "none":
            return None
        if kind == "fixed":
            return Decimal(fee["amount"]).quantize(unit, rounding=ROUND_HALF_UP)
        raw = answers.get(fee["question"])
        if raw is None or raw == "":
            return None
        basis = Decimal(str(raw))
        if kind == "per_unit":
            return (Decimal(fee["amount"]) * basis).quantize(unit, rounding=ROUND_HALF_UP)
        for band in fee["bands"]:
            if "up_to" not in band or basis <= Decimal(band["up_to"]):
                return Decimal(band["amount"]).quantize(unit, rounding=ROUND_HALF_UP)
        return None  # unreachable: the last band has no upper bound

    def fee_text(self, language: str | None = None) -> str:
        """How the fee is worked out, for the start page (amounts in the currency)."""
        from django.utils.translation import gettext as _

        from ecitizen.payments.money import format_money

        fee = self.definition.get("fee", {})
        kind = fee.get("kind", "none")
        if kind == "none":
            return _("Free")
        if kind == "fixed":
            return format_money(fee["amount"], language=language)
        if fee.get("description"):
            return localised(fee["description"], language)
        question = localised(self.questions[fee["question"]]["label"], language).lower()
        if kind == "per_unit":
            return _("%(amount)s for each (%(what)s)") % {
                "amount": format_money(fee["amount"], language=language),
                "what": question,
            }
        amounts = [Decimal(band["amount"]) for band in fee["bands"]]
        return _("From %(low)s to %(high)s, depending on %(what)s") % {
            "low": format_money(min(amounts), language=language),
            "high": format_money(max(amounts), language=language),
            "what": question,
        }

    # --- the workflow ------------------------------------------------------------------
    def state_label(self, state: str, language: str | None = None) -> str:
        """What the resident reads about a state ("We need more information from you")."""
        found = self.states.get(state)
        return localised(found["label"], language) if found else state

    def staff_state_label(self, state: str, language: str | None = None) -> str:
        """What officials read about a state ("Waiting for the applicant's reply"): its
        ``staff_label``, in ``language`` or else English. Versions published before staff
        labels were required have none; they show the resident's label rather than the
        state's code."""
        found = self.states.get(state)
        if not found:
            return state
        return localised(found.get("staff_label") or found["label"], language)

    def outcome(self, state: str) -> str:
        return str(self.states.get(state, {}).get("outcome", ""))

    def is_terminal(self, state: str) -> bool:
        return bool(self.outcome(state))

    def sla_clock(self, state: str) -> str:
        """``running``, ``paused`` (waiting for the resident) or ``stopped``."""
        if self.is_terminal(state):
            return "stopped"
        return str(self.states.get(state, {}).get("sla_clock", "running"))

    def actions_from(self, state: str) -> list[dict[str, Any]]:
        return [action for action in self.actions.values() if state in action["from"]]

    def action_department(self, action: Mapping[str, Any]) -> str:
        return str(action["by"].get("department") or self.department)

"""Reads of consultations and surveys: their state, the public one an address names, a
person's earlier answers, the results (aggregates only) and the organiser's counts and
export rows.

**What is public.** Per question, how many people gave each answer of a choice or yes/no
question, and how many answered at all; for a number or an amount, also the median and
the range. Small counts are shown: answers to a consultation are opinions, not personal
data about anyone. Free-text answers (and email, phone, address and national identity
number answers) are never public, only counted; their text is in the organiser's export.

**What no official sees.** Which person gave which answers: the export has no person key,
no name, no date, and its rows are in the order of the person keys (keyed hashes), so
neither the order nor any column leads back to the audit trail's record of who responded
when.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.catalogue.spec import localised
from ecitizen.participation.models import Channel, Consultation, Process, Response
from ecitizen.participation.selectors.processes import process_for_staff
from ecitizen.participation.services.common import PARTICIPATION_ORGANISE

#: Question types whose answers are counted per choice (and charted).
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice", "yes_no"})
#: Question types whose answers are numbers (median and range shown).
NUMBER_TYPES = frozenset({"number", "money"})

DRAFT, UPCOMING, OPEN, CLOSED = "draft", "upcoming", "open", "closed"


# --- state and dates ----------------------------------------------------------------------


def consultation_state(consultation: Consultation, *, at: datetime | None = None) -> str:
    """Where the consultation is at ``at`` (now by default): ``draft`` (the organiser's
    alone), ``upcoming`` (open, before ``opens_at``), ``open`` (taking responses),
    ``closed`` (closed by the organiser, past ``closes_at``, or its process archived:
    an archived process is a record, it takes nothing more)."""
    now = at or timezone.now()
    if consultation.status == Consultation.Status.DRAFT:
        return DRAFT
    if (
        consultation.status == Consultation.Status.CLOSED
        or now >= consultation.closes_at
        or consultation.process.status == Process.Status.ARCHIVED
    ):
        return CLOSED
    if now < consultation.opens_at:
        return UPCOMING
    return OPEN


def first_day(consultation: Consultation) -> date:
    """The day it opens, in the authority's time zone."""
    return timezone.localtime(consultation.opens_at).date()


def last_day(consultation: Consultation) -> date:
    """The last day it takes responses (``closes_at`` is the moment it stops, usually
    midnight at the end of that day), in the authority's time zone."""
    return timezone.localtime(consultation.closes_at - timedelta(microseconds=1)).date()


# --- what residents read ------------------------------------------------------------------


def consultation_public_or_404(*, process: Process, slug: str) -> Consultation:
    """The consultation ``slug`` of a public process, once the organiser opened it (a
    draft is theirs alone)."""
    consultation = (
        Consultation.objects.filter(process=process, slug=slug)
        .exclude(status=Consultation.Status.DRAFT)
        .first()
    )
    if consultation is None:
        raise Http404
    consultation.process = process  # the caller's, with its phases and rules prefetched
    return consultation


def response_answers(*, consultation: Consultation, person_key: str | None) -> dict[str, Any]:
    """The answers this person gave (to show them again when they respond again), or an
    empty dict."""
    if not person_key:
        return {}
    response = (
        Response.objects.filter(consultation=consultation, person_key=person_key)
        .only("answers")
        .first()
    )
    return dict(response.answers) if response is not None else {}


def has_responded(*, consultation: Consultation, person_key: str | None) -> bool:
    """Whether this person has a response to the consultation."""
    return bool(person_key) and (
        Response.objects.filter(consultation=consultation, person_key=person_key).exists()
    )


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionResult:
    """One answer of a choice question: how many gave it, and their share of the people
    who answered the question (``share`` is ``None`` when nobody answered)."""

    value: str
    label: str
    count: int
    share: float | None


@dataclass
class QuestionResult:
    """The results of one question."""

    id: str
    label: str
    kind: str
    #: How many responses answer it (a blank optional answer is no answer).
    answered: int
    #: Choice and yes/no questions: each answer's count and share, in the question's order.
    options: list[OptionResult] = field(default_factory=list)
    #: Number and money questions: the median, lowest and highest answer.
    median: Decimal | None = None
    lowest: Decimal | None = None
    highest: Decimal | None = None

    @property
    def counted_only(self) -> bool:
        """Free text and contact details: only how many answered is public."""
        return self.kind not in CHOICE_TYPES and self.kind not in NUMBER_TYPES


@dataclass
class Results:
    responses: int
    questions: list[QuestionResult]


def _answered(value: Any) -> bool:
    return value not in (None, "", [])


def _choices(question: dict[str, Any]) -> list[tuple[str, str]]:
    if question["type"] == "yes_no":
        return [("yes", _("Yes")), ("no", _("No"))]
    return [(choice["value"], localised(choice["label"])) for choice in question["choices"]]


def _choice_keys(kind: str, value: Any) -> list[str]:
    if kind == "yes_no":
        return ["yes" if value else "no"] if isinstance(value, bool) else []
    if kind == "multiple_choice":
        return [str(item) for item in value] if isinstance(value, list) else []
    return [str(value)]


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _all_answers(consultation: Consultation) -> Iterator[dict[str, Any]]:
    for response in (
        Response.objects.filter(consultation=consultation).only("answers").iterator(chunk_size=500)
    ):
        yield response.answers if isinstance(response.answers, dict) else {}


def consultation_results(*, consultation: Consultation) -> Results:
    """Each question's results over every response (decrypting each once). Preconditions:
    the caller decides whether they may be shown (public once closed)."""
    questions = list(consultation.questions)
    tallies: dict[str, Counter[str]] = {q["id"]: Counter() for q in questions}
    answered: Counter[str] = Counter()
    numbers: dict[str, list[Decimal]] = {q["id"]: [] for q in questions}
    responses = 0
    for answers in _all_answers(consultation):
        responses += 1
        for question in questions:
            value = answers.get(question["id"])
            if not _answered(value):
                continue
            answered[question["id"]] += 1
            kind = question["type"]
            if kind in CHOICE_TYPES:
                tallies[question["id"]].update(set(_choice_keys(kind, value)))
            elif kind in NUMBER_TYPES:
                number = _decimal(value)
                if number is not None:
                    numbers[question["id"]].append(number)
    results = []
    for question in questions:
        qid, kind = question["id"], question["type"]
        result = QuestionResult(
            id=qid, label=localised(question["label"]), kind=kind, answered=answered[qid]
        )
        if kind in CHOICE_TYPES:
            result.options = [
                OptionResult(
                    value=value,
                    label=label,
                    count=tallies[qid][value],
                    share=tallies[qid][value] / answered[qid] if answered[qid] else None,
                )
                for value, label in _choices(question)
            ]
        elif kind in NUMBER_TYPES and numbers[qid]:
            values = sorted(numbers[qid])
            result.median = Decimal(str(statistics.median(values)))
            result.lowest, result.highest = values[0], values[-1]
        results.append(result)
    return Results(responses=responses, questions=results)


# --- the organiser's --------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """How many responded, by channel; how many changed their response; and how many of
    those changed it by another channel (an online response replaced by a paper one, or
    the other way: the person is counted once, the later one wins)."""

    total: int
    by_channel: list[tuple[str, int]]
    replaced: int
    doubles: int


def consultation_counts(*, consultation: Consultation) -> Counts:
    """The organiser's counts (aggregates; no response is read)."""
    rows = Response.objects.filter(consultation=consultation)
    by_channel = {
        row["channel"]: row["n"] for row in rows.values("channel").annotate(n=Count("pk"))
    }
    figures = rows.aggregate(
        total=Count("pk"),
        replaced=Count("pk", filter=~Q(replaced_channel="")),
        doubles=Count("pk", filter=~Q(replaced_channel="") & ~Q(replaced_channel=F("channel"))),
    )
    return Counts(
        total=figures["total"],
        by_channel=[(str(label), by_channel.get(value, 0)) for value, label in Channel.choices],
        replaced=figures["replaced"],
        doubles=figures["doubles"],
    )


def consultation_for_staff_or_404(*, user: Any, slug: str, consultation_slug: str) -> Consultation:
    """The consultation of a process within the user's remit to organise (drafts
    included); 404 outside it."""
    process = process_for_staff(user=user, slug=slug, capability=PARTICIPATION_ORGANISE)
    consultation = Consultation.objects.filter(process=process, slug=consultation_slug).first()
    if consultation is None:
        raise Http404
    consultation.process = process
    return consultation


def export_rows(*, consultation: Consultation) -> tuple[list[str], list[list[Any]]]:
    """Every response's answers for analysis, free text included: a header (``channel``
    then each question's id) and one row per response, as JSON values (a multiple choice
    as its values joined by ``;``). No person key, name, date or row id; rows in the order
    of the person keys, which follows neither time nor anyone's identity. Read by the
    export service, which audits the export."""
    questions = list(consultation.questions)
    header = ["channel", *[question["id"] for question in questions]]
    rows: list[list[Any]] = []
    for response in (
        Response.objects.filter(consultation=consultation)
        .order_by("person_key")
        .only("channel", "answers")
        .iterator(chunk_size=500)
    ):
        answers = response.answers if isinstance(response.answers, dict) else {}
        row: list[Any] = [response.channel]
        for question in questions:
            value = answers.get(question["id"])
            if isinstance(value, list):
                value = ";".join(str(item) for item in value)
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            row.append(value)
        rows.append(row)
    return header, rows

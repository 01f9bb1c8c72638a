"""The ``feedback`` part of the demo: ratings of every service over four months (some
with comments, a few of which held personal details that were removed), compliments and
suggestions, complaints at every stage, and "You said, we did" changes.

Everything is made by this app's services (and the cases app's, for the complaints'
cases), from the city on the :class:`~ecitizen.core.registry.DemoContext`; the random
choices derive from its seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from django.utils import timezone

from ecitizen.accounts.selectors import department_by_slug, staff_members, users_with_profiles
from ecitizen.cases.services import ActionInput as CaseActionInput
from ecitizen.cases.services import (
    case_history_backdate,
    case_transition,
    spec_for,
    staff_may_act,
)
from ecitizen.catalogue.selectors import services_published
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.core.registry import DemoContext
from ecitizen.feedback.models import Kind, Level, Rating, Step
from ecitizen.feedback.services import (
    EXTENSION,
    About,
    ComplaintAnswers,
    Completed,
    change_publish,
    complaint_backdate,
    complaint_definition_problems,
    complaint_send,
    complaint_state_record,
    may_publish,
    rating_record,
    remark_send,
)

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
HISTORY_DAYS = 120
#: How many ratings each service gets, at least and at most.
RATINGS_PER_SERVICE = (14, 32)
#: The share of ratings that come with a comment.
COMMENT_SHARE = 0.4

#: Comments by level, in the words people use (one mentions a phone number, which the
#: redaction removes before it is stored).
COMMENTS: dict[int, list[str]] = {
    Level.VERY_SATISFIED: [
        "Quick and easy, it took me less than ten minutes.",
        "Much better than queuing at the Town Hall.",
        "Clear questions and I got a reply within a week.",
        "Very straightforward, thank you.",
    ],
    Level.SATISFIED: [
        "It worked, but I was not sure which documents to upload.",
        "Fine overall. The progress updates were useful.",
        "Good, although the page timed out once while I was looking for my papers.",
    ],
    Level.NEUTRAL: [
        "It was OK. I would have liked to know how long it takes.",
        "Some questions were hard to understand.",
    ],
    Level.DISSATISFIED: [
        "I had to send the same information twice.",
        "It took much longer than the website said. Call me on 07700 900461 if you want details.",
        "The fee was not explained before the last page.",
    ],
    Level.VERY_DISSATISFIED: [
        "Nobody answered my messages for three weeks.",
        "The form lost my answers when I went back a page.",
    ],
}
#: Each service's typical satisfaction: the weights of levels 1 to 5, one picked per
#: service so that the figures differ between services.
PROFILES = [
    (1, 1, 2, 8, 12),
    (1, 2, 3, 9, 7),
    (2, 4, 4, 7, 4),
    (1, 1, 1, 6, 14),
]
#: Payments are rated as their own step, per kind of bill.
PAYMENT_RATINGS = 20

COMPLIMENTS = [
    "The officer at the counter was patient and explained everything clearly.",
    "The street was cleaned the day after I reported the rubbish. Thank you!",
    "Applying online saved me a morning off work.",
    "The reminder email before my permit expired was very helpful.",
]
SUGGESTIONS = [
    "Please let us upload photos taken with a phone, not only scanned documents.",
    "It would help to see the opening hours of the Town Hall on every page.",
    "Could the parking permit renew automatically each year?",
    "Send a text message when the application is approved.",
]


@dataclass(frozen=True)
class DemoComplaint:
    """A complaint of the demo: what it is about (a service's slug, else a department's),
    what the complainant says, and the actions taken on it so far."""

    about: str
    what_happened: str
    put_right: str
    actions: tuple[str, ...]


COMPLAINTS = [
    DemoComplaint(
        "building-permit",
        "I applied for a building permit eight weeks ago and nobody has replied to my two "
        "emails asking how it is going.",
        "Tell me when a decision will be made.",
        (),
    ),
    DemoComplaint(
        "public-works",
        "The bins in our street were not collected for three weeks in a row, and the "
        "missed collection reports I made were closed without anyone coming.",
        "Collect the bins and explain why the reports were closed.",
        ("acknowledge",),
    ),
    DemoComplaint(
        "residents-parking-permit",
        "My new parking permit was sent to my old address, although I had changed it on "
        "my account before applying.",
        "Send the permit to my current address and refund the second fee I paid.",
        ("acknowledge", "respond"),
    ),
    DemoComplaint(
        "revenue",
        "I was charged a late payment fee on my property tax although I paid the "
        "instalment on time by card.",
        "Remove the late payment fee.",
        ("acknowledge", "respond", "escalate"),
    ),
    DemoComplaint(
        "birth-certificate-copy",
        "The certificate I received had my mother's maiden name misspelt, and I was asked "
        "to pay again for a corrected copy.",
        "Send a corrected copy without charging me again.",
        ("acknowledge", "respond", "escalate", "respond_stage2"),
    ),
    DemoComplaint(
        "communications",
        "The phone line was engaged all afternoon and the web chat closed before its "
        "advertised time.",
        "",
        ("respond", "close"),
    ),
]
REPLIES = {
    "respond": "We are sorry for the trouble. We have looked into what happened, corrected "
    "the mistake on our side and reminded the team of the procedure.",
    "escalate": "The reply does not deal with the fee I was charged.",
    "respond_stage2": "A senior officer reviewed your complaint. We agree that the fee should "
    "not have been charged and have refunded it.",
}

CHANGES = [
    (
        "residents-parking-permit",
        "The form asked for the vehicle's details twice.",
        "We removed the second question: the details you give once are used everywhere.",
    ),
    (
        "building-permit",
        "You could not tell which drawings to upload.",
        "We added examples of the plans and elevations we need, on the start page and "
        "next to the upload.",
    ),
    (
        "birth-certificate-copy",
        "You wanted to know when the certificate would arrive.",
        "The confirmation now gives the date by which we post it, and we email you when "
        "it is sent.",
    ),
]


def _when(rng: random.Random, days: int = HISTORY_DAYS) -> datetime:
    return timezone.now() - timedelta(
        days=rng.randint(0, days), hours=rng.randint(0, 10), minutes=rng.randint(0, 59)
    )


def _ratings_load(rng: random.Random, services: list[Any], parking_department: Any) -> int:
    created = 0
    for service in services:
        weights = rng.choice(PROFILES)
        for number in range(rng.randint(*RATINGS_PER_SERVICE)):
            level = rng.choices(Level.values, weights=weights)[0]
            comment = rng.choice(COMMENTS[level]) if rng.random() < COMMENT_SHARE else ""
            rating_record(
                completed=Completed(
                    step=Step.APPLICATION,
                    reference=f"demo:{service.slug}:{number}",
                    service_key=service.slug,
                    service_id=service.pk,
                    department_id=service.department_id,
                ),
                level=level,
                comment=comment,
                source=Rating.Source.DEMO,
                at=_when(rng),
            )
            created += 1
    if parking_department is not None:
        for number in range(PAYMENT_RATINGS):
            level = rng.choices(Level.values, weights=PROFILES[0])[0]
            rating_record(
                completed=Completed(
                    step=Step.PAYMENT,
                    reference=f"demo:fine:{number}",
                    service_key="payments.fine",
                    department_id=parking_department.pk,
                ),
                level=level,
                comment=rng.choice(COMMENTS[level]) if rng.random() < COMMENT_SHARE else "",
                source=Rating.Source.DEMO,
                at=_when(rng),
            )
            created += 1
    return created


@dataclass(frozen=True)
class RatingHistoryRow:
    """One rating of a made-up history (the insights demo's two years of satisfaction):
    the transaction's ``step`` and ``reference`` (unique together), the service rated,
    the level and when (an aware time)."""

    step: str
    reference: str
    service_id: int | None
    service_key: str
    department_id: int | None
    level: int
    at: datetime


def ratings_history_insert(*, rows: Iterable[RatingHistoryRow]) -> int:
    """Insert made-up ratings without comments, in bulk, for demo data only (one
    :func:`rating_record` per rating would take too long for two years of them).
    Returns how many were inserted. Idempotent: a rating whose step and reference are
    already there is skipped. Ratings hold nothing personal and are not audited, as
    :func:`rating_record` does not audit them either.

    Raises ``ValueError`` for a level off the scale, an unknown step or a naive time
    (nothing is inserted then)."""
    wanted = list(rows)
    for row in wanted:
        if row.level not in Level.values:
            raise ValueError(f"rating level {row.level!r} is off the scale")
        if row.step not in Step.values:
            raise ValueError(f"unknown step {row.step!r}")
        if timezone.is_naive(row.at):
            raise ValueError("rating times must be aware")
    references = sorted({row.reference for row in wanted})
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(references), 1000):  # within every database's parameter limit
        existing.update(
            Rating.objects.filter(reference__in=references[start : start + 1000]).values_list(
                "step", "reference"
            )
        )
    new = [
        Rating(
            step=row.step,
            reference=row.reference,
            service_id=row.service_id,
            service_key=row.service_key,
            department_id=row.department_id,
            level=row.level,
            source=Rating.Source.DEMO,
            created_at=row.at,
        )
        for row in wanted
        if (row.step, row.reference) not in existing
    ]
    Rating.objects.bulk_create(new, batch_size=2000)
    return len(new)


def _about(slug: str, services: dict[str, Any]) -> About | None:
    if slug in services:
        return About(department=services[slug].department, service=services[slug])
    department = department_by_slug(slug=slug)
    return About(department=department) if department is not None else None


def _remarks_load(rng: random.Random, residents: list[Any], services: list[Any]) -> None:
    for kind, texts in ((Kind.COMPLIMENT, COMPLIMENTS), (Kind.SUGGESTION, SUGGESTIONS)):
        for text in texts:
            service = rng.choice(services)
            remark_send(
                kind=kind,
                about=About(department=service.department, service=service),
                text=text,
                author=rng.choice(residents),
                confirmed=True,
                at=_when(rng, 90),
            )


def _complaint_along(
    scenario: DemoComplaint, about: About, author: Any, staff: list[Any], rng: random.Random
) -> None:
    """A complaint moved through its scenario's actions by the officials allowed to take
    them (the complainant asks for the review), then spread over the past weeks."""
    submission = complaint_send(
        about=about,
        answers=ComplaintAnswers(scenario.what_happened, scenario.put_right),
        author=author,
        confirmed=True,
    )
    case = submission.case
    assert case is not None
    spec = spec_for(case.service_version)
    states = []
    for action_id in scenario.actions:
        action = spec.actions[action_id]
        if action["by"].get("resident"):
            actor = author
        else:
            actor = next((u for u in staff if staff_may_act(u, case, spec, action)), None)
            if actor is None:
                break
        case = case_transition(
            case=case,
            action_id=action_id,
            actor=actor,
            given=CaseActionInput(text=REPLIES.get(action_id, "")),
        )
        states.append(case.state)
    received = timezone.now() - timedelta(days=6 + 9 * len(states), hours=rng.randint(1, 8))
    case_history_backdate(case=case, submitted_at=received)
    # The case's history is spread evenly between receipt and now (one step per event:
    # its submission, then each action): each stage is dated like its action.
    step = (timezone.now() - received) / (len(states) + 2)
    reached = {state: received + step * index for index, state in enumerate(states, start=1)}
    for state, when in reached.items():
        complaint_state_record(case_id=case.pk, state=state, at=when)
    complaint_backdate(submission=submission, received_at=received, reached=reached)


def _complaints_load(
    rng: random.Random, residents: list[Any], services: dict[str, Any], city: Any
) -> int:
    definition = yaml.safe_load((DEFINITIONS / "complaint.yaml").read_text(encoding="utf-8"))
    if definition["department"] not in {place.code for place in city.departments}:
        return 0  # this city has no complaints team of that name
    service_definitions_publish(directory=DEFINITIONS, actor=None)
    complaint_service = next(
        s
        for s in services_published(listed=None)
        if EXTENSION in (s.current_version.definition.get("extensions") or {})  # type: ignore[union-attr]
    )
    problems = complaint_definition_problems(spec_for(complaint_service.current_version))
    if problems:
        raise ValueError(f"the complaint definition is wrong: {problems}")
    # By address, not by name: the same officials act whatever the names sort like.
    staff = sorted(staff_members(), key=lambda user: user.email)
    made = 0
    for scenario in COMPLAINTS:
        about = _about(scenario.about, services)
        if about is None:
            continue
        _complaint_along(scenario, about, rng.choice(residents), staff, rng)
        made += 1
    return made


def _changes_load(services: dict[str, Any]) -> None:
    for slug, you_said, we_did in CHANGES:
        service = services.get(slug)
        if service is None:
            continue
        officials = staff_members(department_ids=[service.department_id])
        actor = next((u for u in officials if may_publish(u, service.department_id)), None)
        if actor is not None:
            change_publish(service=service, you_said=you_said, we_did=we_did, actor=actor)


def demo_feedback_load(context: DemoContext) -> int:
    """The ``feedback`` loader: ratings of every published service, compliments and
    suggestions, complaints at every stage and "You said, we did" changes, unless the
    demo has its ratings already. Returns how many ratings were made.

    Preconditions: the ``cases`` loader ran (services, residents, officials). Side
    effects: the complaint service published (when the city has its department), cases,
    notifications and audit events.
    """
    context.notes.append(
        "Feedback: officials read the satisfaction figures, the comments and the complaint "
        "figures at /staff/feedback/; the complaints are in the case queue of the "
        "department that handles them (Communications). Anyone sends a compliment, a "
        "suggestion or a complaint at /feedback/."
    )
    if Rating.objects.filter(source=Rating.Source.DEMO).exists():
        return 0
    rng = random.Random(context.seed + 41)  # noqa: S311 - seeded demo data, not a secret
    residents = users_with_profiles(ids=[r.pk for r in context.residents])
    listed = [
        s
        for s in services_published(listed=None)
        if EXTENSION not in (s.current_version.definition.get("extensions") or {})  # type: ignore[union-attr]
    ]
    by_slug = {service.slug: service for service in listed}
    created = _ratings_load(rng, listed, department_by_slug(slug=context.city.parking_department))
    if residents:
        _remarks_load(rng, residents, listed)
        _complaints_load(rng, residents, by_slug, context.city)
    _changes_load(by_slug)
    return created

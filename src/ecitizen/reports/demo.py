"""The ``reports`` part of the demo: Riverton's eight categories and about 300 street
reports over four months, in every state — some with photos, some supported ("me too"),
some merged into another, some sent by an app through Open311.

Every report is made by the real services (submission, the case's workflow actions by an
official allowed to take them, support, merge); then its history is spread over the past
months (the case's with :func:`ecitizen.cases.services.case_history_backdate`, the
report's own rows here).
"""

from __future__ import annotations

import io
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ecitizen.accounts.selectors import staff_members
from ecitizen.cases.selectors import case_get_for_staff
from ecitizen.cases.services import ActionInput, case_history_backdate, case_transition
from ecitizen.cases.services import staff_may_act as case_staff_may_act
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.core.events import CaseStateChanged
from ecitizen.core.registry import DemoContext
from ecitizen.reports import geo, services
from ecitizen.reports.models import Report, ReportUpdate

CATEGORIES_DIR = Path(__file__).resolve().parent / "categories"
REPORTS = 300
HISTORY_DAYS = 120
#: Of every 20 reports, how many end in each state (the rest of a path is walked to it).
STATE_WEIGHTS = {
    "received": 5,
    "investigating": 3,
    "scheduled": 2,
    "fixed": 6,
    "not_responsible": 1,
    "duplicate": 1,
    "will_not_fix": 1,
}
PATHS = {
    "received": [],
    "investigating": ["investigate"],
    "scheduled": ["investigate", "schedule"],
    "fixed": ["investigate", "fix"],
    "not_responsible": ["not_responsible"],
    "duplicate": ["duplicate"],
    "will_not_fix": ["investigate", "decline"],
}
#: What the team writes for the public when it takes the last action of a path.
PUBLIC_TEXT = {
    "investigate": "An inspector will visit this week.",
    "schedule": "A repair crew is booked for this job.",
    "fix": "Repaired by our crew. Thank you for reporting it.",
    "not_responsible": "This is the county council's highway: we have passed your report to them.",
    "duplicate": "This was already reported nearby; we are dealing with it there.",
    "decline": "This is within our safety standard; we will inspect it again in six months.",
}
#: A few titles and details per category, in the words residents use.
WORDS: dict[str, list[tuple[str, str]]] = {
    "pothole": [
        ("Deep pothole by the bus stop", "Cars swerve round it and a cyclist nearly came off."),
        ("Crumbling road edge", "The tarmac has broken up along the kerb for several metres."),
        ("Pothole filling with water", "Hard to see when it rains; about a hand deep."),
    ],
    "streetlight": [
        ("Streetlight out", "The light outside the houses has been off for a week."),
        ("Light flickering all night", "It flashes on and off and keeps the street awake."),
    ],
    "fly-tipping": [
        ("Mattress and bags dumped", "Left by the garages overnight, blocking the path."),
        ("Building rubble in the lane", "A pile of bricks and plasterboard at the field gate."),
    ],
    "graffiti": [
        ("Graffiti on the bus shelter", "Spray paint all over the glass and the timetable."),
        ("Tags on the underpass wall", "New tags on both walls of the underpass."),
    ],
    "blocked-drain": [
        ("Drain blocked with leaves", "Water pools across the road after every shower."),
        ("Gully overflowing", "The drain cover is lifting when it rains."),
    ],
    "abandoned-vehicle": [
        ("Car not moved for weeks", "Flat tyres, no tax disc shown, windows dirty."),
        ("Van with broken windows", "Parked on the verge for a month, glass on the ground."),
    ],
    "overgrown-vegetation": [
        ("Hedge blocking the pavement", "Pushchairs have to go into the road to get past."),
        ("Branches over the road sign", "You cannot read the junction sign for the branches."),
    ],
    "damaged-sign": [
        ("Street name sign knocked down", "The sign is lying on the verge at the corner."),
        ("Give way sign bent", "Bent right round, drivers coming out cannot see it."),
    ],
}


def demo_reports_load(context: DemoContext) -> int:
    """The ``reports`` loader: the categories, and the reports, unless the demo already
    has reports. Returns how many were created.

    Preconditions: the ``people`` loader ran (departments, wards, officials with roles,
    ``context.residents``). Side effects: services published, reports with their cases,
    photos (encrypted uploads), supporters, an Open311 app key, notifications and audit
    events; the app's key is printed in the demo's notes.
    """
    service_definitions_publish(directory=CATEGORIES_DIR, actor=None)
    if Report.objects.exists():
        return 0
    rng = random.Random(context.seed + 311)  # noqa: S311 - seeded demo data, not a secret
    residents = list(context.residents)
    staff = sorted(staff_members(), key=lambda user: user.email)
    categories = {category.code: category for category in services.categories()}
    places = list(geo.gazetteer())
    app, key = services.api_client_issue(
        name="Riverton FixIt (demo app)",
        contact_email=context.city.email("fixit-app"),
        hourly_limit=500,
        actor=None,
    )
    context.notes.append(
        "Open311: the demo app 'Riverton FixIt' posts street reports with the key "
        f"{key} (see docs/open311.md)."
    )
    states = [state for state, weight in STATE_WEIGHTS.items() for _ in range(weight)]
    made: list[tuple[Report, Any]] = []
    for index in range(REPORTS):
        code = rng.choice(sorted(categories))
        place = rng.choice(places)
        latitude, longitude = _near(place, rng)
        reporter = rng.choice(residents)
        title, details = rng.choice(WORDS.get(code, WORDS["pothole"]))
        from_app = index % 10 == 9
        data = services.ReportInput(
            category=code,
            latitude=latitude,
            longitude=longitude,
            title=title,
            description=details,
            address=f"{place.street}, {place.postcode}",
            answers=_answers(categories[code].spec, rng),
            photos=[_photo(rng)] if index % 7 == 0 else [],
            show_name=rng.random() < 0.3,
        )
        channel = (
            services.Channel(source=Report.Source.OPEN311, api_client=app, device_id=f"d{index}")
            if from_app
            else None
        )
        report = services.report_submit(
            data=data, reporter=reporter, actor=reporter, channel=channel
        )
        target = rng.choice(states)
        _walk(report, PATHS[target], staff)
        made.append((report, target))
    _support_and_merge(made, residents, staff, rng)
    for report, target in made:
        _backdate(report, open_case=target in ("received", "investigating", "scheduled"), rng=rng)
    return len(made)


def _answers(spec: Any, rng: random.Random) -> dict[str, Any]:
    """Answers to the category's own questions, as a reporter gives them: every required
    one, most optional ones (a registration number as a reporter reads it off a car)."""
    answers: dict[str, Any] = {}
    for question in spec.questions.values():
        if not question.get("required", True) and rng.random() < 0.3:
            continue
        kind = question["type"]
        if kind == "yes_no":
            answers[question["id"]] = rng.random() < 0.3
        elif kind == "single_choice":
            answers[question["id"]] = rng.choice(question["choices"])["value"]
        elif kind == "multiple_choice":
            values = [choice["value"] for choice in question["choices"]]
            answers[question["id"]] = sorted(rng.sample(values, k=rng.randint(1, 2)))
        elif kind == "text" and question["id"] == "registration":
            answers[question["id"]] = f"RV{rng.randint(10, 29)} {rng.choice(['ABC', 'KLM', 'XYZ'])}"
        elif kind == "text":
            answers[question["id"]] = rng.choice(["Blue hatchback", "Lamp post 14", "By the gate"])
    return answers


def _near(place: geo.Place, rng: random.Random) -> tuple[float, float]:
    """A point up to ~80 m from the gazetteer's point, still inside the area."""
    for _ in range(10):
        latitude = place.lat + rng.uniform(-0.0007, 0.0007)
        longitude = place.lon + rng.uniform(-0.0011, 0.0011)
        if geo.area().contains(latitude, longitude):
            return round(latitude, 6), round(longitude, 6)
    return place.lat, place.lon


def _photo(rng: random.Random) -> SimpleUploadedFile:
    """A small photo-like JPEG (a grey road surface with a darker patch)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (110 + rng.randint(0, 30),) * 3)
    draw = ImageDraw.Draw(image)
    left, top = rng.randint(80, 300), rng.randint(80, 240)
    draw.ellipse((left, top, left + 220, top + 140), fill=(50, 45, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


def _official_for(case: Any, action_id: str, staff: list[Any]) -> Any:
    """The first official (by address) allowed to take the action on the case."""
    from ecitizen.cases.services import spec_for

    spec = spec_for(case.service_version)
    action = spec.actions[action_id]
    for user in staff:
        if case_staff_may_act(user, case, spec, action):
            return user
    return None


def _walk(report: Report, path: list[str], staff: list[Any]) -> None:
    """Take the path's actions on the report's case; the last one with a public text."""
    for position, action_id in enumerate(path):
        report.refresh_from_db()
        official = None
        if report.case_id is not None:
            case = report.case
            official = _official_for(case, action_id, staff)
        if official is None:
            return
        case = case_get_for_staff(user=official, reference=report.reference or "")
        text = PUBLIC_TEXT[action_id] if position == len(path) - 1 else ""
        before = case.state
        case = case_transition(
            case=case, action_id=action_id, actor=official, given=ActionInput(text=text)
        )
        # What the worker will do when it delivers the event, done now so that the
        # history can be backdated below (the delivery then finds it done).
        services.report_follow_case(
            CaseStateChanged(
                case_id=case.pk,
                reference=case.reference,
                service_slug=report.category,
                department_id=case.department_id,
                action=action_id,
                from_state=before,
                to_state=case.state,
                actor_id=official.pk,
            )
        )


def _support_and_merge(
    made: list[tuple[Report, str]], residents: list[Any], staff: list[Any], rng: random.Random
) -> None:
    """Some open reports get "me too"s; each duplicate is merged into an earlier report
    of its category."""
    for report, target in made:
        if target in ("received", "investigating", "scheduled") and rng.random() < 0.3:
            for person in rng.sample(residents, k=min(len(residents), rng.randint(1, 4))):
                services.report_support(report=report, user=person)
    earlier: dict[str, Report] = {}
    for report, target in made:
        if target == "duplicate" and report.category in earlier:
            into = earlier[report.category]
            moderator = next(
                (user for user in staff if _official_for(into.case, "fix", [user])), None
            )
            if moderator is not None:
                services.report_merge(duplicate=report, into=into, actor=moderator)
        elif target != "duplicate":
            earlier.setdefault(report.category, report)


def _backdate(report: Report, *, open_case: bool, rng: random.Random) -> None:
    """Spread the report's and its case's history over the past months."""
    report.refresh_from_db()
    if report.case is None:
        return
    days_ago = rng.randint(1, 30) if open_case else rng.randint(10, HISTORY_DAYS)
    submitted = timezone.now() - timedelta(days=days_ago, hours=rng.randint(0, 10))
    case_history_backdate(case=report.case, submitted_at=submitted)
    updates = list(report.updates.order_by("created_at", "pk"))
    now = timezone.now()
    step = (now - submitted) / (len(updates) + 1)
    for position, update in enumerate(updates):
        ReportUpdate.objects.filter(pk=update.pk).update(created_at=submitted + step * position)
    last = submitted + step * max(len(updates) - 1, 0)
    Report.objects.filter(pk=report.pk).update(
        requested_at=submitted, confirmed_at=submitted, updated_at=last
    )

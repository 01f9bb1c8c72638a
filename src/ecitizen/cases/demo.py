"""The ``cases`` part of the demo: the authority's services, and a few months of
applications in every state of each.

Every case is made by the real services (draft, answers, submission, workflow actions by
officials allowed to take them), then its history is spread over the past months with
:func:`ecitizen.cases.services.case_history_backdate`. The services, the answers the
residents give and the town come from the city on the
:class:`~ecitizen.core.registry.DemoContext`.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from faker import Faker

from ecitizen.accounts.selectors import staff_members, users_with_profiles
from ecitizen.cases.models import Case
from ecitizen.cases.services import (
    ActionInput,
    case_fee_paid,
    case_history_backdate,
    case_transition,
    draft_save_answers,
    draft_start,
    draft_submit,
    spec_for,
    staff_may_act,
)
from ecitizen.catalogue.selectors import services_published
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.core.registry import DemoCity, DemoContext
from ecitizen.payments.money import minor_quantum
from ecitizen.payments.providers import sandbox
from ecitizen.payments.selectors import bill_by_reference
from ecitizen.payments.services import payment_create, payment_refresh, payment_start

if TYPE_CHECKING:
    from ecitizen.accounts.models import User
    from ecitizen.catalogue.models import Service

PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
#: Answers to questions whose format a definition fixes with a pattern.
PATTERNED_ANSWERS = {
    "licence_number": lambda rng: f"RV{rng.randint(10_000_000, 99_999_999)}",
    "vehicle_registration": lambda rng: (
        f"RV{rng.randint(10, 29)} {''.join(rng.choice(PLATE_LETTERS) for _ in range(3))}"
    ),
    "company_number": lambda rng: f"RC{rng.randint(100_000, 999_999)}",
}
#: How many cases to leave in each state of each service.
CASES_PER_STATE = 2
CASES_PER_OUTCOME = 3
HISTORY_DAYS = 120

OFFICIAL_TEXTS = [
    "Please send a clearer copy of the document; the one we have cannot be read.",
    "The plans do not show the distance to the boundary. Please add it.",
    "We could not match the details you gave with our records.",
    "The application does not meet the published criteria.",
]
RESIDENT_TEXTS = [
    "Thank you. Here is what you asked for.",
    "I have attached a clearer copy.",
]


def minimal_pdf(title: str) -> bytes:
    """A one-page PDF showing ``title`` in plain (uncompressed) text: a stand-in for a
    resident's document or an official's reply."""
    body = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n" % len(body) + body + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def minimal_png(rng: random.Random, size: int = 48) -> bytes:
    """A plain-coloured square PNG (a stand-in for a passport photo)."""
    colour = bytes(rng.randrange(120, 230) for _ in range(3))
    raw = b"".join(b"\0" + colour * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _file_for(question: dict[str, Any], rng: random.Random, town: str) -> SimpleUploadedFile:
    formats = question["file"]["formats"]
    if "application/pdf" in formats:
        name = f"{question['id'].replace('_', '-')}.pdf"
        return SimpleUploadedFile(
            name, minimal_pdf(f"{town} demo document"), content_type="application/pdf"
        )
    return SimpleUploadedFile("photo.png", minimal_png(rng), content_type="image/png")


def demo_answer(  # noqa: PLR0911, PLR0912 - one branch per question type
    question: dict[str, Any],
    *,
    applicant: User | None,
    rng: random.Random,
    fake: Faker,
    texts: Mapping[str, Sequence[str]],
    generic_texts: Sequence[str],
    town: str,
) -> Any:
    """What ``applicant`` answers to ``question``: from their profile where the question
    asks for it, a text of ``texts`` (by question id, else of ``generic_texts``) for a
    text question, a plausible value for the others. ``town`` is the authority's (the
    address of an applicant without a profile)."""
    kind = question["type"]
    rules = question.get("validation", {})
    profile = getattr(applicant, "profile", None)
    if question["id"] in PATTERNED_ANSWERS:
        return PATTERNED_ANSWERS[question["id"]](rng)
    if kind in {"text", "long_text"}:
        source = question.get("prefill", "")
        if source == "profile.legal_name" and profile:
            return profile.legal_name
        if question["id"].endswith("_name") or question["id"] == "full_name":
            return fake.name()
        # Fixed, realistic answers: never Faker's placeholder words ("Error sit labore").
        text = rng.choice(texts.get(question["id"], generic_texts))
        return text[: rules.get("max_length", 500)]
    if kind == "address":
        return (
            "\n".join(p for p in (profile.address_line_1, profile.town, profile.postcode) if p)
            if profile
            else f"1 Mill Lane\n{town}"
        )
    if kind == "email":
        return applicant.email if applicant is not None else ""
    if kind == "phone":
        return (profile.phone if profile else "") or "07700 900123"
    if kind == "national_id":
        return (profile.national_id if profile else "") or "RV12345678"
    if kind == "number":
        low = int(rules.get("min", 1))
        high = int(rules.get("max", low + 4))
        return rng.randint(low, min(high, low + 4))
    if kind == "money":
        value = Decimal(rng.choice([3500, 18_000, 42_000, 120_000, 380_000]))
        value = max(value, Decimal(str(rules.get("min", 0))))
        if "max" in rules:
            value = min(value, Decimal(str(rules["max"])))
        return str(value.quantize(minor_quantum()))
    if kind == "date":
        today = timezone.localdate()
        when = rules.get("date", "any")
        if when == "future":
            return (today + timedelta(days=rng.randint(20, 90))).isoformat()
        if question.get("prefill") == "profile.date_of_birth" and profile and profile.date_of_birth:
            return profile.date_of_birth.isoformat()
        return date(rng.randint(1950, 2015), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    if kind == "yes_no":
        return rng.random() < 0.2
    if kind == "single_choice":
        return rng.choice(question["choices"])["value"]
    if kind == "multiple_choice":
        values = [c["value"] for c in question["choices"]]
        return sorted(rng.sample(values, k=min(len(values), rng.randint(1, 2))))
    return ""


def _fill(
    spec: ServiceSpec, applicant: User, rng: random.Random, fake: Faker, city: DemoCity
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    answers: dict[str, Any] = {q["id"]: q["eligible_answers"][0] for q in spec.eligibility}
    files: dict[str, list[Any]] = {}
    for page in spec.pages:
        for question in page["questions"]:
            if question["type"] == "file":
                files[question["id"]] = [_file_for(question, rng, city.name)]
            else:
                answers[question["id"]] = demo_answer(
                    question,
                    applicant=applicant,
                    rng=rng,
                    fake=fake,
                    texts=city.answers,
                    generic_texts=city.generic_answers,
                    town=city.name,
                )
    return spec.relevant_answers(answers), files


def _paths(spec: ServiceSpec) -> dict[str, list[dict[str, Any]]]:
    """A shortest sequence of actions from the initial state to each state (withdrawals
    only to reach the withdrawn state itself)."""
    paths: dict[str, list[dict[str, Any]]] = {spec.initial_state: []}
    queue = deque([spec.initial_state])
    while queue:
        state = queue.popleft()
        if spec.is_terminal(state):
            continue
        for action in spec.actions_from(state):
            target = action["to"]
            if target not in paths:
                paths[target] = [*paths[state], action]
                queue.append(target)
    return paths


def _official_for(case: Case, action: dict[str, Any], staff: list[User]) -> User | None:
    spec = spec_for(case.service_version)
    return next((user for user in staff if staff_may_act(user, case, spec, action)), None)


def demo_services_publish(*, directory: Path) -> list[Service]:
    """Publish the service definitions in ``directory`` (a definition that has not
    changed publishes nothing) and return every published service, by slug.

    Precondition: the departments the definitions name exist."""
    service_definitions_publish(directory=directory, actor=None)
    return list(services_published())


def demo_cases_load(context: DemoContext) -> int:
    """The ``cases`` loader: the city's services, and cases of each in every state,
    unless the demo already has cases. Returns how many were created.

    Preconditions: the ``people`` loader ran (departments, officials, and
    ``context.residents``). Side effects: services published, drafts, cases, uploads,
    fee bills paid through the sandbox provider, notifications and audit events.
    """
    city = context.city
    if Case.objects.exists():
        return 0
    # Fresh from the database: the profiles were filled in after these objects were made.
    residents = users_with_profiles(ids=[r.pk for r in context.residents])
    seed = context.seed
    rng = random.Random(seed + 17)  # noqa: S311 - seeded demo data, not a secret
    fake = Faker("en_GB")
    fake.seed_instance(seed + 17)
    # By address, not by name: the same officials act whatever the names sort like.
    staff = sorted(staff_members(), key=lambda user: user.email)
    created = 0
    for service in demo_services_publish(directory=city.service_definitions):
        spec = ServiceSpec(service.current_version.definition)  # type: ignore[union-attr]
        for state, path in sorted(_paths(spec).items()):
            count = CASES_PER_OUTCOME if spec.outcome(state) == "approved" else CASES_PER_STATE
            for _ in range(count):
                applicant = rng.choice(residents)
                case = _case_along(
                    service=service,
                    spec=spec,
                    applicant=applicant,
                    path=path,
                    staff=staff,
                    rng=rng,
                    fake=fake,
                    city=city,
                )
                if case is None:
                    continue
                open_case = not spec.is_terminal(case.state)
                days_ago = rng.randint(2, 25) if open_case else rng.randint(10, HISTORY_DAYS)
                submitted = timezone.now() - timedelta(days=days_ago, hours=rng.randint(0, 8))
                case_history_backdate(case=case, submitted_at=submitted)
                created += 1
    return created


def _pay_by_card(case: Case, applicant: User) -> None:
    """Pay the case's fee through the sandbox provider, as the resident would."""
    bill = bill_by_reference(reference=case.bill_reference)
    assert bill is not None
    payment = payment_create(
        bill=bill,
        idempotency_key=f"demo:{bill.reference}",
        return_url="/payments/{payment_id}/return/",
        payer=applicant,
    )
    payment = payment_start(payment=payment)
    sandbox.sandbox_pay(payment.provider_id or "", card_number=sandbox.SUCCESS_CARD)
    payment_refresh(payment=payment)
    # A worker moves the case on when it delivers the payment's BillPaid event, after the
    # demo has committed; the demo's next actions need it now (the delivery then finds
    # nothing left to do).
    case_fee_paid(case=case)


def _case_along(
    *,
    service: Service,
    spec: ServiceSpec,
    applicant: User,
    path: list[dict[str, Any]],
    staff: list[User],
    rng: random.Random,
    fake: Faker,
    city: DemoCity,
) -> Case | None:
    draft = draft_start(service=service, applicant=applicant, actor=applicant)
    answers, files = _fill(spec, applicant, rng, fake, city)
    draft = draft_save_answers(draft=draft, values=answers, files=files, actor=applicant)
    case = draft_submit(draft=draft, actor=applicant)
    if case.payment_status == "due" and rng.random() < 0.9:
        _pay_by_card(case, applicant)
        case.refresh_from_db()
    for action in path:
        if action["by"].get("resident"):
            actor: User | None = applicant
        else:
            actor = _official_for(case, action, staff)
        if actor is None or (case.payment_status == "due" and not action["by"].get("resident")):
            return case
        texts = RESIDENT_TEXTS if action["by"].get("resident") else OFFICIAL_TEXTS
        text = rng.choice(texts) if action.get("reason_required") else ""
        attached = []
        if action.get("attachments"):
            released = SimpleUploadedFile(
                "released-information.pdf" if action.get("publish_records") else "reply.pdf",
                minimal_pdf(f"{city.name} City Council"),
                content_type="application/pdf",
            )
            attached.append(released)
        case = case_transition(
            case=case,
            action_id=action["id"],
            actor=actor,
            given=ActionInput(
                text=text, files=attached, publish=bool(action.get("publish_records"))
            ),
        )
    if case.payment_status == "due" and case.outcome == "approved" and rng.random() < 0.7:
        _pay_by_card(case, applicant)  # a fee due once approved
        case.refresh_from_db()
    return case

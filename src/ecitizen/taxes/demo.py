"""The ``property_tax`` part of the demo: about 3,000 properties on the city's streets,
assessed for 2026, with a history of payments (some bills paid, some partly paid, many
overdue), and the named demo residents owning one or two properties each.

The streets, wards, town and residents come from the city on the
:class:`~ecitizen.core.registry.DemoContext`. Reproducible from the seed, and
idempotent: each part is done only if it is not there yet, so running the demo again adds
nothing (and records no audit event).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from django.utils import timezone
from faker import Faker

from ecitizen.accounts.selectors import jurisdictions_by_code, users_with_profiles
from ecitizen.core.registry import DemoCity, DemoContext
from ecitizen.payments.money import from_minor, to_minor
from ecitizen.payments.selectors import (
    BillKind,
    BillRecord,
    bills_issued,
    bills_of_kind_exist,
    payments_exist,
)
from ecitizen.payments.services import payment_record_offline
from ecitizen.taxes.config import CONFIG_DIR
from ecitizen.taxes.models import AssessmentRun, Exemption, Property, UseClass
from ecitizen.taxes.services import (
    OwnerSpec,
    PropertySpec,
    properties_register_bulk,
    property_reassess,
    tax_assess,
    tax_config_load,
)

if TYPE_CHECKING:
    from ecitizen.accounts.models import Jurisdiction, User

DEMO_TAX_YEAR = 2026
CONFIGURED_YEARS = (2026, 2027)
ROLL_SIZE = 3000
#: The 2026 bills went out before the year began (1 April 2026).
ISSUED_ON = date(2026, 3, 16)
#: Generated residents (after the named ones) who own their home on the roll.
RESIDENT_OWNERS = 25

#: (use class, share of the roll in %, median value in £, spread, lowest £, highest £).
USE_CLASSES = [
    (UseClass.RESIDENTIAL, 86.0, 235_000, 0.45, 85_000, 1_400_000),
    (UseClass.COMMERCIAL, 8.0, 380_000, 0.7, 90_000, 4_000_000),
    (UseClass.INDUSTRIAL, 2.5, 720_000, 0.6, 150_000, 6_000_000),
    (UseClass.AGRICULTURAL, 1.5, 520_000, 0.5, 120_000, 2_500_000),
    (UseClass.CHARITY, 2.0, 420_000, 0.5, 100_000, 1_800_000),
]
#: How many of the generated bills have each payment history; the rest are unpaid.
#: Every payment issues a signed PDF receipt, so the history is a sample, not the roll.
FULLY_PAID = 60
PAID_TO_DATE = 60  # every instalment due so far paid, on time
BEHIND = 40  # the first instalment paid, later ones overdue
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def demo_property_tax_load(context: DemoContext) -> None:
    """The ``property_tax`` loader: the 2026 and 2027 configurations, the roll, the 2026
    assessment and its payments, and an appeal, each unless already there.

    Preconditions: the city's departments (the issuing one: Revenue) and wards exist,
    and ``context.residents`` are the demo's residents, the named ones first (the
    ``people`` loader did both). Side effects: properties, ownerships, bills, payments
    (each with its receipt task), ledger postings and audit events.
    """
    seed, residents = context.seed, context.residents
    key_prefix = f"tax:{DEMO_TAX_YEAR}:"
    for year in CONFIGURED_YEARS:
        tax_config_load(path=CONFIG_DIR / f"{year}.yaml", actor=None)
    if not Property.objects.exists():
        _roll_create(seed=seed, residents=residents, city=context.city)
    assessed = AssessmentRun.objects.filter(
        tax_year__year=DEMO_TAX_YEAR, status=AssessmentRun.Status.FINISHED
    ).exists()
    if not assessed:
        tax_assess(year=DEMO_TAX_YEAR, actor=None, issued_on=ISSUED_ON)
    if not payments_exist(source_key_prefix=key_prefix):
        _payments_record(seed=seed)
    if not bills_of_kind_exist(kind=BillKind.ADJUSTMENT, source_key_prefix=key_prefix):
        _appeal_record()


# --- the roll -----------------------------------------------------------------------------


def _value(rng: random.Random, median: int, spread: float, low: int, high: int) -> int:
    """A value in minor units, log-normally spread around the median (in major units),
    to 500 of the currency."""
    major = median * math.exp(rng.gauss(0, spread))
    major = min(max(major, low), high)
    return to_minor(Decimal(int(round(major / 500) * 500)))


def _postcode(rng: random.Random, ward_number: int, street_index: int) -> str:
    return (
        f"RV{ward_number} {rng.randint(1, 9)}"
        f"{LETTERS[street_index % len(LETTERS)]}{rng.choice(LETTERS)}"
    )


def _start(rng: random.Random) -> date:
    return date(rng.randint(1985, 2025), rng.randint(1, 12), rng.randint(1, 28))


def _owners(rng: random.Random, fake: Faker, use_class: str) -> tuple[OwnerSpec, ...]:
    start = _start(rng)
    if use_class in (UseClass.COMMERCIAL, UseClass.INDUSTRIAL):
        return (OwnerSpec(name=fake.company(), start=start),)
    if use_class == UseClass.CHARITY:
        return (OwnerSpec(name=f"{fake.last_name()} Community Trust", start=start),)
    occupier = use_class == UseClass.RESIDENTIAL and rng.random() < 0.65
    if rng.random() < 0.12:
        half = Decimal("0.5")
        return (
            OwnerSpec(name=fake.name(), share=half, owner_occupier=occupier, start=start),
            OwnerSpec(name=fake.name(), share=half, owner_occupier=occupier, start=start),
        )
    return (OwnerSpec(name=fake.name(), owner_occupier=occupier, start=start),)


def _address(rng: random.Random, use_class: str, number: int, street: str) -> str:
    if use_class == UseClass.RESIDENTIAL and rng.random() < 0.15:
        return f"Flat {rng.randint(1, 12)}, {number} {street}"
    if use_class in (UseClass.COMMERCIAL, UseClass.INDUSTRIAL) and rng.random() < 0.4:
        return f"Unit {rng.randint(1, 20)}, {number} {street}"
    if use_class == UseClass.AGRICULTURAL:
        return f"{street} Farm, {number} {street}"
    return f"{number} {street}"


def _exemption(rng: random.Random, use_class: str) -> str:
    if use_class == UseClass.CHARITY and rng.random() < 0.3:
        return Exemption.PLACE_OF_WORSHIP
    if use_class == UseClass.COMMERCIAL and rng.random() < 0.02:
        return Exemption.PUBLIC_AUTHORITY
    if use_class == UseClass.RESIDENTIAL and rng.random() < 0.005:
        return Exemption.UNINHABITABLE
    return ""


def _roll_create(*, seed: int, residents: Sequence[User], city: DemoCity) -> None:
    rng = random.Random(seed + 31)  # noqa: S311 - seeded demo data, not a secret
    fake = Faker("en_GB")
    fake.seed_instance(seed + 31)
    wards = jurisdictions_by_code()
    ward_codes = [place.code for place in city.wards]
    classes = [row[0] for row in USE_CLASSES]
    weights = [row[1] for row in USE_CLASSES]
    shape = {row[0]: row[2:] for row in USE_CLASSES}
    specs: list[PropertySpec] = []
    for serial in range(1, ROLL_SIZE + 1):
        street_index = serial % len(city.streets)
        street = city.streets[street_index]
        number = serial // len(city.streets) + 1
        # Each street lies in one ward, as streets mostly do.
        ward_number = street_index % len(ward_codes) + 1
        use_class = rng.choices(classes, weights)[0]
        specs.append(
            PropertySpec(
                parcel=f"RV{serial:06d}",
                address_line_1=_address(rng, use_class, number, street),
                town=city.name,
                postcode=_postcode(rng, ward_number, street_index),
                ward_id=wards[ward_codes[ward_number - 1]].pk,
                use_class=use_class,
                assessed_value_minor=_value(rng, *shape[use_class]),
                exemption=_exemption(rng, use_class),
                owners=_owners(rng, fake, use_class),
            )
        )
    specs.extend(_resident_homes(rng=rng, fake=fake, residents=residents, wards=wards, city=city))
    for start in range(0, len(specs), 1000):
        properties_register_bulk(properties=specs[start : start + 1000], actor=None)


def _resident_homes(
    *,
    rng: random.Random,
    fake: Faker,
    residents: Sequence[User],
    wards: dict[str, Jurisdiction],
    city: DemoCity,
) -> list[PropertySpec]:
    """Homes of demo residents, at the address of their profile: the named residents
    first (the first of them also owns half of a flat they let), then some generated
    ones."""
    people = users_with_profiles(ids=[r.pk for r in residents])
    order = {r.pk: index for index, r in enumerate(residents)}
    people.sort(key=lambda user: order[user.pk])
    named = [city.email(person.local) for person in city.residents]
    owners = [u for u in people if u.email in named]
    owners += [u for u in people if u.email not in named][:RESIDENT_OWNERS]
    ward_list = list(wards.values())
    specs = []
    for index, user in enumerate(owners, start=1):
        profile = getattr(user, "profile", None)
        line_1 = getattr(profile, "address_line_1", "") or f"{index} Orchard Close"
        postcode = getattr(profile, "postcode", "") or "RV5 1AA"
        ward = getattr(profile, "ward", None) or rng.choice(ward_list)
        name = getattr(profile, "legal_name", "") or user.full_name
        specs.append(
            PropertySpec(
                parcel=f"RV9{index:05d}",
                address_line_1=line_1,
                town=city.name,
                postcode=postcode,
                ward_id=ward.pk,
                use_class=UseClass.RESIDENTIAL,
                assessed_value_minor=_value(rng, 265_000, 0.3, 120_000, 900_000),
                owners=(
                    OwnerSpec(name=name, owner_id=user.pk, owner_occupier=True, start=_start(rng)),
                ),
            )
        )
        if named and user.email == named[0]:
            half = Decimal("0.5")
            specs.append(
                PropertySpec(
                    parcel="RV980001",
                    address_line_1="Flat 4, 27 Weaver's Row",
                    town=city.name,
                    postcode="RV3 2WR",
                    ward_id=wards["old-town"].pk if "old-town" in wards else ward.pk,
                    use_class=UseClass.RESIDENTIAL,
                    assessed_value_minor=16_750_000,
                    owners=(
                        OwnerSpec(name=name, owner_id=user.pk, share=half, start=date(2021, 9, 1)),
                        OwnerSpec(name=fake.name(), share=half, start=date(2021, 9, 1)),
                    ),
                )
            )
    return specs


# --- payments -----------------------------------------------------------------------------


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(11, 30)))


def _due(bill: BillRecord) -> list[tuple[date, int]]:
    return [(date.fromisoformat(i["due_date"]), int(i["amount_minor"])) for i in bill.instalments]


def _pay(bill: BillRecord, amount: int, day: date, today: date) -> None:
    if amount > 0:
        payment_record_offline(bill=bill, amount_minor=amount, paid_at=_at(min(day, today)))


def _pay_instalments(bill: BillRecord, count: int, today: date, rng: random.Random) -> None:
    """Pay the first ``count`` instalments, each a few days before it fell due."""
    for due, amount in _due(bill)[:count]:
        _pay(bill, amount, due - timedelta(days=rng.randint(1, 12)), today)
        bill.refresh_from_db()


def _appeal_record() -> None:
    """The second named resident appealed her home's value and won (10 % less): the
    credit pays part of what she still owes for the year."""
    home = Property.objects.filter(parcel="RV900002").first()
    if home is None:
        return
    property_reassess(
        property=home,
        # 10 % less, in whole units of the currency.
        new_value=to_minor(
            from_minor(home.assessed_value_minor * 9 // 10).to_integral_value(ROUND_DOWN)
        ),
        year=DEMO_TAX_YEAR,
        reason="Appeal upheld: comparable sales in the street",
        actor=None,
    )


def _payments_record(*, seed: int) -> None:
    rng = random.Random(seed + 47)  # noqa: S311 - seeded demo data, not a secret
    today = timezone.localdate()
    bills = {
        bill.source_reference: bill
        for bill in bills_issued(
            kind=BillKind.PROPERTY_TAX, source_key_prefix=f"tax:{DEMO_TAX_YEAR}:"
        )
    }

    def past_due(bill: BillRecord) -> int:
        return sum(1 for due, _amount in _due(bill) if due < today)

    # The named residents: the first has paid their home's instalments but the latest
    # one due (so there is one to pay now) and their share of the flat in full; the
    # second has paid her first instalment only.
    first_home = bills.get("RV900001")
    if first_home is not None:
        _pay_instalments(first_home, max(0, past_due(first_home) - 1), today, rng)
    flat = bills.get("RV980001")
    if flat is not None:
        _pay(flat, flat.total_minor, ISSUED_ON + timedelta(days=21), today)
    second_home = bills.get("RV900002")
    if second_home is not None and past_due(second_home):
        _pay_instalments(second_home, 1, today, rng)

    generated = [bill for parcel, bill in bills.items() if not parcel.startswith("RV9")]
    chosen = rng.sample(generated, min(len(generated), FULLY_PAID + PAID_TO_DATE + BEHIND))
    for index, bill in enumerate(chosen):
        if index < FULLY_PAID:
            first_due = _due(bill)[0][0]
            _pay(bill, bill.total_minor, first_due - timedelta(days=rng.randint(3, 30)), today)
        elif index < FULLY_PAID + PAID_TO_DATE:
            # One payment of every instalment due so far (a standing order catching up).
            count = past_due(bill)
            if count:
                due = _due(bill)
                amount = sum(amount for _due_on, amount in due[:count])
                _pay(bill, amount, due[count - 1][0] - timedelta(days=rng.randint(1, 7)), today)
        elif past_due(bill):
            _pay_instalments(bill, 1, today, rng)

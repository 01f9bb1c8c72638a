"""The ``fines`` part of the demo: parking fines (penalty charge notices) that anyone can
pay by reference and postcode, without an account, some already paid.

The department that issues them and the streets they are for come from the city on the
:class:`~ecitizen.core.registry.DemoContext`.
"""

from __future__ import annotations

import random
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import department_by_slug
from ecitizen.core.registry import DemoContext
from ecitizen.payments.models import Bill
from ecitizen.payments.services import BillSpec, LineSpec, bill_create, payment_record_offline
from ecitizen.payments.texts import in_every_language

#: Letters and digits that cannot be misread for one another (no 0/O, 1/I/L, 5/S...).
FINE_CHECK_CHARACTERS = "2346789ABCDEFGHJKMNPQRTUVWXY"
#: How many fines the demo issues, and the amount of each (minor units).
FINES = 40
FINE_AMOUNT_MINOR = 7_000
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def demo_fine_reference(number: int) -> str:
    """``PCN-2026-000001-XXXX``: the notice's serial number and four random characters
    (about 600,000 possibilities), so that knowing one notice's reference gives no other
    one. Fixed per number, so that the demo is the same on every machine."""
    rng = random.Random(f"riverton-pcn-{number}")  # noqa: S311 - seeded demo data, not a secret
    check = "".join(rng.choice(FINE_CHECK_CHARACTERS) for _ in range(4))
    return f"PCN-2026-{number:06d}-{check}"


#: The fine ``ecitizen demo`` tells visitors to pay without an account.
DEMO_FINE_REFERENCE = demo_fine_reference(1)
DEMO_FINE_POSTCODE = "RV1 4AB"


def demo_fines_load(context: DemoContext) -> int:
    """The ``fines`` loader: parking fines payable by reference and postcode, about 40 %
    of them already paid (offline), unless the demo has them already. Returns how many
    were created.

    Precondition: the city's parking department exists (the ``people`` loader made it).
    Side effects: bills, offline payments (each with its receipt task), ledger postings
    and audit events; adds to ``context.notes`` how to pay the first fine.
    """
    context.notes.append(
        "Pay a parking fine without an account at /pay/ with the reference "
        f"{DEMO_FINE_REFERENCE} and the postcode {DEMO_FINE_POSTCODE}; the sandbox "
        "payment page lists its test cards (4242 4242 4242 4242 succeeds)."
    )
    if Bill.objects.filter(source_key="demo:pcn:1").exists():
        return 0
    city = context.city
    department = department_by_slug(slug=city.parking_department)
    if department is None:
        raise LookupError(f"the demo's parking department {city.parking_department!r} is missing")
    rng = random.Random(context.seed + 29)  # noqa: S311 - seeded demo data, not a secret
    today = timezone.localdate()
    charge = in_every_language(lambda: _("Penalty charge"))
    for number in range(1, FINES + 1):
        letters = "".join(rng.choice(POSTCODE_LETTERS) for _ in range(2))
        postcode = (
            DEMO_FINE_POSTCODE
            if number == 1
            else f"RV{rng.randint(1, 9)} {rng.randint(1, 9)}{letters}"
        )
        street = rng.choice(city.parking_streets)
        texts = in_every_language(partial(_fine_text, street))
        bill = bill_create(
            spec=BillSpec(
                reference=demo_fine_reference(number),
                kind=Bill.Kind.FINE,
                description=texts[settings.LANGUAGE_CODE],
                descriptions=texts,
                department_id=department.pk,
                due_date=today + timedelta(days=rng.randint(-20, 28)),
                lines=[LineSpec(charge[settings.LANGUAGE_CODE], FINE_AMOUNT_MINOR, "fine", charge)],
                verification_postcode=postcode,
                source_key=f"demo:pcn:{number}",
                issued_on=today - timedelta(days=rng.randint(1, 40)),
            ),
            actor=None,
        )
        if number > 1 and rng.random() < 0.4:
            payment_record_offline(bill=bill, amount_minor=bill.balance_minor)
    return FINES


def _fine_text(street: str) -> str:
    return _("Parking penalty charge: parked in a restricted street (%(street)s)") % {
        "street": street
    }

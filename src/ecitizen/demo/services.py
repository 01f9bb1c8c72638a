"""Load the Riverton demo authority, reproducibly from a seed, without duplicates."""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from faker import Faker

from ecitizen.accounts import services as accounts
from ecitizen.accounts.models import Role, User
from ecitizen.accounts.selectors import user_has_mfa
from ecitizen.core.registry import DemoContext, registry
from ecitizen.demo import riverton


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: str
    totp_secret: str | None


def demo_totp_secret(email: str, seed: int) -> str:
    """A stable base32 TOTP secret per demo account, so the printed instructions hold
    across runs. Demo only: real people enrol their own authenticator."""
    digest = hashlib.sha256(f"riverton-demo:{seed}:{email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


def _verified_user(*, email: str, name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = accounts.user_create(email=email, full_name=name, password=riverton.DEMO_PASSWORD)
        accounts.email_mark_verified(user=user, actor=None)
    return user


def _national_id(rng: random.Random) -> str:
    return "RV" + "".join(str(rng.randrange(10)) for _ in range(8))


@transaction.atomic
def demo_load(*, seed: int = 2026) -> list[DemoAccount]:
    """Load Riverton: every registered demo loader (``core.registry``) in dependency
    order, each idempotent. Returns the accounts to print."""
    context = DemoContext(seed=seed)
    for loader in registry.demo_loaders_in_order():
        loader.load(context)
    return list(context.accounts)


def demo_people_load(context: DemoContext) -> None:
    """Departments, wards, staff with their roles and second factors, and residents
    with profiles: the ``people`` loader that everything else runs after. Running it
    again changes nothing that exists."""
    seed = context.seed
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)

    departments = {
        slug: accounts.department_ensure(
            slug=slug,
            name=name,
            email=f"{slug}@{riverton.EMAIL_DOMAIN}",
            names=riverton.DEPARTMENT_NAMES.get(slug),
            actor=None,
        )
        for slug, name in riverton.DEPARTMENTS
    }
    wards = {
        code: accounts.jurisdiction_ensure(
            code=code, name=name, names=riverton.WARD_NAMES.get(code), actor=None
        )
        for code, name in riverton.WARDS
    }

    accounts_out: list[DemoAccount] = []
    platform_admin: User | None = None
    for local, name, role, dept, ward in riverton.STAFF:
        email = f"{local}@{riverton.EMAIL_DOMAIN}"
        user = _verified_user(email=email, name=name)
        for slug in (dept,) if dept is None or isinstance(dept, str) else dept:
            department = departments.get(slug) if slug else None
            if not user.role_assignments.filter(role=role, department=department).exists():
                accounts.role_assign(
                    user=user,
                    role=role,
                    department=department,
                    jurisdiction=wards.get(ward) if ward else None,
                    actor=platform_admin,
                    system=True,
                )
        if role == Role.PLATFORM_ADMIN:
            platform_admin = user
        secret = demo_totp_secret(email, seed)
        if not user_has_mfa(user):
            accounts.mfa_totp_activate(user=user, secret=secret, actor=platform_admin)
        accounts_out.append(DemoAccount(email, name, str(registry.role(role).label), secret))

    # An official who has not yet set up MFA, to show that staff pages require it.
    new_email = f"new.officer@{riverton.EMAIL_DOMAIN}"
    new_officer = _verified_user(email=new_email, name="Noah Fischer")
    if not new_officer.role_assignments.exists():
        accounts.role_assign(
            user=new_officer,
            role=Role.CASE_OFFICER,
            department=departments["civil-registry"],
            actor=platform_admin,
            system=True,
        )
    accounts_out.append(DemoAccount(new_email, "Noah Fischer", "Case officer (no MFA yet)", None))

    ward_list = list(wards.values())
    people = [(local, name) for local, name in riverton.NAMED_RESIDENTS]
    people += [
        (f"resident{index:02d}", fake.name())
        for index in range(3, 3 + riverton.GENERATED_RESIDENTS)
    ]
    residents: list[User] = []
    for position, (local, name) in enumerate(people):
        email = f"{local}@{riverton.EMAIL_DOMAIN}"
        existed = User.objects.filter(email=email).exists()
        user = _verified_user(email=email, name=name)
        # Draw the profile even for existing users so every resident gets the same data
        # whatever was loaded before.
        birth = date(rng.randint(1940, 2006), rng.randint(1, 12), rng.randint(1, 28))
        national_id = _national_id(rng)
        street = f"{rng.randint(1, 180)} {rng.choice(riverton.STREETS)}"
        phone = f"07700 9{rng.randint(10000, 99999)}"
        home_ward = rng.choice(ward_list)
        contact = rng.choice(["email", "email", "email", "sms", "post"])
        letters = "".join(rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
        postcode = f"RV{rng.randint(1, 9)} {rng.randint(1, 9)}{letters}"
        if not existed:
            accounts.profile_update(
                user=user,
                data={
                    "date_of_birth": birth,
                    "national_id": national_id,
                    "address_line_1": street,
                    "town": "Riverton",
                    "postcode": postcode,
                    "phone": phone,
                    "contact_preference": contact,
                    "ward": home_ward,
                },
                actor=user,
            )
        residents.append(user)
        if position < len(riverton.NAMED_RESIDENTS):
            accounts_out.append(DemoAccount(email, name, "Resident", None))
    context.residents = residents
    context.accounts.extend(accounts_out)


def demo_cases_part(context: DemoContext) -> None:
    """The ``cases`` loader: the six services and a hundred applications in every state."""
    from ecitizen.demo.cases import demo_cases_load

    demo_cases_load(seed=context.seed, residents=context.residents)


def demo_fines_part(context: DemoContext) -> None:
    """The ``fines`` loader: parking fines anyone can pay by reference."""
    from ecitizen.demo.cases import demo_fines_load

    demo_fines_load(seed=context.seed)


def demo_property_tax_part(context: DemoContext) -> None:
    """The ``property_tax`` loader: the roll, the year's assessment, payments, an appeal."""
    from ecitizen.demo.taxes import demo_tax_load

    demo_tax_load(seed=context.seed, residents=context.residents)

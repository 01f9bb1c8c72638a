"""The ``people`` part of the demo: the authority's departments and wards, its officials
with their roles and second factors, and its residents with their profiles.

Everything comes from the city on the :class:`~ecitizen.core.registry.DemoContext`
(the ``demo`` app describes it) and is made through this app's services, so it is in the
audit trail like anything else. Every other loader runs after this one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.hashers import make_password
from faker import Faker

from ecitizen.accounts import services
from ecitizen.accounts.models import Department, Jurisdiction, Role, User
from ecitizen.accounts.selectors import user_has_mfa
from ecitizen.core.processcache import Kept
from ecitizen.core.registry import DemoContext, DemoPerson, registry


@dataclass(frozen=True)
class DemoAccount:
    """An account ``ecitizen demo`` prints: who, as what, and their authenticator's
    secret (``None``: none, or a resident)."""

    email: str
    name: str
    role: str
    totp_secret: str | None


_password_hashes: Kept[str] = Kept()


def _password_hash(password: str) -> str:
    """``password`` hashed once for every demo account (under the settings of the moment:
    the hashers are a setting): the demo's password is published (the README prints it),
    so one salt for all its accounts hides nothing, and a load saves an Argon2 hash
    (some 60 ms of CPU, ADR 0025) per account."""
    return _password_hashes.get_or_make(password, lambda: make_password(password))


def _verified_user(*, email: str, name: str, password: str) -> User:
    """The user with ``email``, created with a verified address if there is none."""
    user = User.objects.filter(email=email).first()
    if user is None:
        user = services.user_register(
            user=User(
                email=User.objects.normalize_email(email),
                full_name=name,
                password=_password_hash(password),
            )
        )
        services.email_mark_verified(user=user, actor=None)
    return user


def _national_id(rng: random.Random) -> str:
    return "RV" + "".join(str(rng.randrange(10)) for _ in range(8))


def _official(
    person: DemoPerson,
    *,
    context: DemoContext,
    departments: dict[str, Department],
    wards: dict[str, Jurisdiction],
    platform_admin: User | None,
) -> User:
    """The official ``person`` with their roles and second factor, each given only if
    missing. ``platform_admin`` gives the roles (``None`` for the administrator
    themselves, who comes first)."""
    city = context.city
    email = city.email(person.local)
    user = _verified_user(email=email, name=person.name, password=city.password)
    for slug in person.departments or (None,):
        department = departments.get(slug) if slug else None
        if not user.role_assignments.filter(role=person.role, department=department).exists():
            services.role_assign(
                user=user,
                role=person.role,
                department=department,
                jurisdiction=wards.get(person.ward) if person.ward else None,
                actor=platform_admin,
                system=True,
            )
    if person.role == Role.PLATFORM_ADMIN:
        platform_admin = user
    label = str(registry.role(person.role).label)
    if person.totp_secret is None:
        # An official without a second factor shows how staff pages make them set one up.
        label = f"{label} (no MFA yet)"
    elif not user_has_mfa(user):
        services.mfa_totp_activate(user=user, secret=person.totp_secret, actor=platform_admin)
    context.accounts.append(DemoAccount(email, person.name, label, person.totp_secret))
    return user


def demo_people_load(context: DemoContext) -> None:
    """Departments, wards, officials and residents: the ``people`` loader.

    Side effects: creates what is missing, through this app's services (audited); sets
    ``context.residents`` (the named residents first) and adds the officials and the
    named residents to ``context.accounts``. Running it again creates nothing, and gives
    every resident the same profile data whatever was loaded before.
    """
    city = context.city
    seed = context.seed
    rng = random.Random(seed)  # noqa: S311 - seeded demo data, not a secret
    fake = Faker("en_GB")
    fake.seed_instance(seed)

    departments = {
        place.code: services.department_ensure(
            slug=place.code,
            name=place.name,
            email=city.email(place.code),
            names=dict(place.names) or None,
            actor=None,
        )
        for place in city.departments
    }
    wards = {
        place.code: services.jurisdiction_ensure(
            code=place.code, name=place.name, names=dict(place.names) or None, actor=None
        )
        for place in city.wards
    }

    platform_admin: User | None = None
    for person in city.staff:
        user = _official(
            person,
            context=context,
            departments=departments,
            wards=wards,
            platform_admin=platform_admin,
        )
        if person.role == Role.PLATFORM_ADMIN:
            platform_admin = user

    ward_list = list(wards.values())
    people = [(person.local, person.name) for person in city.residents]
    people += [
        (f"resident{index:02d}", fake.name()) for index in range(3, 3 + city.generated_residents)
    ]
    residents: list[User] = []
    for position, (local, name) in enumerate(people):
        email = city.email(local)
        existed = User.objects.filter(email=email).exists()
        user = _verified_user(email=email, name=name, password=city.password)
        # Draw the profile even for existing users so every resident gets the same data
        # whatever was loaded before.
        birth = date(rng.randint(1940, 2006), rng.randint(1, 12), rng.randint(1, 28))
        national_id = _national_id(rng)
        street = f"{rng.randint(1, 180)} {rng.choice(city.streets)}"
        phone = f"07700 9{rng.randint(10000, 99999)}"
        home_ward = rng.choice(ward_list)
        contact = rng.choice(["email", "email", "email", "sms", "post"])
        letters = "".join(rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
        postcode = f"RV{rng.randint(1, 9)} {rng.randint(1, 9)}{letters}"
        if not existed:
            services.profile_update(
                user=user,
                data={
                    "date_of_birth": birth,
                    "national_id": national_id,
                    "address_line_1": street,
                    "town": city.name,
                    "postcode": postcode,
                    "phone": phone,
                    "contact_preference": contact,
                    "ward": home_ward,
                },
                actor=user,
            )
        residents.append(user)
        if position < len(city.residents):
            context.accounts.append(DemoAccount(email, name, "Resident", None))
    context.residents = residents

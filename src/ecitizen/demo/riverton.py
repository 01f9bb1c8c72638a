"""Riverton, the fictional city of the demo: its departments, wards, streets and people,
the services it offers and the answers its residents give.

:func:`riverton_city` describes it as a :class:`~ecitizen.core.registry.DemoCity`, which
``ecitizen demo`` hands to every app's demo loader on the context: the apps never import
this module (the demo app is the top layer).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from ecitizen.core.registry import DemoCity, DemoPerson, DemoPlace

#: Riverton's six services (``docs/services.md``).
DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
DEMO_PASSWORD = "Riverton-demo-2026"  # noqa: S105 - printed for the demo, never a real secret
EMAIL_DOMAIN = "riverton.example"

DEPARTMENTS = [
    ("revenue", "Revenue"),
    ("transport-licensing", "Transport & Licensing"),
    ("planning-building", "Planning & Building"),
    ("civil-registry", "Civil Registry"),
    ("public-works", "Public Works"),
    ("communications", "Communications"),
]

WARDS = [
    ("northgate", "Northgate"),
    ("riverside", "Riverside"),
    ("old-town", "Old Town"),
    ("eastfield", "Eastfield"),
    ("millbrook", "Millbrook"),
    ("harbour", "Harbour"),
    ("westhill", "Westhill"),
    ("southmead", "Southmead"),
]

# The names in the other languages of the site (Department.names, Jurisdiction.names).
DEPARTMENT_NAMES = {
    "revenue": {"fr": "Recettes", "ar": "الإيرادات"},
    "transport-licensing": {"fr": "Transports et licences", "ar": "النقل والتراخيص"},
    "planning-building": {"fr": "Urbanisme et construction", "ar": "التخطيط والبناء"},
    "civil-registry": {"fr": "État civil", "ar": "السجل المدني"},
    "public-works": {"fr": "Travaux publics", "ar": "الأشغال العامة"},
    "communications": {"fr": "Communication", "ar": "الاتصالات"},
}
WARD_NAMES = {
    "northgate": {"fr": "Northgate", "ar": "نورثغيت"},
    "riverside": {"fr": "Riverside", "ar": "ريفرسايد"},
    "old-town": {"fr": "Vieille-Ville", "ar": "البلدة القديمة"},
    "eastfield": {"fr": "Eastfield", "ar": "إيستفيلد"},
    "millbrook": {"fr": "Millbrook", "ar": "ميلبروك"},
    "harbour": {"fr": "Le Port", "ar": "الميناء"},
    "westhill": {"fr": "Westhill", "ar": "ويستهيل"},
    "southmead": {"fr": "Southmead", "ar": "ساوثميد"},
}

STREETS = [
    "Mill Lane",
    "River Walk",
    "Station Road",
    "Church Street",
    "Harbour View",
    "Elm Grove",
    "Castle Hill",
    "Market Square",
    "Weaver's Row",
    "Orchard Close",
    "Bridge Street",
    "Kingfisher Way",
    "Foundry Lane",
    "Meadow Rise",
    "Tannery Yard",
    "Lock Keeper's Walk",
]

# (email local part, full name, role, department slug(s) or None, ward code or None).
# Every role is confined to its department(s) and ward: the finance officer works the
# bills of every department that charges, so she holds the role in each.
Official = tuple[str, str, str, str | tuple[str, ...] | None, str | None]
STAFF: list[Official] = [
    ("admin", "Priya Natarajan", "platform_admin", None, None),
    ("auditor", "Tomasz Wierzbicki", "auditor", None, None),
    ("revenue.officer", "Grace Okafor", "case_officer", "revenue", None),
    ("revenue.supervisor", "Daniel Brennan", "supervisor", "revenue", None),
    ("revenue.admin", "Fatima Al-Sayed", "department_admin", "revenue", None),
    (
        "finance",
        "Hannah Lindqvist",
        "finance_officer",
        (
            "revenue",
            "transport-licensing",
            "planning-building",
            "civil-registry",
            "public-works",
            "communications",
        ),
        None,
    ),
    ("licensing.officer", "Marcus Webb", "case_officer", "transport-licensing", None),
    ("licensing.supervisor", "Aisha Bello", "supervisor", "transport-licensing", None),
    ("planning.officer", "Oliver Chen", "case_officer", "planning-building", "riverside"),
    ("planning.supervisor", "Sofia Rossi", "supervisor", "planning-building", None),
    ("planning.admin", "Ibrahim Haddad", "department_admin", "planning-building", None),
    ("registry.officer", "Chloé Martin", "case_officer", "civil-registry", None),
    ("registry.supervisor", "Lars Eriksen", "supervisor", "civil-registry", None),
    ("works.officer", "Kwame Mensah", "case_officer", "public-works", "northgate"),
    ("works.supervisor", "Eilidh MacLeod", "supervisor", "public-works", None),
    ("comms.admin", "Rosa Delgado", "department_admin", "communications", None),
    ("foi.officer", "Amara Nwosu", "case_officer", "communications", None),
    # Publishes the city's open data for Communications (opendata/demo.py).
    ("data.publisher", "Mei Tanaka", "publisher", "communications", None),
    # Reads Planning & Building's performance, forecasts and staffing (insights).
    ("service.manager", "Ana Lima", "service_manager", "planning-building", None),
    # Reads every department's performance and enters the services' costs (insights/demo.py).
    ("performance", "Kofi Boateng", "performance_officer", None, None),
    # Participation: runs the consultations, proposals and budgets.
    ("engagement", "Jade Okoro", "engagement_officer", "communications", None),
    ("library.helper", "Samuel Adeyemi", "intermediary", None, None),
    # Voting: the electoral office prepares elections; the returning officer, as their
    # credential authority, issues the voters' credentials (voting/demo.py).
    ("elections", "Helen Park", "election_administrator", "communications", None),
    ("returning.officer", "Joseph Mbeki", "credential_authority", "communications", None),
]

# An official who has not set up a second factor yet: signing in shows how staff pages
# make them set one up.
NEW_OFFICER: Official = ("new.officer", "Noah Fischer", "case_officer", "civil-registry", None)

# Named residents the README points to; the rest are generated from the seed.
NAMED_RESIDENTS = [
    ("resident", "Alex Morgan"),
    ("resident2", "Yasmin Farouk"),
]
GENERATED_RESIDENTS = 58

# Parking fines are issued by Transport & Licensing, for these streets.
PARKING_DEPARTMENT = "transport-licensing"
PARKING_STREETS = ["Station Road", "Market Square", "Harbour View", "Church Street"]

# --- Answers the demo's residents give, by question -------------------------------------
# Realistic text from fixed lists (never generated placeholder words): the demo is what
# people judge the platform by. A text question not listed here gets GENERIC_TEXTS.

TEXT_ANSWERS: dict[str, list[str]] = {
    "relationship": ["It is my own certificate", "My mother", "My son", "My late father"],
    "request_reason": [
        "I need it to apply for a passport.",
        "My bank has asked for it to open an account in my name.",
        "I am sorting out my late father's estate and the solicitor needs a copy.",
        "I have lost the original and need it for my marriage notice.",
    ],
    "place_of_birth": [
        "Riverton General Hospital, Riverton",
        "St Anne's Maternity Unit, Riverton",
        "At home, 12 Mill Lane, Riverton",
        "Eastfield Birth Centre, Riverton",
    ],
    "description": [
        "Single-storey rear extension of 4 metres to enlarge the kitchen, with a flat roof "
        "and two roof lights.",
        "Loft conversion with a dormer window at the back of the house and a new staircase.",
        "Detached garage at the side of the house, 3 by 6 metres, brick walls and a pitched "
        "tiled roof.",
        "Replace the front porch with a larger one of the same style and materials.",
    ],
    "information": [
        "The number of potholes reported in Northgate ward each month in 2025, and how "
        "many were repaired within 28 days.",
        "The contract for the new street lighting, and the amounts paid under it so far.",
        "The council's spending on agency staff in each department for the last three years.",
        "Minutes of the meetings where the Riverside parking zone was discussed.",
    ],
    "medical_condition_details": [
        "I have type 2 diabetes, treated with tablets. My GP checks it every six months.",
        "I had a minor stroke in 2023 and have made a full recovery; my consultant has "
        "discharged me.",
        "I have epilepsy and have had no seizure for three years on my current medication.",
    ],
    "vehicle_make": [
        "Vauxhall Corsa",
        "Volkswagen Golf",
        "Toyota Yaris",
        "Nissan Leaf",
        "Kia Ceed",
    ],
    "business_name": [
        "The Riverside Bakery",
        "Mill Lane Motors",
        "Harbour View Café",
        "Old Town Bookshop",
        "Northgate Florist",
    ],
    "opening_hours": [
        "Monday to Saturday, 8am to 6pm. Closed on Sundays.",
        "Every day from 7am to 3pm.",
        "Tuesday to Sunday, 10am to 10pm.",
    ],
}

GENERIC_TEXTS = [
    "Please see the documents I have attached.",
    "I can give more details by phone if that helps.",
    "Nothing else to add.",
]


def demo_totp_secret(email: str, seed: int) -> str:
    """A stable base32 TOTP secret per demo account, so the printed instructions hold
    across runs. Demo only: real people enrol their own authenticator."""
    digest = hashlib.sha256(f"riverton-demo:{seed}:{email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


def _official(row: Official, *, seed: int, mfa: bool) -> DemoPerson:
    local, name, role, departments, ward = row
    return DemoPerson(
        local=local,
        name=name,
        role=role,
        departments=(departments,) if isinstance(departments, str) else departments or (),
        ward=ward,
        totp_secret=demo_totp_secret(f"{local}@{EMAIL_DOMAIN}", seed) if mfa else None,
    )


def riverton_city(*, seed: int) -> DemoCity:
    """Riverton as the demo loaders read it; the officials' authenticator secrets derive
    from ``seed`` (:func:`demo_totp_secret`)."""
    return DemoCity(
        name="Riverton",
        email_domain=EMAIL_DOMAIN,
        password=DEMO_PASSWORD,
        departments=tuple(
            DemoPlace(slug, name, DEPARTMENT_NAMES.get(slug, {})) for slug, name in DEPARTMENTS
        ),
        wards=tuple(DemoPlace(code, name, WARD_NAMES.get(code, {})) for code, name in WARDS),
        streets=tuple(STREETS),
        staff=(
            *(_official(row, seed=seed, mfa=True) for row in STAFF),
            _official(NEW_OFFICER, seed=seed, mfa=False),
        ),
        residents=tuple(DemoPerson(local, name) for local, name in NAMED_RESIDENTS),
        generated_residents=GENERATED_RESIDENTS,
        service_definitions=DEFINITIONS_DIR,
        answers=TEXT_ANSWERS,
        generic_answers=tuple(GENERIC_TEXTS),
        parking_department=PARKING_DEPARTMENT,
        parking_streets=tuple(PARKING_STREETS),
    )

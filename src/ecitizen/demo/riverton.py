"""Riverton, the fictional city of the demo: its departments, wards and people."""

from __future__ import annotations

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
STAFF = [
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
    ("library.helper", "Samuel Adeyemi", "intermediary", None, None),
]

# Named residents the README points to; the rest are generated from the seed.
NAMED_RESIDENTS = [
    ("resident", "Alex Morgan"),
    ("resident2", "Yasmin Farouk"),
]
GENERATED_RESIDENTS = 58

"""The personas of DESIGN.md §3.10: resident, second resident, case officer, supervisor,
department administrator, auditor, platform administrator and outsider.

Officials come with TOTP enrolled (their secret is ``TOTP_SECRET``) unless a test asks for
``official_without_mfa``.
"""

from __future__ import annotations

import pytest

from ecitizen.accounts import services
from ecitizen.accounts.models import Role
from tests.factories import DepartmentFactory, UserFactory

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _official(role: str, department=None, *, mfa: bool = True, email: str):
    user = UserFactory(email=email)
    services.role_assign(user=user, role=role, department=department, actor=None, system=True)
    if mfa:
        services.mfa_totp_activate(user=user, secret=TOTP_SECRET, actor=None)
    return user


def official_with(*assignments):
    """A new official holding each (role, department, ward) of ``assignments``, read
    afresh from the database (their assignments not yet cached on the object)."""
    official = UserFactory()
    for role, department, ward in assignments:
        services.role_assign(
            user=official,
            role=role,
            department=department,
            jurisdiction=ward,
            actor=None,
            system=True,
        )
    return type(official).objects.get(pk=official.pk)


#: The departments: fixture name -> (slug, name).
DEPARTMENTS = {
    "department": ("revenue", "Revenue"),
    "other_department": ("planning", "Planning & Building"),
}

#: The people who hold no role: fixture name -> (email, full name).
PEOPLE = {
    "resident": ("resident@example.test", "Alex Morgan"),
    "second_resident": ("resident2@example.test", "Yasmin Farouk"),
    "outsider": ("outsider@example.test", "Olive Outsider"),
}

#: The officials: fixture name -> (role, email, second factor enrolled).
OFFICIALS = {
    "case_officer": (Role.CASE_OFFICER, "officer@example.test", True),
    "supervisor": (Role.SUPERVISOR, "supervisor@example.test", True),
    "department_admin": (Role.DEPARTMENT_ADMIN, "deptadmin@example.test", True),
    "auditor": (Role.AUDITOR, "auditor@example.test", True),
    "platform_admin": (Role.PLATFORM_ADMIN, "admin@example.test", True),
    "publisher": ("publisher", "publisher@example.test", True),
    "other_publisher": ("publisher", "other.publisher@example.test", True),
    "service_manager": ("service_manager", "manager@example.test", True),
    "other_service_manager": ("service_manager", "other.manager@example.test", True),
    "performance_officer": ("performance_officer", "performance@example.test", True),
    "engagement_officer": ("engagement_officer", "engagement@example.test", True),
    "other_engagement_officer": ("engagement_officer", "other.engagement@example.test", True),
    "intermediary": ("intermediary", "helper@example.test", True),
    "official_without_mfa": (Role.CASE_OFFICER, "new.officer@example.test", False),
    "election_administrator": ("election_administrator", "elections@example.test", True),
    "other_election_administrator": (
        "election_administrator",
        "other.elections@example.test",
        True,
    ),
    "credential_authority": ("credential_authority", "returning@example.test", True),
}


def make_persona(name: str, department=None):
    """Create the persona that the fixture ``name`` gives, for code that cannot request
    the fixture (a world built once for a module, ``tests.shared_world``): a department,
    a person, or an official of ``department``, which must be the department its fixture
    uses (``department``; ``other_department`` for the ``other_`` officials; none for an
    authority-wide role)."""
    if name in DEPARTMENTS:
        slug, title = DEPARTMENTS[name]
        return DepartmentFactory(slug=slug, name=title)
    if name in PEOPLE:
        email, full_name = PEOPLE[name]
        return UserFactory(email=email, full_name=full_name)
    role, email, mfa = OFFICIALS[name]
    return _official(role, department, mfa=mfa, email=email)


@pytest.fixture
def department(db):
    return make_persona("department")


@pytest.fixture
def other_department(db):
    return make_persona("other_department")


@pytest.fixture
def resident(db):
    return make_persona("resident")


@pytest.fixture
def second_resident(db):
    return make_persona("second_resident")


@pytest.fixture
def outsider(db):
    """Signed in, but with no business with anything a test sets up."""
    return make_persona("outsider")


@pytest.fixture
def case_officer(department):
    return make_persona("case_officer", department)


@pytest.fixture
def supervisor(department):
    return make_persona("supervisor", department)


@pytest.fixture
def department_admin(department):
    return make_persona("department_admin", department)


@pytest.fixture
def auditor(db):
    return make_persona("auditor")


@pytest.fixture
def platform_admin(db):
    return make_persona("platform_admin")


@pytest.fixture
def publisher(department):
    """A data publisher of the department (open data)."""
    return make_persona("publisher", department)


@pytest.fixture
def other_publisher(other_department):
    """A data publisher of another department."""
    return make_persona("other_publisher", other_department)


@pytest.fixture
def service_manager(department):
    """A head of service of the department (insights: its dashboards and forecasts)."""
    return make_persona("service_manager", department)


@pytest.fixture
def other_service_manager(other_department):
    """A head of service of another department."""
    return make_persona("other_service_manager", other_department)


@pytest.fixture
def performance_officer(db):
    """The authority's performance officer: every department's figures."""
    return make_persona("performance_officer")


@pytest.fixture
def engagement_officer(department):
    """The department's engagement officer: runs its participatory processes."""
    return make_persona("engagement_officer", department)


@pytest.fixture
def other_engagement_officer(other_department):
    """Another department's engagement officer (outside the first department's remit)."""
    return make_persona("other_engagement_officer", other_department)


@pytest.fixture
def intermediary(db):
    """An assisted-digital helper (a library's): enters paper participation for residents."""
    return make_persona("intermediary")


@pytest.fixture
def official_without_mfa(department):
    return make_persona("official_without_mfa", department)


def sign_in_official(client, user) -> None:
    """Sign an official in as if with their second factor (the browser journeys do it for
    real; allauth's own tests cover the code check)."""
    from ecitizen.accounts.selectors import MFA_VERIFIED_SESSION_KEY

    client.force_login(user)
    session = client.session
    session[MFA_VERIFIED_SESSION_KEY] = True
    session.save()


@pytest.fixture
def election_administrator(department):
    """The department's electoral office: prepares, opens and counts its elections."""
    return make_persona("election_administrator", department)


@pytest.fixture
def other_election_administrator(other_department):
    """Another department's electoral office (outside the first one's remit)."""
    return make_persona("other_election_administrator", other_department)


@pytest.fixture
def credential_authority(department):
    """The returning officer: issues voters' credentials (never the administrator)."""
    return make_persona("credential_authority", department)

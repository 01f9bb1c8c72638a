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


@pytest.fixture
def department(db):
    return DepartmentFactory(slug="revenue", name="Revenue")


@pytest.fixture
def other_department(db):
    return DepartmentFactory(slug="planning", name="Planning & Building")


@pytest.fixture
def resident(db):
    return UserFactory(email="resident@example.test", full_name="Alex Morgan")


@pytest.fixture
def second_resident(db):
    return UserFactory(email="resident2@example.test", full_name="Yasmin Farouk")


@pytest.fixture
def outsider(db):
    """Signed in, but with no business with anything a test sets up."""
    return UserFactory(email="outsider@example.test", full_name="Olive Outsider")


@pytest.fixture
def case_officer(department):
    return _official(Role.CASE_OFFICER, department, email="officer@example.test")


@pytest.fixture
def supervisor(department):
    return _official(Role.SUPERVISOR, department, email="supervisor@example.test")


@pytest.fixture
def department_admin(department):
    return _official(Role.DEPARTMENT_ADMIN, department, email="deptadmin@example.test")


@pytest.fixture
def auditor(db):
    return _official(Role.AUDITOR, email="auditor@example.test")


@pytest.fixture
def platform_admin(db):
    return _official(Role.PLATFORM_ADMIN, email="admin@example.test")


@pytest.fixture
def publisher(department):
    """A data publisher of the department (open data)."""
    return _official("publisher", department, email="publisher@example.test")


@pytest.fixture
def other_publisher(other_department):
    """A data publisher of another department."""
    return _official("publisher", other_department, email="other.publisher@example.test")


@pytest.fixture
def service_manager(department):
    """A head of service of the department (insights: its dashboards and forecasts)."""
    return _official("service_manager", department, email="manager@example.test")


@pytest.fixture
def other_service_manager(other_department):
    """A head of service of another department."""
    return _official("service_manager", other_department, email="other.manager@example.test")


@pytest.fixture
def performance_officer(db):
    """The authority's performance officer: every department's figures."""
    return _official("performance_officer", email="performance@example.test")


@pytest.fixture
def engagement_officer(department):
    """The department's engagement officer: runs its participatory processes."""
    return _official("engagement_officer", department, email="engagement@example.test")


@pytest.fixture
def other_engagement_officer(other_department):
    """Another department's engagement officer (outside the first department's remit)."""
    return _official("engagement_officer", other_department, email="other.engagement@example.test")


@pytest.fixture
def intermediary(db):
    """An assisted-digital helper (a library's): enters paper participation for residents."""
    return _official("intermediary", email="helper@example.test")


@pytest.fixture
def official_without_mfa(department):
    return _official(Role.CASE_OFFICER, department, mfa=False, email="new.officer@example.test")


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
    return _official("election_administrator", department, email="elections@example.test")


@pytest.fixture
def other_election_administrator(other_department):
    """Another department's electoral office (outside the first one's remit)."""
    return _official(
        "election_administrator", other_department, email="other.elections@example.test"
    )


@pytest.fixture
def credential_authority(department):
    """The returning officer: issues voters' credentials (never the administrator)."""
    return _official("credential_authority", department, email="returning@example.test")

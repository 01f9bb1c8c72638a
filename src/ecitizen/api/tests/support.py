"""Shared fixtures of the API's tests: clients and tokens made the way the platform makes
them (``ecitizen.api.clients``), and the services of the cases app's fixtures.

Imported by the other ``test_api_*`` modules (``from ... import *`` of the fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecitizen.accounts.models import Role
from ecitizen.api.clients import access_token_issue, client_register
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from tests.factories import DepartmentFactory
from tests.personas import _official

#: The cases app's test services (garden waste collection, shed permit).
FIXTURES = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures"

RESIDENT_SCOPES = [
    "profile",
    "applications:read",
    "applications:write",
    "documents:read",
    "bills:read",
    "notifications:read",
]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def api_admin(db):
    return _official(Role.PLATFORM_ADMIN, None, email="api.admin@example.test")


@pytest.fixture
def resident_app(api_admin):
    client, _secret = client_register(
        name="Riverton Mobile",
        kind="resident_app",
        scopes=[*RESIDENT_SCOPES, "webhooks"],
        redirect_uris=["https://app.example.test/callback"],
        actor=api_admin,
    )
    return client.application


@pytest.fixture
def works(db):
    return DepartmentFactory(slug="public-works", name="Public Works")


@pytest.fixture
def published(works):
    service_definitions_publish(directory=FIXTURES, actor=None)
    return {service.slug: service for service in Service.objects.all()}


@pytest.fixture
def token_for(resident_app):
    """``token_for(user, scopes, expires_in=None)``: a resident app's access token."""

    def make(user, scopes=RESIDENT_SCOPES, expires_in=None):
        return access_token_issue(
            application=resident_app, user=user, scopes=scopes, expires_in=expires_in
        )

    return make


@pytest.fixture
def back_office_token(api_admin):
    """``back_office_token(department, scopes=..., role=...)``: a back-office system's
    token, acting as its service account (an official of ``department``)."""

    def make(department, scopes=("cases:read", "cases:write"), role=Role.CASE_OFFICER):
        client, _secret = client_register(
            name=f"Back office {department.slug}",
            kind="back_office",
            scopes=list(scopes),
            department=department,
            role=role,
            actor=api_admin,
        )
        return access_token_issue(application=client.application, scopes=list(scopes))

    return make

"""Fixtures of the cases tests: Public Works with its officials, and the two test
services defined only by the YAML files in ``fixtures/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecitizen.accounts.models import Role
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from tests.factories import DepartmentFactory, JurisdictionFactory
from tests.personas import _official

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: Riverton's own service definitions (the demo's).
DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"


@pytest.fixture
def works(db):
    return DepartmentFactory(slug="public-works", name="Public Works")


@pytest.fixture
def published(works):
    service_definitions_publish(directory=FIXTURES, actor=None)
    return {service.slug: service for service in Service.objects.all()}


@pytest.fixture
def riverton(tmp_path, db):
    """The parking permit, the trading licence and the birth certificate copy, published
    from the demo's own files."""
    import shutil

    DepartmentFactory(slug="transport-licensing", name="Transport & Licensing")
    DepartmentFactory(slug="civil-registry", name="Civil Registry")
    for name in (
        "residents-parking-permit.yaml",
        "trading-licence.yaml",
        "birth-certificate-copy.yaml",
    ):
        shutil.copy(DEMO / name, tmp_path / name)
    service_definitions_publish(directory=tmp_path, actor=None)
    return {service.slug: service for service in Service.objects.all()}


@pytest.fixture
def shed(published):
    return published["shed-permit"]


@pytest.fixture
def garden(published):
    return published["garden-waste-collection"]


@pytest.fixture
def works_officer(works):
    return _official(Role.CASE_OFFICER, works, email="works.officer@example.test")


@pytest.fixture
def works_supervisor(works):
    return _official(Role.SUPERVISOR, works, email="works.supervisor@example.test")


@pytest.fixture
def helper(db):
    return _official(Role.INTERMEDIARY, None, email="helper@example.test")


@pytest.fixture
def ward(db):
    return JurisdictionFactory(code="riverside", name="Riverside")

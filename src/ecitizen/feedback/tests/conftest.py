"""Fixtures of the feedback tests: the complaint service published from this app's own
definition, the Communications officials who work complaints, and a service of Public
Works (the cases tests' shed permit) to rate and complain about."""

from __future__ import annotations

from pathlib import Path

import pytest

import ecitizen.cases.tests as cases_tests
from ecitizen.accounts.models import Role
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.feedback.demo import DEFINITIONS
from tests.factories import DepartmentFactory
from tests.personas import _official

CASES_FIXTURES = Path(cases_tests.__file__).resolve().parent / "fixtures"


@pytest.fixture
def comms(db):
    return DepartmentFactory(slug="communications", name="Communications")


@pytest.fixture
def works(db):
    return DepartmentFactory(slug="public-works", name="Public Works")


@pytest.fixture
def complaint_service(comms):
    service_definitions_publish(directory=DEFINITIONS, actor=None)
    return Service.objects.get(slug="complaint")


@pytest.fixture
def shed(works):
    service_definitions_publish(directory=CASES_FIXTURES, actor=None)
    return Service.objects.get(slug="shed-permit")


@pytest.fixture
def comms_officer(comms):
    return _official(Role.CASE_OFFICER, comms, email="comms.officer@example.test")


@pytest.fixture
def comms_supervisor(comms):
    return _official(Role.SUPERVISOR, comms, email="comms.supervisor@example.test")


@pytest.fixture
def works_supervisor(works):
    return _official(Role.SUPERVISOR, works, email="works.supervisor@example.test")


@pytest.fixture
def works_officer(works):
    return _official(Role.CASE_OFFICER, works, email="works.officer@example.test")

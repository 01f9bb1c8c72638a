"""Fixtures of the taxes app's tests: Riverton's 2026 configuration and two wards."""

from __future__ import annotations

import pytest

from ecitizen.taxes import services
from ecitizen.taxes.config import CONFIG_DIR
from tests.factories import JurisdictionFactory


@pytest.fixture
def wards(db):
    return [
        JurisdictionFactory(code="northgate", name="Northgate"),
        JurisdictionFactory(code="riverside", name="Riverside"),
    ]


@pytest.fixture
def year_2026(department):
    """Riverton's 2026 configuration (the ``department`` persona is Revenue)."""
    tax_year, _changed = services.tax_config_load(path=CONFIG_DIR / "2026.yaml", actor=None)
    return tax_year


@pytest.fixture
def finance_officer(department):
    from ecitizen.accounts.models import Role
    from tests.personas import _official

    return _official(Role.FINANCE_OFFICER, department, email="finance@example.test")

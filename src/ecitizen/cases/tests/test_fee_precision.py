"""A case's fee keeps the currency's own precision, from the definition to the bill."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest
import yaml

from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.payments.selectors import bill_by_reference

from .conftest import FIXTURES
from .support import draft_with


@pytest.mark.parametrize(
    ("currency", "per_bin", "fee", "fee_minor"),
    [
        ("KWD", "4.115", Decimal("12.345"), 12_345),  # three decimal places
        ("JPY", "450", Decimal("1350"), 1_350),  # none
    ],
)
def test_a_fee_in_a_currency_of_another_precision_is_stored_and_billed_exactly(
    settings, tmp_path, works, resident, currency, per_bin, fee, fee_minor
):
    settings.CURRENCY = currency
    definition = yaml.safe_load((FIXTURES / "garden-waste.yaml").read_text(encoding="utf-8"))
    definition["fee"]["amount"] = per_bin
    (tmp_path / "garden-waste.yaml").write_text(yaml.safe_dump(definition), encoding="utf-8")
    shutil.copy(FIXTURES / "shed-permit.yaml", tmp_path / "shed-permit.yaml")
    service_definitions_publish(directory=tmp_path, actor=None)
    garden = Service.objects.get(slug="garden-waste-collection")

    from ecitizen.cases import services

    draft = draft_with(
        garden,
        resident,
        {"lives_in_riverton": True, "bin_count": 3, "collection_address": "1 Mill Lane"},
    )
    case = services.draft_submit(draft=draft, actor=resident)
    case.refresh_from_db()
    assert case.fee_amount == fee
    assert case.fee_currency == currency
    bill = bill_by_reference(reference=case.bill_reference)
    assert bill is not None
    assert bill.total_minor == fee_minor

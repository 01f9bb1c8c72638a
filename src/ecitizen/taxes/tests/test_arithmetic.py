"""The tax arithmetic: rates, reliefs, rounding half up, instalments adding up."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecitizen.taxes.arithmetic import (
    YearRules,
    fraction,
    instalments_split,
    relief_on_tax,
    round_half_up,
    tax_on_value,
)

QUARTERS = [date(2026, 4, 30), date(2026, 7, 31), date(2026, 10, 31), date(2027, 1, 31)]


def _rules(**overrides) -> YearRules:
    reliefs = overrides.pop(
        "reliefs",
        [
            ("charity", Decimal(100), ["charity"], False, None),
            ("owner_occupier", Decimal(10), ["residential"], True, None),
            ("small_property", Decimal(25), ["commercial", "industrial"], False, 15_000_000),
        ],
    )
    return YearRules.build(
        year=2026,
        rates={
            "residential": Decimal("0.0062"),
            "commercial": Decimal("0.0118"),
            "industrial": Decimal("0.0104"),
            "agricultural": Decimal("0.0035"),
            "charity": Decimal("0.0118"),
        },
        reliefs=reliefs,
        due_dates=QUARTERS,
    )


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),
        (-5, 2, -3),
        (7, 2, 4),
        (4999, 1000, 5),
        (4499, 1000, 4),
        (1, 3, 0),
        (2, 3, 1),
        (0, 7, 0),
    ],
)
def test_rounding_is_half_up_away_from_zero(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


def test_a_rate_is_an_exact_fraction():
    assert fraction(Decimal("0.0062")) == (31, 5000)
    assert fraction(Decimal("100")) == (100, 1)


def test_tax_is_value_times_rate_to_the_penny():
    residential = fraction(Decimal("0.0062"))
    assert tax_on_value(25_000_000, residential) == 155_000  # £250,000 -> £1,550.00
    # £123,456.75 x 0.0062 = £765.43185 -> £765.43
    assert tax_on_value(12_345_675, residential) == 76_543
    # Exactly half a penny rounds up: 40p x 1.25 % = 0.5p -> 1p; 20p -> 0.25p -> 0p.
    assert tax_on_value(40, fraction(Decimal("0.0125"))) == 1
    assert tax_on_value(20, fraction(Decimal("0.0125"))) == 0


def test_a_relief_is_a_percentage_of_the_tax_rounded_half_up():
    assert relief_on_tax(155_000, fraction(Decimal(10))) == 15_500
    assert relief_on_tax(155_005, fraction(Decimal(10))) == 15_501  # 15,500.5 -> 15,501
    assert relief_on_tax(12_345, fraction(Decimal("12.5"))) == 1_543  # 1,543.125
    assert relief_on_tax(12_345, fraction(Decimal(100))) == 12_345


@settings(max_examples=300, deadline=None)
@given(
    value=st.integers(min_value=0, max_value=10**12),
    rate=st.decimals(min_value=0, max_value=Decimal("0.2"), places=6),
    percent=st.decimals(min_value=0, max_value=100, places=3),
)
def test_integer_arithmetic_matches_decimal_half_up(value, rate, percent):
    """The fast integer path gives exactly what Decimal with ROUND_HALF_UP gives."""
    expected_tax = (Decimal(value) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    tax = tax_on_value(value, fraction(rate))
    assert tax == int(expected_tax)
    expected_relief = (Decimal(tax) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert relief_on_tax(tax, fraction(percent)) == int(expected_relief)


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=10**11),
    count=st.integers(min_value=1, max_value=12),
)
def test_instalments_always_add_up_to_the_total(total, count):
    dates = [date(2026, month, 1) for month in range(1, count + 1)]
    parts = instalments_split(total, dates)
    assert sum(amount for _due, amount in parts) == total
    assert all(amount >= 0 for _due, amount in parts)
    if total >= count:
        assert [due for due, _ in parts] == dates
        # Equal instalments, the last absorbing the rounding.
        assert len({amount for _due, amount in parts[:-1]}) <= 1
        assert 0 <= parts[-1][1] - parts[0][1] < count


def test_the_last_instalment_absorbs_the_rounding():
    assert instalments_split(100_003, QUARTERS) == [
        (QUARTERS[0], 25_000),
        (QUARTERS[1], 25_000),
        (QUARTERS[2], 25_000),
        (QUARTERS[3], 25_003),
    ]


def test_a_tiny_total_is_payable_in_one_go():
    assert instalments_split(3, QUARTERS) == [(QUARTERS[0], 3)]


def test_owner_occupiers_get_their_relief_and_landlords_do_not():
    rules = _rules()
    occupied = rules.assess(
        use_class="residential", value_minor=25_000_000, exempt=False, owner_occupied=True
    )
    assert (occupied.gross_minor, occupied.relief_kind, occupied.relief_minor) == (
        155_000,
        "owner_occupier",
        15_500,
    )
    assert occupied.net_minor == 139_500
    let = rules.assess(
        use_class="residential", value_minor=25_000_000, exempt=False, owner_occupied=False
    )
    assert (let.relief_kind, let.net_minor) == ("", 155_000)


def test_charities_are_fully_relieved_and_exempt_properties_owe_nothing():
    rules = _rules()
    charity = rules.assess(
        use_class="charity", value_minor=30_000_000, exempt=False, owner_occupied=False
    )
    assert charity.gross_minor == 354_000
    assert charity.relief_kind == "charity"
    assert charity.net_minor == 0
    exempt = rules.assess(
        use_class="residential", value_minor=30_000_000, exempt=True, owner_occupied=True
    )
    assert exempt.net_minor == 0


def test_a_value_limit_decides_small_property_relief():
    rules = _rules()
    small = rules.assess(
        use_class="commercial", value_minor=15_000_000, exempt=False, owner_occupied=False
    )
    assert small.relief_kind == "small_property"
    assert small.net_minor == 177_000 - 44_250
    large = rules.assess(
        use_class="commercial", value_minor=15_000_001, exempt=False, owner_occupied=False
    )
    assert large.relief_kind == ""


def test_reliefs_do_not_stack_the_most_generous_applies():
    rules = _rules(
        reliefs=[
            ("owner_occupier", Decimal(10), ["residential"], True, None),
            ("small_property", Decimal(30), [], False, 20_000_000),
        ]
    )
    both = rules.assess(
        use_class="residential", value_minor=10_000_000, exempt=False, owner_occupied=True
    )
    assert both.relief_kind == "small_property"
    assert both.relief_minor == 18_600  # 30 % of £620, not 10 % then 30 %

"""The tax arithmetic: exact, in integers, rounding half up to the minor unit.

A rate or a percentage is a Decimal turned once into an integer fraction
(``Decimal("0.0065")`` is 13/2000), so that computing a million properties' tax is
integer multiplication and floor division — exact, and much faster than Decimal
objects per property. Rounding is *half up* (half away from zero), as on a paper bill.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


def fraction(value: Decimal) -> tuple[int, int]:
    """``value`` as an exact ``(numerator, denominator)`` with a positive denominator."""
    numerator, denominator = value.as_integer_ratio()
    return numerator, denominator


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero.

    Precondition: ``denominator > 0``.
    """
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def tax_on_value(value_minor: int, rate: tuple[int, int]) -> int:
    """The tax on an assessed value: ``value * rate``, rounded half up to the minor unit."""
    return round_half_up(value_minor * rate[0], rate[1])


def relief_on_tax(tax_minor: int, percent: tuple[int, int]) -> int:
    """The amount a relief of ``percent`` takes off ``tax_minor``, rounded half up."""
    return round_half_up(tax_minor * percent[0], percent[1] * 100)


def instalments_split(total_minor: int, due_dates: Sequence[date]) -> list[tuple[date, int]]:
    """Split a total into equal instalments on ``due_dates``; the last one absorbs the
    rounding, so they always add up to the total exactly. A total too small to give
    every instalment at least one minor unit is payable in one go on the first date.

    Preconditions: ``total_minor >= 0`` and at least one due date.
    """
    count = len(due_dates)
    share = total_minor // count
    if share == 0:
        return [(due_dates[0], total_minor)]
    parts = [(due, share) for due in due_dates[:-1]]
    parts.append((due_dates[-1], total_minor - share * (count - 1)))
    return parts


@dataclass(frozen=True)
class ReliefRule:
    kind: str
    percent: tuple[int, int]
    use_classes: frozenset[str]  # empty: every use class
    owner_occupier_only: bool
    max_value_minor: int | None


@dataclass(frozen=True)
class Assessment:
    """One property's tax for a year: before relief, the relief (if any) and what is due."""

    gross_minor: int
    relief_kind: str
    relief_minor: int

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.relief_minor


#: Per use class: the rate as (numerator, denominator) and the reliefs that may apply to
#: it, most generous first, as (kind, percent numerator, percent denominator x 100,
#: owner-occupiers only, highest value or None).
_ClassRules = tuple[int, int, tuple[tuple[str, int, int, bool, int | None], ...]]


@dataclass(frozen=True)
class YearRules:
    """A year's configuration, precomputed for assessing many properties."""

    year: int
    rates: dict[str, tuple[int, int]]
    reliefs: tuple[ReliefRule, ...]  # most generous first
    due_dates: tuple[date, ...]
    by_class: dict[str, _ClassRules]

    @classmethod
    def build(
        cls,
        *,
        year: int,
        rates: dict[str, Decimal],
        reliefs: Iterable[tuple[str, Decimal, Iterable[str], bool, int | None]],
        due_dates: Sequence[date],
    ) -> YearRules:
        """``reliefs`` as ``(kind, percent, use_classes, owner_occupier_only,
        max_value_minor)``. Ordered most generous first (ties by kind), because a
        property gets the single most generous relief it qualifies for."""
        rules = [
            ReliefRule(kind, fraction(percent), frozenset(classes), only_occupier, max_value)
            for kind, percent, classes, only_occupier, max_value in reliefs
        ]
        rules.sort(key=lambda rule: (-Decimal(rule.percent[0]) / rule.percent[1], rule.kind))
        fractions = {use_class: fraction(rate) for use_class, rate in rates.items()}
        by_class = {
            use_class: (
                numerator,
                denominator,
                tuple(
                    (
                        rule.kind,
                        rule.percent[0],
                        rule.percent[1] * 100,
                        rule.owner_occupier_only,
                        rule.max_value_minor,
                    )
                    for rule in rules
                    if not rule.use_classes or use_class in rule.use_classes
                ),
            )
            for use_class, (numerator, denominator) in fractions.items()
        }
        return cls(
            year=year,
            rates=fractions,
            reliefs=tuple(rules),
            due_dates=tuple(due_dates),
            by_class=by_class,
        )

    def tax(
        self, use_class: str, value_minor: int, exempt: bool, owner_occupied: bool
    ) -> tuple[int, str, int]:
        """:meth:`assess` as a plain ``(gross, relief kind, relief)`` tuple: the
        assessment's inner loop, a million times a run. Precondition: ``value_minor >= 0``."""
        if exempt:
            return 0, "", 0
        numerator, denominator, reliefs = self.by_class[use_class]
        gross = (2 * value_minor * numerator + denominator) // (2 * denominator)
        for kind, percent, hundredfold, occupiers_only, max_value in reliefs:
            if occupiers_only and not owner_occupied:
                continue
            if max_value is not None and value_minor > max_value:
                continue
            relief = (2 * gross * percent + hundredfold) // (2 * hundredfold)
            return gross, kind, min(gross, relief)
        return gross, "", 0

    def assess(
        self, *, use_class: str, value_minor: int, exempt: bool, owner_occupied: bool
    ) -> Assessment:
        """The tax of one property. An exempt property owes nothing."""
        return Assessment(*self.tax(use_class, value_minor, exempt, owner_occupied))

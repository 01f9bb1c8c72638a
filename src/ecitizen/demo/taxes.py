"""Riverton's tax roll on its own, without the rest of the demo: for the tests of the
taxes app that need it. The loader itself is the taxes app's (``taxes/demo.py``); this
gives it Riverton as the city."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecitizen.demo.services import riverton_context
from ecitizen.taxes.demo import ROLL_SIZE, demo_property_tax_load

if TYPE_CHECKING:
    from ecitizen.accounts.models import User

__all__ = ["ROLL_SIZE", "demo_tax_load"]


def demo_tax_load(*, seed: int, residents: list[User]) -> None:
    """Riverton's 2026 roll, assessment, payments and appeal, each unless already there.

    Preconditions: Riverton's departments and wards exist; ``residents`` are the demo's
    residents, the named ones (``resident@``, ``resident2@``) first."""
    context = riverton_context(seed=seed)
    context.residents = list(residents)
    demo_property_tax_load(context)

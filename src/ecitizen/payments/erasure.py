"""Erasure and payments (ADR 0023): nothing is erased. Bills, payments, refunds and the
double-entry ledger are accounting records the authority must keep (legal obligation)
for the period the law sets, and they hold no personal text: the bill names what is
owed and to whom by reference, and the account it points at is closed and no longer
names the resident. The ledger is not touched, so it still balances."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.payments.models import Bill, Payment

NAME = "payments"


def plan(user: Any) -> Erasure:
    """What is kept (nothing is erased here)."""
    bills = Bill.objects.filter(payer=user).count()
    payments = Payment.objects.filter(Q(payer=user) | Q(bill__payer=user)).count()
    return Erasure(
        name=NAME,
        kept=(
            ErasedPart(
                _("Your bills, payments and refunds"),
                bills + payments,
                _(
                    "Accounting records we must keep by law (legal obligation), for the "
                    "period the law sets. They no longer name you."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Keep everything (see the module's docstring); returns what is kept."""
    return plan(user)

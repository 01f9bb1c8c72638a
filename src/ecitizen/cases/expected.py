"""When a resident can expect a decision, worked out from a case's SLA clock: for the
case page and for the acknowledgement message.

A case has a due date only while its clock runs. Without one, the reason decides what
the resident is told: the fee is still to be paid (the clock starts on payment), the
case waits for the resident's answer (the clock is paused), or the service has no SLA.
A due date that has passed is said to be late, with what the resident can do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from django.utils.formats import date_format
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext, ngettext

from ecitizen.catalogue.spec import ServiceSpec

#: How dates are written to residents, on the pages and in messages ("13 November 2026").
DATE_FORMAT = "j F Y"


@dataclass(frozen=True)
class DecisionExpected:
    """``kind`` is one of:

    - ``by``: a decision is due by ``date`` (today or later);
    - ``late``: it was due by ``date``, which has passed;
    - ``fee``: the clock starts once the fee is paid, then runs ``days`` working days;
    - ``paused``: the clock is stopped while the case waits for the resident;
    - ``decided``: the case is closed;
    - ``none``: the service gives no date.
    """

    kind: str
    date: date | None = None
    days: int | None = None

    @property
    def late(self) -> bool:
        return self.kind == "late"


def decision_expected(case: Any, spec: ServiceSpec, *, today: date) -> DecisionExpected:
    """What to tell the resident about the decision's date on ``today``. Reads only the
    case's fields (no query)."""
    if case.outcome:
        return DecisionExpected("decided")
    if case.due_date is not None:
        return DecisionExpected("late" if case.due_date < today else "by", date=case.due_date)
    limit = spec.sla_business_days
    if limit is None:
        return DecisionExpected("none")
    if case.payment_status == "due" and spec.fee_due == "before_submission":
        return DecisionExpected("fee", days=limit)
    if spec.sla_clock(case.state) == "paused":
        return DecisionExpected("paused")
    return DecisionExpected("none")


def _sentence(kind: str, when: date | None, days: int | None) -> str:
    if kind in {"by", "late"} and when is not None:
        return gettext("We expect to make a decision by %(date)s.") % {
            "date": date_format(when, DATE_FORMAT)
        }
    if kind == "fee" and days:
        return ngettext(
            "Pay the fee so that we can start working on your application. We expect to "
            "make a decision within %(count)s working day of your payment.",
            "Pay the fee so that we can start working on your application. We expect to "
            "make a decision within %(count)s working days of your payment.",
            days,
        ) % {"count": days}
    if kind == "paused":
        return gettext(
            "We will tell you when we expect to make a decision, once we have your answer."
        )
    return gettext("We will tell you when we have made a decision.")


_lazy_sentence = lazy(_sentence, str)


def decision_expected_sentence(expected: DecisionExpected) -> Promise:
    """One whole sentence for a message ("We expect to make a decision by 13 November
    2026."), never one with a hole where a date is missing. Lazy: it is written in the
    language of whoever reads it, when the message is rendered for them."""
    # django-stubs types lazy() as returning the wrapped type; it returns a Promise.
    return cast("Promise", _lazy_sentence(expected.kind, expected.date, expected.days))

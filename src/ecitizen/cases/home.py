"""What the home page shows: the services residents use most, and what a signed-in
person has to do — applications to finish, information we asked them for, bills to pay.

It lives in ``cases`` because ``cases`` sits above ``catalogue`` and ``payments`` and may
read through their selectors; ``core`` imports no app. The page itself is
``cases.views.home``, mounted as ``core:home`` by the root URL map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ecitizen.cases import selectors
from ecitizen.cases.services import spec_for
from ecitizen.catalogue.selectors import services_published_list
from ecitizen.payments.selectors import bills_due_for_payer

#: How many popular services the home page lists.
TOP_TASKS_SHOWN = 5
#: The period whose starts rank the services.
TOP_TASKS_WINDOW = timedelta(days=90)
#: The ranking is one aggregate over the usage of the whole window, and the home page is
#: the busiest page: it is computed at most once an hour and shared through the cache.
TOP_TASKS_CACHE_KEY = "home:top-task-service-ids:v1"
TOP_TASKS_CACHE_SECONDS = 3600
#: At most this many items of each kind in "Your applications"; the rest are one link away.
ITEMS_SHOWN = 5


def top_task_services(*, now: datetime | None = None) -> list[Any]:
    """The published services most started in the last 90 days, most started first; then,
    when fewer than ``TOP_TASKS_SHOWN`` were used, the services of ``HOME_TOP_TASKS`` in
    their order; and when that setting is empty, the rest of the catalogue in its order.

    Two queries at most once warm: the ranking (read from the cache for an hour) and the
    catalogue's services (compiled); a third the first time a process lists definitions
    it does not keep yet (by checksum)."""
    ranked: list[int] | None = cache.get(TOP_TASKS_CACHE_KEY)
    if ranked is None:
        since = (now or timezone.now()) - TOP_TASKS_WINDOW
        ranked = selectors.service_ids_most_started(since=since, limit=TOP_TASKS_SHOWN)
        cache.set(TOP_TASKS_CACHE_KEY, ranked, TOP_TASKS_CACHE_SECONDS)
    configured = list(settings.HOME_TOP_TASKS)
    published = services_published_list()
    by_id = {service.pk: service for service in published}
    by_slug = {service.slug: service for service in published}
    chosen: dict[int, Any] = {}
    candidates = [by_id.get(pk) for pk in ranked] + [by_slug.get(slug) for slug in configured]
    for service in candidates:
        if service is not None and len(chosen) < TOP_TASKS_SHOWN:
            chosen.setdefault(service.pk, service)
    if not configured:
        for service in published:
            if len(chosen) >= TOP_TASKS_SHOWN:
                break
            chosen.setdefault(service.pk, service)
    return list(chosen.values())


@dataclass(frozen=True)
class DraftToFinish:
    draft: Any
    service_title: str


@dataclass(frozen=True)
class CaseWaiting:
    case: Any
    service_title: str


@dataclass(frozen=True)
class BillDue:
    bill: Any
    due_date: date
    amount_minor: int
    overdue: bool


@dataclass
class HomePage:
    top_tasks: list[Any]
    signed_in: bool = False
    drafts: list[DraftToFinish] = field(default_factory=list)
    waiting: list[CaseWaiting] = field(default_factory=list)
    bills: list[BillDue] = field(default_factory=list)
    # True when a list was cut at ITEMS_SHOWN
    more_applications: bool = False
    more_bills: bool = False

    @property
    def todo_count(self) -> int:
        return len(self.drafts) + len(self.waiting) + len(self.bills)


def _next_payment(bill: Any) -> tuple[date, int]:
    """What is to pay next and by when: the earliest instalment not fully paid, or the
    whole balance by the bill's due date."""
    for instalment in bill.instalment_status():
        if instalment["outstanding_minor"] > 0:
            due = instalment["due_date"]
            due = date.fromisoformat(due) if isinstance(due, str) else due
            return due, int(instalment["outstanding_minor"])
    return bill.due_date, int(bill.balance_minor)


def home_page(*, user: Any, today: date | None = None) -> HomePage:
    """Everything the home page shows ``user`` (anyone: a visitor sees the popular
    services only). Reads only; a bounded number of queries whatever the number of
    drafts, cases and bills (each list is one query)."""
    page = HomePage(top_tasks=top_task_services())
    if not getattr(user, "is_authenticated", False):
        return page
    today = today or timezone.localdate()
    page.signed_in = True
    drafts = list(selectors.drafts_open_for_user(user=user)[: ITEMS_SHOWN + 1])
    waiting = selectors.cases_waiting_for_applicant(user=user)
    page.more_applications = len(drafts) > ITEMS_SHOWN or len(waiting) > ITEMS_SHOWN
    page.drafts = [
        DraftToFinish(d, spec_for(d.service_version).title()) for d in drafts[:ITEMS_SHOWN]
    ]
    page.waiting = [
        CaseWaiting(c, spec_for(c.service_version).title()) for c in waiting[:ITEMS_SHOWN]
    ]
    bills = list(bills_due_for_payer(user=user)[: ITEMS_SHOWN + 1])
    page.more_bills = len(bills) > ITEMS_SHOWN
    for bill in bills[:ITEMS_SHOWN]:
        due, amount = _next_payment(bill)
        page.bills.append(BillDue(bill, due, amount, overdue=due < today))
    return page

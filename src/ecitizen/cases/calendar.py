"""Business days for SLA clocks: Monday to Friday, minus public holidays.

Holidays come from the ``holidays`` package for ``HOLIDAY_COUNTRY`` /
``HOLIDAY_SUBDIVISION``, plus the authority's own closures in ``EXTRA_HOLIDAYS``.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
from django.conf import settings


@lru_cache(maxsize=64)
def _holidays(
    year: int, country: str, subdivision: str | None, extra: tuple[str, ...]
) -> frozenset:
    days = set(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())
    days.update(d for d in map(date.fromisoformat, extra) if d.year == year)
    return frozenset(days)


def is_business_day(day: date) -> bool:
    if day.weekday() >= 5:
        return False
    return day not in _holidays(
        day.year,
        settings.HOLIDAY_COUNTRY,
        settings.HOLIDAY_SUBDIVISION,
        tuple(settings.EXTRA_HOLIDAYS),
    )


def add_business_days(start: date, days: int) -> date:
    """The day on which ``days`` business days after ``start`` have passed: the day of
    ``start`` itself does not count (something received on Friday with 1 business day
    is due on Monday, or on Tuesday if Monday is a holiday). ``days == 0`` gives
    ``start``."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def business_days_between(start: date, end: date) -> int:
    """Business days in the half-open period (start, end]: how many business days of a
    clock that started on ``start`` have passed on ``end``. Zero when end <= start."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_business_day(current):
            count += 1
    return count

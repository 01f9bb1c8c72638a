"""Open311's timestamps written a quarter hour at a time (``render.W3CSeconds``) are the
ones ``datetime.isoformat`` writes, in every zone, across changes of offset."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

import pytest

from ecitizen.reports.open311.render import W3CSeconds, w3c_seconds


def _seconds(*when: int) -> int:
    return int(datetime(*when, tzinfo=UTC).timestamp())  # type: ignore[misc]


@pytest.mark.parametrize(
    ("zone_name", "start", "why"),
    [
        ("Europe/London", _seconds(2026, 3, 29, 0, 0), "summer time starts at 01:00 UTC"),
        ("Europe/London", _seconds(2026, 10, 25, 0, 0), "summer time ends at 01:00 UTC"),
        ("Australia/Adelaide", _seconds(2026, 4, 4, 15, 0), "+10:30 to +09:30 at 16:30 UTC"),
        ("Australia/Lord_Howe", _seconds(2026, 4, 4, 14, 0), "a half-hour change of offset"),
        ("Asia/Kathmandu", _seconds(2026, 6, 1, 0, 0), "+05:45"),
        ("Pacific/Chatham", _seconds(2026, 4, 4, 13, 0), "+13:45 to +12:45"),
        ("Africa/Monrovia", _seconds(1972, 1, 6, 23, 0), "-00:44:30 until 1972, then UTC"),
        ("America/St_Johns", _seconds(2026, 11, 1, 3, 0), "-02:30 to -03:30"),
    ],
)
def test_every_second_around_a_change_of_offset_is_written_as_isoformat_writes_it(
    zone_name: str, start: int, why: str
) -> None:
    zone = zoneinfo.ZoneInfo(zone_name)
    write = W3CSeconds(zone)
    for seconds in range(start, start + 3 * 3600):
        assert write(seconds) == w3c_seconds(seconds, zone), (why, seconds)


def test_times_in_every_zone_are_written_as_isoformat_writes_them() -> None:
    picked = random.Random(311)
    for zone_name in sorted(zoneinfo.available_timezones()):
        zone = zoneinfo.ZoneInfo(zone_name)
        write = W3CSeconds(zone)
        for _ in range(40):
            seconds = picked.randrange(0, _seconds(2040, 1, 1))
            assert write(seconds) == w3c_seconds(seconds, zone), (zone_name, seconds)
            assert write(seconds + 59) == w3c_seconds(seconds + 59, zone), (zone_name, seconds)


class _ChangesAtAnOddSecond(tzinfo):
    """+01:00 until 2026-03-29 01:07:13 UTC, then +02:00: a change of offset inside a
    quarter hour rather than at one's end."""

    change = datetime(2026, 3, 29, 1, 7, 13)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        assert dt is not None
        return timedelta(
            hours=1 if dt.replace(tzinfo=None) < self.change + timedelta(hours=1) else 2
        )

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def fromutc(self, dt: datetime) -> datetime:
        utc = dt.replace(tzinfo=None)
        return (utc + timedelta(hours=1 if utc < self.change else 2)).replace(tzinfo=self)


def test_a_change_of_offset_within_a_quarter_hour_is_written_exactly() -> None:
    zone = _ChangesAtAnOddSecond()
    write = W3CSeconds(zone)
    start = _seconds(2026, 3, 29, 0, 30)
    for seconds in range(start, start + 3600):
        assert write(seconds) == w3c_seconds(seconds, zone), seconds

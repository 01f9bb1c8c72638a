"""Open311's timestamps: written from tables, the same text as ``isoformat``."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from ecitizen.reports.open311.render import w3c_seconds

#: Whole-hour, half-hour and quarter-hour offsets, summer times of an hour and of half
#: an hour, west and east of UTC, and a zone whose offset had seconds before 1901.
ZONES = [
    "UTC",
    "Europe/London",
    "America/Los_Angeles",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Africa/Monrovia",
]


@pytest.mark.parametrize("name", ZONES)
def test_a_timestamp_is_written_as_isoformat_writes_it(name):
    zone = zoneinfo.ZoneInfo(name)
    picked = random.Random(name)
    # Two centuries of random times, and every ten minutes around this zone's changes of
    # offset in 2026 (found hour by hour).
    times = [picked.randrange(-2_300_000_000, 4_100_000_000) for _ in range(20_000)]
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    offsets = [
        datetime.fromtimestamp(start + hour * 3600, zone).utcoffset() for hour in range(8761)
    ]
    for hour in range(1, 8761):
        if offsets[hour] != offsets[hour - 1]:
            times += range(start + (hour - 2) * 3600, start + (hour + 1) * 3600, 600)
            times += [start + hour * 3600 - 1, start + hour * 3600]
    for seconds in times:
        expected = datetime.fromtimestamp(seconds, zone).isoformat(timespec="seconds")
        assert w3c_seconds(seconds, zone) == expected, seconds


def test_an_offset_with_seconds_keeps_them():
    zone = zoneinfo.ZoneInfo("Africa/Monrovia")  # -00:44:30 until 1972
    seconds = int(datetime(1950, 6, 1, tzinfo=UTC).timestamp())
    assert w3c_seconds(seconds, zone) == "1950-05-31T23:15:30-00:44:30"
    assert datetime.fromtimestamp(seconds, zone).utcoffset() == -timedelta(minutes=44, seconds=30)


def test_an_hour_that_holds_a_change_of_offset_is_written_time_by_time():
    # Lord Howe's summer time ends at 02:00 local, 15:00 UTC, and its clocks go back half
    # an hour; in 2026 it began at 15:30 UTC (02:00 local standard time, +10:30).
    zone = zoneinfo.ZoneInfo("Australia/Lord_Howe")
    change = int(datetime(2026, 10, 3, 15, 30, tzinfo=UTC).timestamp())
    before, after = datetime.fromtimestamp(change - 1, zone), datetime.fromtimestamp(change, zone)
    assert before.utcoffset() != after.utcoffset()  # the change is inside the hour
    hour = change - change % 3600
    for _round in range(2):  # the hour's look-up, then what was kept of it
        for seconds in (hour, change - 1, change, hour + 3599, hour + 3600):
            expected = datetime.fromtimestamp(seconds, zone).isoformat(timespec="seconds")
            assert w3c_seconds(seconds, zone) == expected

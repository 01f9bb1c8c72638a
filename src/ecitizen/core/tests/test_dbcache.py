"""The database cache's expired entries are deleted (core.dbcache, ``ecitizen prune_cache``)."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from ecitizen.core.dbcache import expired_delete

# Raw SQL with a date-time adapted per database: run on both.
pytestmark = [pytest.mark.django_db, pytest.mark.db_specific]


def _rows() -> int:
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(cache._table)
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - the table's own name
        return cursor.fetchone()[0]


def test_expired_entries_go_live_ones_stay():
    cache.clear()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for number in range(7):
            cache.set(f"short-{number}", number, timeout=60)
        cache.set("long", "kept", timeout=3600)
        cache.set("for-ever", "kept", timeout=None)
    assert _rows() == 9
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert expired_delete() == 0
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        # Several batches: a backlog is deleted a batch per transaction, to the end.
        assert expired_delete(batch=3) == 7
        assert _rows() == 2
        assert cache.get("long") == "kept"
        assert cache.get("for-ever") == "kept"
        assert cache.get("short-0") is None
        out = StringIO()
        call_command("prune_cache", stdout=out)
    assert out.getvalue() == "Deleted 0 expired cache entries.\n"


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_another_cache_has_nothing_to_prune():
    assert expired_delete() is None
    out = StringIO()
    call_command("prune_cache", stdout=out)
    assert out.getvalue() == "The cache is not a database cache: nothing to delete.\n"

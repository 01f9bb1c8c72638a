"""The database cache's expired entries (``CACHE_URL=dbcache://...``, the default: ADR 0008).

Django's database cache removes an expired entry only when it is read again, or when the
table holds more than ``MAX_ENTRIES`` (a million here, so that live sign-in limits and
used-code markers are never culled). Rate-limit keys, one per address and action, are
mostly never read again once they expire: the table would grow for days, and Django counts
all of its rows (``SELECT COUNT(*)``) on every write to the cache. :func:`expired_delete`,
run every few minutes by the scheduler (``ecitizen prune_cache``), keeps it to the entries
still alive.
"""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.utils import timezone

#: Entries deleted per transaction: a large backlog never holds one long transaction.
BATCH = 5000


def expired_delete(*, alias: str = "default", batch: int = BATCH) -> int | None:
    """Delete the expired entries of the cache ``alias`` and return how many; ``None`` when
    that cache is not a database cache (Redis expires its own keys).

    Side effects: deletes rows of the cache table, ``batch`` at a time, each batch in its
    own transaction. An entry written meanwhile is not touched (it has not expired).
    """
    cache = caches[alias]
    if not isinstance(cache, DatabaseCache):
        return None
    database = router.db_for_write(cache.cache_model_class)
    connection = connections[database]
    table = connection.ops.quote_name(cache.cache_model_class._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now().replace(microsecond=0))
    deleted = 0
    while True:
        with transaction.atomic(using=database), connection.cursor() as cursor:
            # The outer condition again: on PostgreSQL, a row that another request rewrote
            # (allauth's add() of a rate-limit lock or a used-code marker reuses an expired
            # row) after the subquery picked it is checked again as it is now, and kept.
            cursor.execute(
                f"DELETE FROM {table} WHERE expires < %s AND cache_key IN "  # noqa: S608 - the table's own name
                f"(SELECT cache_key FROM {table} WHERE expires < %s LIMIT %s)",
                [now, now, batch],
            )
            count = int(cursor.rowcount)
        deleted += count
        if count < batch:
            return deleted

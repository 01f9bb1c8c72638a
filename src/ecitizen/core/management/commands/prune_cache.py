"""``ecitizen prune_cache``: delete the database cache's expired entries (the scheduler
runs it every 10 minutes as the job ``core.cache_prune``; see :mod:`ecitizen.core.dbcache`).
Safe to run at any time, as often as wanted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ecitizen.core.dbcache import expired_delete


class Command(BaseCommand):
    help = "Delete the expired entries of the database cache (CACHE_URL=dbcache://...)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = expired_delete()
        if deleted is None:
            self.stdout.write("The cache is not a database cache: nothing to delete.")
        else:
            self.stdout.write(f"Deleted {deleted} expired cache entries.")

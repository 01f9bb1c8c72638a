"""The DataStore: see ADR 0016. (Being written.)"""

from __future__ import annotations


class DatastoreError(Exception):
    """A table could not be loaded or queried."""

"""The static files' storages, each giving a file's address once per process.

``{% static %}`` asks the storage for a file's address on every use; the manifest storage
production runs looks the file up in its manifest and joins the address each time (some
twenty microseconds a tag, six tags a page on the street reports' pages). The address of a
file depends only on its name, the settings and the manifest, which is read once when
the storage is made; so it is kept (``core.processcache.Kept``: a change of settings
forgets it). A name the manifest lacks raises each time, as before.
"""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.storage import StaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage

from ecitizen.core.processcache import Kept


class _KeptAddresses:
    """Keeps what ``url()`` gives for each name (mixed in before a storage class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._addresses: Kept[str] = Kept()

    def url(self, name: Any, force: bool = False) -> str:
        storage: Any = super()
        # The plain storage's url() takes no ``force``; the manifest's is given it only
        # when asked, as Django's callers do.
        return self._addresses.get_or_make(
            (name, force),
            lambda: storage.url(name, force) if force else storage.url(name),
        )


class KeptManifestStaticFilesStorage(_KeptAddresses, CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage (production's), its addresses kept."""


class KeptStaticFilesStorage(_KeptAddresses, StaticFilesStorage):
    """Django's plain static files storage (development's), its addresses kept."""

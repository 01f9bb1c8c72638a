"""Pages of the participation app, one module per area; each module lists its resident
addresses in ``urls`` and its staff addresses in ``staff_urls`` (``participation.urls``
gathers them)."""

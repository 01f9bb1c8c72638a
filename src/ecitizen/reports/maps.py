"""What a page with a map hands its script (``reports/_map.html``, drawn by
``reports-map.js``): shared by the public pages and the staff pages."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from ecitizen.reports import geo


def map_settings() -> dict[str, str] | None:
    """The tiles, the area and the wards' address; ``None`` without tiles (an empty
    ``MAP_TILE_URL``): the pages then say in words where each report is, and the street
    search is the only way to give a place."""
    if not settings.MAP_TILE_URL:
        return None
    area = geo.area()
    south, west, north, east = area.bounds
    return {
        "tile_url": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "bounds": f"{south},{west},{north},{east}",
        "centre": "{},{}".format(*area.centre),
        "wards_url": reverse("reports:wards"),
    }

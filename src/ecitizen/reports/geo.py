"""Where a street report is: the authority's area and wards, its gazetteer, distances.

Pure functions over two files the deploying authority supplies (Riverton's ship in
``reports/riverton/``; docs/configuration.md, "Street reports"):

- ``REPORTS_AREA_FILE``: a GeoJSON FeatureCollection of the wards, one Polygon or
  MultiPolygon feature per ward with the properties ``code`` (the ward's jurisdiction
  code) and ``name``, coordinates WGS84 in GeoJSON's longitude, latitude order. Together
  the wards are the authority's area: a point in no ward is outside it.
- ``REPORTS_GAZETTEER_FILE``: a UTF-8 CSV with the columns ``street,postcode,lat,lon,ward``,
  the authority's own list of streets, so that a resident without JavaScript or without
  map tiles can still say where a problem is.

Both files are read once per process and path (``functools.lru_cache``); a file that
breaks the rules above stops with :class:`~django.core.exceptions.ImproperlyConfigured`
naming the file and what is wrong, never with a wrong answer later. Nothing here touches
the database.

Coordinates in the API are ``(lat, lon)`` in that order, as people say them; only the
GeoJSON file and shapely use ``(lon, lat)``.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext as _
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape

#: The mean radius of the Earth (IUGG), in metres: haversine distances are within 0.5 %
#: of the ellipsoid's, far finer than a pin dropped on a phone.
EARTH_RADIUS_M = 6_371_008.8

# Two wards may share an edge, not an area: an overlap larger than this share of the
# smaller ward (rounding of coordinates aside) makes a point's ward ambiguous.
_OVERLAP_TOLERANCE = 1e-6
_GAZETTEER_COLUMNS = ("street", "postcode", "lat", "lon", "ward")
# The start of a postcode: one or two letters and a digit ("RV3", "SW1A 1AA").
_POSTCODE_START = re.compile(r"[A-Z]{1,2}[0-9]")
# A query is cut to this many characters: no street name is longer, and matching stays
# cheap whatever a client sends.
_QUERY_MAX_CHARS = 100
# Abbreviations people type for the last word of a street name.
_ABBREVIATIONS = {
    "rd": "road",
    "st": "street",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "cl": "close",
    "ct": "court",
    "cres": "crescent",
    "dr": "drive",
    "gr": "grove",
    "pl": "place",
    "sq": "square",
    "ter": "terrace",
    "wk": "walk",
}


class GeoError(ValueError):
    """A place a person gave cannot be used; ``str(error)`` is the message to show them.

    ``code``: ``required``, ``invalid`` (not a number, or out of range) or ``outside_area``.
    ``field``: ``lat`` or ``lon`` when one of the two is at fault, else ``""``.
    """

    def __init__(self, message: str, *, code: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Ward:
    """One ward of the area: its jurisdiction ``code``, its ``name`` as the file gives it,
    and its geometry (prepared: repeated point tests are fast)."""

    code: str
    name: str
    geometry: Polygon | MultiPolygon


@dataclass(frozen=True)
class Place:
    """A row of the gazetteer: a street (or part of one) with its postcode, a point on it
    and the ward that point is in."""

    street: str
    postcode: str
    lat: float
    lon: float
    ward: str


class Area:
    """The authority's area as its wards. Build it with :func:`area` (cached) or
    :meth:`from_file`; an instance never changes."""

    def __init__(self, wards: Sequence[Ward], *, source: str = "") -> None:
        """``wards`` must be valid, non-overlapping (multi)polygons with distinct codes
        (:meth:`from_file` checks); they are prepared in place."""
        self.wards: tuple[Ward, ...] = tuple(wards)
        self.source = source
        for ward in self.wards:
            shapely.prepare(ward.geometry)
        self._whole = shapely.union_all([ward.geometry for ward in self.wards])
        shapely.prepare(self._whole)
        west, south, east, north = self._whole.bounds
        self._bounds = (south, west, north, east)
        # Where a map opens: the middle of the bounds, or, when that is outside (a
        # crescent-shaped authority), a point shapely guarantees to be inside.
        centre = Point((west + east) / 2, (south + north) / 2)
        if not self._whole.covers(centre):
            centre = self._whole.representative_point()
        self._centre = (centre.y, centre.x)

    @classmethod
    def from_file(cls, path: str | Path) -> Area:
        """Read and check a ward file (see the module). Raises ``ImproperlyConfigured``
        naming the file and the first problem found."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImproperlyConfigured(f"REPORTS_AREA_FILE {path}: cannot read it: {exc}") from exc
        return cls(_wards_from_geojson(document, str(path)), source=str(path))

    @property
    def ward_codes(self) -> tuple[str, ...]:
        """The codes of the wards, in the file's order."""
        return tuple(ward.code for ward in self.wards)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(south, west, north, east)`` in degrees: the smallest box around the area."""
        return self._bounds

    @property
    def centre(self) -> tuple[float, float]:
        """``(lat, lon)`` of a point inside the area: the middle of its bounds when that
        is inside, else a point that surely is."""
        return self._centre

    def ward_at(self, lat: float, lon: float) -> str | None:
        """The code of the ward the point is in, or ``None`` outside the area (or for a
        coordinate that is not a finite number). A point exactly on the boundary of two
        wards belongs to the first of them in the file."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        point = Point(lon, lat)
        if not self._whole.covers(point):
            return None
        for ward in self.wards:
            if ward.geometry.covers(point):
                return ward.code
        return None  # pragma: no cover - the union covers it, so some ward does

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point is inside the area (boundary included)."""
        return self.ward_at(lat, lon) is not None

    def ward_required(self, lat: float, lon: float) -> str:
        """The ward code of the point; :class:`GeoError` (``outside_area``, with
        :func:`outside_message`) when it is outside the area."""
        code = self.ward_at(lat, lon)
        if code is None:
            raise GeoError(outside_message(), code="outside_area")
        return code

    def ward_name(self, code: str) -> str:
        """The ward's name as the file gives it (``KeyError`` for an unknown code)."""
        for ward in self.wards:
            if ward.code == code:
                return ward.name
        raise KeyError(code)

    def as_geojson(self) -> dict[str, Any]:
        """The wards as a GeoJSON FeatureCollection (properties ``code`` and ``name``),
        for a map to draw."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": ward.code, "name": ward.name},
                    "geometry": mapping(ward.geometry),
                }
                for ward in self.wards
            ],
        }


def _wards_from_geojson(document: Any, source: str) -> list[Ward]:
    def refuse(problem: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"REPORTS_AREA_FILE {source}: {problem}")

    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise refuse("it must be a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise refuse("it has no features; it needs one per ward")
    wards: list[Ward] = []
    for number, feature in enumerate(features, start=1):
        ward = _ward_from_feature(feature, number, refuse)
        if ward.code in {other.code for other in wards}:
            raise refuse(f"ward {ward.code!r} appears twice")
        wards.append(ward)
    for index, ward in enumerate(wards):
        for other in wards[index + 1 :]:
            shared = ward.geometry.intersection(other.geometry).area
            if shared > _OVERLAP_TOLERANCE * min(ward.geometry.area, other.geometry.area):
                raise refuse(f"wards {ward.code!r} and {other.code!r} overlap")
    return wards


def _ward_from_feature(
    feature: Any, number: int, refuse: Callable[[str], ImproperlyConfigured]
) -> Ward:
    """The ward of one GeoJSON feature (the ``number``-th); ``refuse(problem)`` is the
    error to raise."""
    properties = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(properties, dict):
        raise refuse(f"feature {number} has no properties")
    code = properties.get("code")
    name = properties.get("name")
    if not isinstance(code, str) or not code.strip():
        raise refuse(f"feature {number} has no 'code' property (the ward's code)")
    if not isinstance(name, str) or not name.strip():
        raise refuse(f"ward {code!r} has no 'name' property")
    data = feature.get("geometry")
    if not isinstance(data, dict) or data.get("type") not in {"Polygon", "MultiPolygon"}:
        raise refuse(f"ward {code!r} must be a Polygon or a MultiPolygon")
    try:
        geometry = shape(data)
    except (ValueError, TypeError, AttributeError, IndexError, ShapelyError):
        raise refuse(f"ward {code!r} has coordinates that are not a polygon") from None
    if not isinstance(geometry, Polygon | MultiPolygon) or geometry.is_empty:
        raise refuse(f"ward {code!r} has coordinates that are not a polygon")
    if not geometry.is_valid:
        raise refuse(f"ward {code!r} is not a valid polygon ({shapely.is_valid_reason(geometry)})")
    west, south, east, north = geometry.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise refuse(
            f"ward {code!r} has coordinates outside longitude -180..180 or latitude "
            "-90..90 (GeoJSON is longitude first)"
        )
    return Ward(code=code.strip(), name=name.strip(), geometry=geometry)


@functools.lru_cache(maxsize=4)
def _area_from(path: str) -> Area:
    return Area.from_file(path)


def area() -> Area:
    """The authority's area from ``REPORTS_AREA_FILE``, read once per process (per path,
    so that a test overriding the setting gets its own)."""
    return _area_from(str(settings.REPORTS_AREA_FILE))


def outside_message() -> str:
    """The message for a point outside the area, naming it in the current language
    (``REPORTS_AREA_NAMES``, else ``REPORTS_AREA_NAME``)."""
    names: dict[str, str] = getattr(settings, "REPORTS_AREA_NAMES", {})
    language = translation.get_language() or settings.LANGUAGE_CODE
    name = names.get(language) or names.get(language.split("-")[0]) or settings.REPORTS_AREA_NAME
    return _("This place is outside %(area)s. We can only fix problems in %(area)s.") % {
        "area": name
    }


# --- Distances ----------------------------------------------------------------------------


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two points (haversine, on a sphere of
    :data:`EARTH_RADIUS_M`)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = math.radians(lat2 - lat1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bbox_around(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """``(south, west, north, east)`` in degrees of a box holding every point within
    ``radius_m`` of the point (by :func:`distance_m`): a prefilter a database index on
    latitude and longitude can use, before the exact distance is checked.

    The box is the tightest one on the sphere (the circle reaches furthest east and west
    north or south of the centre's parallel, hence ``asin``). Near a pole it spans every
    longitude; where it would cross the antimeridian it spans every longitude too, so that
    ``west <= east`` always holds.
    """
    if radius_m < 0 or not math.isfinite(radius_m):
        raise ValueError(f"radius_m must be a finite distance, not {radius_m!r}")
    angular = radius_m / EARTH_RADIUS_M
    # A hair wider than exact, so that rounding never leaves a point on the edge out.
    margin = 1e-9
    south = max(-90.0, lat - math.degrees(angular) - margin)
    north = min(90.0, lat + math.degrees(angular) + margin)
    cos_lat = math.cos(math.radians(lat))
    if south <= -90.0 or north >= 90.0 or angular >= math.pi / 2 or math.sin(angular) >= cos_lat:
        return (south, -180.0, north, 180.0)
    spread = math.degrees(math.asin(math.sin(angular) / cos_lat)) + margin
    west, east = lon - spread, lon + spread
    if west < -180.0 or east > 180.0:
        return (south, -180.0, north, 180.0)
    return (south, west, north, east)


# --- Coordinates typed or sent ------------------------------------------------------------


def _coordinate(text: object, *, field: str, limit: float) -> float:
    if field == "lat":
        required = _("Enter a latitude")
        invalid = _("Latitude must be a number between -90 and 90, like 52.1901")
    else:
        required = _("Enter a longitude")
        invalid = _("Longitude must be a number between -180 and 180, like -2.2204")
    if text is None or (isinstance(text, str) and not text.strip()):
        raise GeoError(required, code="required", field=field)
    if isinstance(text, bool):
        raise GeoError(invalid, code="invalid", field=field)
    if isinstance(text, int | float):
        value = float(text)
    else:
        # A typographic minus sign, and the Arabic decimal separator (digits of any
        # script are numbers to float()).
        cleaned = str(text).strip().replace("\u2212", "-").replace("\u066b", ".")
        # A decimal comma ("52,19"), as many languages write it; never with a point too.
        if "," in cleaned and "." not in cleaned and cleaned.count(",") == 1:
            cleaned = cleaned.replace(",", ".")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", cleaned):
            raise GeoError(invalid, code="invalid", field=field)
        value = float(cleaned)
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise GeoError(invalid, code="invalid", field=field)
    return value


def parse_coordinates(lat_text: object, lon_text: object) -> tuple[float, float]:
    """``(lat, lon)`` from what a form or an API client sent (text, or numbers).

    Raises :class:`GeoError` with the message to show, ``code`` ``required`` or
    ``invalid`` and ``field`` ``lat`` or ``lon``, for a missing value, anything that is
    not a plain decimal number (``nan``, ``inf``, hexadecimal, several numbers), and a
    latitude outside -90..90 or longitude outside -180..180. Whether the point is in the
    area is :meth:`Area.ward_required`'s question, not this one's.
    """
    return (
        _coordinate(lat_text, field="lat", limit=90.0),
        _coordinate(lon_text, field="lon", limit=180.0),
    )


# --- The gazetteer ------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Text for matching: no accents, no case, apostrophes dropped ("Weaver's" matches
    "weavers"), other punctuation a space, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    plain = re.sub(r"['\u2019\u2018`]", "", plain)
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _compact_postcode(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


@dataclass(frozen=True)
class _Entry:
    place: Place
    folded: str
    words: tuple[str, ...]
    postcode: str  # compact: no space, capitals


@functools.lru_cache(maxsize=4)
def _gazetteer_from(path: str) -> tuple[_Entry, ...]:
    def refuse(problem: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"REPORTS_GAZETTEER_FILE {path}: {problem}")

    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != _GAZETTEER_COLUMNS:
                raise refuse(f"the columns must be {','.join(_GAZETTEER_COLUMNS)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise refuse(f"cannot read it: {exc}") from exc
    entries: list[_Entry] = []
    for line, row in enumerate(rows, start=2):
        street = (row["street"] or "").strip()
        postcode = " ".join((row["postcode"] or "").split()).upper()
        ward = (row["ward"] or "").strip()
        if not street or not postcode or not ward:
            raise refuse(f"line {line} needs a street, a postcode and a ward")
        try:
            lat, lon = parse_coordinates(row["lat"], row["lon"])
        except GeoError as exc:
            raise refuse(f"line {line}: {exc.field} {row[exc.field]!r} is not usable") from None
        place = Place(street=street, postcode=postcode, lat=lat, lon=lon, ward=ward)
        folded = _fold(street)
        entries.append(_Entry(place, folded, tuple(folded.split()), _compact_postcode(postcode)))
    return tuple(entries)


def gazetteer() -> tuple[Place, ...]:
    """Every place of ``REPORTS_GAZETTEER_FILE``, in the file's order (read once per
    process and path)."""
    return tuple(entry.place for entry in _gazetteer_from(str(settings.REPORTS_GAZETTEER_FILE)))


def _word_matches(token: str, word: str) -> bool:
    return word.startswith(token) or _ABBREVIATIONS.get(token) == word


def _street_rank(tokens: list[str], query: str, entry: _Entry) -> int | None:
    """0: the whole name; 1: the name starts with the query; 2: every word of the query
    starts a word of the name (in any order); None: no match."""
    if entry.folded == query:
        return 0
    if entry.folded.startswith(query):
        return 1
    if all(any(_word_matches(token, word) for word in entry.words) for token in tokens):
        return 2
    return None


def gazetteer_search(query: str, limit: int = 10) -> list[Place]:
    """Places whose street or postcode matches ``query``, best first, at most ``limit``.

    Streets match whatever the case and accents, apostrophes ignored: the whole name
    first, then names starting with the query, then names where every word of the query
    starts a word ("lane", "church st", "weavers"). Postcodes match with or without the
    space, in any case, in full or by their start ("rv3 4ab", "RV34AB", "rv3"). An empty
    query matches nothing. A whole postcode or street name ranks first; ties are in
    postcode order for postcodes and alphabetical order for streets.
    """
    query = query[:_QUERY_MAX_CHARS]
    folded = _fold(query)
    if not folded or limit <= 0:
        return []
    tokens = folded.split()
    compact = _compact_postcode(query)
    looks_like_postcode = bool(_POSTCODE_START.match(compact)) and compact.isalnum()
    ranked: list[tuple[int, str, str, Place]] = []
    for entry in _gazetteer_from(str(settings.REPORTS_GAZETTEER_FILE)):
        if looks_like_postcode and entry.postcode.startswith(compact):
            # Postcodes in postcode order: "RV3" lists RV3 1.., then RV3 2..
            rank = 0 if entry.postcode == compact else 1
            ranked.append((rank, entry.postcode, entry.folded, entry.place))
            continue
        # Not a postcode of this entry: "A1 Road" looks like a postcode's start, and is
        # a street.
        street_rank = _street_rank(tokens, folded, entry)
        if street_rank is not None:
            ranked.append((street_rank, entry.folded, entry.postcode, entry.place))
    ranked.sort(key=lambda item: item[:3])
    return [item[3] for item in ranked[:limit]]

"""The area, wards and gazetteer of street reports (ecitizen.reports.geo), and Riverton's
files shipped with it. Pure functions: no database."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
import shapely
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import shape

from ecitizen.demo import riverton
from ecitizen.reports import geo

RIVERTON = Path(geo.__file__).parent / "riverton"
WARDS_FILE = RIVERTON / "wards.geojson"
GAZETTEER_FILE = RIVERTON / "gazetteer.csv"


def _features() -> list[dict]:
    return json.loads(WARDS_FILE.read_text(encoding="utf-8"))["features"]


def _gazetteer_rows() -> list[dict[str, str]]:
    with GAZETTEER_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- Riverton's wards ---------------------------------------------------------------------


def test_the_settings_default_to_rivertons_files(settings):
    assert Path(settings.REPORTS_AREA_FILE) == WARDS_FILE
    assert Path(settings.REPORTS_GAZETTEER_FILE) == GAZETTEER_FILE
    assert settings.REPORTS_AREA_NAME == "Riverton"


def test_riverton_has_the_demos_eight_wards_in_its_order():
    features = _features()
    assert [(f["properties"]["code"], f["properties"]["name"]) for f in features] == (
        riverton.WARDS
    )
    assert geo.area().ward_codes == tuple(code for code, _name in riverton.WARDS)
    for feature in features:
        assert feature["geometry"]["type"] == "Polygon"
        polygon = shape(feature["geometry"])
        assert polygon.is_valid, feature["properties"]["code"]
        # RFC 7946: exterior rings counter-clockwise, longitude first (Riverton is in
        # England: longitudes near -2, latitudes near 52).
        assert polygon.exterior.is_ccw
        west, south, east, north = polygon.bounds
        assert -3 < west < east < -1
        assert 51 < south < north < 53


def test_rivertons_wards_tile_one_contiguous_area_of_about_6_by_5_km():
    polygons = [shape(f["geometry"]) for f in _features()]
    for index, polygon in enumerate(polygons):
        for other in polygons[index + 1 :]:
            assert polygon.intersection(other).area < 1e-12
    whole = shapely.union_all(polygons)
    assert whole.geom_type == "Polygon"  # one piece
    assert not list(whole.interiors)  # no hole between the wards
    assert whole.area == pytest.approx(sum(p.area for p in polygons), rel=1e-9)
    south, west, north, east = geo.area().bounds
    middle = (south + north) / 2
    width = geo.distance_m(middle, west, middle, east)
    height = geo.distance_m(south, west, north, west)
    assert 5_500 < width < 6_500
    assert 4_500 < height < 5_500


def test_each_ward_is_found_at_a_point_inside_it():
    area = geo.area()
    for feature in _features():
        inside = shape(feature["geometry"]).representative_point()
        assert area.ward_at(inside.y, inside.x) == feature["properties"]["code"]
        assert area.contains(inside.y, inside.x)
        assert area.ward_required(inside.y, inside.x) == feature["properties"]["code"]
        assert area.ward_name(feature["properties"]["code"]) == feature["properties"]["name"]


def test_a_point_on_the_border_of_two_wards_belongs_to_one_of_them():
    area = geo.area()
    northgate, _riverside, old_town = (shape(f["geometry"]) for f in _features()[:3])
    border = northgate.boundary.intersection(old_town.boundary)
    point = border.interpolate(0.5, normalized=True)
    assert area.ward_at(point.y, point.x) == "northgate"  # the first in the file


def test_points_outside_the_area_have_no_ward():
    area = geo.area()
    south, west, north, east = area.bounds
    for lat, lon in [
        (north + 0.01, (west + east) / 2),
        (south - 0.01, (west + east) / 2),
        ((south + north) / 2, west - 0.01),
        ((south + north) / 2, east + 0.01),
        (51.5007, -0.1246),  # London
        (0.0, 0.0),
        (math.nan, -2.2),
        (52.19, math.inf),
    ]:
        assert area.ward_at(lat, lon) is None
        assert not area.contains(lat, lon)
    with pytest.raises(geo.GeoError) as refused:
        area.ward_required(51.5007, -0.1246)
    assert refused.value.code == "outside_area"
    assert str(refused.value) == (
        "This place is outside Riverton. We can only fix problems in Riverton."
    )


def test_the_bounds_and_centre():
    area = geo.area()
    south, west, north, east = area.bounds
    assert south < north
    assert west < east
    assert (south, west, north, east) == pytest.approx((52.166799, -2.264692, 52.213561, -2.174575))
    lat, lon = area.centre
    assert south < lat < north
    assert west < lon < east
    assert area.ward_at(lat, lon) == "old-town"


def test_the_centre_is_inside_an_area_whose_middle_is_not(tmp_path):
    # A U shape: the middle of its bounds is in the gap between the arms.
    u_shape = [[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]
    path = _write_wards(tmp_path, [("u", "U", u_shape)])
    area = geo.Area.from_file(path)
    assert area.ward_at(*area.centre) == "u"


def test_as_geojson_gives_the_wards_back():
    collection = geo.area().as_geojson()
    assert collection["type"] == "FeatureCollection"
    assert [f["properties"] for f in collection["features"]] == [
        {"code": code, "name": name} for code, name in riverton.WARDS
    ]
    assert json.loads(json.dumps(collection))  # serialisable as it is


def test_the_area_is_read_once_per_path(settings, tmp_path):
    first = geo.area()
    assert geo.area() is first
    settings.REPORTS_AREA_FILE = str(
        _write_wards(tmp_path, [("one", "One", [[0, 0], [1, 0], [1, 1], [0, 0]])])
    )
    other = geo.area()
    assert other is not first
    assert other.ward_codes == ("one",)


def test_the_message_names_the_area_in_the_readers_language(settings):
    settings.REPORTS_AREA_NAME = "Springfield"
    settings.REPORTS_AREA_NAMES = {"en": "Springfield", "ar": "سبرينغفيلد"}
    with translation.override("en"):
        assert geo.outside_message() == (
            "This place is outside Springfield. We can only fix problems in Springfield."
        )
    with translation.override("ar"):
        assert "سبرينغفيلد" in geo.outside_message()
    with translation.override("fr"):  # no name of its own: the area's name
        assert "Springfield" in geo.outside_message()


# --- Ward files that cannot be used -----------------------------------------------------


def _write_wards(tmp_path: Path, wards: list[tuple[str, str, list[list[float]]]]) -> Path:
    path = tmp_path / f"wards-{len(list(tmp_path.iterdir()))}.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": code, "name": name},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                    for code, name, ring in wards
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "cannot read it"),
        ('{"type": "Feature"}', "must be a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "it has no features"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"name": "A"}, "geometry": null}]}',
            "feature 1 has no 'code' property",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"code": "a", "name": "A"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}]}',
            "ward 'a' must be a Polygon or a MultiPolygon",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"code": "a", "name": "A"}, "geometry": {"type": "Polygon", "coordinates": '
            "[[[0, 0], [1]]]}}]}",
            "ward 'a' has coordinates that are not a polygon",
        ),
    ],
)
def test_a_ward_file_that_is_not_one_is_refused(tmp_path, content, problem):
    path = tmp_path / "wards.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match=re.escape(problem)) as refused:
        geo.Area.from_file(path)
    assert str(path) in str(refused.value)


def test_wards_that_break_the_rules_are_refused(tmp_path):
    bow_tie = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]
    cases = [
        ([("a", "A", SQUARE), ("a", "A again", SQUARE)], "ward 'a' appears twice"),
        ([("a", "", SQUARE)], "ward 'a' has no 'name' property"),
        ([("a", "A", bow_tie)], "ward 'a' is not a valid polygon (Self-intersection"),
        (
            [("a", "A", [[0, 0], [0, 200], [1, 200], [0, 0]])],
            "ward 'a' has coordinates outside longitude -180..180 or latitude -90..90",
        ),
        (
            [("a", "A", SQUARE), ("b", "B", [[0.5, 0], [2, 0], [2, 1], [0.5, 1], [0.5, 0]])],
            "wards 'a' and 'b' overlap",
        ),
    ]
    for wards, problem in cases:
        with pytest.raises(ImproperlyConfigured, match=re.escape(problem)):
            geo.Area.from_file(_write_wards(tmp_path, wards))


def test_wards_sharing_an_edge_are_accepted(tmp_path):
    right = [[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]
    area = geo.Area.from_file(_write_wards(tmp_path, [("a", "A", SQUARE), ("b", "B", right)]))
    assert area.ward_at(0.5, 1.5) == "b"
    assert area.ward_at(0.5, 0.5) == "a"
    assert area.ward_at(0.5, 2.5) is None
    assert area.bounds == (0, 0, 1, 2)


# --- Riverton's gazetteer -----------------------------------------------------------------


def test_the_gazetteer_has_every_street_of_the_demo_and_more():
    rows = _gazetteer_rows()
    assert list(rows[0]) == ["street", "postcode", "lat", "lon", "ward"]
    assert 55 <= len(rows) <= 70
    streets = {row["street"] for row in rows}
    assert set(riverton.STREETS) <= streets
    assert len(streets) > len(riverton.STREETS)
    assert len({row["postcode"] for row in rows}) == len(rows)  # one postcode, one row


def test_each_gazetteer_point_is_in_its_ward_and_its_postcode_district():
    area = geo.area()
    ward_numbers = {code: number for number, (code, _name) in enumerate(riverton.WARDS, 1)}
    for place in geo.gazetteer():
        assert re.fullmatch(r"RV[1-9] [0-9][A-Z]{2}", place.postcode), place
        assert area.ward_at(place.lat, place.lon) == place.ward, place
        # The demo's convention (its tax roll): district RVn is the n-th ward.
        assert place.postcode.startswith(f"RV{ward_numbers[place.ward]} "), place


def test_the_demo_streets_are_in_the_wards_the_demo_puts_them_in():
    # The demo's tax roll puts the i-th street in the (i mod 8)-th ward: a report on a
    # street must land in the ward of the properties on it.
    wards = {place.street: place.ward for place in geo.gazetteer()}
    for index, street in enumerate(riverton.STREETS):
        assert wards[street] == riverton.WARDS[index % len(riverton.WARDS)][0], street


# --- Searching the gazetteer --------------------------------------------------------------


def _streets(query: str, limit: int = 10) -> list[str]:
    return [place.street for place in geo.gazetteer_search(query, limit)]


def test_a_street_is_found_by_its_start_whatever_the_case():
    assert _streets("Mill Lane") == ["Mill Lane"]
    assert _streets("MILL")[:3] == ["Mill Lane", "Millbrook Road", "Miller's Court"]
    assert _streets("  mill   la ") == ["Mill Lane"]


def test_a_street_is_found_by_any_of_its_words():
    lanes = _streets("lane", limit=100)
    assert "Foundry Lane" in lanes
    assert "Mill Lane" in lanes
    assert all("Lane" in street for street in lanes)
    assert _streets("walk lock") == ["Lock Keeper's Walk"]
    assert _streets("church st") == ["Church Street"]
    assert _streets("station rd") == ["Station Road"]  # a common abbreviation


def test_apostrophes_and_accents_do_not_matter():
    assert _streets("weavers row") == ["Weaver's Row"]
    assert _streets("Weaver\u2019s") == ["Weaver's Row"]  # a typographic apostrophe
    assert _streets("saint etienne") == ["Saint-Étienne Way"]
    assert _streets("SAINT-ÉTIENNE WAY") == ["Saint-Étienne Way"]
    assert _streets("étienne") == ["Saint-Étienne Way"]


def test_the_whole_name_comes_first_then_names_starting_with_it_then_words(settings, tmp_path):
    path = tmp_path / "streets.csv"
    path.write_text(
        "street,postcode,lat,lon,ward\n"
        "Old Mill Road,RV1 1AA,52,-2,a\n"
        "Millstone Close,RV1 1AB,52,-2,a\n"
        "Mill Lane,RV1 1AD,52,-2,a\n"
        "Mill,RV1 1AE,52,-2,a\n"
        "Windmill Hill,RV1 1AF,52,-2,a\n",
        encoding="utf-8",
    )
    settings.REPORTS_GAZETTEER_FILE = str(path)
    assert _streets("mill") == ["Mill", "Mill Lane", "Millstone Close", "Old Mill Road"]


def test_a_street_in_two_wards_is_found_in_both():
    found = geo.gazetteer_search("high street")
    assert [(p.street, p.ward) for p in found] == [
        ("High Street", "northgate"),
        ("High Street", "old-town"),
    ]


def test_a_postcode_is_found_with_or_without_its_space_in_any_case():
    place = next(p for p in geo.gazetteer() if p.street == "Mill Lane")
    compact = place.postcode.replace(" ", "")
    for query in (place.postcode, compact, compact.lower(), f" {place.postcode.lower()} "):
        found = geo.gazetteer_search(query)
        assert found[0] == place, query


def test_a_postcode_district_lists_its_places_in_postcode_order():
    found = geo.gazetteer_search("rv3", limit=100)
    assert found
    assert all(place.postcode.startswith("RV3 ") for place in found)
    assert all(place.ward == "old-town" for place in found)
    assert [p.postcode for p in found] == sorted(p.postcode for p in found)
    assert geo.gazetteer_search("RV3 1", limit=100) == [
        p for p in found if p.postcode.startswith("RV3 1")
    ]


def test_a_search_with_nothing_to_find_finds_nothing():
    assert geo.gazetteer_search("") == []
    assert geo.gazetteer_search("   ") == []
    assert geo.gazetteer_search("'") == []
    assert geo.gazetteer_search("Downing Street") == []
    assert geo.gazetteer_search("SW1A 2AA") == []
    assert geo.gazetteer_search("lane", limit=0) == []
    assert len(geo.gazetteer_search("lane", limit=2)) == 2
    assert geo.gazetteer_search("x" * 10_000) == []


def test_the_gazetteer_setting_chooses_the_file(settings, tmp_path):
    path = tmp_path / "streets.csv"
    path.write_text(
        "street,postcode,lat,lon,ward\nRue de la Paix,75002,48.8691,2.3310,paris-2\n",
        encoding="utf-8",
    )
    settings.REPORTS_GAZETTEER_FILE = str(path)
    assert geo.gazetteer_search("paix") == [
        geo.Place("Rue de la Paix", "75002", 48.8691, 2.3310, "paris-2")
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("street,postcode,lat,lon\nA,B,1,2\n", "the columns must be street,postcode,lat,lon,ward"),
        ("street,postcode,lat,lon,ward\n,RV1 1AA,52,-2,a\n", "line 2 needs a street"),
        ("street,postcode,lat,lon,ward\nA,RV1 1AA,north,-2,a\n", "line 2: lat 'north'"),
        ("street,postcode,lat,lon,ward\nA,RV1 1AA,52,-200,a\n", "line 2: lon '-200'"),
    ],
)
def test_a_gazetteer_that_cannot_be_used_is_refused(settings, tmp_path, content, problem):
    path = tmp_path / "streets.csv"
    path.write_text(content, encoding="utf-8")
    settings.REPORTS_GAZETTEER_FILE = str(path)
    with pytest.raises(ImproperlyConfigured, match=re.escape(problem)):
        geo.gazetteer_search("a")


# --- Distances ----------------------------------------------------------------------------


def test_distances():
    assert geo.distance_m(52.19, -2.22, 52.19, -2.22) == 0
    one_degree = geo.EARTH_RADIUS_M * math.pi / 180
    assert geo.distance_m(52, -2, 53, -2) == pytest.approx(one_degree)
    assert geo.distance_m(0, 0, 0, 1) == pytest.approx(one_degree)
    # London (Charing Cross) to Paris (Notre-Dame): 343.5 km on the sphere.
    london_paris = geo.distance_m(51.5074, -0.1278, 48.8530, 2.3499)
    assert london_paris == pytest.approx(343_500, rel=0.005)
    assert geo.distance_m(48.8530, 2.3499, 51.5074, -0.1278) == pytest.approx(london_paris)
    # Antipodes: half the circumference, without a domain error.
    assert geo.distance_m(0, 0, 0, 180) == pytest.approx(math.pi * geo.EARTH_RADIUS_M)


def _destination(lat: float, lon: float, bearing: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` from (lat, lon) on the great circle of ``bearing`` (degrees)."""
    delta = metres / geo.EARTH_RADIUS_M
    phi, lam, theta = math.radians(lat), math.radians(lon), math.radians(bearing)
    phi2 = math.asin(
        math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta)
    )
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi),
        math.cos(delta) - math.sin(phi) * math.sin(phi2),
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540) % 360 - 180


@given(
    lat=st.floats(-85, 85),
    lon=st.floats(-179, 179),
    radius=st.floats(1, 50_000),
    bearing=st.floats(0, 360),
    share=st.floats(0, 1),
)
def test_every_point_within_the_radius_is_in_the_box(lat, lon, radius, bearing, share):
    south, west, north, east = geo.bbox_around(lat, lon, radius)
    assert south <= north
    assert west <= east
    point_lat, point_lon = _destination(lat, lon, bearing, radius * share)
    assert geo.distance_m(lat, lon, point_lat, point_lon) <= radius + 1e-6  # the premise
    assert south <= point_lat <= north
    assert west <= point_lon <= east


def test_the_box_is_tight():
    south, west, north, east = geo.bbox_around(52.19, -2.22, 500)
    assert geo.distance_m(52.19, -2.22, north, -2.22) == pytest.approx(500, abs=0.01)
    assert geo.distance_m(52.19, -2.22, south, -2.22) == pytest.approx(500, abs=0.01)
    # East and west, the circle reaches furthest a little north of the centre's parallel.
    furthest_east = max(
        _destination(52.19, -2.22, bearing / 10, 500)[1] for bearing in range(800, 1000)
    )
    assert east == pytest.approx(furthest_east, abs=1e-7)
    assert -2.22 - west == pytest.approx(east + 2.22)
    assert geo.bbox_around(52.19, -2.22, 0) == pytest.approx((52.19, -2.22, 52.19, -2.22))


def test_the_box_near_a_pole_or_the_antimeridian_spans_every_longitude():
    assert geo.bbox_around(89.99, 10, 5_000) == pytest.approx((89.99 - 5 / 111.195, -180, 90, 180))
    south, west, north, east = geo.bbox_around(0, 179.999, 1_000)
    assert (west, east) == (-180.0, 180.0)
    assert north - south == pytest.approx(2 * 1_000 / 111_195, rel=1e-3)
    with pytest.raises(ValueError, match="radius_m must be a finite distance"):
        geo.bbox_around(0, 0, -1)
    with pytest.raises(ValueError, match="radius_m must be a finite distance"):
        geo.bbox_around(0, 0, math.nan)


# --- Coordinates typed or sent ------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        ("52.1901", "-2.2204", (52.1901, -2.2204)),
        (" 52.1901 ", "\t-2.2204\n", (52.1901, -2.2204)),
        ("+52", "\u22122.5", (52.0, -2.5)),  # a typographic minus sign
        ("52,19", "-2,22", (52.19, -2.22)),  # decimal commas
        # Arabic-Indic digits and the Arabic decimal separator: 52.19 and -2.22.
        ("\u0665\u0662\u066b\u0661\u0669", "-\u0662\u066b\u0662\u0662", (52.19, -2.22)),
        ("90", "-180", (90.0, -180.0)),
        (".5", "5.", (0.5, 5.0)),
        ("5.21e1", "0", (52.1, 0.0)),
        (52.19, -2, (52.19, -2.0)),  # numbers, from a JSON client
    ],
)
def test_coordinates_are_parsed(lat, lon, expected):
    assert geo.parse_coordinates(lat, lon) == pytest.approx(expected)


LAT_INVALID = "Latitude must be a number between -90 and 90, like 52.1901"
LON_INVALID = "Longitude must be a number between -180 and 180, like -2.2204"


@pytest.mark.parametrize(
    ("lat", "lon", "field", "code", "message"),
    [
        ("", "-2", "lat", "required", "Enter a latitude"),
        (None, "-2", "lat", "required", "Enter a latitude"),
        ("52", "  ", "lon", "required", "Enter a longitude"),
        ("north", "-2", "lat", "invalid", LAT_INVALID),
        ("nan", "-2", "lat", "invalid", LAT_INVALID),
        ("52", "NaN", "lon", "invalid", LON_INVALID),
        ("inf", "-2", "lat", "invalid", LAT_INVALID),
        ("52", "-Infinity", "lon", "invalid", LON_INVALID),
        ("1e400", "-2", "lat", "invalid", LAT_INVALID),  # overflows to infinity
        (math.nan, "-2", "lat", "invalid", LAT_INVALID),
        ("52", math.inf, "lon", "invalid", LON_INVALID),
        ("90.0001", "-2", "lat", "invalid", LAT_INVALID),
        ("-91", "-2", "lat", "invalid", LAT_INVALID),
        ("52", "180.5", "lon", "invalid", LON_INVALID),
        ("52", "-181", "lon", "invalid", LON_INVALID),
        ("0x1A", "-2", "lat", "invalid", LAT_INVALID),
        ("52.1, -2.2", "-2", "lat", "invalid", LAT_INVALID),  # both in one box
        ("1,234.5", "-2", "lat", "invalid", LAT_INVALID),
        ("52°11'", "-2", "lat", "invalid", LAT_INVALID),
        (True, "-2", "lat", "invalid", LAT_INVALID),
    ],
)
def test_bad_coordinates_are_refused_with_a_clear_message(lat, lon, field, code, message):
    with pytest.raises(geo.GeoError) as refused:
        geo.parse_coordinates(lat, lon)
    assert refused.value.field == field
    assert refused.value.code == code
    assert str(refused.value) == message
    assert isinstance(refused.value, ValueError)

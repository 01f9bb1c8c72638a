"""The open-data part of the Riverton demo: the platform's own datasets (published by
:mod:`ecitizen.opendata.platform` from what the other loaders made) and about twenty
datasets uploaded by the city's departments, in several formats (CSV, JSON, GeoJSON,
XLSX, Parquet, PDF), some with several revisions, one private, one draft and one
withdrawn.

Everything derives from the seed (``random.Random(context.seed + n)``) and stays small (a
few hundred rows per table) so that ``ecitizen demo`` stays quick. Idempotent: each
dataset has a ``demo:<name>`` source key and is left alone when it exists.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecitizen.core.registry import DemoContext

PREFIX = "demo:"

#: The months the demo's time series cover: the 24 months before January 2026.
FIRST_MONTH = dt.date(2024, 1, 1)
MONTHS = 24


def _months(count: int = MONTHS) -> list[dt.date]:
    months = []
    year, month = FIRST_MONTH.year, FIRST_MONTH.month
    for _ in range(count):
        months.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


# --- file builders -----------------------------------------------------------------------


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _json(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    records = [dict(zip(header, row, strict=True)) for row in rows]
    return json.dumps(records, ensure_ascii=False, indent=1, default=str).encode("utf-8")


def _xlsx(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    # Fixed document dates: the same seed gives the same file.
    book.properties.created = book.properties.modified = dt.datetime(2026, 1, 1)
    out = io.BytesIO()
    book.save(out)
    return _zip_at_a_fixed_time(out.getvalue())


def _zip_at_a_fixed_time(data: bytes) -> bytes:
    """The ZIP archive (an XLSX file) again, each entry and the document's "modified"
    property dated 2026-01-01: openpyxl dates them with the clock, so two runs a second
    apart would make different files."""
    import zipfile

    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                # openpyxl writes the time of saving as the document's "modified" date.
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2026-01-01T00:00:00Z\g<2>",
                    data,
                )
            copy.writestr(fixed, data)
    return out.getvalue()


def _parquet(header: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    import duckdb

    with tempfile.TemporaryDirectory(prefix="ecitizen-demo-") as folder:
        path = Path(folder) / "data.parquet"
        with duckdb.connect() as connection:
            columns = ", ".join(f'"{n}" {t}' for n, t in zip(header, types, strict=True))
            connection.execute(f"CREATE TABLE t ({columns})")
            marks = ", ".join("?" for _ in header)
            connection.executemany(
                f"INSERT INTO t VALUES ({marks})",  # noqa: S608 (placeholders only)
                [list(r) for r in rows],
            )
            connection.execute(f"COPY t TO '{path}' (FORMAT PARQUET)")
        return path.read_bytes()


def _geojson(features: Sequence[tuple[float, float, dict[str, Any]]], name: str) -> bytes:
    collection = {
        "type": "FeatureCollection",
        "name": name,
        "features": [
            {
                "type": "Feature",
                "properties": properties,
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
            for lat, lon, properties in features
        ],
    }
    return json.dumps(collection, ensure_ascii=False).encode("utf-8")


def _pdf(lines: Sequence[str]) -> bytes:
    """A one-page PDF with ``lines`` of text (Helvetica), with a correct cross-reference
    table, so that readers open it."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 12 Tf 72 770 Td 16 TL " + " ".join(f"({escape(line)}) '" for line in lines)
    stream += " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return out


# --- the datasets --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoFile:
    filename: str
    content: bytes
    name: str
    description: str = ""


@dataclass
class DemoDataset:
    """An uploaded demo dataset: catalogue fields, files, and what happens after (a
    ``later`` step adds revisions: a new file, changed fields)."""

    name: str
    department: str
    title: str
    description: str
    licence_id: str
    themes: tuple[str, ...]
    keywords: tuple[str, ...]
    frequency: str
    files: list[DemoFile]
    ward: str | None = None
    temporal: tuple[dt.date, dt.date] | None = None
    version: str = ""
    private: bool = False
    state: str = "published"  # or "draft", "withdrawn"
    withdrawn_reason: str = ""
    later: list[Callable[[Any], None]] = field(default_factory=list)


class _World:
    """What the builders draw from: the seed's random numbers, the wards, the streets."""

    def __init__(self, context: DemoContext) -> None:
        from ecitizen.reports.geo import gazetteer

        self.context = context
        self.wards = [ward.code for ward in context.city.wards]
        self.places = list(gazetteer())
        self.streets = list(context.city.streets) or [p.street for p in self.places]

    def rng(self, n: int) -> random.Random:
        return random.Random(self.context.seed + 1200 + n)  # noqa: S311 (seeded demo data)

    def place(self, rng: random.Random) -> tuple[float, float, str, str]:
        if self.places:
            p = rng.choice(self.places)
            return (
                round(p.lat + rng.uniform(-0.0008, 0.0008), 6),
                round(p.lon + rng.uniform(-0.0008, 0.0008), 6),
                p.ward,
                p.street,
            )
        return (
            round(52.19 + rng.uniform(-0.02, 0.02), 6),
            round(-2.22 + rng.uniform(-0.03, 0.03), 6),
            rng.choice(self.wards),
            rng.choice(self.streets) if self.streets else "High Street",
        )


TREE_SPECIES = [
    "Common lime",
    "London plane",
    "Silver birch",
    "Field maple",
    "Rowan",
    "Hornbeam",
    "Cherry",
    "English oak",
    "Norway maple",
    "Whitebeam",
]
SUPPLIERS = [
    "Riverton Paving Ltd",
    "Greenway Grounds Maintenance",
    "Northgate Office Supplies",
    "Harbour Fleet Services",
    "Civic IT Solutions",
    "Millbrook Waste Management",
    "Westhill Legal Partners LLP",
    "Eastfield Energy Co",
    "Old Town Print & Design",
    "Southmead Building Contractors",
]
SPEND_CATEGORIES = [
    "Highways maintenance",
    "Grounds maintenance",
    "IT services",
    "Waste collection",
    "Energy",
    "Legal services",
    "Printing",
    "Building works",
    "Vehicles",
    "Office supplies",
]


def _street_trees(world: _World) -> DemoDataset:
    rng = world.rng(1)
    header = [
        "tree_id",
        "species",
        "ward",
        "street",
        "latitude",
        "longitude",
        "planted",
        "height_m",
    ]
    rows = []
    for number in range(1, 301):
        lat, lon, ward, street = world.place(rng)
        rows.append(
            [
                f"T{number:05d}",
                rng.choice(TREE_SPECIES),
                ward,
                street,
                lat,
                lon,
                rng.randint(1960, 2025),
                round(rng.uniform(2, 25), 1),
            ]
        )
    return DemoDataset(
        name="street-trees",
        department="public-works",
        title="Street trees",
        description="Every tree the city looks after on its streets: species, where it "
        "stands, the year it was planted and its height when last surveyed.",
        licence_id="ODbL-1.0",
        themes=("ENVI", "REGI"),
        keywords=("trees", "environment", "streets", "urban forest"),
        frequency="ANNUAL",
        files=[
            DemoFile("street-trees.csv", _csv(header, rows), "Street trees (CSV)"),
            DemoFile(
                "street-trees.json",
                _json(header, rows),
                "Street trees (JSON)",
                "The same table as an array of JSON objects.",
            ),
        ],
        version="2025",
    )


def _car_parks(world: _World) -> DemoDataset:
    rng = world.rng(2)
    names = [
        "Station Road",
        "Market Square",
        "Harbour View",
        "Church Street",
        "Riverside Leisure Centre",
        "Northgate Retail Park",
        "Old Town Multi-storey",
        "Eastfield Hospital",
        "Millbrook Park and Ride",
        "Westhill Library",
        "Southmead Shops",
        "Town Hall",
    ]
    header = [
        "name",
        "ward",
        "latitude",
        "longitude",
        "spaces",
        "disabled_spaces",
        "ev_chargers",
        "tariff_per_hour",
        "open_24_hours",
    ]
    rows = []
    features = []
    for name in names:
        lat, lon, ward, _street = world.place(rng)
        spaces = rng.randint(20, 600)
        row = [
            f"{name} car park",
            ward,
            lat,
            lon,
            spaces,
            max(2, spaces // 20),
            rng.choice([0, 0, 2, 4, 6, 10]),
            rng.choice(["0.80", "1.20", "1.50", "2.00"]),
            rng.random() < 0.3,
        ]
        rows.append(row)
        features.append((lat, lon, dict(zip(header, row, strict=True))))
    return DemoDataset(
        name="car-parks",
        department="transport-licensing",
        title="Council car parks",
        description="The city's car parks with their spaces, spaces for disabled drivers, "
        "electric vehicle chargers and hourly tariff.",
        licence_id="OGL-UK-3.0",
        themes=("TRAN",),
        keywords=("parking", "car parks", "transport", "ev charging"),
        frequency="ANNUAL",
        files=[
            DemoFile("car-parks.csv", _csv(header, rows), "Car parks (CSV)"),
            DemoFile("car-parks.geojson", _geojson(features, "car-parks"), "Car parks (GeoJSON)"),
        ],
    )


def _spending(world: _World) -> DemoDataset:
    rng = world.rng(3)
    departments = [d.code for d in world.context.city.departments]
    header = ["payment_date", "department", "supplier", "category", "amount", "transaction"]
    rows = []
    number = 0
    for month in _months():
        for _ in range(rng.randint(8, 14)):
            number += 1
            rows.append(
                [
                    (month + dt.timedelta(days=rng.randint(0, 27))).isoformat(),
                    rng.choice(departments),
                    rng.choice(SUPPLIERS),
                    rng.choice(SPEND_CATEGORIES),
                    f"{rng.uniform(500, 48000):.2f}",
                    f"RIV-SP-{number:06d}",
                ]
            )
    rows.sort(key=lambda r: (r[0], r[5]))
    totals: dict[str, float] = {}
    for row in rows:
        totals[row[0][:7] + "-01"] = totals.get(row[0][:7] + "-01", 0) + float(row[4])
    monthly = [[month, f"{total:.2f}"] for month, total in sorted(totals.items())]
    last = _months()[-1].isoformat()[:7]
    earlier = [r for r in rows if not r[0].startswith(last)]
    earlier_monthly = [r for r in monthly if not r[0].startswith(last)]

    def add_last_month(dataset: Any) -> None:
        _replace(dataset, 0, "spending-over-500.csv", _csv(header, rows))
        _replace(dataset, 1, "spending-monthly.csv", _csv(["month", "total"], monthly))
        _update(dataset, {"version": last, "temporal_end": _months()[-1] + dt.timedelta(days=30)})

    return DemoDataset(
        name="spending-over-500",
        department="revenue",
        title="Council spending over £500",
        description="Every payment of more than £500 the city made to a supplier, with the "
        "department, the supplier, what it was for and the amount; and the monthly totals. "
        "Updated every month.",
        licence_id="OGL-UK-3.0",
        themes=("ECON", "GOVE"),
        keywords=("spending", "transparency", "suppliers", "finance"),
        frequency="MONTHLY",
        files=[
            DemoFile("spending-over-500.csv", _csv(header, earlier), "Payments over £500"),
            DemoFile(
                "spending-monthly.csv",
                _csv(["month", "total"], earlier_monthly),
                "Monthly totals",
                "The sum of the payments over £500 in each month.",
            ),
        ],
        temporal=(FIRST_MONTH, _months()[-2] + dt.timedelta(days=30)),
        version=_months()[-2].isoformat()[:7],
        later=[add_last_month],
    )


def _toilets(world: _World) -> DemoDataset:
    rng = world.rng(4)
    header = [
        "name",
        "ward",
        "latitude",
        "longitude",
        "accessible",
        "baby_changing",
        "changing_places",
        "opening_hours",
        "charge",
    ]
    rows = []
    for _number in range(1, 16):
        lat, lon, ward, street = world.place(rng)
        rows.append(
            [
                f"{street} public toilets",
                ward,
                lat,
                lon,
                rng.random() < 0.8,
                rng.random() < 0.6,
                rng.random() < 0.2,
                rng.choice(["07:00-19:00", "08:00-18:00", "24 hours", "09:00-17:00"]),
                rng.choice(["0.00", "0.00", "0.20"]),
            ]
        )
    return DemoDataset(
        name="public-toilets",
        department="public-works",
        title="Public toilets",
        description="Public toilets in Riverton, with their opening hours and facilities.",
        licence_id="CC0-1.0",
        themes=("HEAL", "REGI"),
        keywords=("toilets", "accessibility", "facilities"),
        frequency="IRREG",
        files=[DemoFile("public-toilets.csv", _csv(header, rows), "Public toilets")],
    )


def _planning(world: _World) -> DemoDataset:
    rng = world.rng(5)
    kinds = ["Householder", "Full", "Change of use", "Listed building consent", "Advertisement"]
    header = ["reference", "received", "decided", "ward", "kind", "decision", "weeks_to_decide"]
    rows = []
    for number in range(1, 221):
        received = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
        weeks = rng.randint(3, 16)
        _lat, _lon, ward, _street = world.place(rng)
        rows.append(
            [
                f"RIV/25/{number:04d}",
                received.isoformat(),
                (received + dt.timedelta(weeks=weeks)).isoformat(),
                ward,
                rng.choice(kinds),
                rng.choice(["Granted", "Granted", "Granted", "Granted with conditions", "Refused"]),
                weeks,
            ]
        )
    rows.sort(key=lambda r: str(r[0]))
    return DemoDataset(
        name="planning-applications-decided",
        department="planning-building",
        title="Planning applications decided in 2025",
        description="Planning applications the city decided in 2025: kind, ward, decision "
        "and how many weeks the decision took. No applicant names.",
        licence_id="OGL-UK-3.0",
        themes=("REGI", "GOVE"),
        keywords=("planning", "development", "decisions"),
        frequency="QUARTERLY",
        files=[DemoFile("planning-decisions-2025.xlsx", _xlsx(header, rows), "Decisions (XLSX)")],
        temporal=(dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        version="2025",
    )


def _recycling(world: _World) -> DemoDataset:
    rng = world.rng(6)
    header = ["month", "ward", "household_waste_tonnes", "recycled_tonnes", "recycling_rate"]
    wards = [w.code for w in world.context.city.wards]
    base = {ward: rng.uniform(0.38, 0.55) for ward in wards}

    def rows_for(months: list[dt.date]) -> list[list[Any]]:
        rows = []
        for month in months:
            for ward in wards:
                waste = round(rng.uniform(380, 620), 1)
                rate = min(
                    0.75, base[ward] + 0.004 * months.index(month) + rng.uniform(-0.03, 0.03)
                )
                rows.append(
                    [month.isoformat(), ward, waste, round(waste * rate, 1), round(rate, 3)]
                )
        return rows

    rows = rows_for(_months())
    per_month = len(wards)

    def add_last_month(dataset: Any) -> None:
        _replace(dataset, 0, "recycling-by-ward.csv", _csv(header, rows))

    return DemoDataset(
        name="recycling-rates-by-ward",
        department="public-works",
        title="Household recycling rates by ward and month",
        description="Household waste collected and recycled in each ward each month, and the "
        "share recycled.",
        licence_id="OGL-UK-3.0",
        themes=("ENVI",),
        keywords=("recycling", "waste", "environment", "wards"),
        frequency="MONTHLY",
        files=[
            DemoFile("recycling-by-ward.csv", _csv(header, rows[:-per_month]), "Recycling rates")
        ],
        later=[add_last_month],
    )


def _population(world: _World) -> DemoDataset:
    rng = world.rng(7)
    header = ["ward", "year", "population", "households", "aged_under_16", "aged_65_and_over"]
    types = ["VARCHAR", "INTEGER", "INTEGER", "INTEGER", "INTEGER", "INTEGER"]
    rows = []
    for ward in world.context.city.wards:
        population = rng.randint(7000, 14000)
        for year in range(2016, 2026):
            population = int(population * rng.uniform(0.99, 1.02))
            rows.append(
                [
                    ward.code,
                    year,
                    population,
                    int(population / rng.uniform(2.1, 2.5)),
                    int(population * rng.uniform(0.16, 0.21)),
                    int(population * rng.uniform(0.15, 0.24)),
                ]
            )
    return DemoDataset(
        name="population-by-ward",
        department="communications",
        title="Population by ward",
        description="Mid-year population estimates for each ward since 2016, with households "
        "and age groups.",
        licence_id="OGL-UK-3.0",
        themes=("SOCI", "REGI"),
        keywords=("population", "census", "demographics", "wards"),
        frequency="ANNUAL",
        files=[
            DemoFile(
                "population-by-ward.parquet",
                _parquet(header, types, rows),
                "Population by ward (Parquet)",
            )
        ],
        temporal=(dt.date(2016, 1, 1), dt.date(2025, 12, 31)),
    )


def _libraries(world: _World) -> DemoDataset:
    rng = world.rng(8)
    header = [
        "name",
        "ward",
        "latitude",
        "longitude",
        "weekly_opening_hours",
        "computers",
        "wifi",
        "visits_2025",
        "loans_2025",
    ]
    rows = []
    for ward in list(world.context.city.wards)[:6]:
        lat, lon, _ward, _street = world.place(rng)
        rows.append(
            [
                f"{ward.name} Library",
                ward.code,
                lat,
                lon,
                rng.choice([24, 30, 36, 45, 52]),
                rng.randint(4, 30),
                True,
                rng.randint(20000, 160000),
                rng.randint(15000, 120000),
            ]
        )
    return DemoDataset(
        name="libraries",
        department="communications",
        title="Libraries",
        description="The city's libraries: where they are, opening hours, computers, and "
        "visits and loans in 2025.",
        licence_id="CC-BY-4.0",
        themes=("EDUC",),
        keywords=("libraries", "culture", "education"),
        frequency="ANNUAL",
        files=[DemoFile("libraries.csv", _csv(header, rows), "Libraries")],
    )


def _road_works(world: _World) -> DemoDataset:
    rng = world.rng(9)
    header = [
        "permit",
        "street",
        "ward",
        "promoter",
        "works",
        "starts",
        "ends",
        "traffic_management",
    ]
    promoters = [
        "Riverton Water",
        "Northern Gas Networks",
        "Openreach",
        "City highways team",
        "Western Power Distribution",
    ]
    works = ["Pipe repair", "New connection", "Resurfacing", "Cable laying", "Kerb works"]
    rows = []
    for number in range(1, 81):
        _lat, _lon, ward, street = world.place(rng)
        start = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randint(0, 120))
        rows.append(
            [
                f"RW{number:05d}",
                street,
                ward,
                rng.choice(promoters),
                rng.choice(works),
                start.isoformat(),
                (start + dt.timedelta(days=rng.randint(1, 30))).isoformat(),
                rng.choice(["None", "Lane closure", "Temporary lights", "Road closed"]),
            ]
        )
    return DemoDataset(
        name="road-works",
        department="public-works",
        title="Planned road works",
        description="Road works with a permit in the coming months: where, by whom, when, "
        "and how traffic is managed.",
        licence_id="OGL-UK-3.0",
        themes=("TRAN",),
        keywords=("road works", "highways", "traffic"),
        frequency="WEEKLY",
        files=[DemoFile("road-works.csv", _csv(header, rows), "Road works")],
    )


def _taxis(world: _World) -> DemoDataset:
    rng = world.rng(10)
    header = ["year", "licence_type", "vehicles", "drivers", "wheelchair_accessible_vehicles"]
    rows = []
    for year in range(2018, 2026):
        for kind in ("Hackney carriage", "Private hire"):
            vehicles = rng.randint(60, 240)
            rows.append(
                [
                    year,
                    kind,
                    vehicles,
                    int(vehicles * rng.uniform(1.1, 1.5)),
                    int(vehicles * rng.uniform(0.1, 0.4)),
                ]
            )
    return DemoDataset(
        name="licensed-taxis",
        department="transport-licensing",
        title="Licensed taxis and private hire vehicles",
        description="How many taxis (hackney carriages) and private hire vehicles and drivers "
        "the city licensed each year, and how many vehicles take a wheelchair.",
        licence_id="OGL-UK-3.0",
        themes=("TRAN",),
        keywords=("taxis", "licensing", "private hire"),
        frequency="ANNUAL",
        files=[DemoFile("licensed-taxis.csv", _csv(header, rows), "Licensed taxis")],
    )


def _air_quality(world: _World) -> DemoDataset:
    rng = world.rng(11)
    header = ["month", "site", "no2_ugm3", "pm10_ugm3", "pm25_ugm3"]
    sites = ["Station Road roadside", "Market Square", "Riverside background", "Northgate school"]
    rows = []
    for month in _months():
        season = 4 if month.month in (11, 12, 1, 2) else 0
        for site in sites:
            rows.append(
                [
                    month.isoformat(),
                    site,
                    round(rng.uniform(14, 38) + season, 1),
                    round(rng.uniform(11, 24) + season / 2, 1),
                    round(rng.uniform(6, 14) + season / 2, 1),
                ]
            )

    def describe_sites(dataset: Any) -> None:
        _update(
            dataset,
            {
                "descriptions": {
                    "en": "Monthly mean concentrations of nitrogen dioxide and particles "
                    "(PM10, PM2.5) at the city's four monitoring sites, in micrograms per "
                    "cubic metre. The Station Road site is at the kerbside; the others are "
                    "background sites."
                }
            },
        )

    return DemoDataset(
        name="air-quality-monthly",
        department="public-works",
        title="Air quality: monthly means",
        description="Monthly mean concentrations of nitrogen dioxide and particles at the "
        "city's monitoring sites.",
        licence_id="CC-BY-4.0",
        themes=("ENVI", "HEAL"),
        keywords=("air quality", "pollution", "no2", "environment"),
        frequency="MONTHLY",
        files=[DemoFile("air-quality-monthly.csv", _csv(header, rows), "Monthly means")],
        temporal=(FIRST_MONTH, _months()[-1] + dt.timedelta(days=30)),
        later=[describe_sites],
    )


def _budget(world: _World) -> DemoDataset:
    rng = world.rng(12)
    header = ["department", "service_area", "budget_2025", "budget_2026", "change"]
    areas = {
        "revenue": ["Council tax collection", "Benefits", "Finance"],
        "transport-licensing": ["Parking", "Licensing", "Public transport support"],
        "planning-building": ["Development management", "Building control", "Planning policy"],
        "civil-registry": ["Registration", "Ceremonies"],
        "public-works": ["Highways", "Waste and recycling", "Parks", "Street lighting"],
        "communications": ["Communications", "Libraries", "Customer services"],
    }
    rows = []
    for department, names in areas.items():
        for name in names:
            before = rng.randint(200, 9000) * 1000
            after = int(before * rng.uniform(0.94, 1.08)) // 1000 * 1000
            rows.append([department, name, before, after, after - before])
    return DemoDataset(
        name="budget-2026",
        department="revenue",
        title="Budget 2026",
        description="The city's revenue budget for 2026 by department and service area, "
        "against 2025, in pounds.",
        licence_id="OGL-UK-3.0",
        themes=("ECON", "GOVE"),
        keywords=("budget", "finance", "spending"),
        frequency="ANNUAL",
        files=[DemoFile("budget-2026.xlsx", _xlsx(header, rows), "Budget 2026 (XLSX)")],
        temporal=(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        version="2026",
    )


def _annual_report(world: _World) -> DemoDataset:
    lines = [
        "Riverton City Council - Annual report 2025",
        "",
        "This report summarises what the council did in 2025: its services,",
        "its spending, and how quickly it answered residents.",
        "The figures behind it are published as open data at /dataset/.",
    ]
    return DemoDataset(
        name="annual-report-2025",
        department="communications",
        title="Annual report 2025",
        description="The council's annual report for 2025, as a PDF document.",
        licence_id="OGL-UK-3.0",
        themes=("GOVE",),
        keywords=("annual report", "performance"),
        frequency="ANNUAL",
        files=[DemoFile("annual-report-2025.pdf", _pdf(lines), "Annual report 2025 (PDF)")],
        version="2025",
    )


def _ward_boundaries(world: _World) -> DemoDataset:
    from django.conf import settings

    path = Path(str(getattr(settings, "REPORTS_AREA_FILE", "")))
    content = path.read_bytes() if path.is_file() else _geojson([], "wards")
    return DemoDataset(
        name="ward-boundaries",
        department="communications",
        title="Ward boundaries",
        description="The boundaries of Riverton's eight wards, as GeoJSON polygons.",
        licence_id="OGL-UK-3.0",
        themes=("REGI",),
        keywords=("wards", "boundaries", "maps"),
        frequency="IRREG",
        files=[DemoFile("wards.geojson", content, "Ward boundaries (GeoJSON)")],
    )


def _allotments(world: _World) -> DemoDataset:
    rng = world.rng(13)
    header = ["site", "ward", "plots", "vacant_plots", "waiting_list", "annual_rent"]
    rows = []
    for ward in world.context.city.wards:
        plots = rng.randint(20, 120)
        rows.append(
            [
                f"{ward.name} allotments",
                ward.code,
                plots,
                rng.randint(0, plots // 10),
                rng.randint(0, 90),
                rng.choice(["45.00", "60.00", "75.00"]),
            ]
        )
    return DemoDataset(
        name="allotments",
        department="public-works",
        title="Allotment sites",
        description="The city's allotment sites, their plots, vacancies and waiting lists.",
        licence_id="CC-BY-SA-4.0",
        themes=("AGRI", "ENVI"),
        keywords=("allotments", "gardening", "parks"),
        frequency="ANNUAL",
        files=[DemoFile("allotments.csv", _csv(header, rows), "Allotment sites")],
    )


def _bus_stops(world: _World) -> DemoDataset:
    rng = world.rng(14)
    header = ["stop_code", "name", "ward", "latitude", "longitude", "shelter", "real_time_display"]
    rows = []
    for number in range(1, 121):
        lat, lon, ward, street = world.place(rng)
        rows.append(
            [f"RVB{number:04d}", street, ward, lat, lon, rng.random() < 0.6, rng.random() < 0.3]
        )
    return DemoDataset(
        name="bus-stops",
        department="transport-licensing",
        title="Bus stops",
        description="Bus stops in the city, with shelters and real-time displays.",
        licence_id="OGL-UK-3.0",
        themes=("TRAN",),
        keywords=("buses", "public transport", "bus stops"),
        frequency="QUARTERLY",
        files=[DemoFile("bus-stops.csv", _csv(header, rows), "Bus stops")],
    )


def _parking_fines(world: _World) -> DemoDataset:
    rng = world.rng(15)
    header = ["month", "penalty_charge_notices", "paid", "cancelled", "appeals"]
    rows = []
    for month in _months():
        issued = rng.randint(900, 1600)
        rows.append(
            [
                month.isoformat(),
                issued,
                int(issued * rng.uniform(0.7, 0.85)),
                int(issued * rng.uniform(0.03, 0.08)),
                int(issued * rng.uniform(0.02, 0.05)),
            ]
        )
    return DemoDataset(
        name="parking-fines-monthly",
        department="transport-licensing",
        title="Parking fines issued each month",
        description="Penalty charge notices issued for parking each month, and how many were "
        "paid, cancelled and appealed.",
        licence_id="OGL-UK-3.0",
        themes=("TRAN", "JUST"),
        keywords=("parking", "fines", "enforcement"),
        frequency="MONTHLY",
        files=[DemoFile("parking-fines-monthly.csv", _csv(header, rows), "Fines by month")],
    )


def _staff_survey(world: _World) -> DemoDataset:
    rng = world.rng(16)
    header = ["department", "responses", "engagement_index", "would_recommend"]
    rows = [
        [
            d.code,
            rng.randint(20, 140),
            round(rng.uniform(0.55, 0.8), 2),
            round(rng.uniform(0.45, 0.8), 2),
        ]
        for d in world.context.city.departments
    ]
    return DemoDataset(
        name="staff-survey-2025",
        department="communications",
        title="Staff survey 2025 (internal)",
        description="Results of the 2025 staff survey by department. Private until the "
        "council's report is agreed.",
        licence_id="OGL-UK-3.0",
        themes=("GOVE",),
        keywords=("staff", "survey"),
        frequency="ANNUAL",
        files=[DemoFile("staff-survey-2025.csv", _csv(header, rows), "Results by department")],
        private=True,
    )


def _cycle_lanes(world: _World) -> DemoDataset:
    rng = world.rng(17)
    header = ["route", "ward", "length_km", "segregated", "opened"]
    rows = [
        [
            f"{street} cycle lane",
            ward,
            round(rng.uniform(0.3, 4.5), 2),
            rng.random() < 0.5,
            rng.randint(2012, 2025),
        ]
        for _lat, _lon, ward, street in (world.place(rng) for _ in range(25))
    ]
    return DemoDataset(
        name="cycle-lanes",
        department="transport-licensing",
        title="Cycle lanes",
        description="Cycle lanes in the city (being checked before publication).",
        licence_id="OGL-UK-3.0",
        themes=("TRAN",),
        keywords=("cycling", "active travel"),
        frequency="ANNUAL",
        files=[DemoFile("cycle-lanes.csv", _csv(header, rows), "Cycle lanes")],
        state="draft",
    )


def _bin_days(world: _World) -> DemoDataset:
    rng = world.rng(18)
    header = ["street", "ward", "collection_day", "week"]
    rows = []
    for street in sorted({world.place(rng)[3] for _ in range(60)}):
        rows.append(
            [
                street,
                world.place(rng)[2],
                rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
                rng.choice(["A", "B"]),
            ]
        )
    return DemoDataset(
        name="bin-collection-days-2024",
        department="public-works",
        title="Bin collection days 2024",
        description="The day of the week each street's bins were collected in 2024.",
        licence_id="OGL-UK-3.0",
        themes=("ENVI",),
        keywords=("bins", "waste", "collections"),
        frequency="ANNUAL",
        files=[DemoFile("bin-days-2024.csv", _csv(header, rows), "Collection days")],
        state="withdrawn",
        withdrawn_reason="The collection rounds changed in January 2025: use the bin day "
        "finder on the website instead. This file is kept for reference.",
    )


def _events_attendance(world: _World) -> DemoDataset:
    rng = world.rng(19)
    header = ["month", "events", "attendance"]
    rows = [[m.isoformat(), rng.randint(3, 20), rng.randint(400, 9000)] for m in _months()]
    return DemoDataset(
        name="civic-events-attendance",
        department="communications",
        title="Civic events and attendance",
        description="How many public events the city held each month, and how many people came.",
        licence_id="CC-BY-4.0",
        themes=("EDUC", "SOCI"),
        keywords=("events", "culture", "attendance"),
        frequency="MONTHLY",
        files=[DemoFile("civic-events.csv", _csv(header, rows), "Events by month")],
    )


BUILDERS: tuple[Callable[[_World], DemoDataset], ...] = (
    _street_trees,
    _car_parks,
    _spending,
    _toilets,
    _planning,
    _recycling,
    _population,
    _libraries,
    _road_works,
    _taxis,
    _air_quality,
    _budget,
    _annual_report,
    _ward_boundaries,
    _allotments,
    _bus_stops,
    _parking_fines,
    _staff_survey,
    _cycle_lanes,
    _bin_days,
    _events_attendance,
)


# --- loading -------------------------------------------------------------------------------


def _process(resource: Any) -> None:
    """Check (and load) a tabular file now: the demo runs in one transaction, and the
    dataset is published in it, which needs the check's outcome. The upload's own
    on-commit processing then finds it done (``resource_process`` is idempotent)."""
    from ecitizen.opendata import services

    if resource.is_tabular:
        services.resource_process(resource_id=str(resource.id))


def _replace(dataset: Any, position: int, filename: str, content: bytes) -> None:
    from ecitizen.opendata import services

    resource = dataset.resources.order_by("position", "created")[position]
    _process(
        services.resource_replace(actor=None, resource=resource, filename=filename, content=content)
    )


def _update(dataset: Any, fields: dict[str, Any]) -> None:
    from ecitizen.opendata import services

    services.dataset_update(actor=None, dataset=dataset, fields=fields)


def _load_one(spec: DemoDataset) -> bool:
    from django.conf import settings

    from ecitizen.accounts.selectors import department_by_slug, jurisdictions_by_code
    from ecitizen.opendata import services

    department = department_by_slug(slug=spec.department)
    if department is None:
        return False
    fields: dict[str, Any] = {
        "name": spec.name,
        "titles": {settings.LANGUAGE_CODE: spec.title},
        "descriptions": {settings.LANGUAGE_CODE: spec.description},
        "licence_id": spec.licence_id,
        "themes": list(spec.themes),
        "keywords": list(spec.keywords),
        "frequency": spec.frequency,
        "version": spec.version,
        "private": spec.private,
    }
    if spec.ward and spec.ward in jurisdictions_by_code():
        fields["ward"] = spec.ward
    if spec.temporal:
        fields["temporal_start"], fields["temporal_end"] = spec.temporal
    dataset = services.dataset_create(
        actor=None, department=department, fields=fields, source_key=PREFIX + spec.name
    )
    for item in spec.files:
        resource = services.resource_add(
            actor=None,
            dataset=dataset,
            filename=item.filename,
            content=item.content,
            names={settings.LANGUAGE_CODE: item.name},
            descriptions={settings.LANGUAGE_CODE: item.description} if item.description else None,
        )
        _process(resource)
    if spec.state == "draft":
        return True
    services.dataset_publish(actor=None, dataset=dataset)
    for step in spec.later:
        step(dataset)
    if spec.state == "withdrawn":
        services.dataset_withdraw(actor=None, dataset=dataset, reason=spec.withdrawn_reason)
    return True


def demo_opendata_load(context: DemoContext) -> int:
    """The ``opendata`` loader: the platform's own datasets (refreshed from what the other
    loaders made), then the departments' uploaded datasets that do not exist yet. Returns
    how many datasets were created (0 on a second run).

    Preconditions: the ``people`` loader ran (departments, wards); the others' data is
    optional (their datasets are then short). Side effects: datasets, resources (files in
    the default storage, checked and loaded into the DataStore), revisions, audit events;
    a note on where the catalogue and its API are.
    """
    from ecitizen.opendata.platform import publish_all
    from ecitizen.opendata.selectors import datasets_by_source_key

    made = sum(1 for outcome in publish_all() if outcome.action == "created")
    existing = datasets_by_source_key(prefix=PREFIX)
    world = _World(context)
    for build in BUILDERS:
        spec = build(world)
        if PREFIX + spec.name in existing:
            continue
        if _load_one(spec):
            made += 1
    context.notes.append(
        "Open data: the catalogue is at /dataset/ (search, facets, previews, downloads); "
        "the CKAN API at /api/3/action/package_search (e.g. "
        "/api/3/action/package_show?id=street-trees) and DCAT-AP at /catalog.ttl. "
        f"The platform's own figures are refreshed by 'ecitizen opendata publish'. "
        f"{context.city.email('data.publisher')} publishes for Communications "
        "(/staff/opendata/)."
    )
    return made

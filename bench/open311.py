"""How fast does `GET /open311/v2/requests.json` answer over a million street reports?

On a throwaway database (PostgreSQL: created next to the one DATABASE_URL names, migrated,
dropped at the end; or, with ``--sqlite``, a SQLite file in a temporary folder), publishes
Riverton's eight categories and wards, then loads N public reports (COPY on PostgreSQL)
spread uniformly over the authority's area and over the last two years, in the order they
came in, about 30 % of them open (recent ones more often), each with its public updates
and one in seven with a photo.
Then, in-process through the full middleware stack (Django's test client, no network),
it measures in the same run:

- (a) ``requests.json?bbox=...&status=open&start_date=...&end_date=...``: a 500 m box at
  a random place in the area, a random 90-day window of the two years;
- (a2) the same without ``status`` (open and closed reports, the specification's
  default), which another index answers;
- (b) the same as (a) with ``page_size=1000`` over a 2 km box (a town-centre map);
- (c) the floor: the report query each of those requests ran (the SQL Django generated,
  captured from the request itself), executed with a bare DB-API cursor and fetched;

and prints p50/p95/p99 of each, the ratio of each p95 to its floor's, and the query
plan of each report query (``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL,
``EXPLAIN QUERY PLAN`` on SQLite). Aim: p95 under 50 ms on a 2-core machine, within 3x of
the floor. Nothing here asserts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        python bench/open311.py [--reports 1000000] [--requests 200] [--seed 311]
    python bench/open311.py --sqlite --reports 100000
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import QUIET_ENV

HISTORY_DAYS = 730
WINDOW_DAYS = 90
#: Half the side of the boxes asked for: (a) a street's surroundings, (b) a town centre.
SMALL_BOX_RADIUS_M = 250
LARGE_BOX_RADIUS_M = 1000
REPORTERS = 50
#: How often residents report each kind of problem (relative weights).
CATEGORY_WEIGHTS = {
    "pothole": 25,
    "fly-tipping": 20,
    "streetlight": 15,
    "graffiti": 10,
    "blocked-drain": 10,
    "overgrown-vegetation": 10,
    "abandoned-vehicle": 5,
    "damaged-sign": 5,
}
OPEN_STATES = ("received", "investigating", "scheduled")
#: The state each workflow action of the demo's paths leads to.
ACTION_STATES = {
    "investigate": "investigating",
    "schedule": "scheduled",
    "fix": "fixed",
    "not_responsible": "not_responsible",
    "duplicate": "duplicate",
    "decline": "will_not_fix",
}
REPORT_COLUMNS = (
    "id",
    "reference",
    "reporter_id",
    "category",
    "latitude",
    "longitude",
    "ward_id",
    "address",
    "title",
    "description",
    "state",
    "is_open",
    "confirmed_at",
    "show_name",
    "hidden_reason",
    "supporters_count",
    "source",
    "device_id",
    "account_id",
    "token",
    "media_url",
    "requested_at",
    "updated_at",
)
UPDATE_COLUMNS = (
    "id",
    "report_id",
    "state",
    "is_open",
    "text",
    "by_label",
    "case_event_id",
    "created_at",
)
PHOTO_COLUMNS = (
    "id",
    "report_id",
    "position",
    "original_id",
    "display_id",
    "public_id",
    "width",
    "height",
    "hidden_reason",
    "created_at",
)


def _database_urls(url: str) -> tuple[str, str, str]:
    """(maintenance URL, throwaway URL, throwaway name) from DATABASE_URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("DATABASE_URL must name a PostgreSQL server (postgres://...), or use --sqlite")
    name = f"ecitizen_bench_{os.getpid()}"
    throwaway = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    return url, throwaway, name


def _conninfo(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1).replace("pgsql://", "postgresql://", 1)


def _progress(label: str, done: int, total: int, began: float) -> None:
    print(  # noqa: T201
        f"\r{label}: {done:,}/{total:,} ({time.perf_counter() - began:.0f} s)",
        end="" if done < total else "\n",
        file=sys.stderr,
    )


def _points(count: int, rng: Any) -> tuple[Any, Any, Any]:
    """``count`` points uniformly spread over the authority's area, as numpy arrays of
    latitudes, longitudes and the index of the ward each lies in (``area().wards``)."""
    import numpy as np
    import shapely

    from ecitizen.reports import geo

    wards = geo.area().wards
    south, west, north, east = geo.area().bounds
    lats = np.empty(0)
    lons = np.empty(0)
    ward_index = np.empty(0, dtype=np.int64)
    while len(lats) < count:
        # The wards cover most of their bounding box: draw a little more than needed, keep
        # the points that fall in a ward.
        size = int((count - len(lats)) * 1.2) + 100
        lat = rng.uniform(south, north, size)
        lon = rng.uniform(west, east, size)
        which = np.full(size, -1, dtype=np.int64)
        for index, ward in enumerate(wards):
            which[shapely.contains_xy(ward.geometry, lon, lat)] = index
        inside = which >= 0
        lats = np.concatenate([lats, lat[inside]])
        lons = np.concatenate([lons, lon[inside]])
        ward_index = np.concatenate([ward_index, which[inside]])
    return lats[:count], lons[:count], ward_index[:count]


def _setup() -> tuple[list[int], Any]:
    """The categories' departments, the wards, Riverton's eight categories, a few
    reporters' accounts and one stored photo (not timed). Returns the reporters' ids and
    the photo's upload id."""
    import io

    from django.contrib.auth.hashers import make_password
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from ecitizen.accounts import services as accounts
    from ecitizen.accounts.models import User
    from ecitizen.catalogue.definitions import read_definitions
    from ecitizen.catalogue.services import service_definitions_publish
    from ecitizen.documents.services import upload_store
    from ecitizen.reports import geo
    from ecitizen.reports.demo import CATEGORIES_DIR

    # The departments the categories go to (the demo's people loader makes them).
    for _name, data in read_definitions(CATEGORIES_DIR):
        slug = data["department"]
        accounts.department_ensure(slug=slug, name=slug.replace("-", " ").title(), actor=None)
    for ward in geo.area().wards:
        accounts.jurisdiction_ensure(code=ward.code, name=ward.name, actor=None)
    service_definitions_publish(directory=CATEGORIES_DIR, actor=None)
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(email=f"reporter{n}@bench.example", full_name=f"Reporter {n}", password=unusable)
            for n in range(REPORTERS)
        ]
    )
    reporters = User.objects.filter(email__endswith="@bench.example").values_list("pk", flat=True)
    # Every bench photo row shows this one file: Open311 serves a photo's address only.
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 110, 100)).save(image, format="JPEG")
    photo = upload_store(
        owner=None,
        file=SimpleUploadedFile("pothole.jpg", image.getvalue(), content_type="image/jpeg"),
        allowed_types=["image/jpeg"],
        max_bytes=1_000_000,
        actor=None,
    )
    return list(reporters), photo.pk


def _rows(
    count: int, seed: int, now: datetime, reporters: Sequence[int], photo: Any
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Each report's row, its updates' rows and its photo's, oldest report first (the
    order they came in, so the table is laid out by time as a real one is).

    A report is open with probability 0.22 + 0.6·e^(-age/90 days): about 30 % overall,
    most of the last month's, a fifth of old ones (never fixed). Its state follows the
    demo's weights among open or closed states, its updates the demo's workflow paths: a
    first "received" update, then one per action, the last one with the text the team
    wrote for the public. One report in seven has a photo, as in the demo.
    """
    import numpy as np

    from ecitizen.accounts.models import Jurisdiction
    from ecitizen.catalogue.definitions import read_definitions
    from ecitizen.reports import demo, geo

    rng = np.random.default_rng(seed)
    pick = random.Random(seed)  # noqa: S311 - bench data, not secrets
    ward_ids = [Jurisdiction.objects.get(code=ward.code).pk for ward in geo.area().wards]
    # References as the cases app writes them: RIV-PHT-2026-0000001.
    prefixes = {
        data["slug"]: data.get("reference_code") or data["slug"][:3].upper()
        for _name, data in read_definitions(demo.CATEGORIES_DIR)
    }
    streets = [f"{place.street}, {place.postcode}" for place in geo.gazetteer()]
    codes = list(CATEGORY_WEIGHTS)
    weights = np.array(list(CATEGORY_WEIGHTS.values()), dtype=float)
    open_states = list(OPEN_STATES)
    open_weights = [demo.STATE_WEIGHTS[state] for state in open_states]
    closed_states = [state for state in demo.STATE_WEIGHTS if state not in OPEN_STATES]
    closed_weights = [demo.STATE_WEIGHTS[state] for state in closed_states]

    ages = np.sort(rng.uniform(0, HISTORY_DAYS * 86400, count))[::-1]  # seconds, oldest first
    lats, lons, wards = _points(count, rng)
    categories = rng.choice(len(codes), size=count, p=weights / weights.sum())
    is_open = rng.random(count) < 0.22 + 0.6 * np.exp(-ages / (90 * 86400))
    update_id = 0
    for n in range(count):
        requested = now - timedelta(seconds=float(ages[n]))
        code = codes[categories[n]]
        title, details = pick.choice(demo.WORDS[code])
        opened = bool(is_open[n])
        state = (
            pick.choices(open_states, open_weights)[0]
            if opened
            else pick.choices(closed_states, closed_weights)[0]
        )
        # Each action a few days after the last, never in the future.
        moments = [requested]
        for _action in demo.PATHS[state]:
            moments.append(min(now, moments[-1] + timedelta(hours=pick.uniform(2, 240))))
        report_id = n + 1
        updates = [(report_id, "received", True, "", "", None, requested)]
        for position, action in enumerate(demo.PATHS[state], start=1):
            reached = ACTION_STATES[action]
            last = position == len(demo.PATHS[state])
            updates.append(
                (
                    report_id,
                    reached,
                    reached in OPEN_STATES,
                    demo.PUBLIC_TEXT[action] if last else "",
                    "Public Works",
                    report_id * 10 + position,  # the case event it copies
                    moments[position],
                )
            )
        update_rows = []
        for update in updates:
            update_id += 1
            update_rows.append((update_id, *update))
        report = (
            report_id,
            f"RIV-{prefixes[code]}-{requested.year}-{report_id:07d}",
            reporters[n % len(reporters)],
            code,
            float(lats[n]),
            float(lons[n]),
            ward_ids[wards[n]],
            pick.choice(streets),
            title,
            details,
            state,
            opened,
            requested,
            False,
            "",
            pick.choices((0, 1, 2, 5), (80, 12, 6, 2))[0],
            "open311" if n % 10 == 9 else "web",
            "",
            "",
            uuid.UUID(int=pick.getrandbits(128), version=4),
            "",
            requested,
            moments[-1],
        )
        photos = (
            [
                (
                    report_id,
                    report_id,
                    0,
                    photo,
                    photo,
                    uuid.UUID(int=pick.getrandbits(128), version=4),
                    64,
                    48,
                    "",
                    requested,
                )
            ]
            if n % 7 == 0
            else []
        )
        yield report, update_rows, photos


def _insert(table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Write ``rows`` into ``table``: one COPY on PostgreSQL, ``executemany`` on SQLite
    (values adapted as Django stores them there)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return

    def adapt(value: Any) -> Any:
        if isinstance(value, datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, uuid.UUID):
            return value.hex
        return value

    placeholders = ", ".join("?" * len(columns))
    connection.connection.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608
        (tuple(adapt(value) for value in row) for row in rows),
    )


def _load(count: int, seed: int, now: datetime) -> int:
    """Load ``count`` reports and their updates in one transaction, by chunks of 50,000
    reports, then analyse the tables. Returns how many updates were written."""
    from django.db import connection, transaction

    from ecitizen.reports.models import Report, ReportPhoto, ReportUpdate

    reporters, photo = _setup()
    report_table, update_table = Report._meta.db_table, ReportUpdate._meta.db_table
    photo_table = ReportPhoto._meta.db_table
    began = time.perf_counter()
    updates = 0
    reports_chunk: list[tuple[Any, ...]] = []
    updates_chunk: list[tuple[Any, ...]] = []
    photos_chunk: list[tuple[Any, ...]] = []
    with transaction.atomic():
        connection.ensure_connection()
        rows = _rows(count, seed, now, reporters, photo)
        for written, (report, update_rows, photo_rows) in enumerate(rows, 1):
            reports_chunk.append(report)
            updates_chunk.extend(update_rows)
            photos_chunk.extend(photo_rows)
            if len(reports_chunk) == 50_000 or written == count:
                _insert(report_table, REPORT_COLUMNS, reports_chunk)
                _insert(update_table, UPDATE_COLUMNS, updates_chunk)
                _insert(photo_table, PHOTO_COLUMNS, photos_chunk)
                updates += len(updates_chunk)
                reports_chunk, updates_chunk, photos_chunk = [], [], []
                _progress("loading reports", written, count, began)
        if connection.vendor == "postgresql":
            # The rows carry their ids: move the sequences past them.
            with connection.cursor() as cursor:
                for table in (report_table, update_table, photo_table):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return updates


def _w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _urls(
    count: int,
    radius_m: float,
    rng: random.Random,
    now: datetime,
    status: str | None = "open",
    **extra: str,
) -> list[str]:
    """``count`` GET requests addresses: reports of ``status`` (any without one) in a
    box of side ``2 * radius_m`` around a random point of the area, requested in a
    random 90-day window of the two years."""
    from ecitizen.reports import geo

    area = geo.area()
    south, west, north, east = area.bounds
    urls: list[str] = []
    while len(urls) < count:
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
        if not area.contains(lat, lon):
            continue
        box_south, box_west, box_north, box_east = geo.bbox_around(lat, lon, radius_m)
        end = now - timedelta(seconds=rng.uniform(0, (HISTORY_DAYS - WINDOW_DAYS) * 86400))
        params = {
            "bbox": f"{box_west:.6f},{box_south:.6f},{box_east:.6f},{box_north:.6f}",
            "start_date": _w3c(end - timedelta(days=WINDOW_DAYS)),
            "end_date": _w3c(end),
            **extra,
        }
        if status is not None:
            params["status"] = status
        urls.append("/open311/v2/requests.json?" + urlencode(params))
    return urls


def _captured(client: Any, url: str) -> tuple[str, int, int]:
    """Run ``url`` once (not timed): (the SQL of its report query, the requests it
    answered with, how many queries the request made)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ecitizen.reports.models import Report

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"{url} answered {response.status_code}: {response.content[:500]!r}")
    marker = f'FROM "{Report._meta.db_table}" '
    main = [query["sql"] for query in queries.captured_queries if marker in query["sql"]]
    if len(main) != 1:
        sys.exit(f"expected one report query for {url}, found {len(main)}")
    return main[0], len(json.loads(response.content)), len(queries.captured_queries)


def _request_time(client: Any, url: str, profiler: cProfile.Profile | None) -> float:
    began = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    response = client.get(url)
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        sys.exit(f"{url} answered {response.status_code}")
    return elapsed


def _sql_time(sql: str) -> float:
    """Seconds to run ``sql`` on a bare DB-API cursor and fetch every row."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    began = time.perf_counter()
    cursor = raw.cursor()
    cursor.execute(sql)
    cursor.fetchall()
    cursor.close()
    return time.perf_counter() - began


def _percentiles(samples: Sequence[float]) -> tuple[float, float, float]:
    """(p50, p95, p99) in milliseconds."""
    cuts = statistics.quantiles([sample * 1000 for sample in samples], n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def _plan(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [row[-1] for row in cursor.fetchall()]


def _measure(
    label: str, urls: Sequence[str], client: Any, profiler: cProfile.Profile | None
) -> tuple[float, float]:
    """Time each request and its report query (alternating which goes first, so that
    neither always finds the other's pages in the cache); print their percentiles and
    the query plan of the first one. Returns the p95s (request, SQL), in ms."""
    captured = [_captured(client, url) for url in urls]  # also warms the cache
    requests, floors = [], []
    for index, (url, (sql, _rows, _queries)) in enumerate(zip(urls, captured, strict=True)):
        if index % 2:
            floors.append(_sql_time(sql))
            requests.append(_request_time(client, url, profiler))
        else:
            requests.append(_request_time(client, url, profiler))
            floors.append(_sql_time(sql))
    answered = [rows for _sql, rows, _queries in captured]
    queries = {count for _sql, _rows, count in captured}
    print(  # noqa: T201
        f"\n{label}: {len(urls)} requests, each a different box and window; "
        f"{statistics.mean(answered):.0f} requests per answer on average "
        f"(min {min(answered)}, max {max(answered)}); "
        f"{'/'.join(str(count) for count in sorted(queries))} SQL queries per request"
    )
    print(f"{'':34}{'p50':>9}{'p95':>9}{'p99':>9}  (ms)")  # noqa: T201
    request_cuts, floor_cuts = _percentiles(requests), _percentiles(floors)
    for name, cuts in (
        ("GET requests.json", request_cuts),
        ("its report query, raw SQL", floor_cuts),
    ):
        print(f"  {name:32}" + "".join(f"{cut:9.1f}" for cut in cuts))  # noqa: T201
    print(f"  ratio of p95s: {request_cuts[1] / floor_cuts[1]:.2f} x raw SQL")  # noqa: T201
    print("  plan of the first request's report query:")  # noqa: T201
    for line in _plan(captured[0][0]):
        print(f"    {line}")  # noqa: T201
    return request_cuts[1], floor_cuts[1]


def _run(options: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from ecitizen.reports.models import Report

    call_command("migrate", verbosity=0)
    now = timezone.now()
    updates = _load(options.reports, options.seed, now)
    open_share = Report.objects.filter(is_open=True).count() / options.reports
    rng = random.Random(options.seed)  # noqa: S311 - bench data, not secrets
    client = Client()
    profiler = cProfile.Profile() if options.profile else None
    for url in _urls(20, SMALL_BOX_RADIUS_M, rng, now):  # warm-up: imports, caches
        client.get(url)
    version = f"{connection.display_name} {'.'.join(map(str, connection.get_database_version()))}"
    print(  # noqa: T201
        f"\n{version}; {options.reports:,} public reports ({open_share:.0%} open) over "
        f"{HISTORY_DAYS} days, {updates:,} public updates; in-process requests "
        "(Django's test client, full middleware)"
    )
    small, large = f"{2 * SMALL_BOX_RADIUS_M} m box", f"{2 * LARGE_BOX_RADIUS_M / 1000:g} km box"
    window = f"{WINDOW_DAYS}-day window"
    kinds = [
        ("(a)", f"{small}, status=open, {window}", SMALL_BOX_RADIUS_M, "open", {}),
        # Without a status (open and closed) another index answers: measured too.
        ("(a2)", f"{small}, no status, {window}", SMALL_BOX_RADIUS_M, None, {}),
        (
            "(b)",
            f"{large}, status=open, {window}, page_size=1000",
            LARGE_BOX_RADIUS_M,
            "open",
            {"page_size": "1000"},
        ),
    ]
    results = []
    for name, label, radius, status, extra in kinds:
        urls = _urls(options.requests, radius, rng, now, status, **extra)
        results.append((name, _measure(f"{name} {label}", urls, client, profiler)))
    if profiler is not None:
        profiler.dump_stats(options.profile)
    print(  # noqa: T201
        "\nsummary (aim: p95 under 50 ms, within 3 x raw SQL): "
        + "; ".join(
            f"{name} p95 {request:.1f} ms, {request / floor:.2f} x raw SQL"
            for name, (request, floor) in results
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests of each kind")
    parser.add_argument("--seed", type=int, default=311)
    parser.add_argument(
        "--sqlite", action="store_true", help="use a throwaway SQLite file, not PostgreSQL"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="Also write a cProfile of the timed requests to FILE."
    )
    options = parser.parse_args()
    if options.reports < 1 or options.requests < 2:
        sys.exit("--reports must be at least 1 and --requests at least 2")
    if not options.sqlite and "DATABASE_URL" not in os.environ:
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server (postgres://user@host:5432/db), or --sqlite"
        )
    run_in_throwaway_database(lambda: _run(options), sqlite=options.sqlite)


def run_in_throwaway_database(run: Callable[[], None], *, sqlite: bool) -> None:
    """``run()`` with the benchmark settings, in a temporary VAR_DIR and on a throwaway
    database: a SQLite file there, or (``sqlite`` false) a PostgreSQL database created
    beside DATABASE_URL's. The folder and the database go at the end, whatever happens."""
    os.environ.update(QUIET_ENV)
    workdir = tempfile.mkdtemp(prefix="ecitizen-bench-")
    os.environ["VAR_DIR"] = workdir
    (Path(workdir) / "static").mkdir()  # no static files are served here
    try:
        if sqlite:
            os.environ["DATABASE_URL"] = f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
            run()
        else:
            _run_on_postgresql(run)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_on_postgresql(run: Callable[[], None]) -> None:
    """``run()`` on a database created beside DATABASE_URL's, dropped at the end."""
    maintenance, throwaway, name = _database_urls(os.environ["DATABASE_URL"])

    import psycopg

    with psycopg.connect(_conninfo(maintenance), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = throwaway
        run()
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(_conninfo(maintenance), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

"""How fast does the DataStore load a 10-million-row CSV and answer ``datastore_search``,
against DuckDB's own ``read_csv`` and against Datasette serving the same rows from SQLite?

On a throwaway SQLite database and DATASTORE_DIR (a temporary folder, removed at the end):

1. generates a CSV of N rows (``--rows``, default 10,000,000): street trees with an id, a
   planting date, a ward (20), a species (30), a height, a protected flag and a free-text
   note;
2. the floor: DuckDB's own ``CREATE TABLE AS SELECT * FROM read_csv(...)`` into a new
   file; then the DataStore's ``table_load`` of the same file with its Table Schema (typed
   columns, rows ordered by the few-valued text columns, the word index for ``q``, the
   versioned file), and the ratio;
3. builds Datasette's SQLite file from the same CSV: the table, an index on (ward,
   species, height_m) for the filter and sort, and an FTS5 index over the text columns
   (what ``sqlite-utils enable-fts`` makes, and Datasette's ``_search`` uses);
4. measures, in the same run, each query ``--runs`` times with a random ward/species or
   word, as in-process HTTP requests through each application's whole stack (Django's
   test client on ``/api/3/action/datastore_search``; ``Datasette(...).client.get`` on
   its table JSON):

   - (a) filtered + sorted + paged: ward and species equal to given values, sorted by
     height descending, the third page of 100, with the total count;
   - (b) full text: one word anywhere in the row, the first page of 100, with the total.

   Datasette pages by keyset (``_next``), so its third page is reached by following
   ``next`` twice (untimed) and timing the third request; the DataStore is asked for
   ``offset=200``.

Prints p50/p95 of each, and the ratio ours / Datasette's (below 1 is faster). The
Frictionless check that precedes a load in production is not part of the figures (it is
the same for any engine); ``--check N`` times it (``validation.file_validate``) on the
first N rows and prints rows a second. Nothing here asserts.

    python bench/datastore.py [--rows 10000000] [--runs 30] [--seed 16] [--check 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import QUIET_ENV

SPECIES = [
    "oak", "ash", "birch", "elm", "maple", "pine", "willow", "yew", "beech", "cedar",
    "lime", "rowan", "hazel", "holly", "alder", "poplar", "sycamore", "chestnut", "walnut",
    "cherry", "plum", "apple", "pear", "hornbeam", "larch", "spruce", "fir", "juniper",
    "magnolia", "ginkgo",
]  # fmt: skip
STREETS = ["high street", "park road", "mill lane", "church way", "station road", "green"]
WARDS = [f"ward-{n:02d}" for n in range(20)]
SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer"},
        {"name": "planted", "type": "date"},
        {"name": "ward", "type": "string"},
        {"name": "species", "type": "string"},
        {"name": "height_m", "type": "number"},
        {"name": "protected", "type": "boolean"},
        {"name": "note", "type": "string"},
    ]
}


def _list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _generate(path: Path, rows: int, seed: int) -> None:
    import duckdb

    with duckdb.connect() as connection:
        connection.execute(f"SELECT setseed({(seed % 1000) / 1000})")
        connection.execute(
            f"""COPY (
              SELECT range + 1 AS id,
                DATE '2000-01-01' + CAST(floor(random() * 9000) AS INTEGER) AS planted,
                {_list(WARDS)}[1 + CAST(floor(random() * 20) AS BIGINT)] AS ward,
                {_list(SPECIES)}[1 + CAST(floor(random() * 30) AS BIGINT)] AS species,
                round(random() * 30, 2) AS height_m,
                random() < 0.1 AS protected,
                'planted near ' || {_list(STREETS)}[1 + CAST(floor(random() * 6) AS BIGINT)]
                  || ' number ' || CAST(CAST(floor(random() * 500) AS INTEGER) AS VARCHAR)
                  || CASE WHEN random() < 0.05 THEN ' replaced after storm damage'
                          WHEN random() < 0.05 THEN ' adopted by residents' ELSE '' END
                  AS note
              FROM range({rows})
            ) TO '{path}' (FORMAT csv, HEADER true)"""  # noqa: S608 (own constants)
        )


def _floor(path: Path, folder: Path) -> float:
    import duckdb

    target = folder / "floor.duckdb"
    started = time.perf_counter()
    with duckdb.connect(str(target)) as connection:
        connection.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(path)])
        connection.execute("CHECKPOINT")
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def _sqlite(path: Path, target: Path) -> float:
    """Datasette's database: the table, an index for the filter and sort, FTS5."""
    import csv

    started = time.perf_counter()
    db = sqlite3.connect(target)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute(
        "CREATE TABLE trees (id INTEGER PRIMARY KEY, planted TEXT, ward TEXT, species TEXT, "
        "height_m REAL, protected INTEGER, note TEXT)"
    )
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[list[Any]] = []
        for row in reader:
            batch.append([*row[:5], 1 if row[5] == "true" else 0, row[6]])
            if len(batch) == 100_000:
                db.executemany("INSERT INTO trees VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                batch.clear()
        db.executemany("INSERT INTO trees VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
    db.execute("CREATE INDEX trees_filter ON trees (ward, species, height_m)")
    db.execute(
        "CREATE VIRTUAL TABLE trees_fts USING fts5(planted, ward, species, note, "
        "content=\"trees\", content_rowid='id')"
    )
    db.execute("INSERT INTO trees_fts (trees_fts) VALUES ('rebuild')")
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


def _cuts(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _run(options: argparse.Namespace, workdir: Path) -> None:  # noqa: PLR0915
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from ecitizen.accounts.models import Department
    from ecitizen.opendata import datastore
    from ecitizen.opendata.models import Dataset, Resource

    call_command("migrate", verbosity=0)
    rng = random.Random(options.seed)  # noqa: S311 - bench data, not secrets
    csv_path = workdir / "trees.csv"
    started = time.perf_counter()
    _generate(csv_path, options.rows, options.seed)
    size_mb = csv_path.stat().st_size / 1e6
    print(  # noqa: T201
        f"\n{options.rows:,} rows, CSV {size_mb:,.0f} MB, made in "
        f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs"
    )

    if options.check:
        from ecitizen.opendata import validation

        sample = workdir / "check.csv"
        with csv_path.open("rb") as source, sample.open("wb") as out:
            for number, line in enumerate(source):
                if number > options.check:
                    break
                out.write(line)
        started = time.perf_counter()
        outcome = validation.file_validate(sample, "CSV", SCHEMA)
        took = time.perf_counter() - started
        sample.unlink()
        print(  # noqa: T201
            f"Frictionless check (file_validate) of {outcome.rows:,} rows: {took:.1f} s, "
            f"{outcome.rows / took:,.0f} rows/s (valid: {outcome.valid})"
        )

    floor = _floor(csv_path, workdir)
    department = Department.objects.create(slug="bench", name="Bench")
    dataset = Dataset.objects.create(
        name="bench-trees",
        department=department,
        titles={"en": "Trees"},
        licence_id="OGL-UK-3.0",
        state=Dataset.State.PUBLISHED,
    )
    resource = Resource.objects.create(
        dataset=dataset,
        names={"en": "Trees"},
        format="CSV",
        media_type="text/csv",
        schema=SCHEMA,
        validation={"valid": True, "rows": options.rows},
        datastore_state=Resource.DatastoreState.LOADING,
    )
    started = time.perf_counter()
    table, rows = datastore.table_load(resource=resource, path=csv_path)
    load = time.perf_counter() - started
    Resource.objects.filter(pk=resource.pk).update(
        datastore_state=Resource.DatastoreState.LOADED, datastore_table=table, datastore_rows=rows
    )
    table_mb = datastore.table_path(table).stat().st_size / 1e6
    print(  # noqa: T201
        f"load: DuckDB read_csv floor {floor:.1f} s; DataStore table_load {load:.1f} s "
        f"({rows:,} rows, file {table_mb:,.0f} MB): {load / floor:.2f} x the floor"
    )

    sqlite_path = workdir / "bench.db"
    built = _sqlite(csv_path, sqlite_path)
    print(f"Datasette's SQLite file built in {built:.1f} s (table, index, FTS5)")  # noqa: T201

    from datasette.app import Datasette

    ds = Datasette(
        files=[str(sqlite_path)],
        immutables=[],
        settings={
            "suggest_facets": False,
            "sql_time_limit_ms": 120_000,
            "facet_time_limit_ms": 1,
            "num_sql_threads": os.cpu_count() or 2,
            "default_page_size": 100,
        },
    )
    loop = asyncio.new_event_loop()
    loop.run_until_complete(ds.invoke_startup())
    client = Client()
    api = "/api/3/action/datastore_search?"

    def ours(params: dict[str, Any]) -> tuple[float, int]:
        started = time.perf_counter()
        response = client.get(api + urlencode({"resource_id": str(resource.id), **params}))
        elapsed = time.perf_counter() - started
        body = response.json()
        if not body.get("success"):
            raise SystemExit(f"datastore_search failed: {body}")
        return elapsed, int(body["result"]["total"])

    def theirs(path: str, pages: int = 1) -> tuple[float, int]:
        async def go() -> tuple[float, int]:
            url = path
            for _ in range(pages - 1):
                body = (await ds.client.get(url)).json()
                url = path + "&_next=" + str(body["next"])
            started = time.perf_counter()
            response = await ds.client.get(url)
            elapsed = time.perf_counter() - started
            body = response.json()
            if response.status_code != 200:
                raise SystemExit(f"Datasette failed: {response.text[:300]}")
            return elapsed, int(body.get("filtered_table_rows_count") or 0)

        return loop.run_until_complete(go())

    def filtered(ward: str, species: str) -> tuple[dict[str, Any], str]:
        params = {
            "filters": f'{{"ward": "{ward}", "species": "{species}"}}',
            "sort": "height_m desc",
            "limit": 100,
            "offset": 200,
        }
        path = "/bench/trees.json?" + urlencode(
            {"ward": ward, "species": species, "_sort_desc": "height_m", "_size": 100}
        )
        return params, path

    def searched(word: str) -> tuple[dict[str, Any], str]:
        return {"q": word, "limit": 100}, "/bench/trees.json?" + urlencode(
            {"_search": word, "_size": 100}
        )

    kinds = [
        (
            "(a) filter ward+species, sort height desc, 3rd page of 100, total",
            lambda: filtered(rng.choice(WARDS), rng.choice(SPECIES)),
            3,
        ),
        (
            "(b) full text: one word, first page of 100, total",
            lambda: searched(rng.choice(SPECIES)),
            1,
        ),
    ]
    summary = []
    for label, make, pages in kinds:
        for _ in range(3):  # warm-up: imports, caches, the attached file
            params, path = make()
            ours(params)
            theirs(path, pages)
        our_times, their_times, totals = [], [], []
        for index in range(options.runs):
            params, path = make()
            if index % 2:
                ours_t, our_total = ours(params)
                theirs_t, their_total = theirs(path, pages)
            else:
                theirs_t, their_total = theirs(path, pages)
                ours_t, our_total = ours(params)
            if our_total != their_total:
                print(f"  note: totals differ ({our_total} vs {their_total}) for {params}")  # noqa: T201
            our_times.append(ours_t * 1000)
            their_times.append(theirs_t * 1000)
            totals.append(our_total)
        (o50, o95), (t50, t95) = _cuts(our_times), _cuts(their_times)
        print(  # noqa: T201
            f"\n{label} ({options.runs} runs, "
            f"{statistics.mean(totals):,.0f} matching rows on average)\n"
            f"  {'':24}{'p50':>9}{'p95':>9}  (ms)\n"
            f"  {'DataStore (DuckDB)':24}{o50:9.1f}{o95:9.1f}\n"
            f"  {'Datasette (SQLite)':24}{t50:9.1f}{t95:9.1f}\n"
            f"  ratio ours / Datasette:  p50 {o50 / t50:.2f}  p95 {o95 / t95:.2f}"
        )
        summary.append(f"{label.split(')')[0]}) p50 {o50 / t50:.2f}, p95 {o95 / t95:.2f}")
    print(  # noqa: T201
        f"\nsummary: load {load / floor:.2f} x DuckDB's read_csv; ours / Datasette "
        + "; ".join(summary)
    )
    loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=30, help="timed requests of each kind")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--check", type=int, default=0, help="time the Frictionless check on this many rows"
    )
    options = parser.parse_args()
    if options.rows < 1000 or options.runs < 2:
        sys.exit("--rows must be at least 1000 and --runs at least 2")
    os.environ.update({**QUIET_ENV, "ALLOWED_HOSTS": "testserver,localhost"})
    workdir = Path(tempfile.mkdtemp(prefix="ecitizen-bench-datastore-"))
    os.environ["VAR_DIR"] = str(workdir)
    os.environ["DATASTORE_DIR"] = str(workdir / "datastore")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'ecitizen.sqlite3'}"
    (workdir / "static").mkdir()
    try:
        _run(options, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

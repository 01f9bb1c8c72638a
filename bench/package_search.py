"""How fast does CKAN's ``package_search`` answer over 10,000 datasets?

On a throwaway database (PostgreSQL: created next to the one DATABASE_URL names, migrated,
dropped at the end; or, with ``--sqlite``, a SQLite file in a temporary folder), loads N
published datasets (bulk inserts of what the services write, ``services.index_values``)
across a dozen departments, with one to three resources each, two to four keywords from
a vocabulary of 300, one or two EU themes. Then, in-process through
the full middleware stack (Django's test client, no network), it measures in the same run:

- (a) ``q=<a word>`` with facets on (organization, groups, tags, res_format, license_id),
  ``rows=20``;
- (b) ``fq=organization:<dept> tags:<keyword>`` with the same facets, ``rows=20``;
- (c) ``q`` and ``fq=res_format:CSV`` sorted ``metadata_modified desc``, facets on;
- the floor of each: the SQL statements the request ran (captured from the request
  itself), executed again with a bare DB-API cursor and fetched;

and prints p50/p95/p99 of each and the ratio of each p95 to its floor's. Aim: p95 under
100 ms. Nothing here asserts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        python bench/package_search.py [--datasets 10000] [--requests 200]
    python bench/package_search.py --sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.open311 import _percentiles, run_in_throwaway_database

DEPARTMENTS = 12
KEYWORDS = 300
FORMATS = ("CSV", "CSV", "CSV", "XLSX", "JSON", "Parquet", "GeoJSON", "PDF")
WORDS = [
    "trees",
    "parks",
    "parking",
    "spending",
    "budget",
    "waste",
    "recycling",
    "schools",
    "roads",
    "traffic",
    "bus",
    "cycle",
    "planning",
    "housing",
    "council",
    "tax",
    "benefits",
    "libraries",
    "licences",
    "noise",
    "air",
    "quality",
    "water",
    "flood",
    "energy",
    "population",
    "census",
    "elections",
    "wards",
    "crime",
    "lighting",
    "footpaths",
    "allotments",
    "markets",
    "tourism",
    "museums",
    "sport",
    "leisure",
    "grants",
    "contracts",
    "payroll",
]


def _load(count: int, seed: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from ecitizen.accounts.models import Department
    from ecitizen.opendata.models import Dataset, DatasetTerm, Resource
    from ecitizen.opendata.services import index_values
    from ecitizen.opendata.vocabularies import FORMATS as KNOWN_FORMATS
    from ecitizen.opendata.vocabularies import LICENCES, THEMES

    rng = random.Random(seed)  # noqa: S311 - bench data, not secrets
    departments = [
        Department.objects.create(slug=f"dept-{i:02d}", name=f"Department {i:02d}")
        for i in range(DEPARTMENTS)
    ]
    vocabulary = [f"{rng.choice(WORDS)}-{i}" for i in range(KEYWORDS)]
    licences, themes = list(LICENCES), list(THEMES)
    now = timezone.now()
    began = time.perf_counter()
    for chunk in range(0, count, 1000):
        datasets, resources, terms = [], [], []
        for i in range(chunk, min(chunk + 1000, count)):
            words = rng.sample(WORDS, 3)
            title = " ".join(words).capitalize() + f" {i}"
            keywords = rng.sample(vocabulary, rng.randint(2, 4))
            codes = rng.sample(themes, rng.randint(1, 2))
            department = rng.choice(departments)
            modified = now - timedelta(minutes=rng.randint(0, 60 * 24 * 730))
            dataset = Dataset(
                id=uuid.uuid4(),
                name=f"{'-'.join(words)}-{i}",
                department=department,
                titles={"en": title},
                descriptions={"en": f"{title}: {' '.join(rng.sample(WORDS, 8))}."},
                licence_id=rng.choice(licences),
                themes=codes,
                keywords=keywords,
                state=Dataset.State.PUBLISHED,
                issued=modified,
                created=modified,
                modified=modified,
                revision=1,
            )
            formats = [rng.choice(FORMATS) for _ in range(rng.randint(1, 3))]
            for position, label in enumerate(formats):
                resources.append(
                    Resource(
                        dataset=dataset,
                        position=position,
                        names={"en": f"{words[0]} {label}"},
                        format=label,
                        media_type=KNOWN_FORMATS[label].media_type,
                        url=f"https://files.example.org/{dataset.name}.{label.lower()}",
                        created=modified,
                        modified=modified,
                    )
                )
            dataset_resources = resources[-len(formats) :]
            dataset.search_text, dataset.sort_title, pairs = index_values(
                dataset, dataset_resources
            )
            dataset.facet_terms = [f"{field}:{value}" for field, value in pairs]
            datasets.append(dataset)
            terms += [DatasetTerm(dataset=dataset, field=f, value=v) for f, v in pairs]
        with transaction.atomic():
            Dataset.objects.bulk_create(datasets)
            Resource.objects.bulk_create(resources)
            DatasetTerm.objects.bulk_create(terms)
        print(  # noqa: T201
            f"\rdatasets: {min(chunk + 1000, count):,}/{count:,} "
            f"({time.perf_counter() - began:.0f} s)",
            end="",
            file=sys.stderr,
        )
    print(file=sys.stderr)  # noqa: T201
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _floor(queries: list[dict[str, Any]]) -> float:
    """The captured statements run again on a bare cursor, fetched."""
    from django.db import connection

    began = time.perf_counter()
    cursor = connection.connection.cursor()
    for query in queries:
        cursor.execute(query["sql"])
        cursor.fetchall()
    cursor.close()
    return time.perf_counter() - began


def _measure(label: str, bodies: list[dict[str, Any]], client: Any) -> tuple[float, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    requests, floors, counts = [], [], []
    for body in bodies:
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.post(
                "/api/3/action/package_search", json.dumps(body), content_type="application/json"
            )
            requests.append(time.perf_counter() - began)
        result = response.json()
        if response.status_code != 200:
            sys.exit(f"{label}: {response.status_code} {result}")
        counts.append(result["result"]["count"])
        floors.append(_floor(captured.captured_queries))
    request_cuts, floor_cuts = _percentiles(requests), _percentiles(floors)
    # Where the last request's time went, statement by statement (the slowest first).
    timed = sorted(
        ((_floor([query]), query["sql"]) for query in captured.captured_queries), reverse=True
    )
    for seconds, sql in timed[:3]:
        print(f"  {seconds * 1000:7.1f} ms  {sql[:300]}")  # noqa: T201
    print(  # noqa: T201
        f"\n{label}\n  matches per query: median {sorted(counts)[len(counts) // 2]:,}, "
        f"max {max(counts):,}; {len(captured.captured_queries)} SQL statements per request\n"
        f"  package_search  p50 {request_cuts[0]:6.1f}  p95 {request_cuts[1]:6.1f}  "
        f"p99 {request_cuts[2]:6.1f} ms\n"
        f"  its SQL (floor) p50 {floor_cuts[0]:6.1f}  p95 {floor_cuts[1]:6.1f}  "
        f"p99 {floor_cuts[2]:6.1f} ms\n"
        f"  p95 ratio {request_cuts[1] / floor_cuts[1]:.2f} x"
    )
    return request_cuts[1], floor_cuts[1]


def _run(options: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from ecitizen.opendata.models import DatasetTerm

    call_command("migrate", verbosity=0)
    _load(options.datasets, options.seed)
    rng = random.Random(options.seed + 1)  # noqa: S311
    facets = json.dumps(["organization", "groups", "tags", "res_format", "license_id"])
    tags = list(DatasetTerm.objects.filter(field="tags").values_list("value", flat=True))
    client = Client()

    def body(kind: str) -> dict[str, Any]:
        base = {"rows": 20, "facet.field": facets}
        if kind == "a":
            return {**base, "q": rng.choice(WORDS)}
        if kind == "b":
            return {
                **base,
                "fq": f"organization:dept-{rng.randrange(DEPARTMENTS):02d} "
                f'tags:"{rng.choice(tags)}"',
            }
        return {
            **base,
            "q": rng.choice(WORDS),
            "fq": "res_format:CSV",
            "sort": "metadata_modified desc",
        }

    for kind in "abc":  # warm-up: imports, caches, the database's pages
        for _ in range(10):
            client.post(
                "/api/3/action/package_search",
                json.dumps(body(kind)),
                content_type="application/json",
            )
    version = f"{connection.display_name} {'.'.join(map(str, connection.get_database_version()))}"
    print(  # noqa: T201
        f"\n{version}; {options.datasets:,} published datasets; in-process requests "
        "(Django's test client, full middleware), facets on five fields, rows=20"
    )
    labels = {
        "a": "(a) q=<word>",
        "b": "(b) fq=organization:<dept> tags:<keyword>",
        "c": "(c) q=<word> fq=res_format:CSV sort=metadata_modified desc",
    }
    results = [
        (kind, _measure(labels[kind], [body(kind) for _ in range(options.requests)], client))
        for kind in "abc"
    ]
    print(  # noqa: T201
        "\nsummary (aim: p95 under 100 ms): "
        + "; ".join(
            f"({kind}) p95 {request:.1f} ms, {request / floor:.2f} x its SQL"
            for kind, (request, floor) in results
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests of each kind")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--sqlite", action="store_true", help="use a throwaway SQLite file, not PostgreSQL"
    )
    options = parser.parse_args()
    if options.datasets < 1 or options.requests < 2:
        sys.exit("--datasets must be at least 1 and --requests at least 2")
    if not options.sqlite and "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a PostgreSQL server (postgres://user@host/db), or --sqlite")
    run_in_throwaway_database(lambda: _run(options), sqlite=options.sqlite)


if __name__ == "__main__":
    main()

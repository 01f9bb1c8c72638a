"""How close is `ecitizen tax assess` to the fastest way PostgreSQL can take its bills?

On a throwaway PostgreSQL database (created next to the one DATABASE_URL names, migrated,
dropped at the end), generates a roll of N properties, then measures in the same run:

- the floor: inserting N rows with the bill table's columns into that table with
  PostgreSQL COPY, from Python, in one transaction (measured before and after the
  assessment; the faster of the two is used, which makes the ratio conservative);
- the floor of the rows written: the same bills and each one's receivable ledger entry,
  both by COPY in one transaction, which is every row the assessment writes per bill
  (measured the same way);
- `ecitizen tax assess` for the roll: reading the properties and owners in batches,
  computing each tax, writing the bills and their ledger charges (COPY), one transaction
  per batch, then the totals per use class and ward.

and prints the times and the run's ratio to each floor (issue's goal: 1.5 times the bills'
COPY). Nothing here asserts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        python bench/tax_assess.py [--properties 1000000] [--batch-size 5000]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import QUIET_ENV

WARDS = 8
OWNERS_WITH_ACCOUNTS = 2000
USE_CLASSES = [
    ("residential", 86),
    ("commercial", 8),
    ("industrial", 3),
    ("agricultural", 1),
    ("charity", 2),
]


def _database_urls(url: str) -> tuple[str, str, str]:
    """(maintenance URL, throwaway URL, throwaway name) from DATABASE_URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("DATABASE_URL must name a PostgreSQL server (postgres://...)")
    name = f"ecitizen_bench_{os.getpid()}"
    throwaway = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    return url, throwaway, name


def _conninfo(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1).replace("pgsql://", "postgresql://", 1)


def _roll_generate(count: int, seed: int) -> None:
    """Departments, wards, users, the 2026 configuration and ``count`` properties with
    their owners, through the taxes app's services (not timed)."""
    from django.contrib.auth.hashers import make_password

    from ecitizen.accounts import services as accounts
    from ecitizen.accounts.models import User
    from ecitizen.taxes import services
    from ecitizen.taxes.config import CONFIG_DIR
    from ecitizen.taxes.services import OwnerSpec, PropertySpec

    accounts.department_ensure(slug="revenue", name="Revenue", actor=None)
    wards = [
        accounts.jurisdiction_ensure(code=f"ward-{n}", name=f"Ward {n}", actor=None).pk
        for n in range(1, WARDS + 1)
    ]
    # Owners with an account become the bills' payers: enough of them for realistic
    # foreign-key checks. Bench data only: no password, no profile.
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(email=f"owner{n}@bench.example", full_name=f"Owner {n}", password=unusable)
            for n in range(OWNERS_WITH_ACCOUNTS)
        ],
        batch_size=1000,
    )
    user_ids = list(User.objects.values_list("pk", flat=True))
    services.tax_config_load(path=CONFIG_DIR / "2026.yaml", actor=None)

    rng = random.Random(seed)  # noqa: S311 - bench data, not secrets
    classes = [name for name, _weight in USE_CLASSES]
    weights = [weight for _name, weight in USE_CLASSES]
    start = date(2010, 1, 1)
    chunk: list[PropertySpec] = []
    made = 0
    began = time.perf_counter()
    for serial in range(1, count + 1):
        use_class = rng.choices(classes, weights)[0]
        with_account = rng.random() < 0.2
        chunk.append(
            PropertySpec(
                parcel=f"BP{serial:08d}",
                address_line_1=f"{serial % 400 + 1} Street {serial % 997}",
                town="Riverton",
                postcode=f"RV{serial % 9 + 1} {serial % 10}AB",
                ward_id=wards[serial % WARDS],
                use_class=use_class,
                assessed_value_minor=rng.randrange(80_000, 2_000_000) * 100,
                exemption="place_of_worship" if rng.random() < 0.003 else "",
                owners=(
                    OwnerSpec(
                        name=f"Owner {serial}",
                        owner_id=rng.choice(user_ids) if with_account else None,
                        owner_occupier=use_class == "residential" and rng.random() < 0.6,
                        start=start,
                        share=Decimal(1),
                    ),
                ),
            )
        )
        if len(chunk) == 10_000 or serial == count:
            services.properties_register_bulk(properties=chunk, actor=None, batch_size=5000)
            made += len(chunk)
            chunk = []
            print(  # noqa: T201
                f"\rgenerating the roll: {made:,}/{count:,} ({time.perf_counter() - began:.0f} s)",
                end="",
                file=sys.stderr,
            )
    print(file=sys.stderr)  # noqa: T201


def _floor(count: int, *, with_entries: bool = False) -> float:
    """Seconds to COPY ``count`` bill rows into the bill table (then emptied again) and,
    ``with_entries``, each bill's receivable ledger entry as well, in one ledger
    transaction: the rows an assessment writes per bill, without the reading and pricing."""
    from django.db import connection, transaction

    from ecitizen.accounts.models import Department, User
    from ecitizen.payments import ledger
    from ecitizen.payments.bulk import BILL_COLUMNS
    from ecitizen.payments.models import Bill, LedgerEntry, LedgerTransaction

    department = Department.objects.get(slug="revenue").pk
    users = list(User.objects.values_list("pk", flat=True))
    table = Bill._meta.db_table
    lines = json.dumps(
        [
            {
                "description": "Property tax 2026, residential, at 0.62% of the assessed value",
                "descriptions": {
                    "en": "Property tax 2026, residential, at 0.62% of the assessed value",
                    "fr": "Taxe foncière 2026, résidentiel, à 0,62 % de la valeur estimée",
                    "ar": "ضريبة العقارات لعام 2026، سكني، بنسبة 0.62% من القيمة المقدّرة",
                },
                "amount_minor": 155_000,
                "account": "revenue:property_tax:revenue",
            },
            {
                "description": "Owner-occupier relief (10%)",
                "descriptions": {
                    "en": "Owner-occupier relief (10%)",
                    "fr": "Abattement propriétaire occupant (10 %)",
                    "ar": "إعفاء المالك الساكن (10%)",
                },
                "amount_minor": -15_500,
                "account": "revenue:property_tax_relief:revenue",
            },
        ],
        ensure_ascii=False,
    )
    # The bill's description in each site language, as the assessment writes it.
    descriptions = (
        '{"en": "Property tax 2026, parcel BP%08d", "fr": "Taxe foncière 2026, parcelle BP%08d",'
        ' "ar": "ضريبة العقارات لعام 2026، القطعة BP%08d"}'
    )
    instalments = json.dumps(
        [
            {"due_date": day, "amount_minor": 34_875}
            for day in ("2026-04-30", "2026-07-31", "2026-10-31", "2027-01-31")
        ]
    )
    issued, due, now = date(2026, 3, 16), date(2027, 1, 31), datetime.now(tz=UTC)
    index = "0" * 64
    receivable = ledger.receivables().pk
    began = time.perf_counter()
    columns = ", ".join(BILL_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} (id, {columns}) FROM STDIN") as copy:
            for n, bill_id in enumerate(ids):
                copy.write_row(
                    (
                        bill_id,
                        f"FLOOR-2026-{n:07d}",
                        "property_tax",
                        users[n % len(users)] if n % 5 == 0 else None,
                        f"Property tax 2026, parcel BP{n:08d}",
                        department,
                        "GBP",
                        139_500,
                        0,
                        0,
                        issued,
                        due,
                        index,
                        f"BP{n:08d}",
                        f"floor:2026:BP{n:08d}",
                        None,
                        lines,
                        instalments,
                        now,
                        descriptions % (n, n, n),
                    )
                )
        if with_entries:
            posted = LedgerTransaction.objects.create(
                key=f"floor:{count}", kind=LedgerTransaction.Kind.CHARGE, memo="floor"
            )
            entry_table = LedgerEntry._meta.db_table
            entry_columns = "transaction_id, account_id, bill_id, amount_minor"
            with cursor.cursor.copy(f"COPY {entry_table} ({entry_columns}) FROM STDIN") as copy:
                for bill_id in ids:
                    copy.write_row((posted.pk, receivable, bill_id, 139_500))
    elapsed = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
        cursor.execute(f"VACUUM ANALYZE {table}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--properties", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--profile", metavar="FILE", help="Also write a cProfile of the assessment to FILE."
    )
    options = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a PostgreSQL server: postgres://user@host:5432/db")
    maintenance, throwaway, name = _database_urls(os.environ["DATABASE_URL"])

    import psycopg

    with psycopg.connect(_conninfo(maintenance), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        _run(options, throwaway)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(_conninfo(maintenance), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(options: argparse.Namespace, url: str) -> None:
    os.environ.update(QUIET_ENV)
    os.environ["DATABASE_URL"] = url
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="ecitizen-bench-")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    count = options.properties
    _roll_generate(count, options.seed)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    floors_before = (_floor(count), _floor(count, with_entries=True))
    out = StringIO()
    arguments = ["assess", "--year", "2026", "--batch-size", str(options.batch_size)]
    profiler = cProfile.Profile() if options.profile else None
    began = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    call_command("tax", *arguments, "--no-progress", stdout=out)
    assessed = time.perf_counter() - began
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(options.profile)
    from ecitizen.payments.models import Bill, LedgerEntry

    bills = Bill.objects.count()
    entries = LedgerEntry.objects.count()
    with connection.cursor() as cursor:  # the floor writes into the same, empty, table
        cursor.execute(f"TRUNCATE {Bill._meta.db_table} CASCADE")
        cursor.execute(f"VACUUM ANALYZE {Bill._meta.db_table}")
    # The same number of rows as the bills just issued.
    floors_after = (_floor(bills), _floor(bills, with_entries=True))
    summary = out.getvalue().splitlines()[0]
    print(f"properties: {count:,}; bills issued: {bills:,}; ledger entries: {entries:,}")  # noqa: T201
    print(f"tax assess:  {assessed:8.1f} s   ({summary})")  # noqa: T201
    for label, before, after in (
        ("bills", floors_before[0], floors_after[0]),
        ("bills and their entries", floors_before[1], floors_after[1]),
    ):
        floor = min(before * bills / count, after)
        print(  # noqa: T201
            f"COPY floor, {label}: {floor:.1f} s (before the run {before:.1f} s for "
            f"{count:,} bills, after it {after:.1f} s); the run is {assessed / floor:.2f} x"
        )


if __name__ == "__main__":
    main()

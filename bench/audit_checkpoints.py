"""What does signing the audit chain head cost per append, and per event verified?

On a throwaway database (SQLite by default; a PostgreSQL database created next to the one
DATABASE_URL names when it names one, dropped at the end), appends audit events one
transaction each, as the platform does, in three modes measured in the same run, in
interleaved blocks so that drift affects them alike:

- floor: no audit signing key, so no checkpoint (the plain hash chain);
- every append: a signed checkpoint with each event (AUDIT_CHECKPOINT_INTERVAL=1);
- every 100: a signed checkpoint every 100 events (AUDIT_CHECKPOINT_INTERVAL=100).

It prints the median time of one append in each mode and its ratio to the floor, then
the time `audit verify` takes per event with every event signed, and the share of it spent
checking signatures. On PostgreSQL it also prints the bytes per row of both tables.
Nothing here asserts.

    python bench/audit_checkpoints.py [--rounds 3000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/audit_checkpoints.py
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench.environment import BENCH_ENV

BLOCK = 100


def _appends(mode: str, count: int, *, one_transaction: bool) -> list[float]:
    from django.conf import settings
    from django.db import transaction

    from ecitizen.core.services import audit_record

    settings.AUDIT_SIGNING_ACTIVE_KEY = "" if mode == "floor" else "ba1"
    settings.AUDIT_CHECKPOINT_INTERVAL = 100 if mode == "every 100" else 1
    samples = []
    with transaction.atomic(durable=False) if one_transaction else contextlib.nullcontext():
        for i in range(count):
            start = time.perf_counter()
            audit_record(action="bench.append", object_type="bench", object_id=str(i))
            samples.append(time.perf_counter() - start)
    return samples


def _run(options: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ecitizen.core import crypto
    from ecitizen.core.models import AuditCheckpoint
    from ecitizen.core.selectors import audit_chain_verify

    call_command("migrate", verbosity=0)
    modes = ["floor", "every append", "every 100"]
    for one_transaction in (False, True):
        samples: dict[str, list[float]] = {mode: [] for mode in modes}
        for block in range(max(1, options.rounds // BLOCK)):
            # Each mode goes first in turn, so that none always follows the same one.
            for mode in modes[block % 3 :] + modes[: block % 3]:
                samples[mode] += _appends(mode, BLOCK, one_transaction=one_transaction)
        floor = statistics.median(samples["floor"])
        print(  # noqa: T201
            f"{connection.vendor}, "
            + (
                f"appends {BLOCK} to a transaction (no commit in the time)"
                if one_transaction
                else "one append per transaction, commit included"
            )
            + f": median of {len(samples['floor'])} appends per mode"
        )
        for mode in modes:
            median = statistics.median(samples[mode])
            print(  # noqa: T201
                f"  {mode:<13} {median * 1e3:7.3f} ms per append  {median / floor:5.2f} x floor"
            )

    # The trail now mixes the modes (a third of the events signed, or so): time the whole
    # verify, then the signature checks alone, to tell the two costs apart.
    start = time.perf_counter()
    report = audit_chain_verify()
    verify_seconds = time.perf_counter() - start
    assert report.ok, report.reason
    public_keys = crypto.audit_public_keys()
    checkpoints = list(AuditCheckpoint.objects.all())
    start = time.perf_counter()
    for checkpoint in checkpoints:
        crypto.signature_valid(
            checkpoint.signed_message(),
            checkpoint.signature,
            public_key=public_keys[checkpoint.key_id],
        )
    signature_seconds = time.perf_counter() - start
    print(  # noqa: T201
        f"verify: {report.events_checked} events and {len(checkpoints)} checkpoints in "
        f"{verify_seconds:.2f} s ({verify_seconds / report.events_checked * 1e6:.0f} us per "
        f"event); signature checks {signature_seconds:.2f} s "
        f"({signature_seconds / max(1, len(checkpoints)) * 1e6:.0f} us each)"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("core_auditevent", "core_auditcheckpoint"):
                cursor.execute(
                    f"SELECT pg_total_relation_size('{table}'), count(*) FROM {table}"  # noqa: S608 - fixed names
                )
                size, rows = cursor.fetchone()
                print(f"  {table}: {size / rows:.0f} bytes per row with indexes")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000, help="appends per mode")
    options = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="ecitizen-bench-")
    os.environ.update({**BENCH_ENV, "DJANGO_SETTINGS_MODULE": "ecitizen.settings"})
    os.environ["VAR_DIR"] = workdir
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
        _run(options)
        return
    import psycopg

    name = f"ecitizen_bench_audit_{os.getpid()}"
    maintenance = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    os.environ["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        _run(options)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

"""The people, bills and fines the load scenario (``bench/load.py``) needs beyond the
demo, made through the platform's services in the load database; and the figures read
from it after a run.

Run by ``bench/load.py`` in a subprocess under Django (the scenario's own process runs
gevent and never imports Django)::

    python -m bench.load_setup prepare '<json: how many of each>' OUT.json
    python -m bench.load_setup after '<json: {"since": iso time}>' OUT.json

``prepare`` is idempotent and tops up: accounts already there are kept, and bills or fines
paid by an earlier run are replaced by new unpaid ones, so ``--reuse-db`` runs find what
they need. It writes what the scenario's users use (addresses, TOTP secrets, bill
references, the area's bounds, dataset names) to OUT.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

#: The demo's public password (``ecitizen demo`` prints it), for the load's accounts too.
PASSWORD = "Riverton-demo-2026"  # noqa: S105 - the demo's published password
DOMAIN = "riverton.example"
#: The department whose officers answer freedom-of-information requests in the demo.
FOI_DEPARTMENT = "communications"


def totp_secret(email: str) -> str:
    """A stable base32 secret per load account (as the demo's ``demo_totp_secret``)."""
    digest = hashlib.sha256(f"ecitizen-load:{email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # noqa: T201


def _people(prefix: str, count: int, *, password_hash: str, totp: bool) -> list[str]:
    """``count`` residents ``load.<prefix>.NNNN@riverton.example`` with a verified address
    (and a TOTP authenticator when ``totp``), created through the accounts services when
    missing. The password is set from one precomputed Argon2 hash of :data:`PASSWORD`
    (hashing it once per account would take minutes); the account is registered by
    ``user_register``, as the sign-up form's user is."""
    from ecitizen.accounts import services
    from ecitizen.accounts.models import User
    from ecitizen.accounts.selectors import user_has_mfa

    emails = [f"load.{prefix}.{number:04d}@{DOMAIN}" for number in range(1, count + 1)]
    existing = {user.email: user for user in User.objects.filter(email__in=emails)}
    created = 0
    for number, email in enumerate(emails, 1):
        user = existing.get(email)
        if user is None:
            user = User(email=email, full_name=f"Load {prefix.title()} {number:04d}")
            user.password = password_hash
            user = services.user_register(user=user, actor=None)
            services.email_mark_verified(user=user, actor=None)
            created += 1
        if totp and not user_has_mfa(user):
            services.mfa_totp_activate(user=user, secret=totp_secret(email), actor=user)
    if created:
        _say(f"  {created} load {prefix} accounts created")
    return emails


def _officers(count: int, *, password_hash: str) -> list[str]:
    """``count`` case officers of the FOI department with TOTP (officials must use it)."""
    from ecitizen.accounts import services
    from ecitizen.accounts.models import Department, Role, User

    department = Department.objects.get(slug=FOI_DEPARTMENT)
    admin = User.objects.filter(email=f"admin@{DOMAIN}").first()
    emails = _people("officer", count, password_hash=password_hash, totp=True)
    for user in User.objects.filter(email__in=emails):
        if not user.role_assignments.filter(role=Role.CASE_OFFICER).exists():
            services.role_assign(
                user=user,
                role=Role.CASE_OFFICER,
                department=department,
                actor=admin,
                system=True,
            )
    return emails


def _postcode(number: int) -> str:
    """The postcode a load fine was sent to, from its number (the bill keeps only a blind
    index of it)."""
    rng = random.Random(f"load-postcode-{number}")  # noqa: S311 - bench data
    letters = "".join(rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
    return f"RV{rng.randint(1, 9)} {rng.randint(1, 9)}{letters}"


def _bills(
    *, kind: str, prefix: str, wanted: int, payers: list[Any] | None, department_slug: str
) -> list[tuple[str, str, int | None]]:
    """Unpaid bills ``LOAD-<prefix>-NNNNNN``: those already there, and new ones through
    ``bill_create`` until there are ``wanted`` (spread over ``payers`` when given, else
    payable by reference and postcode). Returns (reference, postcode, payer id)."""
    from django.conf import settings
    from django.utils import timezone

    from ecitizen.accounts.models import Department
    from ecitizen.payments.models import Bill
    from ecitizen.payments.services import BillSpec, LineSpec, bill_create

    mine = Bill.objects.filter(reference__startswith=f"LOAD-{prefix}-")
    unpaid = [
        (reference, "" if payer_id else _postcode(int(reference.rsplit("-", 1)[1])), payer_id)
        for reference, payer_id in mine.filter(paid_minor=0)
        .order_by("reference")
        .values_list("reference", "payer_id")
    ]
    if payers:
        # Only the payers of this run's pool (an earlier run may have had more).
        ids = {payer.pk for payer in payers}
        unpaid = [row for row in unpaid if row[2] in ids]
    missing = wanted - len(unpaid)
    if missing <= 0:
        return unpaid[:wanted]
    department = Department.objects.get(slug=department_slug)
    number = mine.count()
    today = timezone.localdate()
    language = settings.LANGUAGE_CODE
    if kind == Bill.Kind.FINE:
        text = "Parking penalty charge: parked in a restricted street (Station Road)"
        line, amount, account = "Penalty charge", 7_000, "fine"
    else:
        text = "Garden waste collection, 2026 (one bin)"
        line, amount, account = "Garden waste collection", 4_500, "fee"
    for index in range(missing):
        number += 1
        payer = payers[index % len(payers)] if payers else None
        postcode = "" if payer else _postcode(number)
        bill = bill_create(
            spec=BillSpec(
                reference=f"LOAD-{prefix}-{number:06d}",
                kind=kind,
                description=text,
                descriptions={language: text},
                department_id=department.pk,
                due_date=today + timedelta(days=28),
                lines=[LineSpec(line, amount, account)],
                payer_id=payer.pk if payer else None,
                verification_postcode=postcode,
                source_key=f"load:{prefix}:{number}",
                issued_on=today - timedelta(days=3),
            ),
            actor=None,
        )
        unpaid.append((bill.reference, postcode, bill.payer_id))
    _say(f"  {missing} load bills {prefix} created")
    return unpaid


def prepare(wanted: dict[str, int]) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password

    from ecitizen.accounts.models import User
    from ecitizen.cases.demo import minimal_pdf
    from ecitizen.catalogue.selectors import services_published
    from ecitizen.opendata.models import Dataset
    from ecitizen.payments.models import Bill
    from ecitizen.reports import geo

    password_hash = make_password(PASSWORD)
    applicants = _people("applicant", wanted["applicants"], password_hash=password_hash, totp=False)
    signers = _people("signin", wanted["signers"], password_hash=password_hash, totp=True)
    payer_emails = _people("payer", wanted["payers"], password_hash=password_hash, totp=False)
    officers = _officers(wanted["officers"], password_hash=password_hash)
    payers = list(User.objects.filter(email__in=payer_emails).order_by("email"))
    by_id = {payer.pk: payer.email for payer in payers}
    invoices = _bills(
        kind=Bill.Kind.INVOICE,
        prefix="INV",
        wanted=wanted["invoices"],
        payers=payers,
        department_slug="public-works",
    )
    fines = _bills(
        kind=Bill.Kind.FINE,
        prefix="PCN",
        wanted=wanted["fines"],
        payers=None,
        department_slug="transport-licensing",
    )
    bills_of: dict[str, list[str]] = {email: [] for email in payer_emails}
    for reference, _postcode, payer_id in invoices:
        bills_of[by_id[payer_id]].append(reference)
    south, west, north, east = geo.area().bounds
    datasets = list(
        Dataset.objects.filter(state="published", private=False).values_list("name", flat=True)
    )
    return {
        "password": PASSWORD,
        # The plans a building-permit applicant uploads: the demo's own one-page PDF.
        "pdf": minimal_pdf("Site plan, floor plans and elevations").hex(),
        "applicants": applicants,
        "signers": [(email, totp_secret(email)) for email in signers],
        "officers": [(email, totp_secret(email)) for email in officers],
        "bills": bills_of,
        "fines": [(reference, postcode) for reference, postcode, _payer in fines],
        "area": [south, west, north, east],
        "datasets": sorted(datasets),
        "services": list(services_published().values_list("slug", flat=True)),
    }


def after(since: str) -> dict[str, Any]:
    """What the run left behind: the cases submitted and moved on, the payments settled
    and how (the return page's query or the sandbox's webhook), and the background tasks
    enqueued since ``since``, by state, with how long the finished ones waited."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - "
            "greatest(enqueued_at, coalesce(run_after, enqueued_at)))), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - "
            "greatest(enqueued_at, coalesce(run_after, enqueued_at)))), "
            "max(extract(epoch FROM now() - enqueued_at)) FILTER (WHERE status = 'READY') "
            "FROM django_tasks_database_dbtaskresult WHERE enqueued_at >= %s GROUP BY status",
            [since],
        )
        tasks = {
            status: {"count": count, "wait_p50_s": p50, "wait_p95_s": p95, "oldest_ready_s": age}
            for status, count, p50, p95, age in cursor.fetchall()
        }
        cursor.execute(
            "SELECT task_path, count(*) FROM django_tasks_database_dbtaskresult "
            "WHERE enqueued_at >= %s GROUP BY task_path ORDER BY 2 DESC",
            [since],
        )
        by_task = dict(cursor.fetchall())
    return {"tasks": tasks, "tasks_by_path": by_task}


def main() -> None:
    import django

    command, argument, out = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    django.setup()
    result = prepare(argument) if command == "prepare" else after(argument["since"])
    out.write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()

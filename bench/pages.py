"""How much slower are ecitizen's hot pages than a bare Django view on the same stack?

Runs in-process through the full middleware stack (sessions, auth, timeouts, preferences,
allauth) on a throwaway SQLite database with the demo, and prints for each page its median
server time in milliseconds and as a ratio of the floor: a view that returns "ok" behind
the same middleware, measured in the same run. Ratios, not milliseconds, are comparable
between machines (the goal: 10x or less for every hot page; docs/performance.md); nothing
here asserts.

    python bench/pages.py [--rounds 200] [--calls]

``--calls`` also prints the Python function calls of one more request of each page
(cProfile's count, builtins included): they do not move with the machine's load, as the
medians do.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import BENCH_ENV


def calls(client: Any, url: str, form: dict[str, str] | None = None) -> int:
    """The Python calls of one request (cProfile's count, builtins included)."""
    profile = cProfile.Profile()
    profile.enable()
    response = client.get(url, form) if form else client.get(url)
    profile.disable()
    assert response.status_code == 200, (url, response.status_code)
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--calls", action="store_true", help="print Python calls per request")
    options = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="ecitizen-bench-")
    os.environ.update(BENCH_ENV)
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
    os.environ["VAR_DIR"] = workdir

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    call_command("demo", "--allow-production", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from ecitizen.accounts.models import User
    from ecitizen.accounts.selectors import MFA_VERIFIED_SESSION_KEY
    from ecitizen.cases.models import Case
    from ecitizen.catalogue.models import Service

    resident = User.objects.get(email="resident@riverton.example")
    revenue = User.objects.get(email="revenue.officer@riverton.example")
    officer = User.objects.get(email="licensing.officer@riverton.example")
    profile_id = User.objects.get(email="resident2@riverton.example").profile.pk
    case = Case.objects.filter(applicant=resident).order_by("-submitted_at").first()
    service = Service.objects.filter(slug="freedom-of-information").first() or (
        Service.objects.order_by("slug").first()
    )

    def official(user: User) -> Client:
        client = Client()
        client.force_login(user)
        session = client.session
        session[MFA_VERIFIED_SESSION_KEY] = True  # as after the official's second factor
        session.save()
        return client

    anonymous, signed_in = Client(), Client()
    signed_in.force_login(resident)
    staff, case_worker = official(revenue), official(officer)

    def timed(client: Client, url: str, form: dict[str, str] | None = None) -> float:
        samples = []
        for _ in range(options.rounds):
            start = time.perf_counter()
            response = client.get(url, form) if form else client.get(url)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
        return statistics.median(samples)

    floor = timed(anonymous, "/bench/bare/")
    cases = [
        ("home (anonymous)", anonymous, reverse("core:home")),
        ("service catalogue", anonymous, reverse("catalogue:list")),
        ("service search", anonymous, reverse("catalogue:search"), {"q": "permit"}),
        ("service start page", anonymous, reverse("catalogue:start", args=[service.slug])),
        ("sign-in page", anonymous, reverse("account_login")),
        ("pay by reference", anonymous, reverse("payments:pay_by_reference")),
        ("your account", signed_in, reverse("accounts:home")),
        ("your applications", signed_in, reverse("cases:applications")),
        ("your bills", signed_in, reverse("payments:bills")),
        ("data tracker", signed_in, reverse("accounts:data_tracker")),
        *(
            [("an application", signed_in, reverse("cases:case_detail", args=[case.reference]))]
            if case
            else []
        ),
        ("officer's queue", case_worker, reverse("staff:case_queue")),
        (
            "resident search by national id",
            staff,
            reverse("staff:residents"),
            {"national_id": "RV00000000"},
        ),
        (
            "resident profile (audited view)",
            staff,
            reverse("staff:resident_detail", args=[profile_id]),
        ),
        ("street reports", anonymous, reverse("reports:list")),
        ("Open311 requests.json", anonymous, "/open311/v2/requests.json"),
        ("open data search", anonymous, reverse("opendata:search")),
        ("service performance", anonymous, reverse("insights:performance")),
        ("health", anonymous, reverse("core:healthz")),
    ]
    floor_calls = f" {calls(anonymous, '/bench/bare/'):>8,} calls" if options.calls else ""
    print(  # noqa: T201
        f"floor: bare view behind the same middleware, median of {options.rounds} requests: "
        f"{floor * 1000:.2f} ms{floor_calls}"
    )
    for label, client, url, *form in cases:
        median = timed(client, url, *form)
        counted = f" {calls(client, url, *form):>8,} calls" if options.calls else ""
        print(  # noqa: T201
            f"{label:<34} {median * 1000:8.2f} ms {median / floor:6.1f} x floor{counted}"
        )


if __name__ == "__main__":
    main()

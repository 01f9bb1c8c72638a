"""How much slower are ecitizen's hot pages than a bare Django view on the same stack?

Runs in-process through the full middleware stack (sessions, auth, timeouts, preferences,
allauth) on a throwaway SQLite database with the demo, and prints for each page its median
server time in milliseconds and as a ratio of the floor: a view that returns "ok" behind
the same middleware, measured in the same run. Ratios, not milliseconds, are comparable
between machines (the goal: 10x or less for every hot page; docs/performance.md); nothing
here asserts.

    python bench/pages.py [--rounds 200] [--calls] [--clock cpu] [--against OTHER/src]

``--calls`` also prints the Python function calls of one more request of each page
(cProfile's count, builtins included): they do not move with the machine's load, as the
medians do.

``--clock cpu`` times each request by its thread's CPU time instead of the wall clock: on
a machine others load, a long request is preempted more often than the floor, and its
wall time (and ratio) grows with their load; its CPU time hardly does.

``--against OTHER/src`` compares this code with another copy of it (the ``src`` folder of
a worktree at an earlier commit, with its ``.mo`` files and front-end build): two
processes, each with its own demo database, are asked in turn for batches of
:data:`BATCH` requests of each page, each followed by a few of the floor, so that what
else runs on the machine weighs on both alike (a page's ratio is to the floor of the same
moments). Medians moved by up to a third between separate runs on a
shared machine; interleaved, both sides see the same moments.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import BENCH_ENV

#: Requests a side serves before the other's turn (--against).
BATCH = 20
FLOOR = "floor"

#: (label, client, url, query) of each page; the floor first.
Pages = list[tuple[str, Any, str, dict[str, str] | None]]


def pages() -> Pages:
    """Sets up the run (a throwaway database with the demo, clients signed in as the
    demo's resident and officials) and returns the floor and the hot pages."""
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

    from ecitizen.cases.selectors import QueueFilters, case_queue

    # The case the officer's queue lists first: the page an official opens from it.
    queued = case_queue(user=officer, filters=QueueFilters()).first()
    anonymous, signed_in = Client(), Client()
    signed_in.force_login(resident)
    staff, case_worker = official(revenue), official(officer)
    # The application journey's first step (an open draft of the resident's, started or
    # resumed as the start page's button does): the page a submission shows most.
    started = signed_in.get(reverse("cases:apply_start", args=[service.slug])) if service else None
    first_step = started["Location"] if started is not None and started.status_code == 302 else ""
    case_url = reverse("cases:case_detail", args=[case.reference]) if case else ""
    queued_url = reverse("staff:case_detail", args=[queued.reference]) if queued else ""
    found: list[tuple[str, Client, str, dict[str, str] | None]] = [
        (FLOOR, anonymous, "/bench/bare/", None),
        ("home (anonymous)", anonymous, reverse("core:home"), None),
        ("service catalogue", anonymous, reverse("catalogue:list"), None),
        ("service search", anonymous, reverse("catalogue:search"), {"q": "permit"}),
        ("service start page", anonymous, reverse("catalogue:start", args=[service.slug]), None),
        ("sign-in page", anonymous, reverse("account_login"), None),
        ("pay by reference", anonymous, reverse("payments:pay_by_reference"), None),
        ("your account", signed_in, reverse("accounts:home"), None),
        ("your applications", signed_in, reverse("cases:applications"), None),
        ("your bills", signed_in, reverse("payments:bills"), None),
        ("data tracker", signed_in, reverse("accounts:data_tracker"), None),
        *([("an application", signed_in, case_url, None)] if case_url else []),
        *([("an application's question page", signed_in, first_step, None)] if first_step else []),
        ("officer's queue", case_worker, reverse("staff:case_queue"), None),
        *([("officer's case page (audited)", case_worker, queued_url, None)] if queued_url else []),
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
            None,
        ),
        ("street reports", anonymous, reverse("reports:list"), None),
        ("Open311 requests.json", anonymous, "/open311/v2/requests.json", None),
        ("open data search", anonymous, reverse("opendata:search"), None),
        ("service performance", anonymous, reverse("insights:performance"), None),
        ("health", anonymous, reverse("core:healthz"), None),
    ]
    return found


#: What times a request: the wall clock, or with --cpu the thread's CPU time.
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def timed(
    client: Any, url: str, form: dict[str, str] | None, rounds: int, clock: str = "wall"
) -> list[float]:
    """The seconds each of ``rounds`` requests of the page took, by ``clock``."""
    now = CLOCKS[clock]
    samples = []
    for _ in range(rounds):
        start = now()
        response = client.get(url, form) if form else client.get(url)
        samples.append(now() - start)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def calls(client: Any, url: str, form: dict[str, str] | None) -> int:
    """The Python calls of one request (cProfile's count, builtins included)."""
    profile = cProfile.Profile()
    profile.enable()
    response = client.get(url, form) if form else client.get(url)
    profile.disable()
    assert response.status_code == 200, (url, response.status_code)
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def alone(options: argparse.Namespace) -> None:
    (_floor_label, *floor_page), *hot = pages()
    floor = statistics.median(timed(*floor_page, options.rounds, options.clock))
    floor_calls = f" {calls(*floor_page):>8,} calls" if options.calls else ""
    print(  # noqa: T201
        f"floor: bare view behind the same middleware, median of {options.rounds} requests: "
        f"{floor * 1000:.2f} ms{floor_calls}"
    )
    for label, *page in hot:
        median = statistics.median(timed(*page, options.rounds, options.clock))
        counted = f" {calls(*page):>8,} calls" if options.calls else ""
        print(  # noqa: T201
            f"{label:<34} {median * 1000:8.2f} ms {median / floor:6.1f} x floor{counted}"
        )


def serve(options: argparse.Namespace) -> None:
    """A side of --against: sets up, writes the pages' labels, then answers each line of
    its input (``{"page": i, "rounds": n}``: the samples; ``{"page": i, "calls": true}``:
    the calls of one request) with a line of JSON."""
    found = pages()
    print(json.dumps([label for label, *_page in found]), flush=True)  # noqa: T201
    for line in sys.stdin:
        asked = json.loads(line)
        _label, *page = found[asked["page"]]
        if asked.get("calls"):
            answer: Any = calls(*page)
        else:
            answer = timed(*page, asked["rounds"], options.clock)
        print(json.dumps(answer), flush=True)  # noqa: T201


class Side:
    """One of the two processes of --against: this code, or the other copy's."""

    def __init__(self, src: str | None, clock: str) -> None:
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, __file__, "--serve", "--clock", clock],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.labels: list[str] = self._read()

    def _read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("a side of the comparison stopped (run it alone to see why)")
        return json.loads(line)

    def ask(self, **request: Any) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()


def against(options: argparse.Namespace) -> None:
    before, after = Side(options.against, options.clock), Side(None, options.clock)
    if before.labels != after.labels:
        raise SystemExit("the two copies do not bench the same pages")
    sides = {"before": before, "after": after}
    # Per page and side: the page's samples, and the floor's taken between its batches
    # (each page's ratio is to the floor of the same moments).
    samples: dict[str, dict[int, list[float]]] = {name: {} for name in sides}
    floors: dict[str, dict[int, list[float]]] = {name: {} for name in sides}
    for index in range(1, len(after.labels)):
        for _batch in range(max(1, options.rounds // BATCH)):
            for name, side in sides.items():
                samples[name].setdefault(index, []).extend(side.ask(page=index, rounds=BATCH))
                floors[name].setdefault(index, []).extend(side.ask(page=0, rounds=BATCH // 2))
    everything = {name: [t for found in floors[name].values() for t in found] for name in sides}
    print(  # noqa: T201
        f"floor, median of {len(everything['after'])} requests each: "
        + ", ".join(f"{name} {statistics.median(everything[name]) * 1000:.2f} ms" for name in sides)
    )
    for index, label in enumerate(after.labels[1:], start=1):
        line = f"{label:<34}"
        for name, side in sides.items():
            median = statistics.median(samples[name][index])
            floor = statistics.median(floors[name][index])
            line += f" {name} {median * 1000:7.2f} ms {median / floor:5.1f} x"
            if options.calls:
                line += f" {side.ask(page=index, calls=True):>7,} calls"
        print(line)  # noqa: T201
    for side in sides.values():
        assert side.process.stdin is not None
        side.process.stdin.close()
        side.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--calls", action="store_true", help="print Python calls per request")
    parser.add_argument(
        "--against", metavar="OTHER/src", help="compare, interleaved, with the code in OTHER/src"
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="time requests by the wall clock or by the thread's CPU time (a loaded machine "
        "preempts long requests more often than short ones: their wall time grows more)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(options)
    elif options.against:
        against(options)
    else:
        alone(options)


if __name__ == "__main__":
    main()

"""How much load does ecitizen take in its production set-up, and where does it break?

A Locust scenario, run in this process through Locust's library API, against the platform
as production runs it: gunicorn (ecitizen's configuration, gthread workers, as
``deploy/systemd/ecitizen-web.service``), ``ecitizen worker`` processes on the database
queue, PostgreSQL, ``DEBUG=false``; a throwaway database with the Riverton demo.

The mix (``MIX``), as visits arriving at ``--rate`` a second (Poisson arrivals, an open
model: the rate does not drop when the server slows down):

- anonymous: the catalogue and its search, open data (search page, CKAN
  ``package_search``, a dataset), Open311 (services, requests in a 500 m box, one
  request), the public performance dashboard;
- residents with an authenticator signing in (password, TOTP code, account, sign out);
- signed-in residents applying, page by page to the confirmation: a freedom-of-information
  request, or one time in three a building permit with a PDF upload;
- paying: a signed-in resident pays a bill, a visitor pays a fine by reference and
  postcode, both on the sandbox's card page (its webhooks are then posted by the worker);
- officers (signed in with TOTP): the queue of new requests, a case, a transition.

Every step is a named request; a visit counts as completed only when its last page says
so. Beside them, a bare "ok" view on the same server (``/bench/bare/``), requested all
along: the floor, measured under the same load. It prints, per step and overall, requests
a second, p50/p95/p99 and errors, each step's p50 and p95 as a ratio of the floor's, the
CPU seconds of the web processes, the workers, PostgreSQL and this process, the task
queue after the run, and what the database's backends waited for. ``--find-knee`` steps
the rate up until p95 passes 300 ms, a request fails or arrivals are not kept up with.

    python bench/load.py [--seconds 30] [--rate 4] [--find-knee [--rates 1,2,3...]]
        [--users N] [--web-workers 3] [--threads 2] [--task-workers 1] [--scheduler]
        [--mix apply=1] [--reuse-db NAME] [--keep] [--json FILE] [--profile]

docs/performance.md ("Load") describes the scenario and its figures.

Loopback only: the database must be on this machine, the server is started here on
127.0.0.1, and Locust is pointed at nothing else. Everything started is stopped at the
end, also on Ctrl+C; the database is dropped unless ``--keep`` or ``--reuse-db``.
"""

from __future__ import annotations

# Locust's users run on gevent: patch the standard library before anything imports it.
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load_profile  # noqa: E402
from bench import load_users as scenario  # noqa: E402
from bench.load_stack import (  # noqa: E402
    DATABASE_COUNTERS,
    CpuSampler,
    Stack,
    WaitSampler,
    database_counters,
    psql,
    require_loopback,
    say,
    server_timings,
    table_counters,
    table_reads,
)

#: Share of the visits of each kind (they add up to 1), and how many seconds one may take
#: before the simulated people of its kind are all busy: at each rate there are
#: rate x share x seconds of them (at least 2), so that arrivals are not held back
#: unless visits take that long (then they are late, and the report says so).
MIX: dict[type[scenario.Visitor], tuple[float, float]] = {
    scenario.CatalogueVisitor: (0.25, 10),
    scenario.OpenDataVisitor: (0.10, 10),
    scenario.Open311Visitor: (0.10, 10),
    scenario.DashboardVisitor: (0.05, 10),
    scenario.SignInVisitor: (0.05, 15),
    scenario.Applicant: (0.30, 25),
    scenario.BillPayer: (0.05, 15),
    scenario.PayByReference: (0.05, 15),
    scenario.Officer: (0.05, 15),
}
KNEE_RATES = [1, 2, 3, 4, 6, 8, 10, 13, 16, 20, 25, 30]
P95_LIMIT_MS = 300
FLOOR_RATE = 5.0  # bare-view requests a second during the runs
IDLE_FLOOR = (20.0, 10)  # rate and seconds of the floor alone, before the runs


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="measured seconds per rate")
    parser.add_argument("--rate", type=float, default=4.0, help="visits a second (one run)")
    parser.add_argument(
        "--find-knee", action="store_true", help="step the rate up (--rates) until it breaks"
    )
    parser.add_argument(
        "--rates",
        default=",".join(str(rate) for rate in KNEE_RATES),
        help="the rates --find-knee tries, in order",
    )
    parser.add_argument(
        "--users", type=int, default=0, help="simulated people in all (default: from the rate)"
    )
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--task-workers", type=int, default=1, help="ecitizen worker processes")
    parser.add_argument(
        "--scheduler",
        action="store_true",
        help="also run ecitizen scheduler (on a fresh database every job is due at once)",
    )
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured seconds per rate")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="stop a run after so many requests"
    )
    add_run_options(parser, mix_help="other shares of visits, e.g. apply=1 (only applications)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the web and task processes with py-spy during each window",
    )
    parser.add_argument("--py-spy", metavar="PATH", help="the py-spy to use (default: on PATH)")
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=0,
        help="before each window, wait (up to 10 min) for the 1-minute load average to fall "
        "below this (the machine is shared)",
    )
    options = parser.parse_args()
    options.plan = (
        [float(rate) for rate in options.rates.split(",")] if options.find_knee else [options.rate]
    )
    if min(options.plan) <= 0 or options.seconds <= 0:
        parser.error("rates and seconds must be positive")
    options.mix = parse_mix(options.mix_text, parser) if options.mix_text else dict(MIX)
    return options


def add_run_options(
    parser: argparse.ArgumentParser, *, mix_help: str, mix_default: str | None = None
) -> None:
    """The options of a run's database, results and visits (``bench/scale_out.py`` too)."""
    parser.add_argument("--reuse-db", metavar="NAME", help="a database that has the demo already")
    parser.add_argument("--keep", action="store_true", help="keep the database and its files")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON too")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--mix",
        dest="mix_text",
        default=mix_default,
        metavar="KIND=SHARE,...",
        help=f"{mix_help}; kinds: " + ", ".join(kind.key for kind in MIX),
    )
    parser.add_argument(
        "--permit-share",
        type=float,
        default=1 / 3,
        help="share of applications that are building permits with an upload (the rest: FOI)",
    )


def parse_mix(
    text: str, parser: argparse.ArgumentParser
) -> dict[type[scenario.Visitor], tuple[float, float]]:
    """``--mix KIND=SHARE,...``: the shares given (the others 0), scaled to add up to 1."""
    keys = {kind.key: kind for kind in MIX}
    shares = {}
    for item in text.split(","):
        key, _, share = item.partition("=")
        if key.strip() not in keys:
            parser.error(f"--mix: no kind of visit {key!r} (kinds: {', '.join(keys)})")
        try:
            shares[keys[key.strip()]] = float(share or 1)
        except ValueError:
            parser.error(f"--mix: {share!r} is not a number")
    total = sum(shares.values())
    if total <= 0 or min(shares.values()) < 0:
        parser.error("--mix: the shares must be positive")
    return {kind: (shares.get(kind, 0.0) / total, busy) for kind, (_share, busy) in MIX.items()}


# --- planning -------------------------------------------------------------------------------


def people(options: argparse.Namespace, rate: float) -> dict[type[scenario.Visitor], int]:
    """Simulated people of each kind at ``rate``: enough for the visits to overlap (or
    ``--users`` in all, shared out the same way at the highest rate)."""
    if options.users:
        top = max(options.plan)
        needed = {kind: top * share * busy for kind, (share, busy) in options.mix.items()}
        total = sum(needed.values())
        return {
            kind: max(1, round(options.users * count / total)) if count else 0
            for kind, count in needed.items()
        }
    return {
        kind: max(2, math.ceil(rate * share * busy)) if share else 0
        for kind, (share, busy) in options.mix.items()
    }


def pool_sizes(options: argparse.Namespace, crowd: dict[type[scenario.Visitor], int]) -> dict:
    """How many accounts, bills and fines the runs may use (with a margin)."""
    seconds = options.seconds + options.warmup + 15
    visits = {
        kind: sum(rate * share * seconds for rate in options.plan) * 1.5 + 10
        for kind, (share, _busy) in options.mix.items()
    }
    payers = max(1, crowd[scenario.BillPayer])
    top_signins = max(options.plan) * options.mix[scenario.SignInVisitor][0]
    return {
        "applicants": max(1, crowd[scenario.Applicant]),
        # One sign-in per account per 30-second period (codes are single use).
        "signers": max(20, math.ceil(top_signins * 30 * 2)),
        "payers": payers,
        "invoices": payers * max(5, math.ceil(visits[scenario.BillPayer] / payers * 2)),
        "fines": math.ceil(visits[scenario.PayByReference]),
        "officers": max(1, crowd[scenario.Officer]),
    }


# --- measuring ------------------------------------------------------------------------------


def _entry_figures(entry: Any, seconds: float) -> dict[str, Any]:
    count = entry.num_requests
    return {
        "requests": count,
        "rps": count / seconds if seconds else 0.0,
        "p50": entry.get_response_time_percentile(0.5) if count else None,
        "p95": entry.get_response_time_percentile(0.95) if count else None,
        "p99": entry.get_response_time_percentile(0.99) if count else None,
        "mean": entry.avg_response_time if count else None,
        "errors": entry.num_failures,
    }


def snapshot(environment: Any, seconds: float) -> dict[str, Any]:
    """Locust's figures of the window: per step, the floor, and overall (without it)."""
    from locust.stats import StatsEntry

    steps: dict[str, Any] = {}
    floor: dict[str, Any] = {}
    overall = StatsEntry(environment.stats, "overall", "")
    for (name, _method), entry in sorted(environment.stats.entries.items()):
        if name.startswith("floor:"):
            floor = _entry_figures(entry, seconds)
            continue
        steps[name] = _entry_figures(entry, seconds)
        overall.extend(entry)
    errors = [
        {"step": error.name, "error": str(error.error), "count": error.occurrences}
        for error in environment.stats.errors.values()
    ]
    errors.sort(key=lambda item: -item["count"])
    return {
        "steps": steps,
        "floor": floor,
        "overall": _entry_figures(overall, seconds),
        "errors": errors,
    }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def visits_report(seconds: float) -> dict[str, Any]:
    result = {}
    for kind, stats in scenario.VISITS.items():
        if kind == "floor":
            continue
        result[kind] = {
            "started": stats.started,
            "completed": stats.completed,
            "failed": stats.failed,
            "completed_per_s": stats.completed / seconds,
            "duration_p50_s": _quantile(stats.durations, 0.5),
            "duration_p95_s": _quantile(stats.durations, 0.95),
            "lag_p95_s": _quantile(stats.lags, 0.95),
            **dict(stats.extra),
            "failures": dict(stats.reasons),
        }
    return result


def queue_state(stack: Stack) -> dict[str, Any]:
    """Tasks waiting in the database queue now: how many, and the oldest one's wait."""
    rows = psql(
        stack.url,
        "SELECT count(*), coalesce(max(extract(epoch FROM now() - run_after)), 0) "
        "FROM django_tasks_database_dbtaskresult WHERE status = 'READY' AND run_after <= now()",
    )
    ready, oldest = rows[0]
    return {"ready": int(ready), "oldest_s": round(float(oldest), 1)}


def drain(stack: Stack, limit: float = 120) -> dict[str, Any]:
    """Wait (up to ``limit`` seconds) for the workers to empty the queue."""
    deadline = time.monotonic() + limit
    state = queue_state(stack)
    while state["ready"] and time.monotonic() < deadline:
        gevent.sleep(2)
        state = queue_state(stack)
    return state


class Run:
    """One Locust environment for all the rates: the people sign in once, then each rate
    is a window of arrivals. ``closed``: the people take visits back to back instead
    (each kind's queue is kept full; the floor still arrives at its rate), so the load is
    a fixed number of visits under way (``bench/scale_out.py``)."""

    def __init__(
        self,
        stack: Stack,
        options: argparse.Namespace,
        data: dict[str, Any],
        *,
        closed: bool = False,
    ) -> None:
        from locust.env import Environment

        scenario.configure(data)
        self.stack = stack
        self.options = options
        self.closed = closed
        self.rng = random.Random(options.seed)  # noqa: S311 - arrival times
        self.crowd = dict.fromkeys(MIX, 0)
        self.classes = {base: scenario.user_class(base, 0) for base in MIX}
        self.floor = scenario.user_class(scenario.Floor, 0)
        self.environment = Environment(
            user_classes=[*self.classes.values(), self.floor], host=stack.server
        )
        require_loopback(self.environment.host, "the load's target")
        for user_class in self.environment.user_classes:
            user_class.host = stack.server
        self.client_errors: list[str] = []
        self.environment.events.user_error.add_listener(
            lambda user_instance, exception, tb: self.client_errors.append(repr(exception))
        )
        self.requests = 0
        self.environment.events.request.add_listener(self._count)
        self.runner = self.environment.create_local_runner()
        self.arrivals: list[gevent.Greenlet] = []
        self.floor_started = False

    def _count(self, **_kwargs: Any) -> None:
        self.requests += 1
        if self.requests == self.options.max_requests:
            say(f"  {self.requests} requests: the run stops here (--max-requests)")
            gevent.spawn(self.runner.quit)

    def grow(self, rate: float) -> None:
        """Add the simulated people ``rate`` needs, a few at a time (those who keep a
        session sign in as they start), and wait until they have."""
        wanted = people(self.options, rate)
        missing = {base: max(0, n - self.crowd[base]) for base, n in wanted.items()}
        if not self.floor_started:
            self.runner.spawn_users({self.floor.__name__: 3})
            self.floor_started = True
        if not any(missing.values()):
            return
        say(f"  {sum(missing.values())} more simulated people (sessions sign in now)...")
        sessions = (scenario.Applicant, scenario.BillPayer, scenario.Officer)
        expected = scenario.SESSIONS["signed in"] + scenario.SESSIONS["failed"]
        expected += sum(missing[base] for base in sessions)
        for base, count in missing.items():
            for start in range(0, count, 4):
                self.runner.spawn_users({self.classes[base].__name__: min(4, count - start)})
                gevent.sleep(0.5)
            self.crowd[base] += count
        deadline = time.monotonic() + 600
        while scenario.SESSIONS["signed in"] + scenario.SESSIONS["failed"] < expected:
            if time.monotonic() > deadline:
                raise SystemExit("the simulated people did not all sign in in 10 minutes")
            gevent.sleep(0.5)
        if scenario.SESSIONS["failed"]:
            say(f"  {scenario.SESSIONS['failed']} sign-ins failed so far (their visits retry)")

    def _arrive(self, rates: dict[type[scenario.Visitor], float]) -> None:
        bases = {kind: base for base, kind in self.classes.items()}
        # A closed window's queues are kept full no longer than it can last.
        horizon = self.options.warmup + self.options.seconds + 60
        for kind, rate in rates.items():
            if rate <= 0:
                continue
            if self.closed and kind in bases:
                backlog = max(1, self.crowd[bases[kind]])
                self.arrivals.append(scenario.saturate(kind, backlog, horizon))
            else:
                self.arrivals.append(scenario.arrivals(kind, rate, self.rng))

    def _stop_arrivals(self) -> None:
        gevent.killall(self.arrivals)
        self.arrivals.clear()
        for kind in [*self.classes.values(), self.floor]:
            while not kind.arrivals.empty():
                kind.arrivals.get_nowait()

    def _reset(self) -> None:
        self.environment.stats.reset_all()
        scenario.reset_visits()
        for kind in self.classes.values():
            kind.arrived = 0

    def _quiet(self) -> None:
        """Wait for the shared machine's load to fall below ``--quiet-load``."""
        limit = self.options.quiet_load
        deadline = time.monotonic() + 600
        if limit and os.getloadavg()[0] >= limit:
            say(f"  waiting for the load average ({os.getloadavg()[0]:.1f}) to fall below {limit}")
            while os.getloadavg()[0] >= limit and time.monotonic() < deadline:
                gevent.sleep(5)

    def idle_floor(self) -> dict[str, Any]:
        rate, seconds = IDLE_FLOOR
        self._reset()
        self._arrive({self.floor: rate})
        gevent.sleep(seconds)
        figures = snapshot(self.environment, seconds)["floor"]
        self._stop_arrivals()
        return figures

    def window(self, rate: float) -> dict[str, Any]:
        self.grow(rate)
        rates = {
            self.classes[base]: rate * share for base, (share, _busy) in self.options.mix.items()
        }
        rates[self.floor] = FLOOR_RATE
        queue_before = drain(self.stack)
        self._quiet()
        self._arrive(rates)
        gevent.sleep(self.options.warmup)
        self._reset()
        cpu, waits = CpuSampler(self.stack), WaitSampler(self.stack)
        profiles = self._profile(rate)
        counters, tables = database_counters(self.stack), table_counters(self.stack)
        cpu.start()
        waits.start()
        started, unix_start = time.perf_counter(), time.time()
        end = started + self.options.seconds
        while time.perf_counter() < end and self.runner.state not in {"stopping", "stopped"}:
            gevent.sleep(0.2)
        seconds = time.perf_counter() - started
        figures = snapshot(self.environment, seconds)
        visits = visits_report(seconds)
        arrived = sum(kind.arrived for kind in self.classes.values())
        backlog = sum(kind.arrivals.qsize() for kind in self.classes.values())
        machine = cpu.stop()
        backend_waits = waits.stop()
        after = database_counters(self.stack)
        database = {name: after[name] - counters[name] for name in DATABASE_COUNTERS}
        database["tables"] = table_reads(tables, table_counters(self.stack))
        self._stop_arrivals()
        queue_after = queue_state(self.stack)
        profile = {}
        for role, (process, out) in profiles.items():
            process.wait()
            profile[role] = load_profile.summarise(out)
        # The visits under way finish (unmeasured) before the next rate starts.
        gevent.sleep(5)
        return {
            "rate": rate,
            "people": {base.kind: count for base, count in self.crowd.items()},
            "seconds": seconds,
            **figures,
            "visits": visits,
            "visits_arrived": arrived,
            "visits_waiting_at_end": backlog,
            "submissions_per_s": sum(
                count
                for kind, item in visits.items()
                for key, count in item.items()
                if kind == "apply" and key.startswith("submitted")
            )
            / seconds,
            "cpu": machine,
            "backend_waits": backend_waits,
            "database": database,
            "queue_before": queue_before,
            "queue_after": queue_after,
            "server": server_timings(
                self.stack.workdir / "web.log", unix_start, unix_start + seconds
            ),
            "client_errors": sorted(set(self.client_errors))[:10],
            "profile": profile,
        }

    def _profile(self, rate: float) -> dict[str, Any]:
        """py-spy on the web processes and on each task worker for the window."""
        if not self.options.profile:
            return {}
        py_spy = load_profile.find_py_spy(self.options.py_spy)
        started = {}
        for role in ("web", "worker"):
            for number, pid in enumerate(self.stack.pids(role)):
                out = self.stack.workdir / f"profile-{role}-{number}-{rate:g}.txt"
                started[f"{role} {number}"] = (
                    load_profile.start(py_spy, pid, self.options.seconds, out),
                    out,
                )
        return started

    def stop(self) -> None:
        self._stop_arrivals()
        self.runner.quit()


# --- reporting ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _ratio(value: float | None, floor: float | None) -> str:
    return "-" if not value or not floor else f"{value / floor:.1f}"


def verdict(result: dict[str, Any]) -> list[str]:
    """Why this rate is past the knee (nothing: it is within)."""
    reasons = []
    overall = result["overall"]
    if (overall["p95"] or 0) > P95_LIMIT_MS:
        reasons.append(f"p95 {overall['p95']:.0f} ms > {P95_LIMIT_MS} ms")
    failures = overall["errors"] + (result["floor"].get("errors") or 0)
    if failures:
        reasons.append(f"{failures} failed requests")
    failed_visits = sum(item["failed"] for item in result["visits"].values())
    if failed_visits:
        reasons.append(f"{failed_visits} failed visits")
    late = max((item["lag_p95_s"] or 0.0 for item in result["visits"].values()), default=0.0)
    if late > 1 or result["visits_waiting_at_end"] > max(2, 0.05 * result["visits_arrived"]):
        reasons.append(
            f"arrivals not kept up with (late p95 {late:.1f} s, "
            f"{result['visits_waiting_at_end']} of {result['visits_arrived']} waiting at the end)"
        )
    return reasons


def _row(label: str, item: dict[str, Any], floor: dict[str, Any] | None = None) -> str:
    text = (
        f"{label[:47]:<48}{item['rps']:7.2f}{_ms(item['p50']):>7}{_ms(item['p95']):>7}"
        f"{_ms(item['p99']):>7}{item['errors']:5d}"
    )
    if floor is not None:
        text += f"{_ratio(item['p50'], floor.get('p50')):>11}"
        text += f"{_ratio(item['p95'], floor.get('p95')):>11}"
    return text


def _print_steps(result: dict[str, Any], idle: dict[str, Any]) -> None:
    floor = result["floor"]
    say(
        f"{'step':<48}{'req/s':>7}{'p50':>7}{'p95':>7}{'p99':>7}{'err':>5}"
        f"{'p50/floor':>11}{'p95/floor':>11}"
    )
    for name, item in result["steps"].items():
        if item["requests"]:  # (the sign-ins of people who keep a session came before)
            say(_row(name, item, floor))
    say(_row("OVERALL (without the floor)", result["overall"], floor))
    if floor:
        say(_row("floor: bare view, same server, under this load", floor))
    say(_row("floor: bare view, idle server (before the runs)", idle))


VISIT_FIGURES = {
    "started",
    "completed",
    "failed",
    "completed_per_s",
    "duration_p50_s",
    "duration_p95_s",
    "lag_p95_s",
    "failures",
}


def _print_visits(result: dict[str, Any]) -> None:
    seconds, overall = result["seconds"], result["overall"]
    submitted = result["submissions_per_s"] * seconds
    if submitted:
        applying = sum(
            item["requests"] for name, item in result["steps"].items() if name.startswith("apply ")
        )
        say(
            f"per completed submission: {overall['requests'] / submitted:.1f} requests, of "
            f"which {applying / submitted:.1f} applying and "
            f"{(overall['requests'] - applying) / submitted:.1f} others"
        )
    webhooks = result["server"].get("POST payments/webhooks/<slug:provider>/", {}).get("count", 0)
    say(f"sandbox webhooks received from the worker: {webhooks}")
    say("visits (completed only when the last page says so):")
    for kind, item in result["visits"].items():
        extra = {key: value for key, value in item.items() if key not in VISIT_FIGURES}
        say(
            f"  {kind:<32} started {item['started']:4d}  completed {item['completed']:4d} "
            f"({item['completed_per_s']:.2f}/s)  failed {item['failed']:3d}  "
            f"visit p50/p95 {item['duration_p50_s'] or 0:.2f}/{item['duration_p95_s'] or 0:.2f} s"
            f"  late p95 {item['lag_p95_s'] or 0:.2f} s" + (f"  {extra}" if extra else "")
        )
        for reason, count in sorted(item["failures"].items(), key=lambda pair: -pair[1])[:3]:
            say(f"    failed x{count}: {reason}")
    for error in result["errors"][:8]:
        say(f"  ERROR x{error['count']}: {error['step']}: {error['error'][:150]}")
    for error in result["client_errors"]:
        say(f"  CLIENT ERROR: {error[:150]}")


def _print_machine(result: dict[str, Any]) -> None:
    cpu, seconds = result["cpu"], result["seconds"]
    cores = cpu["cores"] or 1
    capacity = cpu["seconds"] * cores
    say(
        f"CPU seconds in {cpu['seconds']:.0f} s on {cores} cores "
        f"(share of the machine's {capacity:.0f} CPU-seconds):"
    )
    for group, value in sorted(cpu["cpu_seconds"].items(), key=lambda item: -item[1]):
        say(f"  {group:<34}{value:7.1f}  ({100 * value / capacity:4.1f} %)")
    others = cpu["others_seconds"]
    say(
        f"  {'everything else on the machine':<34}{others:7.1f}  ({100 * others / capacity:4.1f} %)"
    )
    requests = result["overall"]["requests"] + (result["floor"].get("requests") or 0)
    if requests:
        web = cpu["cpu_seconds"].get("web", 0.0)
        platform = platform_cpu(cpu)
        say(
            f"  CPU per request: web {1000 * web / requests:.1f} ms, the platform (web, "
            f"workers, PostgreSQL) {1000 * platform / requests:.1f} ms: with the "
            f"{cores} cores to itself it would reach at most "
            f"{cores * requests / platform:.0f} requests/s"
        )
    load = cpu["load_average"]
    say(
        f"load average: {load['start']:.1f} at the start, {load['mean']:.1f} mean, "
        f"{load['end']:.1f} at the end"
    )
    if result["backend_waits"]:
        waits = ", ".join(f"{event} {count}" for event, count in result["backend_waits"].items())
        say(f"active PostgreSQL backends of this database, mean per second: {waits}")
    database = result["database"]
    if requests:
        read = database["tup_returned"] + database["tup_fetched"]
        written = database["tup_inserted"] + database["tup_updated"] + database["tup_deleted"]
        say(
            f"PostgreSQL: {database['xact_commit'] / seconds:.0f} commits/s "
            f"({database['xact_commit'] / requests:.1f} a request), "
            f"{database['xact_rollback']} rollbacks, {database['deadlocks']} deadlocks; rows "
            f"read {read / requests:.0f}, written {written / requests:.1f} a request"
        )
    if requests and database.get("tables"):
        say("  tables read most (rows a request: by sequential scans / through indexes):")
        for name, scans, read, fetched in database["tables"][:5]:
            say(
                f"    {name:<32}{read / requests:9.0f} / {fetched / requests:6.0f}"
                f"   ({scans} sequential scans)"
            )
    say(
        f"task queue: {result['queue_before']['ready']} ready before, "
        f"{result['queue_after']['ready']} ready after (oldest waiting "
        f"{result['queue_after']['oldest_s']:.0f} s)"
    )
    costliest = sorted(
        result["server"].items(), key=lambda pair: -pair[1]["count"] * pair[1]["p50"]
    )
    if costliest:
        say("server's own time (request log), the routes costing most:")
        for route, item in costliest[:12]:
            say(
                f"  {route[:60]:<62}{item['count']:6d}  p50 {item['p50']:6.1f}  "
                f"p95 {item['p95']:6.1f} ms"
            )


def platform_cpu(cpu: dict[str, Any]) -> float:
    """CPU seconds of the platform's own processes: web, workers, PostgreSQL."""
    return sum(
        value
        for group, value in cpu["cpu_seconds"].items()
        if group in {"web", "workers"} or group.startswith("PostgreSQL")
    )


def print_result(result: dict[str, Any], idle: dict[str, Any]) -> None:
    say()
    say(
        f"== {result['rate']:g} visits/s for {result['seconds']:.0f} s: "
        f"{result['overall']['rps']:.1f} requests/s, "
        f"{result['submissions_per_s']:.2f} completed submissions/s"
    )
    _print_steps(result, idle)
    _print_visits(result)
    _print_machine(result)
    for role, summary in result.get("profile", {}).items():
        load_profile.report(f"profile of {role}", summary, say)
    reasons = verdict(result)
    say("within the knee" if not reasons else "PAST THE KNEE: " + "; ".join(reasons))


def print_summary(results: list[dict[str, Any]]) -> float | None:
    say()
    say("== summary")
    say(
        f"{'visits/s':>9}{'req/s':>8}{'subm/s':>8}{'p50':>6}{'p95':>6}{'p99':>6}{'err':>6}"
        f"{'floor p95':>10}{'web CPU':>9}{'pg CPU':>8}{'others':>8}{'ms/req':>8}{'load':>6}"
        "  verdict"
    )
    knee = None
    for result in results:
        overall, cpu = result["overall"], result["cpu"]
        requests = overall["requests"] + (result["floor"].get("requests") or 0)
        reasons = verdict(result)
        if not reasons:
            knee = result["rate"]
        pg = sum(
            value for group, value in cpu["cpu_seconds"].items() if group.startswith("PostgreSQL")
        )
        say(
            f"{result['rate']:9g}{overall['rps']:8.1f}{result['submissions_per_s']:8.2f}"
            f"{_ms(overall['p50']):>6}{_ms(overall['p95']):>6}{_ms(overall['p99']):>6}"
            f"{overall['errors']:6d}{_ms(result['floor'].get('p95')):>10}"
            f"{cpu['cpu_seconds'].get('web', 0) / cpu['seconds']:9.2f}{pg / cpu['seconds']:8.2f}"
            f"{cpu['others_seconds'] / cpu['seconds']:8.2f}"
            f"{1000 * platform_cpu(cpu) / max(1, requests):8.1f}"
            f"{cpu['load_average']['mean']:6.1f}  {'ok' if not reasons else '; '.join(reasons)}"
        )
    say(
        "(web CPU, pg CPU: cores they kept busy on average; others: cores used by everything "
        "else on the machine; ms/req: CPU of web, workers and PostgreSQL per request)"
    )
    if knee is not None:
        say(f"knee: {knee:g} visits/s is the highest rate with p95 <= {P95_LIMIT_MS} ms, no error")
    else:
        say("knee: below the lowest rate tried")
    return knee


def stack_for(options: argparse.Namespace, prefix: str, *, web_workers: int) -> Stack:
    """The set-up of a run on ``DATABASE_URL``'s server (``--reuse-db``, ``--keep``,
    ``--threads``, ``--task-workers``, ``--scheduler``), SIGTERM stopping the run as
    Ctrl+C does (everything started is stopped)."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith(("postgres://", "postgresql://")):
        raise SystemExit("DATABASE_URL must name a PostgreSQL server on this machine")
    stack = Stack(
        base_url=base,
        name=options.reuse_db or f"{prefix}_{os.getpid()}",
        reuse=bool(options.reuse_db),
        keep=options.keep,
        web_workers=web_workers,
        threads=options.threads,
        task_workers=options.task_workers,
        scheduler=options.scheduler,
    )
    main_greenlet = gevent.getcurrent()
    gevent.signal_handler(signal.SIGTERM, lambda: gevent.kill(main_greenlet, KeyboardInterrupt))
    return stack


def prepare_data(stack: Stack, options: argparse.Namespace) -> dict[str, Any]:
    """The database with the demo and its tasks run, then the scenario's accounts, bills
    and fines (``data["pools"]``: how many of each): what :class:`Run` takes."""
    stack.create()
    stack.prepare()
    say("running the tasks the demo left (receipts, messages)...")
    stack.ecitizen("worker", "--batch", "--queue-name", "*", log="setup.log")
    sizes = pool_sizes(options, people(options, max(options.plan)))
    say(f"load accounts, bills and fines: {sizes}")
    data = stack.django("prepare", sizes)
    data["pdf"] = bytes.fromhex(data["pdf"])
    data["permit_share"] = options.permit_share
    data["pools"] = sizes
    return data


def write_json(path: str, options: argparse.Namespace, **parts: Any) -> None:
    """The options, the mix, the machine and ``parts`` as JSON in ``path``."""
    Path(path).write_text(
        json.dumps(
            {
                "options": {
                    key: value for key, value in vars(options).items() if key not in {"plan", "mix"}
                },
                "mix": {kind.key: share for kind, (share, _b) in options.mix.items()},
                "machine": {"cores": os.cpu_count()},
                **parts,
            },
            indent=1,
            default=str,
        )
    )
    say(f"results written to {path}")


def run_script(main: Callable[[], None]) -> None:
    """Run a bench's ``main``; Ctrl+C (or SIGTERM) ends it with status 130."""
    try:
        main()
    except KeyboardInterrupt:
        say("stopped: everything this run started has been stopped")
        sys.exit(130)


def main() -> None:
    options = parse()
    say(
        "mix (share of visits): "
        + ", ".join(
            f"{kind.kind} {share:.0%}" for kind, (share, _busy) in options.mix.items() if share
        )
    )
    stack = stack_for(options, "ecitizen_load", web_workers=options.web_workers)
    results: list[dict[str, Any]] = []
    idle: dict[str, Any] = {}
    with stack:
        data = prepare_data(stack, options)
        stack.start()
        say(
            f"server: gunicorn {options.web_workers} workers x {options.threads} threads on "
            f"{stack.server}; {options.task_workers} task worker(s)"
            + ("; scheduler" if options.scheduler else "")
        )
        run = Run(stack, options, data)
        try:
            run.grow(0)
            gevent.sleep(2)
            idle = run.idle_floor()
            say(
                f"floor, idle server: p50 {_ms(idle['p50'])} ms, p95 {_ms(idle['p95'])} ms "
                f"({idle['requests']} requests)"
            )
            for rate in options.plan:
                say(f"rate {rate:g} visits/s: {options.warmup} s warm-up, {options.seconds} s...")
                result = run.window(rate)
                results.append(result)
                print_result(result, idle)
                if options.find_knee and verdict(result):
                    break
                if run.runner.state in {"stopping", "stopped"}:
                    break
        finally:
            run.stop()
            knee = print_summary(results) if results else None
            if options.json and results:
                write_json(
                    options.json,
                    options,
                    pools=data["pools"],
                    idle_floor=idle,
                    results=results,
                    knee_visits_per_s=knee,
                )


if __name__ == "__main__":
    run_script(main)

"""Does throughput rise with web processes behind a load balancer, and where does it stop?

Starts 1, 2, 3... single-worker gunicorn processes (ecitizen's configuration, gthread, as
``deploy/systemd/ecitizen-web.service`` runs them) on their own loopback ports, standing
for separate machines, behind Debian's HAProxy with the shipped configuration
(``deploy/haproxy/haproxy.cfg``, its server list filled in with as many servers as there
are processes), ``ecitizen worker`` processes, and one PostgreSQL with the Riverton demo
(``bench/load_stack.py``). For each number of processes, the people of the load scenario
(``bench/load_users.py``) take visits back to back, a fixed number under way (a closed
model at ``--users``, enough to keep every process busy): mostly reading (catalogue and
search, open data, Open311, dashboards) and signed in (applying page by page, an officer's
queue and transition), their sessions in the database whichever process answers. It
prints, per number of processes: requests a second and their ratio to the first step,
p50/p95, errors, and the CPU split (web processes, PostgreSQL, HAProxy, workers, the load
generator, everything else on the machine) with the machine's utilisation, so that the
reader sees what limits it.

    python -m bench.scale_out [--max-processes 3 | --processes 1,2,3] [--seconds 20]
        [--warmup 10] [--users 24] [--reuse-db NAME] [--keep] [--json FILE]

docs/performance.md ("Scale out") has the figures. Loopback only; every wait is bounded;
everything started (gunicorns, workers, HAProxy) is stopped at the end, also on Ctrl+C,
SIGTERM or an error, and the database is dropped unless ``--keep`` or ``--reuse-db``.
"""

from __future__ import annotations

# Locust's users run on gevent: patch the standard library before anything imports it.
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load  # noqa: E402
from bench.load_stack import ROOT, Stack, free_port, say  # noqa: E402

HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
#: The shipped configuration's server lines, replaced by one per web process.
SERVER_LINE = re.compile(r'^[ \t]*server web\d+ "\$\{ECITIZEN_WEB\d+\}" check[ \t]*\n', re.M)
PROCESS_LIMIT = 8
#: Read-heavy, with signed-in residents and officers (no payments and no TOTP sign-ins:
#: their bills, fines and single-use codes run out when visits come back to back).
MIX = "catalogue=35,opendata=15,open311=15,dashboards=5,apply=25,officer=5"


#: The bounded options: name, lowest, highest, default, what it is.
BOUNDS = [
    ("--max-processes", 1, PROCESS_LIMIT, 3, "steps of 1, 2 ... this many web processes"),
    ("--seconds", 5, 600, 20, "measured seconds per step"),
    ("--warmup", 0, 120, 10, "unmeasured seconds before each step"),
    ("--users", 2, 200, 24, "simulated people, each taking visits back to back"),
    ("--threads", 1, 8, 2, "threads of each web process"),
    ("--task-workers", 0, 4, 1, "ecitizen worker processes"),
    ("--max-requests", 1, 1_000_000, 200_000, "stop a step after so many requests"),
]


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return convert


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_out", description=__doc__.splitlines()[0]
    )
    for name, low, high, default, what in BOUNDS:
        parser.add_argument(
            name,
            type=_bounded(low, high),
            default=default,
            help=f"{what} ({low} to {high}, default {default})",
        )
    parser.add_argument(
        "--processes",
        metavar="N,N,...",
        help=f"the numbers of web processes to measure instead, e.g. 1,2,4 (1 to {PROCESS_LIMIT})",
    )
    load.add_run_options(parser, mix_help=f"the visits (default {MIX})", mix_default=MIX)
    # What bench/load.py's Run reads and this script does not offer.
    parser.set_defaults(quiet_load=0.0, profile=False, py_spy=None, plan=[1.0], scheduler=False)
    options = parser.parse_args()
    if options.processes:
        try:
            steps = sorted({int(item) for item in options.processes.split(",")})
        except ValueError:
            parser.error("--processes: numbers separated by commas, e.g. 1,2,3")
        if steps[0] < 1 or steps[-1] > PROCESS_LIMIT:
            parser.error(f"--processes: each between 1 and {PROCESS_LIMIT}")
        options.steps = steps
    else:
        options.steps = list(range(1, options.max_processes + 1))
    options.mix = load.parse_mix(options.mix_text, parser)
    return options


# --- the load balancer ----------------------------------------------------------------------


def haproxy_config(shipped: str, count: int) -> str:
    """The shipped configuration with ``count`` server lines (``web1``... filled in from
    ``ECITIZEN_WEB1``...) in place of its three; nothing else changed."""
    lines = SERVER_LINE.findall(shipped)
    if not lines:
        raise SystemExit(f"{HAPROXY_CONFIG}: no 'server webN \"${{ECITIZEN_WEBN}}\" check' line")
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
    servers = "".join(
        f'{indent}server web{number} "${{ECITIZEN_WEB{number}}}" check\n'
        for number in range(1, count + 1)
    )
    first = SERVER_LINE.search(shipped)
    assert first is not None
    rest = SERVER_LINE.sub("", shipped[first.end() :])
    return shipped[: first.start()] + servers + rest


def start_balancer(stack: Stack, servers: list[str], outage: Path) -> None:
    """HAProxy on :attr:`Stack.server` in front of ``servers`` (host:port), checked with
    ``haproxy -c`` first; ready once ``/readyz`` answers through it."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    config = stack.workdir / f"haproxy-{len(servers)}.cfg"
    config.write_text(haproxy_config(HAPROXY_CONFIG.read_text(), len(servers)))
    env = {
        **os.environ,
        "ECITIZEN_LISTEN": f"127.0.0.1:{stack.port}",
        "ECITIZEN_OUTAGE_PAGE": str(outage),
        **{f"ECITIZEN_WEB{number}": server for number, server in enumerate(servers, 1)},
    }
    checked = subprocess.run(  # noqa: S603
        [haproxy, "-c", "-q", "-f", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if checked.returncode:
        raise SystemExit(f"haproxy -c {config}: {checked.stdout}{checked.stderr}")
    stack.launch("haproxy", [haproxy, "-db", "-f", str(config)], env=env)
    stack.wait_ready(stack.server, "/readyz", timeout=60)


# --- one step -------------------------------------------------------------------------------


def measure(stack: Stack, options: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    """The people sign in (through the balancer), take visits back to back for the
    warm-up and the window; the window's figures (``bench/load.py``'s ``Run.window``)."""
    run = load.Run(stack, options, data, closed=True)
    try:
        run.grow(1.0)
        return run.window(1.0)
    finally:
        run.stop()


def figures(result: dict[str, Any], processes: int) -> dict[str, Any]:
    """What the summary shows of a step: throughput, latency, errors, cores used."""
    cpu, overall = result["cpu"], result["overall"]
    seconds, cores = cpu["seconds"], cpu["cores"] or 1
    groups = cpu["cpu_seconds"]
    postgres = sum(value for group, value in groups.items() if group.startswith("PostgreSQL"))
    requests = overall["requests"] + (result["floor"].get("requests") or 0)
    return {
        "processes": processes,
        "rps": overall["rps"],
        "p50": overall["p50"],
        "p95": overall["p95"],
        "errors": overall["errors"] + (result["floor"].get("errors") or 0),
        "failed_visits": sum(item["failed"] for item in result["visits"].values()),
        "floor_p95": result["floor"].get("p95"),
        # Cores each part kept busy on average over the window.
        "web": groups.get("web", 0.0) / seconds,
        "postgres": postgres / seconds,
        "haproxy": groups.get("HAProxy", 0.0) / seconds,
        "workers": groups.get("workers", 0.0) / seconds,
        "generator": groups.get("load generator", 0.0) / seconds,
        "others": cpu["others_seconds"] / seconds,
        "busy": cpu["machine_busy_seconds"] / seconds,
        "cores": cores,
        "load": cpu["load_average"]["mean"],
        "pg_ms_per_request": 1000 * postgres / max(1, requests),
        "web_ms_per_request": 1000 * groups.get("web", 0.0) / max(1, requests),
        # What the set-up itself (not the load generator) spent a request.
        "stack_ms_per_request": 1000
        * (postgres + sum(groups.get(group, 0.0) for group in ("web", "HAProxy", "workers")))
        / max(1, requests),
        "waits": result["backend_waits"],
    }


def print_step(row: dict[str, Any], base: dict[str, Any]) -> None:
    say(
        f"== {row['processes']} web process(es): {row['rps']:.1f} requests/s "
        f"({row['rps'] / base['rps']:.2f} x {base['processes']}), p50 {load._ms(row['p50'])} ms, "
        f"p95 {load._ms(row['p95'])} ms, {row['errors']} errors, "
        f"{row['failed_visits']} failed visits"
    )
    say(
        f"   cores busy: web {row['web']:.2f} ({row['web'] / row['processes']:.2f} a process), "
        f"PostgreSQL {row['postgres']:.2f}, HAProxy {row['haproxy']:.2f}, workers "
        f"{row['workers']:.2f}, load generator {row['generator']:.2f}, everything else "
        f"{row['others']:.2f}; the machine {row['busy']:.2f} of {row['cores']} "
        f"({row['busy'] / row['cores']:.0%})"
    )
    if row["waits"]:
        waits = ", ".join(f"{event} {count}" for event, count in list(row["waits"].items())[:5])
        say(f"   active PostgreSQL backends, mean per second: {waits}")


def print_summary(rows: list[dict[str, Any]]) -> None:
    base = rows[0]
    say()
    say(f"== summary ({base['cores']} cores; cores busy on average over each window)")
    say(
        f"{'web':>4}{'req/s':>8}{'ratio':>7}{'p50':>6}{'p95':>6}{'err':>5}{'floor p95':>10}"
        f"{'web':>6}{'/proc':>6}{'pg':>6}{'pg %':>6}{'haproxy':>8}{'workers':>8}{'loadgen':>8}"
        f"{'others':>7}{'machine':>9}{'ms/req':>7}{'load':>6}"
    )
    for row in rows:
        say(
            f"{row['processes']:>4}{row['rps']:8.1f}{row['rps'] / base['rps']:7.2f}"
            f"{load._ms(row['p50']):>6}{load._ms(row['p95']):>6}{row['errors']:5d}"
            f"{load._ms(row['floor_p95']):>10}{row['web']:6.2f}"
            f"{row['web'] / row['processes']:6.2f}{row['postgres']:6.2f}"
            f"{row['postgres'] / max(row['busy'], 1e-9):6.0%}{row['haproxy']:8.2f}"
            f"{row['workers']:8.2f}{row['generator']:8.2f}{row['others']:7.2f}"
            f"{row['busy'] / row['cores']:9.0%}{row['stack_ms_per_request']:7.1f}"
            f"{row['load']:6.1f}"
        )
    say(
        "(ratio: requests/s over the first step's; /proc: web cores a process; pg %: "
        "PostgreSQL's share of the machine's busy CPU; machine: all cores' utilisation; "
        "ms/req: CPU of web, PostgreSQL, HAProxy and workers a request)"
    )
    for line in verdict(rows):
        say(line)


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    """What the figures say limits throughput, from the figures only."""
    lines = []
    for before, after in itertools.pairwise(rows):
        gain = after["rps"] / before["rps"]
        lines.append(
            f"{before['processes']} -> {after['processes']} web processes: throughput x "
            f"{gain:.2f}" + (" (no real gain)" if gain < 1.1 else "")
        )
    best = max(rows, key=lambda row: row["rps"])
    last = rows[-1]
    cores = last["cores"]
    full = last["busy"] >= 0.9 * cores
    if full:
        lines.append(
            f"limit: the CPU of this machine. At {last['processes']} processes its {cores} "
            f"cores were {last['busy'] / cores:.0%} busy: web {last['web']:.2f}, PostgreSQL "
            f"{last['postgres']:.2f} ({last['postgres'] / last['busy']:.0%} of the busy "
            f"CPU), HAProxy {last['haproxy']:.2f}, workers {last['workers']:.2f}, the load "
            f"generator {last['generator']:.2f}, other work {last['others']:.2f}. More web "
            "processes here only share the same cores."
        )
    elif last["web"] / last["processes"] >= 0.85:
        lines.append(
            "limit: the web processes, each near one core (one gunicorn worker: one "
            "interpreter lock); add processes"
        )
    else:
        lines.append(
            f"limit: not the CPU (the machine {last['busy'] / cores:.0%} busy, web "
            f"{last['web'] / last['processes']:.2f} of a core a process): look at PostgreSQL's "
            "waits above, or raise --users"
        )
    if last["others"] >= 0.25:
        lines.append(
            f"other work used {min(row['others'] for row in rows):.2f} to "
            f"{max(row['others'] for row in rows):.2f} cores during the windows: the set-up "
            "had only what it won of the CPU, and more processes win more of a shared "
            "machine, so read the CPU a request below rather than the ratios"
        )
    web_ms = sorted(row["web_ms_per_request"] for row in rows)[len(rows) // 2]
    stack_ms = sorted(row["stack_ms_per_request"] for row in rows)[len(rows) // 2]
    generator_ms = sorted(1000 * row["generator"] / max(row["rps"], 1e-9) for row in rows)[
        len(rows) // 2
    ]
    per_process = 1000 / web_ms if web_ms else 0.0
    machine = 1000 * cores / (stack_ms + generator_ms) if stack_ms else 0.0
    lines.append(
        f"best: {best['rps']:.1f} requests/s with {best['processes']} process(es). A request "
        f"cost (medians) {web_ms:.1f} ms of web CPU, {stack_ms:.1f} ms for the whole set-up "
        f"(PostgreSQL {last['pg_ms_per_request']:.1f} ms) and {generator_ms:.1f} ms of the "
        f"load generator. So one process (one gunicorn worker: one core at most) serves at "
        f"most about {per_process:.0f} requests/s, and these {cores} cores at most about "
        f"{machine:.0f}, which {max(1, math.ceil(machine / per_process)) if per_process else 1} "
        f"process(es) can reach: past that, processes on this machine share the same cores."
    )
    if last["pg_ms_per_request"]:
        lines.append(
            f"with web processes on machines of their own, PostgreSQL is the limit near "
            f"{1000 / last['pg_ms_per_request']:.0f} requests/s a core it has (its CPU a "
            f"request), sooner if its waits (above) grow"
        )
    return lines


def main() -> None:
    options = parse()
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        raise SystemExit("needs Debian's haproxy (apt-get install haproxy)")
    say(
        f"web processes: {', '.join(map(str, options.steps))}; {options.users} people taking "
        f"visits back to back; mix: "
        + ", ".join(
            f"{kind.kind} {share:.0%}" for kind, (share, _busy) in options.mix.items() if share
        )
    )
    stack = load.stack_for(options, "ecitizen_scale", web_workers=1)
    rows: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    with stack:
        data = load.prepare_data(stack, options)
        outage = stack.workdir / "ecitizen-503.http"
        stack.ecitizen("outage", str(outage), log="setup.log")
        stack.start_workers()
        servers: list[str] = []
        try:
            for count in options.steps:
                while len(servers) < count:
                    port = free_port()
                    stack.wait_ready(stack.start_web(port, 1))
                    servers.append(f"127.0.0.1:{port}")
                start_balancer(stack, servers, outage)
                say(
                    f"{count} web process(es) behind HAProxy on {stack.server}: "
                    f"{options.warmup} s warm-up, {options.seconds} s..."
                )
                try:
                    result = measure(stack, options, data)
                finally:
                    stack.stop("haproxy")
                result["processes"] = count
                results.append(result)
                rows.append(figures(result, count))
                print_step(rows[-1], rows[0])
                for error in result["errors"][:5]:
                    say(f"   ERROR x{error['count']}: {error['step']}: {error['error'][:150]}")
        finally:
            if rows:
                print_summary(rows)
            if options.json and results:
                load.write_json(options.json, options, summary=rows, results=results)


if __name__ == "__main__":
    load.run_script(main)

"""The production set-up the load scenario runs against, and what it measures of it.

- :class:`Stack` makes the throwaway PostgreSQL database (or reuses one), loads the demo,
  collects the static files, and starts gunicorn (ecitizen's configuration, gthread
  workers as ``deploy/systemd/ecitizen-web.service`` runs them: one, or one per port for
  ``bench/scale_out.py``), ``ecitizen worker`` processes and, when asked, ``ecitizen
  scheduler`` (or any other process: ``bench/scale_out.py``'s HAProxy), each in its own
  process group, and stops them all at the end.
- :class:`CpuSampler` reads the CPU time of each part from ``/proc`` every second: the
  gunicorn processes, the workers (and scheduler), HAProxy, this database's PostgreSQL
  backends, PostgreSQL's shared processes, this process (the load generator), and the
  whole machine.
- :class:`WaitSampler` counts, every second, what this database's active backends are
  waiting for (``pg_stat_activity``): lock waits show where writes queue.
- :func:`server_timings` reads the web processes' own request log (one JSON line per
  request with its duration, from ``ObservabilityMiddleware``).

Everything here is loopback only: the database URL and the server's address are refused
unless they are on this machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import gevent

from bench.environment import BASE_ENV

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

#: Production's settings plus what a run on this machine needs (``bench/environment.py``),
#: with the database task queue that production uses.
LOAD_ENV = {
    **BASE_ENV,
    # The worker renders and "sends" every email; nothing leaves the machine.
    "EMAIL_DELIVERY_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    "SECURE_HSTS_SECONDS": "0",
    "TASKS_BACKEND": "database",
    "LOG_FORMAT": "json",
    "LOG_REQUESTS": "true",
    # The load generator stands for many people behind a load balancer on this machine:
    # each simulated person sends its own address in X-Forwarded-For, believed only from
    # loopback, so that per-address limits count people as production does.
    "TRUSTED_PROXIES": "127.0.0.1/32",
}


def say(text: str = "") -> None:
    print(text, flush=True)  # noqa: T201


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_loopback(url: str, what: str) -> None:
    """Refuse anything but this machine: the scenario only ever loads our own server."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"{what} must be on this machine (127.0.0.1), not {host!r}")


def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _conninfo(url: str) -> str:
    parts = urlsplit(url)
    return (
        f"host={parts.hostname} port={parts.port or 5432} user={parts.username or 'postgres'} "
        f"dbname={parts.path.lstrip('/') or 'postgres'}"
        + (f" password={parts.password}" if parts.password else "")
    )


def psql(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on ``url`` (autocommit) and return its rows."""
    import psycopg

    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        cursor = connection.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


@dataclass
class Stack:
    """The database, gunicorn, the workers; ``with Stack(...) as stack:`` stops them."""

    base_url: str  # DATABASE_URL naming the server (its database is only a starting point)
    name: str  # this run's database
    reuse: bool
    keep: bool
    web_workers: int
    threads: int
    task_workers: int
    scheduler: bool
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ecitizen-load-")))
    port: int = 0
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_loopback(self.base_url, "DATABASE_URL")
        self.url = database_url(self.base_url, self.name)
        # Uploads, issued documents and the signing certificate live beside the database:
        # a reused database needs the same folder.
        self.var_dir = Path(tempfile.gettempdir()) / f"ecitizen-load-{self.name}"
        self.port = free_port()
        self.server = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **LOAD_ENV,
            "DATABASE_URL": self.url,
            "VAR_DIR": str(self.var_dir),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The sandbox's webhooks go to this server (the worker posts them).
            "PUBLIC_BASE_URL": self.server,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])
            ),
            "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / "metrics"),
        }
        (self.workdir / "metrics").mkdir()

    # --- database --------------------------------------------------------------------

    def exists(self) -> bool:
        maintenance = database_url(self.base_url, "postgres")
        return bool(psql(maintenance, "SELECT 1 FROM pg_database WHERE datname = %s", self.name))

    def create(self) -> None:
        maintenance = database_url(self.base_url, "postgres")
        if self.reuse and self.exists():
            say(f"reusing database {self.name} (and {self.var_dir})")
            return
        if self.reuse:
            say(f"database {self.name} does not exist: made now, and kept for the next run")
            self.keep = True
        psql(maintenance, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        psql(maintenance, f'CREATE DATABASE "{self.name}"')
        self.reuse = False

    def drop(self) -> None:
        maintenance = database_url(self.base_url, "postgres")
        psql(maintenance, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", str(self.var_dir)], check=False)  # noqa: S603, S607

    def ecitizen(self, *args: str, log: str) -> None:
        """Run an ``ecitizen`` command to the end, its output in the work folder's log."""
        with open(self.workdir / log, "ab") as out:
            done = subprocess.run(  # noqa: S603
                [sys.executable, "-m", "ecitizen.cli", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode:
            raise SystemExit(f"ecitizen {' '.join(args)} failed: see {self.workdir / log}")

    def prepare(self) -> None:
        """Migrate, load the demo unless the database has it, analyse the database, collect
        the static files."""
        started = time.perf_counter()
        self.ecitizen("migrate", "--no-input", log="setup.log")
        if not self.reuse:
            say("loading the demo (several minutes)...")
            self.ecitizen("demo", "--allow-production", log="setup.log")
        # The planner's statistics, as production's autovacuum keeps them: a server with
        # autovacuum off (as on our build machines) left a fresh demo without any, and
        # the first window read 531 rows a request instead of 187.
        psql(self.url, "ANALYZE")
        self.ecitizen("collectstatic", "--no-input", log="setup.log")
        say(f"database ready in {time.perf_counter() - started:.0f} s")

    def django(self, command: str, argument: dict[str, Any]) -> dict[str, Any]:
        """Run ``bench.load_setup COMMAND`` under Django and return what it wrote."""
        out = self.workdir / f"{command}.json"
        with open(self.workdir / "setup.log", "ab") as log:
            done = subprocess.run(  # noqa: S603
                [sys.executable, "-m", "bench.load_setup", command, json.dumps(argument), str(out)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode:
            raise SystemExit(f"bench.load_setup {command} failed: see {self.workdir}/setup.log")
        return dict(json.loads(out.read_text()))

    # --- processes -------------------------------------------------------------------

    def launch(
        self, role: str, args: list[str], *, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a process of ``role`` (its output in ``ROLE.log``) in its own process
        group, stopped with the others by :meth:`stop`."""
        log = open(self.workdir / f"{role}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(  # noqa: S603
            args,
            env=self.env if env is None else env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
        self.processes.setdefault(role, []).append(process)
        return process

    def start_web(self, port: int, workers: int) -> str:
        """A gunicorn (ecitizen's configuration, gthread workers, as production runs it)
        on 127.0.0.1:``port``; its address."""
        bin_dir = Path(sys.executable).parent
        self.launch(
            "web",
            [
                str(bin_dir / "gunicorn"),
                "-c",
                "python:ecitizen.gunicorn_config",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(self.threads),
                "--worker-class",
                "gthread",
                "--max-requests",
                "10000",
                "--max-requests-jitter",
                "1000",
                "ecitizen.wsgi:application",
            ],
        )
        return f"http://127.0.0.1:{port}"

    def start_workers(self) -> None:
        """The ``ecitizen worker`` processes (and the scheduler, when asked)."""
        for number in range(self.task_workers):
            self.launch(
                "worker",
                [
                    sys.executable,
                    "-m",
                    "ecitizen.cli",
                    "worker",
                    "--queue-name",
                    "*",
                    "--worker-id",
                    f"load-{number}",
                ],
            )
        if self.scheduler:
            self.launch("worker", [sys.executable, "-m", "ecitizen.cli", "scheduler"])

    def start(self) -> None:
        """One gunicorn of ``web_workers`` on :attr:`server`, and the workers."""
        self.start_web(self.port, self.web_workers)
        self.start_workers()
        self.wait_ready(self.server)

    def wait_ready(self, server: str, path: str = "/livez", timeout: float = 90) -> None:
        """Until ``server`` answers ``path`` with 200 (``/livez``: every web worker
        imported the project); refused if a process we started has stopped."""
        import urllib.request

        require_loopback(server, "the server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for role, processes in self.processes.items():
                for process in processes:
                    if process.poll() is not None:
                        raise SystemExit(f"the {role} process stopped: see {self.workdir}")
            try:
                with urllib.request.urlopen(server + path, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            gevent.sleep(0.5)
        raise SystemExit(f"{server}{path} did not answer in {timeout:.0f} s: see {self.workdir}")

    def pids(self, role: str) -> list[int]:
        return [process.pid for process in self.processes.get(role, [])]

    def stop(self, *roles: str) -> None:
        """SIGTERM to the process groups of ``roles`` (default: all), then SIGKILL to what
        is left after 15 s."""
        chosen = roles or tuple(self.processes)
        everything = [process for role in chosen for process in self.processes.get(role, [])]
        for process in everything:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in everything:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for role in chosen:
            self.processes.pop(role, None)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
        if not self.keep and not self.reuse:
            self.drop()
            subprocess.run(["rm", "-rf", str(self.workdir)], check=False)  # noqa: S603, S607
        else:
            say(f"kept: database {self.name}, files {self.var_dir}, logs {self.workdir}")


# --- CPU time from /proc --------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")
#: The group each role's processes (and their children) count in; other roles by name.
ROLE_GROUPS = {"web": "web", "worker": "workers", "haproxy": "HAProxy"}


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds: user + system) of a process, or ``None`` once it ended."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state, ppid (index 1) ... utime, stime (indexes 11 and 12).
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (every core), from ``/proc/stat``."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


class CpuSampler:
    """CPU seconds of each part of the set-up over a window, sampled every second so that
    processes that start (a new PostgreSQL backend) or end during it are counted: a
    process seen for the first time after the window opened counts from zero, one that
    ended counts up to its last sample (at most a second lost)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.group: dict[int, str] = {}
        self.loads: list[float] = []
        self._opening = False
        self._greenlet: gevent.Greenlet | None = None

    def _classify(self) -> dict[int, tuple[str, float]]:
        processes: dict[int, tuple[int, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                processes[int(entry)] = stat
        roots = {
            pid: ROLE_GROUPS.get(role, role)
            for role in self.stack.processes
            for pid in self.stack.pids(role)
        }
        roots[os.getpid()] = "load generator"
        found: dict[int, tuple[str, float]] = {}
        for pid, (_parent, cpu) in processes.items():
            # Walk up to a root we started (gunicorn's workers are its master's children).
            ancestor, seen = pid, 0
            while ancestor in processes and ancestor not in roots and seen < 50:
                ancestor, seen = processes[ancestor][0], seen + 1
            if ancestor in roots:
                group = roots[ancestor]
                if group == "load generator" and pid != ancestor and "py-spy" in _cmdline(pid):
                    group = "profiler (py-spy)"
                found[pid] = (group, cpu)
                continue
            command = _cmdline(pid)
            if command.startswith("postgres: "):
                # A backend's title: "postgres: 15/main: <user> <database> <host(port)>
                # <state>"; the shared processes' name no client ("checkpointer"...).
                if f" {self.stack.name} " in f" {command} ":
                    found[pid] = ("PostgreSQL (this database)", cpu)
                elif not re.search(r"\S+\(\d+\)|\[local\]", command):
                    found[pid] = ("PostgreSQL (shared processes)", cpu)
            elif command.startswith("/usr/lib/postgresql/") and " -D " in command:
                found[pid] = ("PostgreSQL (shared processes)", cpu)
        return found

    def sample(self) -> None:
        for pid, (group, cpu) in self._classify().items():
            self.first.setdefault(pid, cpu if self._opening else 0.0)
            self.last[pid] = cpu
            self.group[pid] = group
        self.machine_last = _machine_busy()
        self.loads.append(os.getloadavg()[0])

    def start(self) -> None:
        self.first.clear()
        self.last.clear()
        self.loads.clear()
        self._opening = True
        self.machine_first = _machine_busy()
        self.started = time.perf_counter()
        self.sample()
        self._opening = False

        def loop() -> None:
            while True:
                gevent.sleep(1)
                self.sample()

        self._greenlet = gevent.spawn(loop)

    def stop(self) -> dict[str, Any]:
        if self._greenlet is not None:
            self._greenlet.kill()
        self.sample()
        seconds = time.perf_counter() - self.started
        totals: dict[str, float] = defaultdict(float)
        for pid, cpu in self.last.items():
            totals[self.group[pid]] += max(0.0, cpu - self.first.get(pid, 0.0))
        machine = self.machine_last - self.machine_first
        ours = sum(totals.values())
        return {
            "seconds": seconds,
            "cpu_seconds": dict(totals),
            "machine_busy_seconds": machine,
            "others_seconds": max(0.0, machine - ours),
            "cores": os.cpu_count(),
            "load_average": {
                "start": self.loads[0] if self.loads else None,
                "mean": sum(self.loads) / len(self.loads) if self.loads else None,
                "end": self.loads[-1] if self.loads else None,
            },
        }


class WaitSampler:
    """What this database's active backends wait for, counted every second."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.counts: dict[str, int] = defaultdict(int)
        self.samples = 0
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        import psycopg

        self.counts.clear()
        self.samples = 0
        connection = psycopg.connect(_conninfo(self.stack.url), autocommit=True)

        def loop() -> None:
            try:
                while True:
                    rows = connection.execute(
                        "SELECT coalesce(wait_event_type || ':' || wait_event, 'running'), "
                        "count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1"
                    ).fetchall()
                    self.samples += 1
                    for event, count in rows:
                        self.counts[event] += count
                    gevent.sleep(1)
            finally:
                connection.close()

        self._greenlet = gevent.spawn(loop)

    def stop(self) -> dict[str, float]:
        if self._greenlet is not None:
            self._greenlet.kill()
        samples = max(1, self.samples)
        return {
            event: round(count / samples, 2)
            for event, count in sorted(self.counts.items(), key=lambda item: -item[1])
        }


DATABASE_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "deadlocks",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "blks_read",
    "blks_hit",
)


def database_counters(stack: Stack) -> dict[str, int]:
    """This database's cumulative counters (``pg_stat_database``): subtract two readings."""
    columns = ", ".join(DATABASE_COUNTERS)
    row = psql(
        stack.url,
        f"SELECT {columns} FROM pg_stat_database WHERE datname = current_database()",  # noqa: S608
    )[0]
    return dict(zip(DATABASE_COUNTERS, (int(value) for value in row), strict=True))


def table_counters(stack: Stack) -> dict[str, tuple[int, int, int]]:
    """Per table: sequential scans, rows they read, rows fetched through indexes
    (``pg_stat_user_tables``, cumulative)."""
    return {
        name: (int(scans), int(read), int(fetched))
        for name, scans, read, fetched in psql(
            stack.url,
            "SELECT relname, seq_scan, seq_tup_read, coalesce(idx_tup_fetch, 0) "
            "FROM pg_stat_user_tables",
        )
    }


def table_reads(before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]):
    """The tables read most between two readings: (table, sequential scans, rows read by
    them, rows fetched through indexes), most rows first."""
    rows = []
    for name, (scans, read, fetched) in after.items():
        old = before.get(name, (0, 0, 0))
        rows.append((name, scans - old[0], read - old[1], fetched - old[2]))
    rows.sort(key=lambda row: -(row[2] + row[3]))
    return [row for row in rows[:8] if row[2] + row[3]]


def server_timings(log: Path, start: float, end: float) -> dict[str, dict[str, float]]:
    """The web processes' own durations (``ecitizen.request`` log lines) of the requests
    answered between ``start`` and ``end`` (Unix times), by URL pattern: count, p50, p95."""
    from datetime import datetime

    durations: dict[str, list[float]] = defaultdict(list)
    with contextlib.suppress(FileNotFoundError), open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            if '"ecitizen.request"' not in line:
                continue
            try:
                record = json.loads(line)
                when = datetime.fromisoformat(record["time"]).timestamp()
            except (ValueError, KeyError):
                continue
            if start <= when <= end:
                durations[f"{record['method']} {record['route']}"].append(record["duration_ms"])
    result = {}
    for route, values in durations.items():
        values.sort()
        result[route] = {
            "count": len(values),
            "p50": values[len(values) // 2],
            "p95": values[min(len(values) - 1, int(len(values) * 0.95))],
        }
    return result

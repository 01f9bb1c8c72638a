"""The real processes of a fault test: gunicorn web processes (with the fault points of
:mod:`tests.faults.inject`), Debian's HAProxy with the shipped configuration in front of
them, ``ecitizen worker`` processes, and what kills and restarts them.

Each test has its own ports (bound to 127.0.0.1, chosen free), its own folder (media,
signing key, logs, the fault points' control folder) and its own database: tests run in
parallel with everything else (pytest-xdist) without sharing anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
GUNICORN = Path(sys.executable).with_name("gunicorn")
#: Upper bound of every wait (polling; nothing is asserted about how long it took).
PATIENCE = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], what: str, patience: float = PATIENCE) -> Any:
    """Poll ``condition`` until it returns something true (connection errors count as
    false); fail the test after ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            value = condition()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


class Stack:
    """The processes of one test, against one database."""

    def __init__(self, workdir: Path, database_url: str, **settings: str) -> None:
        from ecitizen.documents.tests.signing_fixtures import make_signing_pair

        self.workdir = workdir
        self.var = workdir / "var"
        self.var.mkdir(exist_ok=True)
        self.faults = workdir / "faults"
        self.faults.mkdir(exist_ok=True)
        self.logs = workdir / "logs"
        self.logs.mkdir(exist_ok=True)
        key, cert = make_signing_pair(workdir)
        self.ports = {"web1": free_port(), "web2": free_port()}
        self.balancer_port = free_port()
        self.url = f"http://127.0.0.1:{self.balancer_port}"
        self.web: dict[str, subprocess.Popen] = {}
        self.workers: dict[str, subprocess.Popen] = {}
        self.balancer: subprocess.Popen | None = None
        self._supervised: dict[str, threading.Event] = {}
        self.restarts: dict[str, int] = {}
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "DATABASE_URL": database_url,
            "VAR_DIR": str(self.var),
            "ECITIZEN_ENV_FILE": os.devnull,
            "ECITIZEN_FAULTS_DIR": str(self.faults),
            "DOCUMENT_SIGNING_KEY_FILE": str(key),
            "DOCUMENT_SIGNING_CERT_FILE": str(cert),
            # HAProxy is the proxy in front: its X-Forwarded-For and X-Request-ID are believed.
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "LOG_LEVEL": "WARNING",
            # The production queue: tasks in the database, run by the worker processes.
            "TASKS_BACKEND": "database",
            "WORKER_HEARTBEAT_SECONDS": "1",
            "WORKER_HEALTHY_WITHIN_SECONDS": "2",
            "TASK_LEASE_SECONDS": "2",
            # The sandbox's webhooks are really delivered, by the workers, through the
            # load balancer, each twice: every settlement path runs, again and again.
            "PAYMENTS_SANDBOX_WEBHOOK_MODE": "duplicate",
            "PUBLIC_BASE_URL": self.url,
            **settings,
        }

    # --- web processes ---------------------------------------------------------------------

    def start_web(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.web[name] = subprocess.Popen(
            [
                str(GUNICORN),
                *("-c", "python:ecitizen.gunicorn_config"),
                *("--bind", f"127.0.0.1:{self.ports[name]}"),
                *("--workers", "1", "--threads", "4", "--no-control-socket"),
                "tests.faults.inject:application",
            ],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def web_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def web_ready(self, name: str) -> bool:
        return requests.get(f"{self.web_url(name)}/readyz", timeout=5).status_code == 200

    def kill_group(self, pgid: int) -> str:
        """SIGKILL a web process (gunicorn's master and worker: their own process group)
        or a worker: a machine lost, nothing graceful. Returns the process's name."""
        for table in (self.web, self.workers):
            for name, process in list(table.items()):
                if process.pid == pgid:
                    os.killpg(pgid, signal.SIGKILL)
                    process.wait(timeout=30)
                    del table[name]
                    return name
        raise AssertionError(f"process group {pgid} is none of this test's processes")

    def kill_web(self, name: str) -> None:
        self.kill_group(self.web[name].pid)

    # --- load balancer ---------------------------------------------------------------------

    def start_balancer(self) -> None:
        outage = self.workdir / "ecitizen-503.http"
        subprocess.run(
            [sys.executable, "-m", "ecitizen", "outage", str(outage)],
            env=self.env,
            check=True,
            capture_output=True,
        )
        env = {
            **os.environ,
            "ECITIZEN_LISTEN": f"127.0.0.1:{self.balancer_port}",
            "ECITIZEN_WEB1": f"127.0.0.1:{self.ports['web1']}",
            "ECITIZEN_WEB2": f"127.0.0.1:{self.ports['web2']}",
            # A third machine, down from the start: the health check keeps it out.
            "ECITIZEN_WEB3": f"127.0.0.1:{free_port()}",
            "ECITIZEN_OUTAGE_PAGE": str(outage),
        }
        log = (self.logs / "haproxy.log").open("ab")
        self.balancer = subprocess.Popen(
            ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def ready_behind_balancer(self) -> bool:
        return requests.get(f"{self.url}/readyz", timeout=5).status_code == 200

    def in_rotation(self, name: str) -> bool:
        """Does ``name`` answer ``/readyz`` itself, and has HAProxy's health check put it
        back in rotation (no "DOWN" in HAProxy's log since its last "UP")?"""
        if name not in self.web or not self.web_ready(name):
            return False
        log = (self.logs / "haproxy.log").read_text(errors="replace")
        changes = re.findall(rf"Server ecitizen_web/{name} is (UP|DOWN)", log)
        return not changes or changes[-1] == "UP"

    # --- workers ---------------------------------------------------------------------------

    def start_worker(self, name: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [
                sys.executable,
                *("-m", "tests.faults.inject", "worker"),
                "--no-startup-delay",
                *("--interval", "0.2"),
                *("--worker-id", name),
            ],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers[name] = process
        return process

    def supervise_worker(self, name: str, restart_after: float = 1.0) -> None:
        """Start a worker and start it again whenever it exits by itself, as the shipped
        systemd unit does (``Restart=always``, ``deploy/systemd/ecitizen-worker@.service``)."""
        stop = threading.Event()
        self._supervised[name] = stop
        self.restarts[name] = 0

        def supervise() -> None:
            while not stop.is_set():
                process = self.workers.get(name)
                if process is None or process.poll() is not None:
                    if process is not None:
                        self.restarts[name] += 1
                        stop.wait(restart_after)
                        if stop.is_set():
                            return
                    self.start_worker(name)
                stop.wait(0.2)

        threading.Thread(target=supervise, name=f"supervise-{name}", daemon=True).start()

    # --- fault points ----------------------------------------------------------------------

    def arm(self, point: str, pattern: str, label: str = "") -> None:
        """Arm a fault point of :mod:`tests.faults.inject` (one hold)."""
        name = f"hold-{point}" + (f".{label}" if label else "")
        temporary = self.faults / f".{name}.tmp"
        temporary.write_text(pattern)
        temporary.rename(self.faults / name)

    def held(self, point: str) -> Iterator[dict[str, Any]]:
        for marker in sorted(self.faults.glob(f"held-{point}-*.json")):
            yield {**json.loads(marker.read_text()), "marker": marker}

    def wait_held(self, point: str, what: str, patience: float = PATIENCE) -> dict[str, Any]:
        """Wait until a process holds at ``point``; the marker is consumed."""

        def first() -> dict[str, Any] | None:
            for held in self.held(point):
                held["marker"].rename(held["marker"].with_suffix(".seen"))
                return held
            self.check_alive()
            return None

        return wait_for(first, what, patience)

    def check_alive(self) -> None:
        """Fail at once when a process died by itself (its log says why)."""
        for name, process in self.web.items():
            if process.poll() is not None:
                pytest.fail(f"web process {name} exited with {process.returncode}")
        for name, process in self.workers.items():
            if name not in self._supervised and process.poll() is not None:
                pytest.fail(f"worker {name} exited with {process.returncode}")

    # --- the end ---------------------------------------------------------------------------

    def stop(self) -> None:
        for stop in self._supervised.values():
            stop.set()
        for table in (self.web, self.workers):
            for process in table.values():
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
            table.clear()
        if self.balancer is not None:
            self.balancer.terminate()
            self.balancer.wait(timeout=30)

    def dump_logs(self, limit: int = 6000) -> None:
        for log in sorted(self.logs.glob("*.log")):
            text = log.read_text(errors="replace")
            if text.strip():
                sys.stderr.write(f"--- {log.name}\n{text[-limit:]}\n")


def _on_postgresql() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


#: The marks of every fault test: PostgreSQL only (several processes share the database:
#: SQLite's test database lives in the test process's memory), Debian's HAProxy in front.
postgres_only = pytest.mark.skipif(
    not _on_postgresql(),
    reason="fault tests run real web and worker processes against PostgreSQL, "
    "production's database (CI's PostgreSQL run)",
)
needs_haproxy = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="needs Debian's haproxy (scripts/test installs it)"
)

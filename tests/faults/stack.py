"""The real processes of a fault test: the two gunicorn web processes of a
:class:`tests.processes.Site` (serving the fault points of :mod:`tests.faults.inject`)
behind Debian's HAProxy with the shipped configuration, ``ecitizen worker`` processes, and
what kills and restarts them.

Each test has its own ports (bound to 127.0.0.1, chosen free), its own folder (media,
signing key, logs, the fault points' control folder) and its own database: tests run in
parallel with everything else (pytest-xdist) without sharing anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import PATIENCE, ROOT, Site, spawn, wait_for


class Stack(Site):
    """The processes of one test, against one database: a site whose web processes have
    fault points, and workers."""

    app = "tests.faults.inject:application"
    threads = 4

    def __init__(self, workdir: Path, database_url: str, **settings: str) -> None:
        from ecitizen.documents.tests.signing_fixtures import make_signing_pair

        self.faults = workdir / "faults"
        self.faults.mkdir(exist_ok=True)
        key, cert = make_signing_pair(workdir)
        super().__init__(
            workdir,
            database_url,
            **{
                # The web processes and workers import tests.faults.inject.
                "PYTHONPATH": os.pathsep.join(
                    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
                ),
                "ECITIZEN_FAULTS_DIR": str(self.faults),
                "DOCUMENT_SIGNING_KEY_FILE": str(key),
                "DOCUMENT_SIGNING_CERT_FILE": str(cert),
                # The production queue: tasks in the database, run by the worker processes.
                "TASKS_BACKEND": "database",
                "WORKER_HEARTBEAT_SECONDS": "1",
                "WORKER_HEALTHY_WITHIN_SECONDS": "2",
                "TASK_LEASE_SECONDS": "2",
                # The sandbox's webhooks are really delivered, by the workers, through the
                # load balancer, each twice: every settlement path runs, again and again.
                "PAYMENTS_SANDBOX_WEBHOOK_MODE": "duplicate",
                **settings,
            },
        )
        self.workers: dict[str, subprocess.Popen] = {}
        self._supervised: dict[str, threading.Event] = {}
        self.restarts: dict[str, int] = {}

    def _process_tables(self) -> list[dict[str, subprocess.Popen]]:
        return [self.web, self.workers]

    # --- workers ---------------------------------------------------------------------------

    def start_worker(self, name: str) -> subprocess.Popen:
        process = spawn(
            [
                sys.executable,
                *("-m", "tests.faults.inject", "worker"),
                "--no-startup-delay",
                *("--interval", "0.2"),
                *("--worker-id", name),
            ],
            env=self.env,
            log=self.logs / f"{name}.log",
            cwd=self.workdir,
            own_group=True,
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

        return wait_for(first, what, patience=patience)

    def release(self, held: dict[str, Any]) -> None:
        """Let the process holding at a fault point (``held``, from :meth:`wait_held`)
        carry on."""
        (self.faults / f"release-{held['point']}-{held['pid']}").touch()

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
        super().stop()


def _on_postgresql() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


#: The mark of every fault test: PostgreSQL only (several processes share the database:
#: SQLite's test database lives in the test process's memory). Those with the load
#: balancer in front also need Debian's HAProxy (:data:`tests.processes.needs_haproxy`).
postgres_only = pytest.mark.skipif(
    not _on_postgresql(),
    reason="fault tests run real web and worker processes against PostgreSQL, "
    "production's database (CI's PostgreSQL run)",
)

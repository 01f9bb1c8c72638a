"""Real processes for the tests that run several: gunicorn web processes, Debian's HAProxy
with the shipped configuration in front of them (:class:`Site`), and whatever else a test
starts with the tests' settings (workers, schedulers); the free ports, the waits and the
logs they need.

Used by the tests under ``tests/operations`` and ``tests/faults`` and by those of
``ecitizen.core.tests`` that start processes. Nothing here is a test, and nothing of the
platform imports it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
_VENV_GUNICORN = Path(sys.executable).with_name("gunicorn")
#: This virtualenv's gunicorn, else one on the PATH; None when there is none.
GUNICORN = str(_VENV_GUNICORN) if _VENV_GUNICORN.exists() else shutil.which("gunicorn")
#: Upper bound of every wait (polling; nothing is asserted about how long it took).
PATIENCE = 60.0

needs_gunicorn = pytest.mark.skipif(GUNICORN is None, reason="no gunicorn")
needs_haproxy = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="needs Debian's haproxy (scripts/test installs it)"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 free now (the process given it binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_url(settings_dict: Mapping[str, Any]) -> str:
    """The ``DATABASE_URL`` of a Django PostgreSQL connection's settings (the test
    database's, for the processes a test starts)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


def wait_for(
    condition: Callable[[], Any],
    what: str,
    *,
    patience: float = PATIENCE,
    interval: float = 0.2,
    processes: Iterable[subprocess.Popen] = (),
    allowed_exits: Collection[int] = (-signal.SIGKILL,),
) -> Any:
    """Poll ``condition`` every ``interval`` seconds until it returns something true, and
    return that; fail the test after ``patience`` seconds. A connection error (any
    ``OSError``, those of ``requests`` included) counts as false: what is waited for may
    not listen yet. Fail at once when one of ``processes`` has exited with a code not in
    ``allowed_exits`` (a process the test killed with SIGKILL is expected to be gone)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        for process in processes:
            if process.poll() is not None and process.returncode not in allowed_exits:
                pytest.fail(
                    f"{_named(process)} exited with {process.returncode} waiting for {what}"
                )
        time.sleep(interval)
    pytest.fail(f"gave up waiting for {what}")


def _named(process: subprocess.Popen) -> str:
    args = process.args
    return " ".join(map(str, args)) if isinstance(args, list | tuple) else str(args)


def run_ecitizen(
    *args: str, env: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m ecitizen ARGS`` as an operator runs it, in ``env``; its output captured,
    its exit status left to the caller."""
    return subprocess.run(
        [sys.executable, "-m", "ecitizen", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def process_env(**settings: str) -> dict[str, str]:
    """The environment of a process a test starts: this process's (with the tests'
    settings from pyproject's ``env``), no env file (a developer's ``.env`` never counts),
    and ``settings``."""
    return {**os.environ, "ECITIZEN_ENV_FILE": os.devnull, **settings}


def spawn(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    cwd: Path | None = None,
    own_group: bool = False,
) -> subprocess.Popen:
    """Start ``command`` with its output (both streams) appended to ``log``; with
    ``own_group``, in a session and process group of its own, so that ``os.killpg`` ends it
    with its children (gunicorn's master and workers: a machine lost)."""
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )


def gunicorn_command(
    port: int, *options: str, app: str = "ecitizen.wsgi:application", config: bool = True
) -> list[str]:
    """gunicorn serving ``app`` on 127.0.0.1:``port`` with the shipped configuration (as
    deploy/systemd runs it; without it when ``config`` is false) and ``options``."""
    assert GUNICORN is not None, "no gunicorn (mark the test with needs_gunicorn)"
    return [
        GUNICORN,
        *(("-c", "python:ecitizen.gunicorn_config") if config else ()),
        *("--bind", f"127.0.0.1:{port}"),
        # gunicorn's control socket is one path for the whole machine: tests run in parallel.
        "--no-control-socket",
        *options,
        app,
    ]


def with_production_password(user: Any) -> Any:
    """``user`` (saved) with the tests' password hashed by production's Argon2: the
    processes a test starts check passwords with it (the tests' fast hasher is the test
    process's setting only). Returns ``user``."""
    from ecitizen.accounts.hashers import Argon2idHasher
    from tests.factories import PASSWORD

    hasher = Argon2idHasher()
    type(user).objects.filter(pk=user.pk).update(password=hasher.encode(PASSWORD, hasher.salt()))
    return user


def show_logs(logs: Iterable[Path], *, limit: int | None = None) -> None:
    """Write each log that says something (its last ``limit`` characters) to stderr, where
    pytest shows it with a failure."""
    for log in sorted(logs):
        text = log.read_text(errors="replace")
        if text.strip():
            sys.stderr.write(f"--- {log.name}\n{text[-limit:] if limit else text}\n")


class Site:
    """Two web processes (``web1``, ``web2``: gunicorn, each in a process group of its
    own) behind Debian's HAProxy with ``deploy/haproxy/haproxy.cfg`` as shipped (only its
    environment variables set), on ports of their own (127.0.0.1, chosen free), against one
    database: several machines, as production runs them.

    The site's folder holds ``var/`` (``VAR_DIR``) and ``logs/``. ``settings`` are added to
    the processes' environment. Used as a context manager, every process still running
    is killed at the end and the logs shown.
    """

    #: What each gunicorn serves, and with how many threads (one worker process each).
    app = "ecitizen.wsgi:application"
    threads = 2

    def __init__(self, workdir: Path, database_url: str, **settings: str) -> None:
        self.workdir = workdir
        self.var = workdir / "var"
        self.var.mkdir(exist_ok=True)
        self.logs = workdir / "logs"
        self.logs.mkdir(exist_ok=True)
        self.ports = {"web1": free_port(), "web2": free_port()}
        self.balancer_port = free_port()
        self.url = f"http://127.0.0.1:{self.balancer_port}"
        self.web: dict[str, subprocess.Popen] = {}
        self.balancer: subprocess.Popen | None = None
        self.env = process_env(
            DATABASE_URL=database_url,
            VAR_DIR=str(self.var),
            # HAProxy is the proxy in front: its X-Forwarded-For and X-Request-ID are believed.
            TRUSTED_PROXIES="127.0.0.1/32",
            LOG_LEVEL="WARNING",
            PUBLIC_BASE_URL=self.url,
            **settings,
        )

    # --- web processes ---------------------------------------------------------------------

    def start_web(self, name: str) -> None:
        self.web[name] = spawn(
            gunicorn_command(
                self.ports[name], "--workers", "1", "--threads", str(self.threads), app=self.app
            ),
            env=self.env,
            log=self.logs / f"{name}.log",
            cwd=self.workdir,
            own_group=True,
        )

    def web_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def web_ready(self, name: str) -> bool:
        return requests.get(f"{self.web_url(name)}/readyz", timeout=5).status_code == 200

    def _process_tables(self) -> list[dict[str, subprocess.Popen]]:
        """The site's processes killed as machines are, by name."""
        return [self.web]

    def kill_group(self, pgid: int) -> str:
        """SIGKILL one of the site's processes with its children (their own process
        group): a machine lost, nothing graceful. Returns the process's name."""
        for table in self._process_tables():
            for name, process in list(table.items()):
                if process.pid == pgid:
                    os.killpg(pgid, signal.SIGKILL)
                    process.wait(timeout=30)
                    del table[name]
                    return name
        raise AssertionError(f"process group {pgid} is none of this test's processes")

    def kill_web(self, name: str) -> None:
        """SIGKILL the gunicorn master and its worker at once."""
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
        self.balancer = spawn(
            ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)], env=env, log=self.logs / "haproxy.log"
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

    # --- the end ---------------------------------------------------------------------------

    def stop(self) -> None:
        for table in self._process_tables():
            for process in table.values():
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
            table.clear()
        if self.balancer is not None:
            self.balancer.terminate()
            self.balancer.wait(timeout=30)

    def dump_logs(self, limit: int = 8000) -> None:
        show_logs(self.logs.glob("*.log"), limit=limit)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        self.dump_logs()

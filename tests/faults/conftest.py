"""Fixtures of the fault tests: the processes of a test (``stack``), the services and
residents they serve, residents applying and paying over and over on two web processes
behind the load balancer (``start_traffic``), and the faults no process can cause by
itself (a PostgreSQL cluster of the test's own to restart, the sessions of a process cut
or its link to the database broken, a small file system to fill)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, connections

from tests.factories import DepartmentFactory, UserFactory
from tests.faults.checks import assert_payments, assert_submissions
from tests.faults.journeys import Load, Outage, Resident
from tests.faults.stack import Stack
from tests.processes import free_port, postgres_url, wait_for, with_production_password

CASES_FIXTURES = Path(__file__).resolve().parents[2] / "src/ecitizen/cases/tests/fixtures"
#: The web processes of a stack under traffic.
WEB = ("web1", "web2")


@pytest.fixture
def stack_database() -> str:
    """The ``DATABASE_URL`` of the stack's processes: this test's database (PostgreSQL,
    which other processes can reach). A test module may override it."""
    return postgres_url(connections["default"].settings_dict)


@pytest.fixture
def stack(tmp_path: Path, stack_database: str) -> Iterator[Stack]:
    """The processes of this test against this test's database; every one still running
    at the end is killed."""
    with Stack(tmp_path, stack_database) as processes:
        yield processes


def publish_services() -> dict[str, Any]:
    """Public Works and the cases tests' two services, defined only by their files:
    garden waste collection (a fee to pay when applying) and the shed permit (an upload,
    a fee after approval, an issued permit)."""
    from ecitizen.catalogue.models import Service
    from ecitizen.catalogue.services import service_definitions_publish

    DepartmentFactory(slug="public-works", name="Public Works")
    service_definitions_publish(directory=CASES_FIXTURES, actor=None)
    return {service.slug: service for service in Service.objects.all()}


@pytest.fixture
def services(db: Any) -> dict[str, Any]:
    return publish_services()


def make_resident(number: int, *, prefix: str = "faults") -> Any:
    """A resident whose password the web processes can check."""
    return with_production_password(
        UserFactory(email=f"{prefix}.{number}@example.test", full_name=f"Resident {number}")
    )


@pytest.fixture
def database_queue(settings: Any, stack: Stack) -> None:
    """This process queues tasks as the web processes do, in the database, and shares
    their media folder."""
    settings.TASKS = {
        "default": {"BACKEND": "ecitizen.core.observability.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"
    settings.PAYMENTS_SANDBOX_WEBHOOK_MODE = "normal"
    settings.MEDIA_ROOT = str(stack.var / "media")


# --- residents applying and paying, over and over ------------------------------------------


@dataclass
class Traffic:
    """Residents (``people``, and ``residents`` their browsers) applying for garden waste
    collection and paying its fee, over and over (``load``), on the stack's two web
    processes behind the load balancer, with a worker."""

    stack: Stack
    people: list[Any]
    residents: list[Resident]
    load: Load

    def all_in_rotation(self) -> bool:
        return all(self.stack.in_rotation(name) for name in WEB)

    def outages(self) -> list[Outage]:
        """The answers that said the service was unavailable, or were cut off."""
        return [outage for resident in self.residents for outage in resident.record.outages]

    def assert_each_once(self) -> int:
        """Every confirmation shown is one case, and no resident has a case twice; every
        payment shown as received is settled once with one receipt, one per case. Returns
        the number of cases."""
        confirmed = {
            person: resident.record.confirmations
            for person, resident in zip(self.people, self.residents, strict=True)
        }
        cases = assert_submissions(confirmed)
        shown = [payment for resident in self.residents for payment in resident.record.payments]
        assert assert_payments(shown) == len(shown) == cases
        return cases


@pytest.fixture
def start_traffic(stack: Stack) -> Callable[..., Traffic]:
    """Start the traffic of three residents on ``stack`` (the services published, the
    web processes, the load balancer and a worker started, everyone signed in): call it
    once the test's database is the one the stack uses. With ``supervise_worker``, the
    worker is started again whenever it exits; ``patience`` is how long a resident waits
    for an answer."""

    def start(*, supervise_worker: bool = False, patience: float = 60.0) -> Traffic:
        publish_services()
        people = [make_resident(number) for number in range(3)]
        for name in WEB:
            stack.start_web(name)
        stack.start_balancer()
        if supervise_worker:
            stack.supervise_worker("worker")
        else:
            stack.start_worker("worker")
        residents = [Resident(stack.url, person.email, patience=patience) for person in people]
        traffic = Traffic(stack, people, residents, Load(residents, _apply_and_pay))
        wait_for(traffic.all_in_rotation, "both web processes in rotation")
        for resident in residents:
            resident.sign_in()
        traffic.load.start()
        return traffic

    return start


def _apply_and_pay(resident: Resident, journey: int) -> Any:
    return resident.apply_and_pay(bins=1 + journey % 3)


# --- a PostgreSQL cluster of the test's own ------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL cluster run by the ``postgres`` user, on a free port."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = free_port()

    def _as_postgres(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def init(self) -> None:
        self._as_postgres(
            str(self.bin / "initdb"),
            *("-D", str(self.data)),
            *("-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"),
        )

    def pg_ctl(self, action: str, *options: str) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            action,
            *("-D", str(self.data), "-l", str(self.log), "-w", "-t", "60"),
            *options,
        )

    def start(self) -> None:
        # The socket in the cluster's own folder; fsync off: nothing here must survive
        # a crash of the machine, only a restart of the server.
        self.pg_ctl(
            "start",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off",
        )

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{quote(name)}"


def _postgres_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return candidates[-1].parent if candidates else None


@pytest.fixture
def own_postgres() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test alone, started; stopped and deleted at the end.
    Restarting it disturbs nobody (the machine's server serves the other tests)."""
    bin_dir = _postgres_bin()
    if bin_dir is None or shutil.which("runuser") is None:
        pytest.skip("needs Debian's PostgreSQL server programs (initdb, pg_ctl) and runuser")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("needs the postgres system user to run a cluster of the test's own")
    if os.geteuid() != 0:
        pytest.skip("needs root to run a cluster of the test's own as the postgres user")
    # Not under pytest's tmp_path: its folders are root's alone (0700), out of reach of
    # the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="ecitizen-faults-pg-"))
    os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    cluster = Cluster(bin_dir, folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster._as_postgres(
            str(bin_dir / "pg_ctl"), "stop", "-D", str(cluster.data), "-m", "immediate", check=False
        )
        if cluster.log.exists():
            sys.stderr.write(f"--- postgres\n{cluster.log.read_text(errors='replace')[-4000:]}\n")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_in_own_postgres(own_postgres: Cluster) -> Iterator[str]:
    """This test's database (migrated, as pytest-django made it) copied into the own
    cluster, and this process's connection pointed at the copy for the test's duration:
    what the test writes, the processes read, and the checks read, is there. Returns its
    URL."""
    source = connections["default"]
    settings = source.settings_dict
    bin_dir = own_postgres.bin
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    subprocess.run(
        [str(bin_dir / "createdb"), "--maintenance-db", own_postgres.url("postgres"), "ecitizen"],
        check=True,
        capture_output=True,
        env=env,
    )
    dump = subprocess.Popen(
        [str(bin_dir / "pg_dump"), "--format=custom", "--dbname", postgres_url(settings)],
        stdout=subprocess.PIPE,
        env=env,
    )
    restore = subprocess.run(
        [
            str(bin_dir / "pg_restore"),
            *("--no-owner", "--no-privileges", "--exit-on-error"),
            *("--dbname", own_postgres.url("ecitizen")),
        ],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    dump.wait(timeout=120)
    assert dump.returncode == 0, "pg_dump of the test database failed"
    assert restore.returncode == 0, restore.stderr
    original = connections["default"]
    copy = type(original)(
        {
            **settings,
            "NAME": "ecitizen",
            "HOST": "127.0.0.1",
            "PORT": str(own_postgres.port),
            "USER": "postgres",
            "PASSWORD": "",
        },
        "default",
    )
    connections["default"] = copy
    try:
        yield own_postgres.url("ecitizen")
    finally:
        copy.close()
        connections["default"] = original


# --- sessions cut, a link broken ----------------------------------------------------------


def terminate_sessions(application_name: str) -> int:
    """Terminate the sessions of this test's database that connected as
    ``application_name`` (libpq's ``PGAPPNAME``), as a restart or a failover of the server
    ends every session, and as ``pg_terminate_backend`` does; return how many. Sessions of
    other names, other tests' included, are left alone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [application_name],
        )
        return int(cursor.fetchone()[0])


class DatabaseLink:
    """The network between the stack's processes and this test's PostgreSQL server: a
    relay on a free port of 127.0.0.1 (``url``, the processes' ``DATABASE_URL``).

    :meth:`cut` drops every connection through it and, until :meth:`restore`, closes each
    new one at once (``refused`` counts them): to those processes the server has gone
    away, as when it restarts or fails over, while it goes on serving everyone else.
    """

    def __init__(self, settings_dict: dict[str, Any]) -> None:
        self._server = (settings_dict.get("HOST") or "localhost", int(settings_dict["PORT"]))
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        self.url = postgres_url({**settings_dict, "HOST": "127.0.0.1", "PORT": port})
        self.refused = 0
        self._up = True
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="database-link", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if not self._up:
                    self.refused += 1
                    client.close()
                    continue
                server = socket.create_connection(self._server)
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._relay, args=(source, sink), daemon=True).start()

    def _relay(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy what ``source`` sends to ``sink`` until either end goes; then end both
        directions (each socket is the source of one relay, which closes it)."""
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._open.discard(source)
        source.close()

    def cut(self) -> None:
        with self._lock:
            self._up = False
            for end in self._open:
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def close(self) -> None:
        self.cut()
        self._listener.close()


@pytest.fixture
def database_link() -> Iterator[DatabaseLink]:
    """A :class:`DatabaseLink` to this test's database; closed at the end."""
    link = DatabaseLink(connections["default"].settings_dict)
    try:
        yield link
    finally:
        link.close()


# --- a small file system to fill -------------------------------------------------------------


@pytest.fixture
def small_media(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted where the web processes keep their media (``VAR_DIR/media``
    of the stack); unmounted at the end."""
    media = tmp_path / "var" / "media"
    media.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(media)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system to fill: {mounted.stderr.strip()}")
    try:
        yield media
    finally:
        for _ in range(50):
            if (
                subprocess.run(["umount", str(media)], capture_output=True, check=False).returncode
                == 0
            ):
                break
            time.sleep(0.2)  # a process killed a moment ago may still hold it
        else:
            subprocess.run(["umount", "-l", str(media)], capture_output=True, check=False)

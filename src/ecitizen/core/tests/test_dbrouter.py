"""The read-replica router's rules (``ecitizen.core.dbrouter``): unit tests of each rule,
then requests through the whole middleware stack against a second connection to the test
database standing for the replica (a mirror, as ``TEST: {"MIRROR": "default"}`` makes
it), where the queries each connection ran show where a read went."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ecitizen.accounts.models import Department
from ecitizen.core.dbrouter import (
    PIN_COOKIE,
    REPLICA_DB_ALIAS,
    ReplicaPinMiddleware,
    ReplicaRouter,
    replica_may_serve,
    replica_reads,
    replica_view,
)
from ecitizen.core.tests.test_settings import _run
from tests.factories import DepartmentFactory, UserFactory

router = ReplicaRouter()


# --- the rules, one by one ---------------------------------------------------------------


def test_reads_outside_the_scope_go_to_the_primary():
    assert router.db_for_read(Department) == DEFAULT_DB_ALIAS


def test_reads_inside_the_scope_go_to_the_replica():
    with replica_reads():
        assert router.db_for_read(Department) == REPLICA_DB_ALIAS
        with replica_reads():  # nested: still inside
            assert router.db_for_read(Department) == REPLICA_DB_ALIAS
        assert router.db_for_read(Department) == REPLICA_DB_ALIAS
    assert router.db_for_read(Department) == DEFAULT_DB_ALIAS


def test_writes_go_to_the_primary_and_the_rest_of_the_scope_reads_it():
    assert router.db_for_write(Department) == DEFAULT_DB_ALIAS
    with replica_reads():
        assert router.db_for_read(Department) == REPLICA_DB_ALIAS
        assert router.db_for_write(Department) == DEFAULT_DB_ALIAS
        # Its own write must be seen: every later read of the block, of any table.
        assert router.db_for_read(Department) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Session) == DEFAULT_DB_ALIAS
    with replica_reads():  # a new unit of work starts clean
        assert router.db_for_read(Department) == REPLICA_DB_ALIAS


def test_sessions_and_the_cache_table_are_always_read_on_the_primary():
    with replica_reads():
        assert router.db_for_read(Session) == DEFAULT_DB_ALIAS
        assert router.db_for_read(cache.cache_model_class) == DEFAULT_DB_ALIAS


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary():
    with replica_reads():
        assert router.db_for_read(Department) == REPLICA_DB_ALIAS
        with transaction.atomic():
            assert router.db_for_read(Department) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Department) == REPLICA_DB_ALIAS


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "accounts", "department") is True
    assert router.allow_migrate(REPLICA_DB_ALIAS, "accounts", "department") is False


def test_objects_of_the_primary_and_the_replica_may_be_related():
    def read_from(alias: str) -> Department:
        department = Department(slug="revenue", name="Revenue")
        department._state.db = alias
        return department

    primary, replica, elsewhere = (
        read_from(DEFAULT_DB_ALIAS),
        read_from(REPLICA_DB_ALIAS),
        read_from("archive"),
    )
    assert router.allow_relation(primary, replica) is True
    assert router.allow_relation(replica, replica) is True
    assert router.allow_relation(primary, elsewhere) is None  # not ours to decide


def test_each_thread_has_its_own_scope():
    seen: list[str] = []
    with replica_reads():
        other = threading.Thread(target=lambda: seen.append(router.db_for_read(Department)))
        other.start()
        other.join()
        assert router.db_for_read(Department) == REPLICA_DB_ALIAS
    assert seen == [DEFAULT_DB_ALIAS]


@pytest.mark.parametrize(
    ("method", "headers", "signed_in", "allowed"),
    [
        ("get", {}, False, True),
        ("head", {}, False, True),
        ("post", {}, False, False),
        ("get", {"HTTP_AUTHORIZATION": "Bearer a-publishers-token"}, False, False),
        ("get", {}, True, False),
    ],
    ids=["get", "head", "post", "credentials", "signed-in"],
)
def test_only_anonymous_safe_reads_enter_the_scope(method, headers, signed_in, allowed):
    request = getattr(RequestFactory(), method)("/dataset/", **headers)
    request.user = SimpleNamespace(is_authenticated=signed_in)
    assert replica_may_serve(request) is allowed

    def view(request):
        return router.db_for_read(Department)

    view.access_rule = "public"  # as the access decorators mark a view
    wrapped = replica_view(view)
    assert wrapped(request) == (REPLICA_DB_ALIAS if allowed else DEFAULT_DB_ALIAS)
    assert (wrapped.__name__, wrapped.access_rule) == ("view", "public")


def test_the_pin_cookie_keeps_reads_on_the_primary_until_it_ends(settings):
    settings.DATABASE_REPLICA_PIN_SECONDS = 10
    seen: list[str] = []

    def inner(request):
        with replica_reads():
            seen.append(router.db_for_read(Department))
        return HttpResponse()

    middleware = ReplicaPinMiddleware(inner)
    now = time.time()
    for cookie in (str(int(now) + 5), str(int(now) - 1), "tomorrow", None):
        request = RequestFactory().get("/dataset/")
        if cookie is not None:
            request.COOKIES[PIN_COOKIE] = cookie
        middleware(request)
    assert seen == [DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS, REPLICA_DB_ALIAS, REPLICA_DB_ALIAS]


# --- requests, with a replica connection -----------------------------------------------------


@pytest.fixture
def replica(transactional_db, settings) -> Iterator[BaseDatabaseWrapper]:
    """A ``replica`` database that is a second, read-only connection to the test database
    (committed rows only, hence ``transactional_db``), with the router and the pin
    middleware installed as ``DATABASE_REPLICA_URL`` installs them."""
    primary = connections[DEFAULT_DB_ALIAS]
    replica_settings = copy.deepcopy(primary.settings_dict)
    if primary.vendor == "postgresql":
        replica_settings["OPTIONS"]["options"] = "-c default_transaction_read_only=on"
    else:
        # The shared in-memory test database, opened a second time, read-only.
        replica_settings["OPTIONS"]["init_command"] = "PRAGMA query_only = ON;"
    replica_settings["TEST"]["MIRROR"] = DEFAULT_DB_ALIAS
    # Set on the handler, not in DATABASES: Django's test case refuses aliases of
    # DATABASES that the test did not declare, and this one exists only for this test.
    connections[REPLICA_DB_ALIAS] = type(primary)(replica_settings, REPLICA_DB_ALIAS)
    settings.DATABASE_ROUTERS = ["ecitizen.core.dbrouter.ReplicaRouter"]
    middleware = list(django_settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "ecitizen.core.dbrouter.ReplicaPinMiddleware",
    )
    settings.MIDDLEWARE = middleware
    settings.DATABASE_REPLICA_PIN_SECONDS = 10
    try:
        yield connections[REPLICA_DB_ALIAS]
    finally:
        connections[REPLICA_DB_ALIAS].close()
        del connections[REPLICA_DB_ALIAS]


def _departments_read(captured: CaptureQueriesContext) -> int:
    return sum('"accounts_department"' in query["sql"] for query in captured.captured_queries)


def _organisations(client: Client, replica: BaseDatabaseWrapper) -> str:
    """Load the public list of organisations; where its reads of departments ran:
    ``"replica"``, ``"primary"`` or ``"both"``."""
    primary = connections[DEFAULT_DB_ALIAS]
    with CaptureQueriesContext(primary) as on_primary, CaptureQueriesContext(replica) as on_replica:
        response = client.get(reverse("opendata:organizations"))
    assert response.status_code == 200
    assert "Revenue" in response.content.decode()  # committed on the primary, read back
    where = {
        alias
        for alias, captured in (("primary", on_primary), ("replica", on_replica))
        if _departments_read(captured)
    }
    return where.pop() if len(where) == 1 else "both"


@pytest.mark.db_specific
def test_an_anonymous_visitor_reads_a_public_page_from_the_replica(replica):
    DepartmentFactory(slug="revenue", name="Revenue")
    assert _organisations(Client(), replica) == "replica"


@pytest.mark.db_specific
def test_after_a_post_the_same_visitor_reads_the_primary_for_the_pin_time(replica):
    DepartmentFactory(slug="revenue", name="Revenue")
    visitor, other = Client(), Client()
    start = time.time()
    with time_machine.travel(start, tick=False):
        response = visitor.post(reverse("core:language"), {"language": "en", "next": "/"})
        assert response.cookies[PIN_COOKIE]["max-age"] == 10
        assert response.cookies[PIN_COOKIE]["httponly"]
        assert _organisations(visitor, replica) == "primary"
        # Someone else, without the cookie, is not held back.
        assert _organisations(other, replica) == "replica"
    with time_machine.travel(start + 9, tick=False):
        assert _organisations(visitor, replica) == "primary"
    with time_machine.travel(start + 11, tick=False):
        assert _organisations(visitor, replica) == "replica"


@pytest.mark.db_specific
def test_a_signed_in_person_reads_the_primary(replica):
    DepartmentFactory(slug="revenue", name="Revenue")
    resident = Client()
    resident.force_login(UserFactory(email="resident@example.test"))
    assert _organisations(resident, replica) == "primary"


@pytest.mark.db_specific
def test_after_a_write_the_rest_of_the_block_reads_the_primary(replica):
    primary = connections[DEFAULT_DB_ALIAS]
    with (
        CaptureQueriesContext(primary) as on_primary,
        CaptureQueriesContext(replica) as on_replica,
        replica_reads(),
    ):
        assert Department.objects.count() == 0  # on the replica
        DepartmentFactory(slug="revenue", name="Revenue")  # on the primary
        assert Department.objects.count() == 1  # its own write, on the primary
        with transaction.atomic():
            assert Department.objects.filter(slug="revenue").exists()
    assert _departments_read(on_replica) == 1
    assert not [q for q in on_replica.captured_queries if "INSERT" in q["sql"].upper()]
    assert _departments_read(on_primary) >= 3  # get_or_create, insert, count, exists


@pytest.mark.db_specific
def test_the_replica_refuses_writes(replica):
    """Nothing is meant to write there; the connection is read-only, as the settings open
    a real replica's."""
    with pytest.raises(DatabaseError):
        Department.objects.using(REPLICA_DB_ALIAS).create(slug="nowhere", name="Nowhere")


# --- the settings ----------------------------------------------------------------------------

SHOW_DATABASES = (
    "from django.conf import settings; import json; print(json.dumps({"
    "'replica': settings.DATABASES.get('replica'), 'routers': settings.DATABASE_ROUTERS,"
    "'middleware': settings.MIDDLEWARE}, default=str))"
)
POSTGRES = "postgres://ecitizen@db.internal:5432/ecitizen"


def test_without_a_replica_url_nothing_is_installed():
    result = _run({"DATABASE_URL": POSTGRES}, SHOW_DATABASES)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["replica"], shown["routers"]) == (None, [])
    assert "ecitizen.core.dbrouter.ReplicaPinMiddleware" not in shown["middleware"]


def test_a_replica_url_adds_the_replica_the_router_and_the_pin():
    replica_url = "postgres://reader@db-replica.internal:5432/ecitizen?options=-c%20jit%3Doff"
    result = _run({"DATABASE_URL": POSTGRES, "DATABASE_REPLICA_URL": replica_url}, SHOW_DATABASES)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    replica = shown["replica"]
    assert (replica["HOST"], replica["USER"]) == ("db-replica.internal", "reader")
    assert (replica["CONN_MAX_AGE"], replica["CONN_HEALTH_CHECKS"]) == (60, True)
    assert replica["TEST"] == {"MIRROR": "default"}
    assert replica["OPTIONS"]["options"] == "-c jit=off -c default_transaction_read_only=on"
    assert shown["routers"] == ["ecitizen.core.dbrouter.ReplicaRouter"]
    middleware = shown["middleware"]
    pin = middleware.index("ecitizen.core.dbrouter.ReplicaPinMiddleware")
    assert middleware[pin + 1] == "django.contrib.sessions.middleware.SessionMiddleware"


@pytest.mark.parametrize(
    ("primary", "replica", "message"),
    [
        ("sqlite:////tmp/ecitizen.sqlite3", POSTGRES, "needs DATABASE_URL to be PostgreSQL"),
        (POSTGRES, "sqlite:////tmp/replica.sqlite3", "must be a PostgreSQL URL"),
    ],
)
def test_a_replica_needs_postgresql(primary, replica, message):
    result = _run({"DATABASE_URL": primary, "DATABASE_REPLICA_URL": replica}, SHOW_DATABASES)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: DATABASE_REPLICA_URL {message}" in result.stderr

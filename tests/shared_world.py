"""A world built once for all the tests of a module (or of a class), each test running
inside it and rolled back: Django's ``TestCase.setUpTestData`` for pytest.

A module whose tests all need the same costly rows (departments, officials, published
services, issued documents, loaded tables...) builds them once::

    def _build() -> World:
        ...  # through the services, as a test would

    _shared_world, world = shared_world(_build)

``world`` is then an ordinary fixture: each test that requests it gets the world.

How it works. On the first test of the module that needs it (on each xdist process that
runs tests of the module), ``_shared_world`` opens a transaction on every database, builds
the world inside it, and keeps it open while the module's tests run; at the end of the
module it rolls it back, so no row outlives the module. pytest-django's transaction
around each test is then a savepoint inside it, rolled back after the test: whatever a
test writes (a POST that changes an object, a service called) is undone before the next
test starts from the world as built.

The contract, for a test that uses a shared world:

- It may read the world, and change it through the database as it likes: requests,
  services, ``QuerySet.update``, deletions. The next test does not see the change.
- What ``world`` returns is a deep copy of the built objects, made for that test: a test
  may change the instances it holds (``user.is_active = False``) without another test
  seeing it. As anywhere, an instance does not follow what the database does; read it
  again (``refresh_from_db()``) after changing its row by other means.
- Its files (uploads, issued documents, DataStore tables, the insights store) are a copy of
  the world's, made for that test in its ``tmp_path``: it may write, replace or delete
  them. A test that points a setting at a folder of its own (``settings.INSIGHTS_DIR =
  tmp_path / "store"``) still may; ``own_files_folder`` would hide the world's files and
  is refused.
- It must not be transactional (``django_db(transaction=True)``, ``transactional_db``,
  ``live_server``, reset sequences, serialized rollback): that would commit inside the
  world, or flush it. Such a test belongs in another module (or, with ``scope="class"``,
  outside the class).
- Every test of the scope that uses the database must use the world: one that does not
  would still run inside it when it happens to run after a test that does, and so depend
  on the order of the tests. Put ``pytest.mark.usefixtures("world")`` in ``pytestmark``.
- It must not rely on ids or sequence values: PostgreSQL does not roll sequences back,
  so ids depend on the tests before it (as they already did).

The build runs as a test's set-up would: passwords hashed with MD5 (the root conftest's
fast hashing), the default language active, factory-boy and Faker seeded from the module's
id (the same people on every run), an empty cache. ``on_commit`` callbacks are not run,
as in a test: use ``TestCase.captureOnCommitCallbacks(execute=True)`` around the code
whose callbacks the world needs (a DataStore load).

``scope="class"`` builds the world once for the tests of each class that request it
(a test outside any class then gets a world of its own, built for it alone): for a module
whose other tests need an empty database or a transaction of their own.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import factory.random
import pytest

T = TypeVar("T")

#: What a test of a shared world may not use (see the module's docstring).
_TRANSACTIONAL = {
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}
_DATABASE = {"db", "transactional_db", "live_server"}
_FOLDERS = ("media", "datastore", "insights")
#: The fixture that keeps the world (its name is fixed: one shared world per module).
KEPT = "_shared_world"


def _files_settings(folder: Path) -> dict[str, Any]:
    return {
        "MEDIA_ROOT": str(folder / "media"),
        "DATASTORE_DIR": folder / "datastore",
        "INSIGHTS_DIR": folder / "insights",
    }


def _refuse_tests_that_cannot_share(request: pytest.FixtureRequest, name: str) -> None:
    """Fail at once, saying why, when a test of the scope breaks the contract."""
    scope = request.node
    for item in request.session.items:
        if scope not in item.listchain():
            continue
        names = set(getattr(item, "fixturenames", ()))
        marker = item.get_closest_marker("django_db")
        kwargs = marker.kwargs if marker else {}
        transactional = any(
            kwargs.get(option)
            for option in ("transaction", "reset_sequences", "serialized_rollback")
        )
        if transactional or names & _TRANSACTIONAL:
            pytest.fail(
                f"{item.nodeid} is transactional: it cannot run inside the shared world "
                f"{name!r} (move it out of the module or class; tests/shared_world.py)",
                pytrace=False,
            )
        if "own_files_folder" in names:
            pytest.fail(
                f"{item.nodeid} uses own_files_folder, which hides the files of the shared "
                f"world {name!r} (tests/shared_world.py)",
                pytrace=False,
            )
        if (marker or names & _DATABASE) and name not in names:
            pytest.fail(
                f"{item.nodeid} uses the database but not the shared world {name!r}: it "
                "would run inside it or not depending on the order of the tests "
                f'(pytest.mark.usefixtures("{name}"); tests/shared_world.py)',
                pytrace=False,
            )


def shared_world(
    build: Callable[[], T], *, name: str = "world", scope: str = "module"
) -> tuple[Any, Any]:
    """The two fixtures of ``build``'s world (see the module's docstring): the one that
    builds it and keeps it for the ``scope`` (``_shared_world``: one shared world per
    module), and ``name``, the one tests request, which gives each test its copy. Assign
    both to names of the module: ``_shared_world, world = shared_world(_build)``."""

    @pytest.fixture(scope=scope, name=KEPT)
    def kept(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
        from django.core.cache import cache
        from django.db import connections, transaction
        from django.test import override_settings
        from django.utils import translation

        _refuse_tests_that_cannot_share(request, name)
        request.getfixturevalue("django_db_setup")
        blocker = request.getfixturevalue("django_db_blocker")
        folder = tmp_path_factory.mktemp(f"world-{name}")
        for sub in _FOLDERS:
            (folder / sub).mkdir()
        aliases = [
            alias
            for alias in connections
            if not connections[alias].settings_dict.get("TEST", {}).get("MIRROR")
        ]
        atomics: list[tuple[str, Any]] = []
        hashing = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        with override_settings(PASSWORD_HASHERS=hashing, **_files_settings(folder)):
            with blocker.unblock():
                for alias in aliases:
                    atomic = transaction.atomic(using=alias)
                    atomic._from_testcase = True  # as TestCase's own: durable blocks nest
                    atomic.__enter__()
                    atomics.append((alias, atomic))
                try:
                    translation.deactivate()
                    factory.random.reseed_random(request.node.nodeid)
                    cache.clear()
                    world = build()
                    translation.deactivate()
                except BaseException:
                    _roll_back(atomics)
                    raise
            try:
                yield folder, world
            finally:
                with blocker.unblock():
                    _roll_back(atomics)

    # The kept world and ``db`` are arguments, not looked up: pytest then sets up the
    # world (a wider scope) before ``db`` opens the test's savepoint inside it.
    @pytest.fixture(name=name)
    def for_the_test(_shared_world: tuple[Path, T], db: None, tmp_path: Path) -> Iterator[T]:
        from django.test import override_settings

        folder, world = _shared_world
        files = tmp_path / f"world-{name}-files"
        shutil.copytree(folder, files)
        with override_settings(**_files_settings(files)):
            yield copy.deepcopy(world)

    return kept, for_the_test


def _roll_back(atomics: list[tuple[str, Any]]) -> None:
    from django.db import transaction

    for alias, atomic in reversed(atomics):
        transaction.set_rollback(True, using=alias)
        atomic.__exit__(None, None, None)

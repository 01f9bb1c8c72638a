"""Fixtures shared by every test: personas and fast password hashing."""

from __future__ import annotations

import importlib
import os

import factory.random
import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["tests.personas", "tests.flush", "tests.s3"]

# Property tests: HYPOTHESIS_PROFILE chooses how many examples each one tries (docs/testing.md).
# "dev" is the default; CI sets "ci" (the settlement property test renders and signs a PDF
# per example); "thorough" is for hunting a rare failure. A test that fixes max_examples
# itself keeps it: only cheap, pure tests should.
hypothesis_settings.register_profile("dev", max_examples=200)
hypothesis_settings.register_profile("ci", max_examples=25, print_blob=True)
hypothesis_settings.register_profile("thorough", max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# The append-only tables: the audit events and their signed checkpoints.
_TRIGGERS = [
    importlib.import_module("ecitizen.core.migrations.0002_audit_append_only"),
    importlib.import_module("ecitizen.core.migrations.0005_audit_checkpoints"),
]


def _set_audit_triggers(*, enabled: bool) -> None:
    with connection.cursor() as cursor:
        for triggers in _TRIGGERS:
            if connection.vendor == "postgresql":
                state = "ENABLE" if enabled else "DISABLE"
                cursor.execute(f"ALTER TABLE {triggers.TABLE} {state} TRIGGER USER")
            elif enabled:
                for statement in triggers.SQLITE_CREATE:
                    cursor.execute(
                        statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS")
                    )
            else:
                for statement in triggers.SQLITE_DROP:
                    cursor.execute(statement)


@pytest.fixture(autouse=True)
def _append_only_audit_table(request):
    """Keep the audit table's refusal triggers on during every database test, and let the
    flush that ends a transactional test (a live server, for instance) empty the table."""
    names = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        names & {"transactional_db", "live_server"}
    )
    if not (marker or names & {"db", "transactional_db", "live_server"}):
        yield
        return
    request.getfixturevalue("transactional_db" if transactional else "db")
    _set_audit_triggers(enabled=True)
    yield
    if transactional:
        _set_audit_triggers(enabled=False)


_DATABASE_FIXTURES = {"db", "transactional_db", "live_server"}


@pytest.fixture(scope="session", autouse=True)
def _files_in_a_temporary_folder(tmp_path_factory):
    """Uploads, issued documents and DataStore tables go to a folder of this test run, signed with a
    throwaway certificate: no test writes into the project's ``var/``."""
    from django.test import override_settings

    from ecitizen.documents.tests.signing_fixtures import make_signing_pair

    folder = tmp_path_factory.mktemp("var")
    key_path, cert_path = make_signing_pair(folder)
    with override_settings(
        MEDIA_ROOT=str(folder / "media"),
        DATASTORE_DIR=folder / "datastore",
        INSIGHTS_DIR=folder / "insights",
        DOCUMENT_SIGNING_KEY_FILE=str(key_path),
        DOCUMENT_SIGNING_CERT_FILE=str(cert_path),
    ):
        yield


@pytest.fixture
def own_files_folder(tmp_path):
    """Uploads, DataStore tables and the insights store in a folder of this test alone.
    The session's folder outlives each test's database rows: a test that loads the whole
    demo twice met an earlier test's DuckDB store or dataset files there, and its second
    load differed from its first depending on the tests before it."""
    from django.test import override_settings

    with override_settings(
        MEDIA_ROOT=str(tmp_path / "media"),
        DATASTORE_DIR=tmp_path / "datastore",
        INSIGHTS_DIR=tmp_path / "insights",
    ):
        yield tmp_path


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """allauth keeps rate limits and used TOTP codes in the cache (a database table), the
    catalogue its published definitions in the process (by checksum): no test inherits
    them."""
    from ecitizen.catalogue.selectors import definitions_forget

    if not (
        request.node.get_closest_marker("django_db")
        or _DATABASE_FIXTURES & set(request.fixturenames)
    ):
        yield
        return
    request.getfixturevalue("_append_only_audit_table")  # the database is set up first
    cache.clear()
    definitions_forget()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language. A request in French or Arabic leaves that
    language active in the thread (LocaleMiddleware activates it and nothing deactivates
    it), so without this a test would see the language of whichever test ran before it on
    the same process: a different one under pytest-xdist than in a serial run."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _reproducible_fake_data(request):
    """Faker's names and factory-boy's fuzzy values come from a seed made of the test's id:
    a test gets the same people on every run and whatever ran before it on its process
    (pytest-xdist changes that order), so a failure can be repeated. Random names otherwise
    made, say, a persona called "Mark ..." show up in a search for "mar" now and then."""
    factory.random.reseed_random(request.node.nodeid)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is deliberately slow; the hashing algorithm is not what these tests test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

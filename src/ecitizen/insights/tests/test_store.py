"""The analytical store: a sync reads only what is new, a changed case replaces its copy,
a database restored from an older backup makes the store start again, and a sync cut
off between two batches resumes where it stopped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecitizen.accounts.models import Role
from ecitizen.cases import services as cases
from ecitizen.cases.models import ServiceUsage
from ecitizen.cases.tests.support import submit_shed
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.feedback.services import Completed, rating_record
from ecitizen.insights import store
from ecitizen.insights.store import store_open, store_sync
from tests.factories import DepartmentFactory, UserFactory
from tests.personas import _official

pytestmark = pytest.mark.django_db

CASES_FIXTURES = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures"


@pytest.fixture
def shed(db, tmp_path, settings):
    settings.INSIGHTS_DIR = tmp_path / "store"
    DepartmentFactory(slug="public-works", name="Public Works")
    folder = tmp_path / "definitions"
    folder.mkdir()
    shutil.copy(CASES_FIXTURES / "shed-permit.yaml", folder)
    service_definitions_publish(directory=folder, actor=None)
    return Service.objects.get(slug="shed-permit")


@pytest.fixture
def officer(shed):
    return _official(Role.CASE_OFFICER, shed.department, email="officer@example.test")


def _count(connection, table: str) -> int:
    return connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]  # noqa: S608


def _started(service, how_many: int) -> None:
    for _ in range(how_many):
        resident = UserFactory()
        cases.draft_start(service=service, applicant=resident, actor=resident)


def test_a_sync_reads_only_what_is_new(shed):
    _started(shed, 3)
    with store_open() as connection:
        first = store_sync(connection)
        assert first.rows["usage"] == 3
        assert not first.rebuilt
        assert store_sync(connection).rows == {"usage": 0, "actions": 0, "ratings": 0, "cases": 0}
    _started(shed, 2)
    rating_record(
        completed=Completed(
            step="application", reference="X-1", service_key=shed.slug, service_id=shed.pk
        ),
        level=4,
    )
    # Another process (the next night's job) opens the same file.
    with store_open() as connection:
        second = store_sync(connection)
        assert second.rows == {"usage": 2, "actions": 0, "ratings": 1, "cases": 0}
        assert _count(connection, "usage") == 5
        assert connection.execute("SELECT service_id, level FROM ratings").fetchall() == [
            (shed.pk, 4)
        ]
        # The dimensions are read whole every time.
        assert connection.execute("SELECT slug, sla_target_days FROM services").fetchall() == [
            ("shed-permit", 10)
        ]


def test_a_changed_case_is_replaced_not_added_again(shed, officer):
    resident = UserFactory()
    case = submit_shed(shed, resident)
    with store_open() as connection:
        assert store_sync(connection).rows["cases"] == 1
        assert connection.execute("SELECT id, state FROM cases").fetchall() == [
            (case.pk, "submitted")
        ]
    case = cases.case_transition(case=case, action_id="start_review", actor=officer)
    case = cases.case_transition(
        case=case,
        action_id="request_info",
        actor=officer,
        given=cases.ActionInput(text="Which wood?"),
    )
    with store_open() as connection:
        synced = store_sync(connection)
        assert synced.rows["cases"] == 1
        assert synced.rows["actions"] == 2
        assert connection.execute(
            "SELECT id, state, more_info_rounds, assigned_to_id FROM cases"
        ).fetchall() == [(case.pk, "info_needed", 1, officer.pk)]
        assert connection.execute("SELECT case_id, action FROM actions ORDER BY id").fetchall() == [
            (case.pk, "start_review"),
            (case.pk, "request_info"),
        ]


def test_a_database_restored_from_an_older_backup_rebuilds_the_store(shed):
    _started(shed, 3)
    with store_open() as connection:
        store_sync(connection)
        assert _count(connection, "usage") == 3
    # The database goes back to a state with one usage row fewer: the store's cursor now
    # points beyond the last row there is.
    ServiceUsage.objects.order_by("-pk").first().delete()
    with store_open() as connection:
        synced = store_sync(connection)
        assert synced.rebuilt
        assert synced.rows["usage"] == 2
        assert sorted(
            row[0] for row in connection.execute("SELECT id FROM usage").fetchall()
        ) == sorted(ServiceUsage.objects.values_list("pk", flat=True))
    # Asked for explicitly, a rebuild reads everything again too.
    with store_open() as connection:
        again = store_sync(connection, rebuild=True)
        assert again.rebuilt
        assert again.rows["usage"] == 2
        assert _count(connection, "usage") == 2


def test_a_sync_cut_off_between_batches_resumes_where_it_stopped(shed, monkeypatch):
    _started(shed, 5)
    monkeypatch.setattr(store, "BATCH", 2)
    batches: list[tuple[str, int]] = []

    def cut_off_after_the_first_batch(feed: str, rows: int) -> None:
        batches.append((feed, rows))
        raise KeyboardInterrupt  # the job is stopped half-way

    with store_open() as connection:
        with pytest.raises(KeyboardInterrupt):
            store_sync(connection, progress=cut_off_after_the_first_batch)
        # The first batch and its cursor were committed together.
        assert _count(connection, "usage") == 2
    assert batches == [("usage", 2)]
    seen: list[tuple[str, int]] = []
    with store_open() as connection:
        resumed = store_sync(connection, progress=lambda feed, rows: seen.append((feed, rows)))
        assert resumed.rows["usage"] == 3
        assert not resumed.rebuilt
        assert seen == [("usage", 2), ("usage", 1)]
        assert sorted(
            row[0] for row in connection.execute("SELECT id FROM usage").fetchall()
        ) == sorted(ServiceUsage.objects.values_list("pk", flat=True))

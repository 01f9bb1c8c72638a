"""The platform's dataset of service performance indicators (``service-kpis``): the
public performance page's figures for every ended month, suppressed as the page is,
published with its data dictionary; a second refresh writes nothing, a month that ends
is one new revision."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.insights.models import KpiMonth
from ecitizen.opendata import platform
from ecitizen.opendata.models import Dataset, DatasetRevision
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

CASES_FIXTURES = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures"

FULL = {
    "started": 40,
    "completed": 30,
    "completed_online": 24,
    "ratings": {"3": 5, "4": 10, "5": 10},
    "rated": 25,
    "currency": "GBP",
    "cost": {"total": "375.00", "per_transaction": "12.50", "missing": []},
}
FEW = {
    "started": 12,
    "completed": 4,
    "completed_online": 3,
    "ratings": {"5": 3},
    "rated": 3,
    "currency": "GBP",
    "cost": None,
}
#: Enough people, but only 2 satisfied of 30 ratings, and costs entered in part.
FEW_SATISFIED = {
    "started": 50,
    "completed": 45,
    "completed_online": 45,
    "ratings": {"1": 20, "2": 8, "5": 2},
    "rated": 30,
    "currency": "GBP",
    "cost": {"total": "100.00", "per_transaction": "2.22", "missing": ["fixed costs"]},
}


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"
    # One threshold for everything public, the larger of the two settings: 5 here.
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 5
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 5
    settings.CURRENCY = "GBP"


def _kpi(service: Service, month: date, figures: dict) -> None:
    KpiMonth.objects.create(
        scope=KpiMonth.Scope.SERVICE,
        key=service.slug,
        service=service,
        department=service.department,
        month=month,
        figures=figures,
    )


@pytest.fixture
def world(db):
    DepartmentFactory(slug="communications", name="Communications")
    DepartmentFactory(slug="public-works", name="Public Works")
    service_definitions_publish(directory=CASES_FIXTURES, actor=None)
    shed = Service.objects.get(slug="shed-permit")
    garden = Service.objects.get(slug="garden-waste-collection")
    _kpi(shed, date(2026, 1, 1), FEW)
    _kpi(shed, date(2026, 2, 1), FULL)
    _kpi(shed, date(2026, 3, 1), FULL)  # ends on 31 March
    _kpi(garden, date(2026, 2, 1), FEW_SATISFIED)
    return {"shed": shed, "garden": garden}


def _definition() -> platform.PlatformDataset:
    (definition,) = [d for d in platform.DATASETS if d.slug == "service-kpis"]
    return definition


def _publish(when: str, capture) -> platform.Outcome:
    with time_machine.travel(when, tick=False), capture(execute=True):
        (outcome,) = platform.publish_all([_definition()])
    return outcome


def _rows(dataset: Dataset) -> list[dict[str, str]]:
    resource = dataset.resources.get()
    with resource.file.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8"))))


def test_the_kpis_are_published_with_the_pages_suppression(
    world, django_capture_on_commit_callbacks
):
    outcome = _publish("2026-03-15 12:00 +00:00", django_capture_on_commit_callbacks)
    assert outcome.action == "created"
    assert outcome.rows == 3
    dataset = Dataset.objects.get(source_key="platform:service-kpis")
    assert dataset.state == Dataset.State.PUBLISHED
    assert dataset.name == "service-kpis"
    assert dataset.title("en") == "Service performance indicators (KPIs)"
    assert dataset.department.slug == "communications"
    assert "cost per transaction" in dataset.keywords
    assert dataset.frequency == "MONTHLY"
    (resource,) = dataset.resources.all()
    assert resource.format == "CSV"
    assert resource.validation["valid"], resource.validation
    # The marks are missing values: the DataStore loads them as nulls of a number column.
    assert resource.datastore_state == "loaded", resource.datastore_error
    assert resource.datastore_rows == 3
    schema = resource.schema
    assert schema["primaryKey"] == ["month", "service"]
    assert schema["missingValues"] == ["", "[c]", "[x]"]
    fields = {f["name"]: f for f in schema["fields"]}
    assert list(fields) == [
        "month",
        "service",
        "service_title",
        "department",
        "transactions",
        "cost_per_transaction",
        "currency",
        "user_satisfaction",
        "completion_rate",
        "digital_take_up",
    ]
    assert all(f.get("description") for f in fields.values())  # the data dictionary
    assert fields["transactions"]["constraints"]["pattern"] == "^([0-9]+|<5)$"
    assert "below 5" in fields["transactions"]["description"]
    assert fields["user_satisfaction"]["type"] == "number"
    assert "[c]" in fields["user_satisfaction"]["description"]
    # Every ended month of every listed service; not March (it has not ended), and the
    # garden waste service's own figures (listed like the shed).
    assert _rows(dataset) == [
        {
            "month": "2026-01-01",
            "service": "shed-permit",
            "service_title": "Apply for a garden shed permit",
            "department": "public-works",
            "transactions": "<5",  # 4
            "cost_per_transaction": "[x]",  # no costs entered
            "currency": "GBP",
            "user_satisfaction": "[c]",  # 3 of 3
            "completion_rate": "[c]",  # 4 of 12
            "digital_take_up": "[c]",  # 3 of 4
        },
        {
            "month": "2026-02-01",
            "service": "shed-permit",
            "service_title": "Apply for a garden shed permit",
            "department": "public-works",
            "transactions": "30",
            "cost_per_transaction": "12.50",
            "currency": "GBP",
            "user_satisfaction": "0.800",
            "completion_rate": "0.750",
            "digital_take_up": "0.800",
        },
        {
            "month": "2026-02-01",
            "service": "garden-waste-collection",
            "service_title": "Sign up for garden waste collection",
            "department": "public-works",
            "transactions": "45",
            "cost_per_transaction": "[x]",  # costs entered in part
            "currency": "GBP",
            "user_satisfaction": "[c]",  # 2 satisfied of 30
            "completion_rate": "0.900",
            "digital_take_up": "1.000",
        },
    ]


def test_the_datastore_reads_the_marks_as_nulls(client, world, django_capture_on_commit_callbacks):
    _publish("2026-03-15 12:00 +00:00", django_capture_on_commit_callbacks)
    resource = Dataset.objects.get(source_key="platform:service-kpis").resources.get()
    response = client.get(
        "/api/3/action/datastore_search", {"resource_id": str(resource.id), "sort": "_id"}
    )
    records = response.json()["result"]["records"]
    assert [r["user_satisfaction"] for r in records] == [None, 0.8, None]
    assert [r["cost_per_transaction"] for r in records] == [None, 12.5, None]
    assert [r["transactions"] for r in records] == ["<5", "30", "45"]


def test_the_dataset_has_the_public_pages_figures(
    client, world, django_capture_on_commit_callbacks
):
    _publish("2026-03-15 12:00 +00:00", django_capture_on_commit_callbacks)
    published = _rows(Dataset.objects.get(source_key="platform:service-kpis"))
    with time_machine.travel("2026-03-15 12:00 +00:00", tick=False):
        page = []
        for month in ("2026-01", "2026-02"):
            response = client.get(reverse("insights:performance_csv"), {"month": month})
            page += list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert published == page


def test_an_unlisted_service_is_left_out(world, django_capture_on_commit_callbacks):
    Service.objects.filter(slug="garden-waste-collection").update(listed=False)
    _publish("2026-03-15 12:00 +00:00", django_capture_on_commit_callbacks)
    rows = _rows(Dataset.objects.get(source_key="platform:service-kpis"))
    assert {row["service"] for row in rows} == {"shed-permit"}


def test_a_second_refresh_changes_nothing_and_an_ended_month_is_one_revision(
    world, django_capture_on_commit_callbacks
):
    _publish("2026-03-15 12:00 +00:00", django_capture_on_commit_callbacks)
    dataset = Dataset.objects.get(source_key="platform:service-kpis")
    revision, revisions = dataset.revision, DatasetRevision.objects.count()
    checksum = dataset.resources.get().checksum

    again = _publish("2026-03-20 12:00 +00:00", django_capture_on_commit_callbacks)
    dataset.refresh_from_db()
    assert again.action == "unchanged"
    assert dataset.revision == revision
    assert DatasetRevision.objects.count() == revisions
    assert dataset.resources.get().checksum == checksum

    april = _publish("2026-04-01 12:00 +00:00", django_capture_on_commit_callbacks)
    dataset.refresh_from_db()
    assert april.action == "updated"
    assert april.rows == 4
    assert dataset.revision == revision + 1
    assert [row["month"] for row in _rows(dataset)][-1] == "2026-03-01"


# --- one threshold, and no dataset hides what another publishes ------------------------------


def test_the_datasets_share_the_larger_threshold(world, settings):
    """With the settings apart (10 for the open data, 5 for insights), both datasets
    withhold below 10: the shed's 30 transactions of February still read 30, and the
    garden waste service's 2 satisfied of 30 ratings stay withheld."""
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 10
    with time_machine.travel("2026-03-15 12:00 +00:00", tick=False):
        table = platform.service_kpis_table()
    fields = {f["name"]: f for f in table.fields}
    assert fields["transactions"]["constraints"]["pattern"] == "^([0-9]+|<10)$"
    rows = {(row["month"], row["service"]): row for row in table.rows}
    assert rows[("2026-01-01", "shed-permit")]["transactions"] == "<10"  # 4
    assert rows[("2026-02-01", "shed-permit")]["transactions"] == "30"
    # 5 of 25 not satisfied: under 10, so the share is withheld now.
    assert rows[("2026-02-01", "shed-permit")]["user_satisfaction"] == "[c]"
    settings.INSIGHTS_SMALL_COUNT_THRESHOLD = 31
    assert platform.threshold() == 31
    assert platform.suppressed_label() == "<31"


def test_a_cell_another_dataset_publishes_is_never_the_one_hidden_for_a_total():
    values = {"total": 45, "a": 3, "b": 12, "c": 30}
    groups = [("total", ["a", "b", "c"])]
    assert platform.suppress(values, groups, limit=10) == {"a", "b"}
    # b is published elsewhere: hiding it would protect nothing, c is hidden instead.
    assert platform.suppress(values, groups, limit=10, keep={"b"}) == {"a", "c"}
    # Every other part is published elsewhere: the total goes.
    assert platform.suppress(values, groups, limit=10, keep={"b", "c"}) == {"a", "total"}
    # Nothing left to hide (the total is published elsewhere too): the small part alone.
    assert platform.suppress(values, groups, limit=10, keep={"b", "c", "total"}) == {"a"}


def test_the_services_dataset_does_not_hide_what_service_kpis_publishes(world):
    """February 2026, from the usage records: the shed 40 started and 30 completed (24
    online, 6 with help), the garden waste service 3 started and completed online. The
    service-kpis dataset publishes the shed's 30 transactions, its completion rate (so its
    40 starts) and its digital take-up (so its 24 online): hiding those in the services
    dataset so that the month's totals cannot give the garden's 3 away would protect
    nothing (30 + 3 = 33 would still tell 3). The totals are hidden instead, and the
    shed's help and counter completions between them."""
    import uuid
    from datetime import datetime

    from django.utils import timezone

    from ecitizen.cases.services.demo_support import UsageHistoryRow, usage_history_insert

    def at(day: int) -> datetime:
        return timezone.make_aware(datetime(2026, 2, day, 10))

    rows = []
    shed, garden = world["shed"], world["garden"]
    for k in range(40):
        draft, channel = uuid.uuid4(), "online" if k < 24 else "assisted"
        rows.append(UsageHistoryRow(shed.pk, "started", channel, draft, "", None, at(2)))
        if k < 30:
            rows.append(UsageHistoryRow(shed.pk, "completed", channel, draft, "", None, at(3)))
    for _ in range(3):
        draft = uuid.uuid4()
        rows.append(UsageHistoryRow(garden.pk, "started", "online", draft, "", None, at(2)))
        rows.append(UsageHistoryRow(garden.pk, "completed", "online", draft, "", None, at(3)))
    usage_history_insert(rows=rows)
    with time_machine.travel("2026-03-15 12:00 +00:00", tick=False):
        kpis = {row["service"]: row for row in platform.service_kpis_table().rows}
        table = {r["service"]: r for r in platform.services_table().rows}
    assert kpis["shed-permit"]["month"] == "2026-02-01"  # the latest month of the rows
    assert (kpis["shed-permit"]["transactions"], kpis["shed-permit"]["completion_rate"]) == (
        "30",
        "0.750",
    )
    assert kpis["shed-permit"]["digital_take_up"] == "0.800"
    shed_row, garden_row, total = (
        table["shed-permit"],
        table["garden-waste-collection"],
        table["all"],
    )
    assert [garden_row[c] for c in ("started", "completed", "completed_online")] == ["<5"] * 3
    assert [shed_row[c] for c in ("started", "completed", "completed_online")] == [
        "40",
        "30",
        "24",
    ]
    assert [total[c] for c in ("started", "completed", "completed_online")] == ["[c]"] * 3
    # 30 - 24 = 6 with help or at the counter (0): neither can be told.
    assert (shed_row["completed_assisted"], shed_row["completed_counter"]) == ("[c]", "<5")

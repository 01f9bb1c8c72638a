"""The platform's dataset of participatory budget results (``participatory-budget-results``):
one row per project on the ballot of each budget whose results are published, with its
votes, what each counting method chose and what was funded, read through participation's
selectors; budgets not published yet stay out; a second refresh writes nothing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from ecitizen.accounts.services import jurisdiction_ensure
from ecitizen.opendata import platform
from ecitizen.opendata.models import Dataset
from ecitizen.participation.models import Budget, Channel, Phase, Process, Project
from ecitizen.participation.services import budgets
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"
    settings.PUBLIC_BASE_URL = "https://riverton.example"


def _budget(department, ward, *, slug: str, voters: list[list[str]], publish: bool):
    """A published process ``slug`` with a knapsack budget of one £100,000 heading in
    ``ward``: projects A (£60,000), B (£40,000), C (£30,000) and D (not feasible), the
    ballots ``voters`` (each the letters chosen) cast while the vote was open, the vote
    then closed and counted, and the results published when ``publish``."""
    today = timezone.localdate()
    process = Process.objects.create(
        slug=slug,
        title=f"Budget {slug}",
        summary="Residents choose.",
        department=department,
        status=Process.Status.PUBLISHED,
    )
    vote = Phase.objects.create(
        process=process,
        kind=Phase.Kind.VOTE,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=1),
    )
    budget = budgets.budget_create(
        process=process,
        settings=budgets.BudgetSettings(
            total_amount=Decimal("100000"), ballot_kind=Budget.BallotKind.KNAPSACK
        ),
        actor=None,
    )
    heading = budgets.heading_add(
        budget=budget,
        fields=budgets.HeadingFields(
            slug=ward.code, name=ward.name, amount=Decimal("100000"), ward=ward
        ),
        actor=None,
    )
    projects = {}
    for letter, cost in (("A", 60000), ("B", 40000), ("C", 30000), ("D", 10000)):
        project = budgets.project_add(
            heading=heading,
            title=f"Project {letter}",
            description="A project.",
            department=department,
            cost=Decimal(cost),
            actor=None,
        )
        projects[letter] = budgets.project_review(
            project=project,
            feasibility=Project.Feasibility.NOT_FEASIBLE
            if letter == "D"
            else Project.Feasibility.FEASIBLE,
            reason="Not ours to do." if letter == "D" else "",
            actor=None,
        )
    for number, letters in enumerate(voters):
        budgets.ballot_cast(
            heading=heading,
            project_ids=[projects[letter].pk for letter in letters],
            person_key=f"{slug}-voter-{number}",
            channel=Channel.ONLINE,
            actor=None,
        )
    Phase.objects.filter(pk=vote.pk).update(
        starts_on=today - timedelta(days=20), ends_on=today - timedelta(days=10)
    )
    budgets.results_compute(budget=budget, actor=None)
    if publish:
        budgets.results_publish(budget=budget, actor=None)
    return projects


@pytest.fixture
def world(db):
    department = DepartmentFactory(slug="communications", name="Communications")
    ward = jurisdiction_ensure(code="northgate", name="Northgate", actor=None)
    # Seven voters back A and B, which fill the budget; five back C. Greedy funds A and B;
    # equal shares gives the five their share: B and C.
    voters = [["A", "B"]] * 7 + [["C"]] * 5
    projects = _budget(department, ward, slug="budget-2027", voters=voters, publish=True)
    _budget(department, ward, slug="budget-2028", voters=voters, publish=False)
    return projects


def _definition() -> platform.PlatformDataset:
    (definition,) = [d for d in platform.DATASETS if d.slug == "participatory-budget-results"]
    return definition


def _rows(dataset: Dataset) -> list[dict[str, str]]:
    resource = dataset.resources.get()
    with resource.file.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8"))))


def test_the_published_results_are_a_dataset_with_their_data_dictionary(
    client, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (outcome,) = platform.publish_all([_definition()])
    assert outcome.action == "created"
    assert outcome.rows == 3  # the feasible projects of the published budget only
    dataset = Dataset.objects.get(source_key="platform:participatory-budget-results")
    assert dataset.state == Dataset.State.PUBLISHED
    assert dataset.department.slug == "communications"
    assert "pabulib" in dataset.keywords
    assert "/budget/pabulib/" in dataset.description("en")
    (resource,) = dataset.resources.all()
    assert resource.validation["valid"], resource.validation
    assert resource.datastore_state == "loaded", resource.datastore_error
    schema = resource.schema
    assert schema["primaryKey"] == ["process", "project"]
    assert all(f.get("description") for f in schema["fields"])

    rows = _rows(dataset)
    assert [row["title"] for row in rows] == ["Project A", "Project B", "Project C"]
    by_title = {row["title"]: row for row in rows}
    assert [by_title[t]["votes"] for t in ("Project A", "Project B", "Project C")] == [
        "7",
        "7",
        "5",
    ]
    assert {t for t, row in by_title.items() if row["selected_greedy"] == "true"} == {
        "Project A",
        "Project B",
    }
    assert {t for t, row in by_title.items() if row["selected_equal_shares"] == "true"} == {
        "Project B",
        "Project C",
    }
    # What was funded is what the budget's own method (equal shares, completed) chose.
    funded = {t for t, row in by_title.items() if row["selected"] == "true"}
    completed = {t for t, row in by_title.items() if row["selected_equal_shares_add1"] == "true"}
    assert funded == completed
    assert funded == {p.title for p in Project.objects.filter(selected=True)}
    row = by_title["Project C"]
    assert row["process"] == "budget-2027"
    assert row["heading"] == "northgate"
    assert row["ward"] == "northgate"
    assert row["heading_amount"] == "100000.00"
    assert row["cost"] == "30000.00"
    assert row["ballots"] == "12"
    assert row["method"] == "equal_shares_add1"
    assert row["delivery"] == ("not_started" if row["selected"] == "true" else "")
    assert row["results_published"] == timezone.localdate().isoformat()
    address = "/participate/budget-2027/budget/pabulib/northgate.pb"
    assert row["ballots_file"] == django_settings.PUBLIC_BASE_URL + address
    # The address is the public Pabulib file of the heading's ballots.
    pabulib = client.get(address)
    assert pabulib.status_code == 200
    assert "VOTES" in pabulib.content.decode()


def test_a_second_refresh_writes_nothing_and_a_new_count_is_a_revision(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        platform.publish_all([_definition()])
    dataset = Dataset.objects.get(source_key="platform:participatory-budget-results")
    first = dataset.revision
    with django_capture_on_commit_callbacks(execute=True):
        (again,) = platform.publish_all([_definition()])
    assert again.action == "unchanged"
    assert again.revision == first
    # A funded project's delivery moves on: the file changes, one new revision.
    funded = Project.objects.filter(selected=True).first()
    budgets.delivery_set(project=funded, delivery=Project.Delivery.WORKS, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        (moved,) = platform.publish_all([_definition()])
    assert moved.action == "updated"
    assert moved.revision == first + 1
    rows = _rows(Dataset.objects.get(pk=dataset.pk))
    assert {row["delivery"] for row in rows if row["title"] == funded.title} == {"works"}


def test_without_published_results_there_are_no_rows(db):
    DepartmentFactory(slug="communications", name="Communications")
    ward = jurisdiction_ensure(code="northgate", name="Northgate", actor=None)
    _budget(
        DepartmentFactory(slug="public-works"),
        ward,
        slug="budget-2029",
        voters=[["A"]] * 3,
        publish=False,
    )
    table = platform.participatory_budgets_table()
    assert table.rows == []

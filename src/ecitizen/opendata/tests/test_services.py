"""The catalogue's writes: fields checked, remit enforced, every change a revision,
nothing deleted, files checked against their Table Schema, API tokens hashed."""

from __future__ import annotations

import hashlib

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ecitizen.core.errors import PermissionDenied
from ecitizen.opendata import selectors, services
from ecitizen.opendata.models import ApiToken, Dataset, DatasetRevision, Resource
from tests.factories import JurisdictionFactory

pytestmark = pytest.mark.django_db

TREES_SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
        {"name": "species", "type": "string", "constraints": {"required": True}},
        {"name": "planted", "type": "date"},
        {"name": "height_m", "type": "number", "constraints": {"minimum": 0}},
    ]
}
GOOD_CSV = b"id,species,planted,height_m\n1,Oak,2020-03-01,4.5\n2,Elm,2021-11-20,3\n"
BAD_CSV = b"id,species,planted,height_m\n1,Oak,2020-03-01,4.5\n2,,2021-13-20,-3\n1,Ash,,2\n"


@pytest.fixture(autouse=True)
def _datastore_dir(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


def _dataset(actor, department, **fields):
    values = {
        "name": "street-trees",
        "titles": {"en": "Street trees", "fr": "Arbres d'alignement"},
        "licence_id": "OGL-UK-3.0",
        "themes": ["ENVI"],
        "keywords": "Trees, parks",
        **fields,
    }
    return services.dataset_create(actor=actor, department=department, fields=values)


def _add(actor, dataset, content, capture, *, schema=TREES_SCHEMA, filename="trees.csv"):
    with capture(execute=True):
        resource = services.resource_add(
            actor=actor, dataset=dataset, filename=filename, content=content, schema=schema
        )
    resource.refresh_from_db()
    return resource


def test_a_dataset_is_created_as_a_draft_with_its_first_revision(publisher, department):
    dataset = _dataset(publisher, department)

    assert dataset.state == Dataset.State.DRAFT
    assert dataset.keywords == ["trees", "parks"]
    assert dataset.revision == 1
    revision = DatasetRevision.objects.get(dataset=dataset)
    assert revision.snapshot["name"] == "street-trees"
    assert revision.snapshot["title_translated"]["fr"] == "Arbres d'alignement"


def test_every_field_problem_is_reported_at_once(publisher, department):
    with pytest.raises(services.DatasetInvalid) as caught:
        services.dataset_create(
            actor=publisher,
            department=department,
            fields={
                "name": "Not A Slug!",
                "titles": {"fr": "Sans titre anglais"},
                "licence_id": "made-up",
                "themes": ["NOPE"],
                "temporal_start": "2026-02-01",
                "temporal_end": "2025-01-01",
                "contact_email": "not-an-email",
                "colour": "blue",
            },
        )

    assert set(caught.value.errors) == {
        "name",
        "titles",
        "licence_id",
        "themes",
        "temporal_end",
        "contact_email",
        "colour",
    }
    assert not Dataset.objects.exists()


def test_a_name_in_use_is_refused(publisher, department):
    _dataset(publisher, department)
    with pytest.raises(services.DatasetInvalid) as caught:
        _dataset(publisher, department)
    assert "name" in caught.value.errors


def test_publishers_act_only_for_their_own_department(
    publisher, other_publisher, department, other_department, resident
):
    with pytest.raises(PermissionDenied):
        _dataset(other_publisher, department)
    with pytest.raises(PermissionDenied):
        _dataset(resident, department)
    dataset = _dataset(publisher, department)
    with pytest.raises(PermissionDenied):
        services.dataset_update(actor=other_publisher, dataset=dataset, fields={"version": "2"})
    assert Dataset.objects.get().version == ""


def test_a_ward_limited_publisher_cannot_move_a_dataset_out_of_their_ward(department):
    from ecitizen.accounts import services as accounts_services
    from tests.factories import UserFactory

    north, south = JurisdictionFactory(code="north"), JurisdictionFactory(code="south")
    ward_publisher = UserFactory(email="ward.publisher@example.test")
    accounts_services.role_assign(
        user=ward_publisher,
        role="publisher",
        department=department,
        jurisdiction=north,
        actor=None,
        system=True,
    )
    dataset = _dataset(ward_publisher, department, ward="north")
    assert dataset.ward == north

    with pytest.raises(PermissionDenied):
        services.dataset_update(actor=ward_publisher, dataset=dataset, fields={"ward": "south"})
    with pytest.raises(PermissionDenied):
        _dataset(ward_publisher, department, name="authority-wide", ward="")
    dataset.refresh_from_db()
    assert dataset.ward == north
    assert south.pk


def test_an_unchanged_update_writes_no_revision(publisher, department):
    dataset = _dataset(publisher, department)
    services.dataset_update(actor=publisher, dataset=dataset, fields={"version": ""})
    assert DatasetRevision.objects.filter(dataset=dataset).count() == 1

    services.dataset_update(actor=publisher, dataset=dataset, fields={"version": "2026-Q4"})
    assert DatasetRevision.objects.filter(dataset=dataset).count() == 2


def test_a_file_with_problems_reports_each_row_and_column_and_cannot_be_published(
    publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    resource = _add(publisher, dataset, BAD_CSV, django_capture_on_commit_callbacks)

    report = resource.validation
    assert report["valid"] is False
    where = {(p["row"], p["column"], p["type"]) for p in report["errors"]}
    assert where == {
        (3, 2, "constraint-error"),  # species missing
        (3, 3, "type-error"),  # 2021-13-20
        (3, 4, "constraint-error"),  # height below its minimum
        (4, 1, "unique-error"),  # id 1 again
    }
    assert resource.datastore_state == Resource.DatastoreState.FAILED
    with pytest.raises(services.OpendataError) as caught:
        services.dataset_publish(actor=publisher, dataset=dataset)
    assert caught.value.code == "resource_invalid"
    assert Dataset.objects.get().state == Dataset.State.DRAFT


def test_a_replacement_keeps_the_schema_so_a_file_that_does_not_match_is_reported(
    publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    resource = _add(publisher, dataset, GOOD_CSV, django_capture_on_commit_callbacks)
    assert resource.validation["valid"] is True
    first_file = resource.file.name

    with django_capture_on_commit_callbacks(execute=True):
        services.resource_replace(
            actor=publisher, resource=resource, filename="trees.csv", content=BAD_CSV
        )
    resource.refresh_from_db()

    assert resource.schema["fields"][0]["constraints"] == {"required": True, "unique": True}
    assert resource.validation["valid"] is False
    assert resource.file.name != first_file
    assert resource.checksum == hashlib.sha256(BAD_CSV).hexdigest()
    assert resource.size == len(BAD_CSV)


def test_an_upload_the_platform_cannot_read_is_refused_and_nothing_is_written(
    publisher, department
):
    dataset = _dataset(publisher, department)
    with pytest.raises(services.ResourceInvalid):
        services.resource_add(
            actor=publisher, dataset=dataset, filename="virus.exe", content=b"MZ..."
        )
    with pytest.raises(services.ResourceInvalid):
        services.resource_add(actor=publisher, dataset=dataset, filename="empty.csv", content=b"")
    with pytest.raises(services.ResourceInvalid) as caught:
        services.resource_add(
            actor=publisher,
            dataset=dataset,
            filename="t.csv",
            content=GOOD_CSV,
            schema={"fields": [{"name": "id", "type": "geopoint"}]},
        )
    assert caught.value.field == "schema"
    with pytest.raises(services.ResourceInvalid) as caught:
        services.resource_add(actor=publisher, dataset=dataset, url="javascript:alert(1)")
    assert caught.value.field == "url"
    assert not Resource.objects.exists()
    assert Dataset.objects.get().revision == 1


def test_withdrawing_needs_a_reason_and_keeps_everything(
    publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    _add(publisher, dataset, GOOD_CSV, django_capture_on_commit_callbacks)
    services.dataset_publish(actor=publisher, dataset=dataset)

    with pytest.raises(services.DatasetInvalid):
        services.dataset_withdraw(actor=publisher, dataset=dataset, reason="  ")
    services.dataset_withdraw(actor=publisher, dataset=dataset, reason="Superseded by trees-2027")

    dataset.refresh_from_db()
    assert dataset.state == Dataset.State.WITHDRAWN
    assert dataset.withdrawn_reason == "Superseded by trees-2027"
    assert dataset.resources.count() == 1
    summaries = list(
        selectors.dataset_revisions(dataset=dataset, user=publisher).values_list(
            "summary", flat=True
        )
    )
    assert summaries == ["Withdrawn", "Published", "File added: trees.csv", "Created"]
    with pytest.raises(services.OpendataError):
        services.resource_add(
            actor=publisher, dataset=dataset, filename="more.csv", content=GOOD_CSV
        )


def test_readers_see_public_datasets_and_publishers_their_drafts(
    publisher, other_publisher, department, resident, django_capture_on_commit_callbacks
):
    draft = _dataset(publisher, department, name="draft-one")
    published = _dataset(publisher, department, name="published-one")
    _add(publisher, published, GOOD_CSV, django_capture_on_commit_callbacks)
    services.dataset_publish(actor=publisher, dataset=published)
    private = _dataset(publisher, department, name="private-one", private=True)
    _add(publisher, private, GOOD_CSV, django_capture_on_commit_callbacks)
    services.dataset_publish(actor=publisher, dataset=private)

    for reader in (None, resident, other_publisher):
        for hidden in (draft, private):
            with pytest.raises(selectors.DatasetNotFound):
                selectors.dataset_for_reader(user=reader, name_or_id=hidden.name)
        assert selectors.dataset_for_reader(user=reader, name_or_id=str(published.id)) == published
    assert selectors.dataset_for_reader(user=publisher, name_or_id="draft-one") == draft
    assert selectors.dataset_names(user=None) == ["published-one"]


def test_search_matches_words_in_any_language_filters_by_facet_and_counts_facets(
    publisher, department, other_department, django_capture_on_commit_callbacks
):
    trees = _dataset(publisher, department)
    _add(publisher, trees, GOOD_CSV, django_capture_on_commit_callbacks)
    services.dataset_publish(actor=publisher, dataset=trees)
    parks = services.dataset_create(
        actor=None,
        department=other_department,
        fields={
            "name": "parks",
            "titles": {"en": "Parks and gardens"},
            "licence_id": "CC-BY-4.0",
            "keywords": ["parks"],
            "themes": ["ENVI", "REGI"],
        },
    )
    services.resource_add(actor=None, dataset=parks, url="https://example.org/parks.pdf")
    services.dataset_publish(actor=None, dataset=parks)

    found = selectors.dataset_search(user=None, query=selectors.SearchQuery(q="arbres"))
    assert [d.name for d in found.datasets] == ["street-trees"]

    everything = selectors.dataset_search(
        user=None,
        query=selectors.SearchQuery(facet_fields=["tags", "groups", "organization", "res_format"]),
    )
    assert everything.count == 2
    assert everything.facets["tags"] == [("parks", 2), ("trees", 1)]
    assert everything.facets["groups"] == [("envi", 2), ("regi", 1)]
    assert dict(everything.facets["organization"]) == {"revenue": 1, "planning": 1}
    assert everything.facets["res_format"] == [("CSV", 1), ("PDF", 1)]

    filtered = selectors.dataset_search(
        user=None,
        query=selectors.SearchQuery(
            terms=[("tags", "parks"), ("organization", "planning")], sort="name asc"
        ),
    )
    assert [d.name for d in filtered.datasets] == ["parks"]

    with pytest.raises(selectors.SearchInvalid):
        selectors.dataset_search(user=None, query=selectors.SearchQuery(sort="colour desc"))


def test_api_tokens_are_stored_hashed_shown_once_and_revocable(publisher, resident):
    token, secret = services.api_token_create(actor=publisher, name="nightly upload")

    stored = ApiToken.objects.get()
    assert secret not in (stored.token_hash, stored.prefix)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert services.api_token_user(secret=secret) == publisher
    assert services.api_token_user(secret=f"Bearer {secret}") == publisher
    assert services.api_token_user(secret=secret + "x") is None

    with pytest.raises(PermissionDenied):
        services.api_token_revoke(actor=resident, token=token)
    services.api_token_revoke(actor=publisher, token=token)
    assert services.api_token_user(secret=secret) is None
    with pytest.raises(PermissionDenied):
        services.api_token_create(actor=resident, name="mine")


def test_the_tokens_link_is_on_publishers_account_pages_only(client, publisher, resident):
    from django.urls import reverse

    from tests.personas import sign_in_official

    tokens = reverse("staff:opendata_tokens")
    client.force_login(resident)
    assert tokens not in client.get(reverse("accounts:home")).content.decode()

    sign_in_official(client, publisher)
    assert tokens in client.get(reverse("accounts:home")).content.decode()


def test_a_long_check_says_how_far_it_got(
    publisher, department, client, monkeypatch, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from ecitizen.opendata import validation
    from tests.personas import sign_in_official

    monkeypatch.setattr(validation, "PROGRESS_EVERY", 2)
    seen = []
    rows = b"".join(f"{n},Oak,2020-01-01,1\n".encode() for n in range(1, 8))
    content = b"id,species,planted,height_m\n" + rows
    dataset = _dataset(publisher, department)
    resource = _add(publisher, dataset, content, django_capture_on_commit_callbacks)
    outcome = validation.file_validate(
        _write(content), "CSV", resource.schema, progress=seen.append
    )
    assert outcome.valid
    assert seen == [2, 4, 6]
    # Loaded: the progress counts rows loaded again.
    assert resource.datastore_progress == 7

    # While a check runs, the publisher's page says how many rows it checked.
    Resource.objects.filter(pk=resource.pk).update(
        validation=None, datastore_state=Resource.DatastoreState.LOADING, datastore_progress=150000
    )
    sign_in_official(client, publisher)
    page = client.get(reverse("staff:opendata_resource", args=[dataset.name, resource.id]))
    assert "150,000 rows checked so far" in page.content.decode()


class Killed(Exception):
    """The web process dies."""


def _dies(**kwargs):
    raise Killed


@pytest.fixture
def database_queue(settings):
    """Production's task queue (the database) instead of the tests' immediate one."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"  # the settings fixture resets django-tasks' backends


def _run_worker():
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_a_small_file_is_checked_and_loaded_even_if_its_process_dies_after_the_commit(
    publisher, department, database_queue
):
    dataset = _dataset(publisher, department)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        # The web process dies just after the commit: its own check never runs.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(services, "resource_process", _dies)
            with pytest.raises(Killed):
                services.resource_add(
                    actor=publisher, dataset=dataset, filename="trees.csv", content=GOOD_CSV
                )
        resource = Resource.objects.get()
        assert resource.datastore_state == Resource.DatastoreState.PENDING
        _run_worker()  # the worker's task waits for the web process to have had its go
    resource.refresh_from_db()
    assert resource.datastore_state == Resource.DatastoreState.PENDING

    with time_machine.travel(start + services.INLINE_PROCESS_FALLBACK_DELAY, tick=False):
        _run_worker()
    resource.refresh_from_db()
    assert resource.datastore_state == Resource.DatastoreState.LOADED
    assert resource.validation["valid"] is True
    assert resource.datastore_rows == 2


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_a_small_file_is_loaded_once_when_its_process_lives(publisher, department, database_queue):
    dataset = _dataset(publisher, department)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        resource = services.resource_add(
            actor=publisher, dataset=dataset, filename="trees.csv", content=GOOD_CSV
        )
    resource.refresh_from_db()
    assert resource.datastore_state == Resource.DatastoreState.LOADED  # at once
    table = resource.datastore_table

    with time_machine.travel(start + services.INLINE_PROCESS_FALLBACK_DELAY, tick=False):
        _run_worker()
    resource.refresh_from_db()
    assert resource.datastore_table == table  # the worker's task found the work done
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()


def _write(content: bytes):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "data.csv"
    path.write_bytes(content)
    return path

"""The ``opendata`` demo loader: the platform's own datasets and the departments' uploaded
ones, in several formats and states, made once from the seed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ecitizen.accounts.demo import demo_people_load
from ecitizen.core.registry import registry
from ecitizen.demo.services import riverton_context
from ecitizen.opendata.demo import BUILDERS, demo_opendata_load
from ecitizen.opendata.models import Dataset, DatasetRevision, Resource
from ecitizen.opendata.platform import DATASETS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _datastore_in_tmp(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


def test_the_loader_is_registered_after_the_apps_it_publishes():
    loader = registry.demo_loaders["opendata"]
    assert loader.load is demo_opendata_load
    assert set(loader.after) == {
        "people",
        "reports",
        "feedback",
        "cases",
        "property_tax",
        "fines",
        "insights",  # its service-kpis dataset is built from the monthly figures
        "participation",  # the budget results dataset
    }
    assert set(loader.after) <= set(registry.demo_loaders)


def test_the_demo_publishes_about_25_datasets_once(django_capture_on_commit_callbacks):
    context = riverton_context(seed=2026)
    with django_capture_on_commit_callbacks(execute=True):
        demo_people_load(context)
        made = demo_opendata_load(context)

    assert made == len(DATASETS) + len(BUILDERS) == Dataset.objects.count()
    assert 24 <= made <= 30
    assert Dataset.objects.filter(source_key__startswith="platform:").count() == len(DATASETS)
    formats = set(Resource.objects.values_list("format", flat=True))
    assert formats == {"CSV", "JSON", "GeoJSON", "XLSX", "Parquet", "PDF"}
    departments = set(Dataset.objects.values_list("department__slug", flat=True))
    assert len(departments) >= 5
    assert set(Dataset.objects.values_list("licence_id", flat=True)) >= {"OGL-UK-3.0", "CC-BY-4.0"}
    states = {d.name: (d.state, d.private) for d in Dataset.objects.all()}
    assert states["cycle-lanes"] == (Dataset.State.DRAFT, False)
    assert states["staff-survey-2025"] == (Dataset.State.PUBLISHED, True)
    withdrawn = Dataset.objects.get(name="bin-collection-days-2024")
    assert withdrawn.state == Dataset.State.WITHDRAWN
    assert "collection rounds changed" in withdrawn.withdrawn_reason
    public = Dataset.objects.filter(state=Dataset.State.PUBLISHED, private=False).count()
    assert public == made - 3
    # Every table was checked and loaded into the DataStore.
    tables = Resource.objects.exclude(schema=None)
    assert tables.count() >= 20
    assert not tables.exclude(datastore_state=Resource.DatastoreState.LOADED).exists(), [
        (r.dataset.name, r.format, r.datastore_state, r.datastore_error, r.validation)
        for r in tables.exclude(datastore_state=Resource.DatastoreState.LOADED)
    ]
    trees = Dataset.objects.get(name="street-trees")
    assert sorted(trees.resources.values_list("format", flat=True)) == ["CSV", "JSON"]
    assert trees.resources.get(format="CSV").datastore_rows == 300
    # Several revisions on some: a new month of spending, a better description.
    spending = Dataset.objects.get(name="spending-over-500")
    summaries = list(spending.revisions.order_by("number").values_list("summary", flat=True))
    assert sum(s.startswith("File replaced") for s in summaries) == 2
    assert spending.version == "2025-12"
    assert Dataset.objects.get(name="air-quality-monthly").revision >= 4
    assert any("/dataset/" in note and "/api/3/action/" in note for note in context.notes)
    assert registry.role("publisher")  # the demo's publisher holds a registered role
    from ecitizen.accounts.selectors import user_by_email

    publisher = user_by_email(email=context.city.email("data.publisher"))
    assert publisher.role_assignments.filter(
        role="publisher", department__slug="communications"
    ).exists()

    counts = (Dataset.objects.count(), DatasetRevision.objects.count(), Resource.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        assert demo_opendata_load(riverton_context(seed=2026)) == 0
    assert counts == (
        Dataset.objects.count(),
        DatasetRevision.objects.count(),
        Resource.objects.count(),
    )


def test_the_same_seed_gives_the_same_files():
    from ecitizen.opendata.demo import _World

    context = riverton_context(seed=7)
    first = [b(_World(context)) for b in BUILDERS]
    # Another day: files must not carry the time they were made.
    with time_machine.travel(dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC), tick=False):
        second = [b(_World(context)) for b in BUILDERS]
    for one, two in zip(first, second, strict=True):
        assert [f.content for f in one.files] == [f.content for f in two.files], one.name

"""Downloads: the uploaded file as it is (ETag from its checksum), and the DataStore table
as CSV, JSON or Parquet, streamed; nothing of a draft to anyone outside its department."""

from __future__ import annotations

import json

import duckdb
import pytest
from django.urls import reverse

from ecitizen.opendata import services
from ecitizen.opendata.models import Resource
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db

CSV = b"id,species,height_m\n1,Oak,4.5\n2,Elm,3\n"


@pytest.fixture(autouse=True)
def _datastore_dir(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


@pytest.fixture
def draft(publisher, department, django_capture_on_commit_callbacks):
    dataset = services.dataset_create(
        actor=publisher,
        department=department,
        fields={"name": "street-trees", "titles": {"en": "Trees"}, "licence_id": "OGL-UK-3.0"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        resource = services.resource_add(
            actor=publisher, dataset=dataset, filename="trees.csv", content=CSV
        )
    resource.refresh_from_db()
    assert resource.datastore_state == Resource.DatastoreState.LOADED
    return resource


@pytest.fixture
def published(draft, publisher):
    services.dataset_publish(actor=publisher, dataset=draft.dataset)
    draft.refresh_from_db()
    return draft


def _download_url(resource, filename=None):
    return reverse(
        "opendata:resource_download",
        kwargs={
            "name": resource.dataset.name,
            "resource_id": resource.id,
            "filename": filename or resource.file.name.rsplit("/", 1)[-1],
        },
    )


def _export_url(resource, fmt):
    return reverse(
        "opendata:resource_export",
        kwargs={"name": resource.dataset.name, "resource_id": resource.id, "fmt": fmt},
    )


def test_the_uploaded_file_is_downloaded_as_it_is(client, published):
    response = client.get(_download_url(published))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CSV
    assert response["ETag"] == f'"{published.checksum}"'
    assert 'attachment; filename="trees.csv"' in response["Content-Disposition"]
    assert response["Content-Type"].startswith("text/csv")


def test_an_unchanged_file_is_not_sent_again(client, published):
    response = client.get(_download_url(published), HTTP_IF_NONE_MATCH=f'"{published.checksum}"')

    assert response.status_code == 304


def test_another_filename_is_not_found(client, published):
    assert client.get(_download_url(published, "other.csv")).status_code == 404


def test_exports_of_the_table(client, published, tmp_path):
    csv_response = client.get(_export_url(published, "csv"))
    json_response = client.get(_export_url(published, "json"))
    parquet_response = client.get(_export_url(published, "parquet"))

    assert csv_response.status_code == 200
    assert (
        b"".join(csv_response.streaming_content) == b"id,species,height_m\n1,Oak,4.5\n2,Elm,3.0\n"
    )
    assert 'filename="trees.csv"' in csv_response["Content-Disposition"]
    assert json.loads(b"".join(json_response.streaming_content)) == [
        {"id": 1, "species": "Oak", "height_m": 4.5},
        {"id": 2, "species": "Elm", "height_m": 3.0},
    ]
    path = tmp_path / "export.parquet"
    path.write_bytes(b"".join(parquet_response.streaming_content))
    with duckdb.connect() as connection:
        rows = connection.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    assert rows == [(1, "Oak", 4.5), (2, "Elm", 3.0)]
    assert parquet_response["Content-Type"] == "application/vnd.apache.parquet"
    again = client.get(_export_url(published, "csv"), HTTP_IF_NONE_MATCH=csv_response["ETag"])
    assert again.status_code == 304


def test_an_unknown_format_or_a_table_not_loaded_is_not_found(client, published):
    assert client.get(_export_url(published, "xml")).status_code == 404
    Resource.objects.filter(pk=published.pk).update(datastore_state="failed")
    assert client.get(_export_url(published, "csv")).status_code == 404


def test_a_draft_is_downloaded_by_its_department_only(client, draft, publisher, other_publisher):
    assert client.get(_download_url(draft)).status_code == 404
    assert client.get(_export_url(draft, "csv")).status_code == 404
    sign_in_official(client, other_publisher)
    assert client.get(_download_url(draft)).status_code == 404
    sign_in_official(client, publisher)
    response = client.get(_export_url(draft, "csv"))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")

"""CKAN's DataStore actions through /api/3/action/: datastore_search's parameters and
result shape, its errors, the SQL endpoint (off by default), and writes by API token."""

from __future__ import annotations

import json

import pytest

from ecitizen.opendata import services
from ecitizen.opendata.models import Resource

pytestmark = pytest.mark.django_db

CSV = (
    b"id,species,ward,height_m\n"
    b"1,Oak,North,4.5\n2,Elm,South,3\n3,Ash,North,7.25\n4,Oak,East,2\n5,Willow,South,9\n"
)
URL = "/api/3/action/"


@pytest.fixture(autouse=True)
def _datastore_dir(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


@pytest.fixture
def trees(publisher, department, django_capture_on_commit_callbacks):
    dataset = services.dataset_create(
        actor=publisher,
        department=department,
        fields={"name": "street-trees", "titles": {"en": "Trees"}, "licence_id": "OGL-UK-3.0"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        resource = services.resource_add(
            actor=publisher, dataset=dataset, filename="trees.csv", content=CSV
        )
    services.dataset_publish(actor=publisher, dataset=dataset)
    resource.refresh_from_db()
    assert resource.datastore_state == Resource.DatastoreState.LOADED
    return resource


@pytest.fixture
def token(publisher):
    _row, secret = services.api_token_create(actor=publisher, name="script")
    return secret


def _get(client, action, **params):
    response = client.get(URL + action, params)
    return response.status_code, response.json()


def _post(client, action, body, token=None):
    headers = {"HTTP_AUTHORIZATION": token} if token else {}
    response = client.post(
        URL + action, data=json.dumps(body), content_type="application/json", **headers
    )
    return response.status_code, response.json()


def test_datastore_search_answers_ckans_shape(client, trees):
    status, body = _get(
        client,
        "datastore_search",
        resource_id=str(trees.id),
        filters=json.dumps({"ward": "North"}),
        sort="height_m desc",
        limit=1,
    )

    assert status == 200
    assert body["success"] is True
    result = body["result"]
    assert result["resource_id"] == str(trees.id)
    assert result["fields"] == [
        {"id": "_id", "type": "int"},
        {"id": "id", "type": "int"},
        {"id": "species", "type": "text"},
        {"id": "ward", "type": "text"},
        {"id": "height_m", "type": "numeric"},
    ]
    assert result["records"] == [
        {"_id": 3, "id": 3, "species": "Ash", "ward": "North", "height_m": 7.25}
    ]
    assert result["total"] == 2
    assert result["total_was_estimated"] is False
    assert result["limit"] == 1
    assert result["offset"] == 0
    assert result["_links"]["start"].startswith("/api/3/action/datastore_search?")
    assert "offset=1" in result["_links"]["next"]
    assert result["filters"] == {"ward": "North"}


def test_records_formats(client, trees):
    _status, lists = _get(
        client, "datastore_search", resource_id=str(trees.id), records_format="lists", limit=2
    )
    _status, as_csv = _get(
        client,
        "datastore_search",
        resource_id=str(trees.id),
        records_format="csv",
        fields="species,height_m",
        q="north",
    )

    assert lists["result"]["records"] == [[1, 1, "Oak", "North", 4.5], [2, 2, "Elm", "South", 3.0]]
    assert as_csv["result"]["records"] == "Oak,4.5\nAsh,7.25\n"


def test_an_unknown_resource_is_not_found(client, trees):
    status, body = _get(
        client, "datastore_search", resource_id="00000000-0000-0000-0000-000000000000"
    )

    assert status == 404
    assert body["error"]["__type"] == "Not Found Error"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filters": '{"colour": "red"}'}, "filters"),
        ({"sort": "colour"}, "sort"),
        ({"fields": "id,colour"}, "fields"),
        ({"records_format": "xml"}, "records_format"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_parameters_are_validation_errors_naming_the_field(client, trees, params, field):
    status, body = _get(client, "datastore_search", resource_id=str(trees.id), **params)

    assert status == 409
    assert body["error"]["__type"] == "Validation Error"
    assert field in body["error"]


def test_the_sql_endpoint_is_off_by_default(client, trees):
    response = client.get(URL + "datastore_search_sql", {"sql": f'SELECT * FROM "{trees.id}"'})  # noqa: S608

    assert response.status_code == 400
    assert "datastore_search_sql" in json.dumps(response.json())


def test_the_sql_endpoint_when_enabled(client, trees, settings):
    settings.DATASTORE_SQL_ENABLED = True

    status, body = _get(
        client,
        "datastore_search_sql",
        sql=f'SELECT species FROM "{trees.id}" WHERE height_m > 5 ORDER BY species',  # noqa: S608
    )
    bad_status, bad = _get(
        client, "datastore_search_sql", sql="SELECT * FROM read_csv('/etc/passwd')"
    )

    assert status == 200
    assert body["result"]["records"] == [{"species": "Ash"}, {"species": "Willow"}]
    assert body["result"]["fields"] == [{"id": "species", "type": "text"}]
    assert bad_status == 409
    assert "query" in bad["error"]


def test_a_publisher_token_creates_and_upserts_a_table(client, trees, token):
    status, body = _post(
        client,
        "datastore_create",
        {
            "resource": {"package_id": "street-trees", "name": "Car parks"},
            "fields": [{"id": "code", "type": "text"}, {"id": "spaces", "type": "int"}],
            "records": [{"code": "CP1", "spaces": 100}],
            "primary_key": "code",
        },
        token,
    )
    assert status == 200, body
    resource_id = body["result"]["resource_id"]
    assert body["result"]["primary_key"] == ["code"]

    status, body = _post(
        client,
        "datastore_upsert",
        {
            "resource_id": resource_id,
            "records": [{"code": "CP1", "spaces": 90}],
            "method": "upsert",
        },
        token,
    )
    assert status == 200, body
    _status, search = _get(client, "datastore_search", resource_id=resource_id)
    assert search["result"]["records"] == [{"_id": 1, "code": "CP1", "spaces": 90}]


def test_writes_need_a_token_and_valid_records(client, trees, token):
    status, body = _post(
        client, "datastore_upsert", {"resource_id": str(trees.id), "records": [{"id": 9}]}
    )
    assert status == 403
    assert body["error"]["__type"] == "Authorization Error"

    status, body = _post(
        client,
        "datastore_upsert",
        {"resource_id": str(trees.id), "records": [{"id": "nine"}], "method": "insert"},
        token,
    )
    assert status == 409
    assert "records" in body["error"]

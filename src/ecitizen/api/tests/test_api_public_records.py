"""The public records in the API (open data, elections, participation, street reports,
"You said, we did"): what their public pages show, nothing of drafts or private ones."""

from __future__ import annotations

import pytest

from ecitizen.opendata import services as opendata

PDF = b"%PDF-1.4\n% a report\n"


@pytest.fixture(autouse=True)
def _datastore_dir(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


def _dataset(department, name, *, publish: bool, private: bool = False):
    dataset = opendata.dataset_create(
        actor=None,
        department=department,
        fields={
            "name": name,
            "titles": {"en": name.replace("-", " ").capitalize()},
            "descriptions": {"en": f"About {name}."},
            "licence_id": "OGL-UK-3.0",
            "themes": ["ENVI"],
            "keywords": "trees",
            "private": private,
        },
    )
    opendata.resource_add(actor=None, dataset=dataset, filename="report.pdf", content=PDF)
    return opendata.dataset_publish(actor=None, dataset=dataset) if publish else dataset


@pytest.mark.django_db
def test_only_public_datasets_are_listed_and_shown(client, department):
    _dataset(department, "street-trees", publish=True)
    _dataset(department, "draft-plans", publish=False)
    listed = client.get("/api/v1/datasets").json()["items"]
    assert [item["name"] for item in listed] == ["street-trees"]
    detail = client.get("/api/v1/datasets/street-trees").json()
    assert detail["resources"][0]["download_url"].startswith("http://testserver/")
    assert client.get("/api/v1/datasets/draft-plans").status_code == 404


@pytest.mark.django_db
def test_the_other_public_lists_answer_empty_and_404_for_unknown_records(client):
    for path in ("/api/v1/elections", "/api/v1/processes", "/api/v1/reports"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.json() == {"items": [], "next": None}
    for path in (
        "/api/v1/elections/nothing",
        "/api/v1/reports/RIV-NOTHING",
        "/api/v1/you-said-we-did/nothing",
    ):
        assert client.get(path).status_code == 404, path

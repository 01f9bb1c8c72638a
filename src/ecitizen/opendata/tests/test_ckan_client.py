"""Conformance with the real CKAN client: ``ckanapi`` (PyPI) against a live server, as a
library (POST and ``get_only``) and as the command line (``dump``, ``search``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ckanapi
import pytest

from ecitizen.opendata import services
from ecitizen.opendata.models import Dataset, Resource

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """The live server is on loopback: never through a proxy from the environment."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


def _published(department, name, *, keywords, themes=("ENVI",)):
    dataset = services.dataset_create(
        actor=None,
        department=department,
        fields={
            "name": name,
            "titles": {"en": name.replace("-", " ").title()},
            "licence_id": "OGL-UK-3.0",
            "themes": list(themes),
            "keywords": keywords,
        },
    )
    services.resource_add(
        actor=None,
        dataset=dataset,
        url=f"https://files.example.org/{name}.pdf",
        names={"en": name},
        format_label="PDF",
    )
    return services.dataset_publish(actor=None, dataset=dataset)


@pytest.fixture
def catalogue(department, other_department):
    _published(department, "street-trees", keywords=["trees"])
    _published(department, "tree-works", keywords=["trees", "works"])
    _published(other_department, "car-parks", keywords=["parking"], themes=("TRAN",))


@pytest.fixture
def token(publisher):
    return services.api_token_create(actor=publisher, name="ckanapi")[1]


@pytest.mark.parametrize("get_only", [False, True])
def test_remote_ckan_reads(live_server, catalogue, get_only):
    with ckanapi.RemoteCKAN(live_server.url, get_only=get_only) as ckan:
        assert ckan.action.package_list() == ["car-parks", "street-trees", "tree-works"]
        shown = ckan.action.package_show(id="street-trees")
        assert shown["organization"]["name"] == "revenue"
        assert shown["url"] == f"{live_server.url}/dataset/street-trees/"
        found = ckan.action.package_search(
            q="tree",
            fq="organization:revenue",
            sort="name asc",
            rows=10,
            **{"facet.field": ["tags", "groups"], "facet.limit": 10},
        )
        assert [p["name"] for p in found["results"]] == ["street-trees", "tree-works"]
        assert found["facets"]["tags"] == {"trees": 2, "works": 1}
        assert ckan.action.organization_list() == ["planning", "revenue"]
        assert ckan.action.group_show(id="tran")["package_count"] == 1
        assert "trees" in ckan.action.tag_list()
        assert ckan.action.status_show()["site_url"] == live_server.url


@pytest.mark.parametrize("get_only", [False, True])
def test_remote_ckan_maps_the_errors(live_server, catalogue, get_only):
    with ckanapi.RemoteCKAN(live_server.url, get_only=get_only) as ckan:
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id="no-such-dataset")
        with pytest.raises(ckanapi.ValidationError) as invalid:
            ckan.action.package_search(rows=5000)
        assert "rows" in invalid.value.error_dict
        with pytest.raises(ckanapi.SearchError):
            ckan.action.package_search(fq="tags:(a OR b)")
        with pytest.raises(ckanapi.SearchQueryError):
            ckan.action.package_search(sort="colour desc")
        with pytest.raises(ckanapi.CKANAPIError, match="Action name not known"):
            ckan.action.package_explode()


def test_remote_ckan_writes_with_a_token(live_server, catalogue, token, tmp_path):
    for apikey in (None, "ecod_revoked-or-made-up"):
        with (
            ckanapi.RemoteCKAN(live_server.url, apikey=apikey) as ckan,
            pytest.raises(ckanapi.NotAuthorized),
        ):
            ckan.action.package_create(name="nope", owner_org="revenue")
    assert not Dataset.objects.filter(name="nope").exists()

    with ckanapi.RemoteCKAN(live_server.url, apikey=token) as ckan:
        with pytest.raises(ckanapi.ValidationError) as invalid:
            ckan.action.package_create(name="Bad Name", owner_org="revenue", license_id="x")
        assert {"name", "license_id", "title"} <= set(invalid.value.error_dict)

        created = ckan.action.package_create(
            name="planning-applications",
            title="Planning applications",
            owner_org="revenue",
            license_id="CC-BY-4.0",
            notes="Every application since 2020.",
            tags=[{"name": "planning"}],
            groups=[{"name": "gove"}],
        )
        assert created["state"] == "draft"

        path = tmp_path / "guide.pdf"
        path.write_bytes(PDF)
        with path.open("rb") as upload:
            resource = ckan.action.resource_create(
                package_id=created["id"], name="Guide", upload=upload
            )
        assert resource["format"] == "PDF"
        assert resource["size"] == len(PDF)
        stored = Resource.objects.get(pk=resource["id"])
        assert stored.file.read() == PDF

        published = ckan.action.package_patch(id="planning-applications", state="active")
        assert published["state"] == "active"
        assert [r["name"] for r in published["resources"]] == ["Guide"]

    with ckanapi.RemoteCKAN(live_server.url, get_only=True) as reader:
        assert reader.action.package_show(id="planning-applications")["notes"] == (
            "Every application since 2020."
        )


def _ckanapi(*arguments: str) -> list[dict]:
    """Run the ``ckanapi`` command line; its JSON lines."""
    bin_dir = Path(sys.executable).parent
    env = {
        **{k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # its workers
        "NO_PROXY": "*",
    }
    done = subprocess.run(  # noqa: S603 (our own venv's script, fixed arguments)
        [str(bin_dir / "ckanapi"), *arguments],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]


def test_the_command_line_dumps_and_searches(live_server, catalogue):
    dumped = _ckanapi("dump", "datasets", "--all", "-q", "-r", live_server.url)
    assert [d["name"] for d in dumped] == ["car-parks", "street-trees", "tree-works"]
    with ckanapi.RemoteCKAN(live_server.url) as ckan:
        assert dumped[1] == ckan.action.package_show(id="street-trees")

    found = _ckanapi(
        "search", "datasets", "q=tree", "fq=organization:revenue", "-r", live_server.url
    )
    assert sorted(d["name"] for d in found) == ["street-trees", "tree-works"]
    none = _ckanapi("search", "datasets", 'q:"no such words"', "-r", live_server.url)
    assert none == []

"""Real clients against a live server, over HTTP: the PyPI ``georeport`` client reads
services, a service definition and requests in both formats, and a client posting the
way FixMyStreet's Open311.pm does (form-encoded, then multipart with photos; then
polling the token) creates reports.

Marked ``db_specific``: the live server's thread shares the test's database through a
real transaction on SQLite and on PostgreSQL alike (docs/testing.md)."""

from __future__ import annotations

import shutil

import pytest
import requests
import xmltodict
from georeport import GeoReport

from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.reports import services
from ecitizen.reports.models import Report, ReportPhoto

from .conftest import FIXTURES, RIVERSIDE, RIVERSIDE_20M, jpeg_with_gps
from .test_open311 import FALLEN_TREE, REQUEST_FIELDS, SERVICE_FIELDS, report_input

pytestmark = [pytest.mark.db_specific, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30


@pytest.fixture
def published(pothole, tmp_path):
    shutil.copy(FIXTURES / "pothole.yaml", tmp_path / "pothole.yaml")
    (tmp_path / "fallen-tree.yaml").write_text(FALLEN_TREE, encoding="utf-8")
    service_definitions_publish(directory=tmp_path, actor=None)


def test_the_georeport_client_reads_everything_in_both_formats(live_server, published, resident):
    first = services.report_submit(data=report_input(), reporter=resident, actor=resident)
    second = services.report_submit(
        data=report_input(RIVERSIDE_20M, title="Another pothole"), reporter=resident, actor=resident
    )
    root = f"{live_server.url}/open311/v2/"
    as_json = GeoReport(root, output_format="json")
    as_xml = GeoReport(root, output_format="xml")

    listed = as_json.get_service_list()
    assert [s["service_code"] for s in listed] == ["fallen-tree", "pothole"]
    assert all(list(s) == SERVICE_FIELDS for s in listed)
    assert listed[1]["metadata"] is True
    listed_xml = as_xml.get_service_list()
    assert [s["service_code"] for s in listed_xml] == ["fallen-tree", "pothole"]
    assert listed_xml[1]["metadata"] == "true"  # XML: text

    definition = as_json.get_service_definition("pothole")
    assert definition["service_code"] == "pothole"
    (hazard,) = definition["attributes"]
    assert (hazard["code"], hazard["datatype"], hazard["required"]) == (
        "hazard",
        "singlevaluelist",
        True,
    )
    definition_xml = as_xml.get_service_definition("fallen-tree")
    assert definition_xml["service_code"] == "fallen-tree"
    codes = [a["code"] for a in definition_xml["attributes"]["attribute"]]
    assert codes[:2] == ["size", "blocking"]
    values = definition_xml["attributes"]["attribute"][0]["values"]["value"]
    assert [v["key"] for v in values] == ["branch", "whole"]

    found = as_json.get_service_requests()
    assert [r["service_request_id"] for r in found] == [second.reference, first.reference]
    assert all(list(r) == REQUEST_FIELDS for r in found)
    found_xml = as_xml.get_service_requests(service_code="pothole", status="open")
    assert [r["service_request_id"] for r in found_xml] == [second.reference, first.reference]
    assert found_xml[0]["lat"] == str(RIVERSIDE_20M[0])
    one = as_xml.get_service_requests(service_request_id=first.reference)
    assert one["service_request_id"] == first.reference  # one <request>: a dict to xmltodict
    assert as_json.get_service_requests(status="closed") == []

    single = as_json.get_service_request(first.reference)
    assert single["service_request_id"] == first.reference
    assert single["description"].startswith("Deep pothole outside number 12")
    single_xml = as_xml.get_service_request(second.reference)
    assert single_xml["service_request_id"] == second.reference

    with pytest.raises(requests.HTTPError) as refused:
        as_json.get_service_definition("unicorn")
    assert refused.value.response.status_code == 404
    assert refused.value.response.json()[0]["code"] == 404


def _fixmystreet_fields(key: str) -> dict[str, str]:
    return {
        "api_key": key,
        "jurisdiction_id": "riverton.example",
        "service_code": "pothole",
        "description": "title: Pothole on the corner\r\n\r\ndetail: Deep and getting deeper."
        "\r\n\r\nurl: https://fixmystreet.example/report/77\r\n\r\nSubmitted via FixMyStreet\r\n",
        "first_name": "Robin",
        "last_name": "Fairweather",
        "email": "robin@example.test",
        "lat": "52.18976",
        "long": "-2.24702",
        "attribute[hazard]": "true",
        "attribute[fixmystreet_id]": "77",
    }


def _service_request_id(response: requests.Response) -> str:
    """What Open311.pm does with an answer: any 2xx, the XML parsed, request[0]'s id,
    else its token polled until it gives one."""
    assert 200 <= response.status_code < 300, response.text
    parsed = xmltodict.parse(response.content, force_list=("request",))
    request = next(iter(parsed.values()))["request"][0]
    if request.get("service_request_id"):
        return request["service_request_id"]
    raise AssertionError("no service_request_id")


def test_a_fixmystreet_style_client_posts_reports_and_polls_the_token(live_server, published):
    _client, key = services.api_client_issue(
        name="FixMyStreet", contact_email="fms@example.test", hourly_limit=10, actor=None
    )
    url = f"{live_server.url}/open311/v2/requests.xml"
    # Without photos: application/x-www-form-urlencoded.
    plain = requests.post(url, data=_fixmystreet_fields(key), timeout=TIMEOUT)
    assert plain.headers["Content-Type"] == "text/xml; charset=utf-8"
    first = Report.objects.get(reference=_service_request_id(plain))
    assert first.title == "Pothole on the corner"

    # With photos: multipart/form-data, photo1, photo2.
    photos = {
        f"photo{n}": (f"{n}.jpeg", jpeg_with_gps(f"{n}.jpeg").read(), "image/jpeg") for n in (1, 2)
    }
    with_photos = requests.post(url, data=_fixmystreet_fields(key), files=photos, timeout=TIMEOUT)
    second = Report.objects.get(reference=_service_request_id(with_photos))
    assert ReportPhoto.objects.filter(report=second).count() == 2

    # Polling the token, as FixMyStreet does when an answer holds only a token.
    token = xmltodict.parse(with_photos.content)["service_requests"]["request"]["token"]
    polled = requests.get(f"{live_server.url}/open311/v2/tokens/{token}.xml", timeout=TIMEOUT)
    assert _service_request_id(polled) == second.reference

    # A refusal: an error document FixMyStreet logs.
    refused = requests.post(
        url, data={**_fixmystreet_fields(key), "service_code": "unicorn"}, timeout=TIMEOUT
    )
    assert refused.status_code == 404
    error = xmltodict.parse(refused.content)["errors"]["error"]
    assert error["code"] == "404"
    assert Report.objects.count() == 2
    assert (first.latitude, first.longitude) == RIVERSIDE

"""What GET requests reads in one query (the report's columns, its status notes and its
first public photo) and how the JSON and XML writers write values: the parts of the
Open311 read path bench/open311.py made faster, checked for what they answer."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET  # our own writer's output, parsed in tests only
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from ecitizen.reports import services
from ecitizen.reports.models import ReportPhoto
from ecitizen.reports.open311.render import Document, Many, to_json, to_xml

from .conftest import RIVERSIDE, jpeg_with_gps

BASE = "/open311/v2/"


def _submit(resident, **overrides):
    data = {
        "category": "pothole",
        "latitude": RIVERSIDE[0],
        "longitude": RIVERSIDE[1],
        "title": "Deep pothole outside number 12",
        "description": "About 30 cm wide.",
        "answers": {"hazard": True},
        **overrides,
    }
    return services.report_submit(
        data=services.ReportInput(**data), reporter=resident, actor=resident
    )


def _media_url(client, report) -> str | None:
    response = client.get(BASE + f"requests/{report.reference}.json")
    assert response.status_code == 200, response.content
    (item,) = json.loads(response.content)
    listed = json.loads(client.get(BASE + "requests.json").content)
    assert [
        entry["media_url"] for entry in listed if entry["service_request_id"] == report.reference
    ] == [item["media_url"]]
    return item["media_url"]


def test_media_url_is_the_first_photo_the_public_may_see(
    client, pothole, resident, works_supervisor
):
    report = _submit(resident, photos=[jpeg_with_gps("one.jpg"), jpeg_with_gps("two.jpg")])
    first, second = ReportPhoto.objects.filter(report=report).order_by("position", "pk")
    photos = f"{settings.PUBLIC_BASE_URL}/reports/photos"
    assert _media_url(client, report) == f"{photos}/{first.public_id}/"

    services.report_photo_hide(photo=first, reason="A face", actor=works_supervisor)
    assert _media_url(client, report) == f"{photos}/{second.public_id}/"

    services.report_photo_hide(photo=second, reason="A number plate", actor=works_supervisor)
    assert _media_url(client, report) is None


def test_an_app_s_own_media_url_comes_before_the_photos(client, pothole, resident):
    report = _submit(
        resident, photos=[jpeg_with_gps()], media_url="https://app.example/photos/1.jpg"
    )
    assert _media_url(client, report) == "https://app.example/photos/1.jpg"


def _document(number: float) -> Document:
    moment = datetime(2026, 7, 1, 8, 30, 15, 123456, tzinfo=UTC)
    return Document(
        root="things",
        item="thing",
        body=[
            {
                "name": "café",
                "flag": True,
                "count": 3,
                "number": number,
                "when": moment,
                "empty": None,
                "values": Many("value", [{"key": "a", "at": moment}]),
            }
        ],
    )


def test_json_keeps_types_writes_times_in_the_server_s_zone_and_never_a_nan():
    with timezone.override("Europe/London"):
        (thing,) = json.loads(to_json(_document(52.5)))
        assert thing == {
            "name": "café",
            "flag": True,
            "count": 3,
            "number": 52.5,
            "when": "2026-07-01T09:30:15+01:00",
            "empty": None,
            "values": [{"key": "a", "at": "2026-07-01T09:30:15+01:00"}],
        }
        for number in (math.nan, math.inf):
            (thing,) = json.loads(to_json(_document(number)))
            assert thing["number"] is None
            assert thing["when"] == "2026-07-01T09:30:15+01:00"


def test_xml_writes_the_same_values_as_text():
    with timezone.override("Europe/London"):
        root = ET.fromstring(to_xml(_document(0.00001)))  # noqa: S314 - our own output
    (thing,) = root
    assert [child.tag for child in thing] == [
        "name",
        "flag",
        "count",
        "number",
        "when",
        "empty",
        "values",
    ]
    assert thing.findtext("name") == "café"
    assert thing.findtext("flag") == "true"
    assert thing.findtext("number") == "0.00001"
    assert thing.findtext("when") == "2026-07-01T09:30:15+01:00"
    assert thing.find("empty").text is None
    assert thing.findtext("values/value/at") == "2026-07-01T09:30:15+01:00"

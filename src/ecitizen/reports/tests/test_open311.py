"""The Open311 GeoReport v2 server, checked against the specification's examples (element
names and order in XML, types in JSON) and with the exact form FixMyStreet posts.

Reading: discovery, services, a service definition, requests (filters, paging, the
default window), one request, a token, mySociety's request updates. Writing: a request
(form-encoded and multipart with a photo) and an update; every refusal is the
specification's error document, and stores nothing."""

from __future__ import annotations

import io
import json
import re
import shutil
import xml.etree.ElementTree as ET  # our own server's answers, parsed in tests only
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from ecitizen import reports as reports_app
from ecitizen.cases import services as cases
from ecitizen.cases.models import Case
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.documents.models import Upload
from ecitizen.reports import services
from ecitizen.reports.models import Report, ReportPhoto, ReportUpdate
from tests.factories import DepartmentFactory

from .conftest import FIXTURES, LONDON, RIVERSIDE, RIVERSIDE_20M, RIVERSIDE_200M, jpeg_with_gps

BASE = "/open311/v2/"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'

# The specification's fields, in its order.
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
UPDATE_FIELDS = [
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
    "external_status_code",
]
W3C = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$"

# A category with a question of every kind an app can answer, a file question (not
# offered to apps) and a page shown only after one answer.
FALLEN_TREE = """
slug: fallen-tree
department: public-works
reference_code: TRE
listed: false
extensions:
  report:
    group: {en: Trees, fr: Arbres}
    keywords: [tree, branch, storm]
title: {en: Fallen tree, fr: Arbre tombé}
summary: {en: A tree or a large branch down.}
pages:
  - id: tree
    questions:
      - id: size
        type: single_choice
        label: {en: "How big is it?"}
        error_label: {en: how big it is}
        choices:
          - {value: branch, label: {en: A branch}}
          - {value: whole, label: {en: The whole tree}}
      - id: blocking
        type: multiple_choice
        label: {en: "What does it block?"}
        error_label: {en: what it blocks}
        required: false
        choices:
          - {value: road, label: {en: The road}}
          - {value: pavement, label: {en: The pavement}}
          - {value: drive, label: {en: A driveway}}
      - id: girth
        type: number
        label: {en: Trunk girth in centimetres}
        hint: {en: Measure about a metre above the ground.}
        error_label: {en: the trunk girth}
        required: false
        validation: {min: 1, max: 1000}
      - id: fell_on
        type: date
        label: {en: "When did it fall?"}
        error_label: {en: the date it fell}
        required: false
        validation: {date: past}
      - id: notes
        type: long_text
        label: {en: "Anything else we should know?"}
        error_label: {en: anything else we should know}
        required: false
      - id: sketch
        type: file
        label: {en: A sketch of where it lies}
        error_label: {en: a sketch}
        required: false
        file: {formats: [image/png], max_size_mb: 2}
      - id: wires
        type: yes_no
        label: {en: "Has it brought down wires?"}
        errors:
          required: {en: Select yes if it has brought down wires}
  - id: wire_details
    show_if: {question: wires, equals: true}
    questions:
      - id: wire_kind
        type: text
        label: {en: "What kind of wires?"}
        error_label: {en: the kind of wires}
        validation: {max_length: 40}
sla:
  business_days: 2
workflow:
  initial_state: received
  states:
    - id: received
      label: {en: Reported}
      staff_label: {en: New report}
    - id: cleared
      label: {en: Cleared}
      staff_label: {en: Cleared}
      outcome: approved
  actions:
    - id: clear
      label: {en: Mark as cleared}
      from: [received]
      to: cleared
      by: {roles: [case_officer]}
"""


#: A fallen tree's answers as the website stores them (every question shown answered).
TREE_ANSWERS = {
    "size": "branch",
    "blocking": [],
    "girth": "",
    "fell_on": "",
    "notes": "",
    "sketch": [],
    "wires": False,
}


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def categories(pothole, tmp_path):
    """The tests' pothole and the fallen tree, published."""
    shutil.copy(FIXTURES / "pothole.yaml", tmp_path / "pothole.yaml")
    (tmp_path / "fallen-tree.yaml").write_text(FALLEN_TREE, encoding="utf-8")
    service_definitions_publish(directory=tmp_path, actor=None)
    return ["fallen-tree", "pothole"]


@pytest.fixture
def app(db):
    """An app's key (and the app), allowed 5 reports an hour."""
    client, key = services.api_client_issue(
        name="Fix My Riverton", contact_email="dev@example.test", hourly_limit=5, actor=None
    )
    return client, key


def xml_root(response, status=200):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(XML_DECLARATION)
    return ET.fromstring(response.content)  # noqa: S314 - our own answer, in a test


def json_body(response, status=200):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def tags(element) -> list[str]:
    return [child.tag for child in element]


def text_of(element, path) -> str | None:
    found = element.find(path)
    assert found is not None, f"no {path}"
    return found.text


def errors_of(response, fmt="xml", status=400) -> list[tuple[str, str]]:
    """The (code, description) pairs of an error document, checked against the spec."""
    if fmt == "json":
        body = json_body(response, status)
        assert isinstance(body, list)
        for error in body:
            assert list(error) == ["code", "description"]
            assert isinstance(error["code"], int)
        return [(str(error["code"]), error["description"]) for error in body]
    root = xml_root(response, status)
    assert root.tag == "errors"
    assert tags(root) == ["error"] * len(root)
    assert all(tags(error) == ["code", "description"] for error in root)
    return [(text_of(error, "code"), text_of(error, "description")) for error in root]


def report_input(point=RIVERSIDE, **overrides):
    values = {
        "category": "pothole",
        "latitude": point[0],
        "longitude": point[1],
        "title": "Deep pothole outside number 12",
        "description": "About 30 cm wide, cyclists swerve round it.",
        "address": "Mill Lane",
        "answers": {"hazard": True},
    }
    values.update(overrides)
    return services.ReportInput(**values)


def submit(resident, point=RIVERSIDE, **overrides) -> Report:
    return services.report_submit(
        data=report_input(point, **overrides), reporter=resident, actor=resident
    )


def form(key, **overrides) -> dict:
    """What an app posts for a pothole in Riverside, with ``overrides`` (None drops)."""
    fields = {
        "api_key": key,
        "service_code": "pothole",
        "lat": str(RIVERSIDE[0]),
        "long": str(RIVERSIDE[1]),
        "email": "sam.walker@example.test",
        "first_name": "Sam",
        "last_name": "Walker",
        "description": "Pothole by the bus stop\nAbout a foot wide and deep.",
        "attribute[hazard]": "true",
    }
    fields.update(overrides)
    return {name: value for name, value in fields.items() if value is not None}


# --- discovery, services, service definitions ----------------------------------------------------


def test_discovery_names_the_endpoint_its_formats_and_whom_to_ask(client, categories, settings):
    root = xml_root(client.get(BASE + "discovery.xml"))
    assert root.tag == "discovery"
    assert tags(root) == ["changeset", "contact", "key_service", "endpoints"]
    (endpoint,) = root.find("endpoints")
    assert endpoint.tag == "endpoint"
    assert tags(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    assert text_of(endpoint, "specification") == "http://wiki.open311.org/GeoReport_v2"
    assert text_of(endpoint, "url") == settings.PUBLIC_BASE_URL + "/open311/v2"
    assert [f.text for f in endpoint.find("formats")] == ["text/xml", "application/json"]
    assert settings.AUTHORITY_CONTACT_EMAIL in text_of(root, "contact")
    assert text_of(endpoint, "type") == "production"

    body = json_body(client.get(BASE + "discovery.json"))
    assert isinstance(body, dict)  # one object, not an array
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert body["changeset"] == text_of(root, "changeset")


def test_the_service_list_follows_the_specification(client, categories):
    root = xml_root(client.get(BASE + "services.xml"))
    assert root.tag == "services"
    assert tags(root) == ["service", "service"]
    tree, pothole = root
    assert tags(tree) == SERVICE_FIELDS
    assert text_of(tree, "service_code") == "fallen-tree"
    assert text_of(tree, "service_name") == "Fallen tree"
    assert text_of(tree, "description") == "A tree or a large branch down."
    assert text_of(tree, "metadata") == "true"
    assert text_of(tree, "type") == "realtime"
    assert text_of(tree, "keywords") == "tree, branch, storm"
    assert text_of(tree, "group") == "Trees"
    assert text_of(pothole, "keywords") is None  # none given: an empty element

    body = json_body(client.get(BASE + "services.json"))
    assert isinstance(body, list)
    assert [list(service) for service in body] == [SERVICE_FIELDS, SERVICE_FIELDS]
    assert body[1] == {
        "service_code": "pothole",
        "service_name": "Pothole",
        "description": "A hole in the road or pavement.",
        "metadata": True,
        "type": "realtime",
        "keywords": None,
        "group": "Roads",
    }


def test_services_are_named_in_the_client_s_language(client, categories):
    body = json_body(client.get(BASE + "services.json", HTTP_ACCEPT_LANGUAGE="fr"))
    assert [(s["service_name"], s["group"]) for s in body] == [
        ("Arbre tombé", "Arbres"),
        ("Nid-de-poule", "Routes"),
    ]


def test_a_service_definition_maps_every_kind_of_question(client, categories):
    root = xml_root(client.get(BASE + "services/fallen-tree.xml"))
    assert root.tag == "service_definition"
    assert tags(root) == ["service_code", "attributes"]
    attributes = root.find("attributes")
    assert tags(attributes) == ["attribute"] * 7  # the file question is not offered
    for attribute in attributes:
        expected = ATTRIBUTE_FIELDS + (["values"] if attribute.find("values") else [])
        assert tags(attribute) == expected

    body = json_body(client.get(BASE + "services/fallen-tree.json"))
    assert isinstance(body, dict)
    assert body["service_code"] == "fallen-tree"
    found = {a["code"]: a for a in body["attributes"]}
    assert [a["code"] for a in body["attributes"]] == [
        "size",
        "blocking",
        "girth",
        "fell_on",
        "notes",
        "wires",
        "wire_kind",
    ]
    assert [a["order"] for a in body["attributes"]] == [1, 2, 3, 4, 5, 6, 7]
    assert {code: a["datatype"] for code, a in found.items()} == {
        "size": "singlevaluelist",
        "blocking": "multivaluelist",
        "girth": "number",
        "fell_on": "datetime",
        "notes": "text",
        "wires": "singlevaluelist",
        "wire_kind": "string",
    }
    # Required only when asked of everyone: wire_kind follows an answer.
    assert {code for code, a in found.items() if a["required"]} == {"size", "wires"}
    assert found["size"] == {
        "variable": True,
        "code": "size",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 1,
        "description": "How big is it?",
        "values": [
            {"key": "branch", "name": "A branch"},
            {"key": "whole", "name": "The whole tree"},
        ],
    }
    assert found["wires"]["values"] == [
        {"key": "true", "name": "Yes"},
        {"key": "false", "name": "No"},
    ]
    assert found["girth"]["datatype_description"] == "Measure about a metre above the ground."
    assert found["fell_on"]["datatype_description"] == "A date, like 2026-03-31"
    assert "values" not in found["notes"]


def test_riverton_s_categories_are_all_served_with_their_questions(client, works, wards):
    DepartmentFactory(slug="transport-licensing", name="Transport & Licensing")
    folder = Path(reports_app.__file__).parent / "categories"
    service_definitions_publish(directory=folder, actor=None)
    listed = json_body(client.get(BASE + "services.json"))
    codes = [service["service_code"] for service in listed]
    assert codes == sorted(path.stem for path in folder.glob("*.yaml"))
    assert len(codes) == 8
    datatypes = set()
    for code in codes:
        definition = json_body(client.get(BASE + f"services/{code}.json"))
        assert definition["attributes"], code
        for attribute in definition["attributes"]:
            datatypes.add(attribute["datatype"])
            if attribute["datatype"].endswith("valuelist"):
                assert attribute["values"], (code, attribute["code"])
    assert {"singlevaluelist", "multivaluelist", "string"} <= datatypes
    streetlight = next(s for s in listed if s["service_code"] == "streetlight")
    assert streetlight["group"] == "Street lighting"
    assert "lamp post" in streetlight["keywords"]


def test_an_unknown_service_is_a_404_error_document(client, categories):
    ((code, description),) = errors_of(client.get(BASE + "services/unicorn.xml"), status=404)
    assert code == "404"
    assert "unicorn" in description
    assert errors_of(client.get(BASE + "services/unicorn.json"), "json", 404)[0][0] == "404"


# --- POST requests ---------------------------------------------------------------------------


def test_an_app_reports_a_problem_and_gets_its_id_and_token(client, categories, app):
    api, key = app
    response = client.post(
        BASE + "requests.xml",
        form(key, device_id="phone-123", account_id="acc-9", address_string="Mill Lane"),
    )
    root = xml_root(response)
    assert root.tag == "service_requests"
    (entry,) = root
    assert entry.tag == "request"
    assert tags(entry) == ["service_request_id", "token", "service_notice", "account_id"]
    report = Report.objects.get()
    assert text_of(entry, "service_request_id") == report.reference
    assert text_of(entry, "token") == str(report.token)
    assert text_of(entry, "service_notice") == (
        "Public Works aims to deal with it within 10 working days."
    )
    assert text_of(entry, "account_id") == "acc-9"

    assert report.is_public  # confirmed at once: the app vouches for its user
    assert report.source == Report.Source.OPEN311
    assert report.api_client == api
    assert (report.device_id, report.account_id) == ("phone-123", "acc-9")
    assert report.title == "Pothole by the bus stop"
    assert report.description == "Pothole by the bus stop\nAbout a foot wide and deep."
    assert report.address == "Mill Lane"
    case = Case.objects.get(pk=report.case_id)
    assert case.answers == {"hazard": True}
    reporter = get_user_model().objects.get(email="sam.walker@example.test")
    assert case.applicant == reporter == report.reporter
    assert reporter.get_full_name() == "Sam Walker"
    assert not reporter.has_usable_password()


def test_a_report_of_an_existing_resident_goes_on_their_account(client, categories, app, resident):
    _api, key = app
    body = json_body(
        client.post(BASE + "requests.json", form(key, email=resident.email, deviceid="fms-7"))
    )
    assert isinstance(body, list)
    assert list(body[0]) == ["service_request_id", "token", "service_notice"]
    report = Report.objects.get(reference=body[0]["service_request_id"])
    assert report.reporter == resident
    assert report.device_id == "fms-7"  # FixMyStreet spells it deviceid
    assert isinstance(body[0]["token"], str)


def test_every_kind_of_attribute_is_read_and_checked(client, categories, app):
    _api, key = app
    fields = form(
        key,
        service_code="fallen-tree",
        **{
            "attribute[hazard]": None,
            "attribute[size]": "whole",
            "attribute[blocking][]": ["road", "pavement"],
            "attribute[girth]": "180",
            "attribute[fell_on]": "2026-01-14T06:30:00Z",
            "attribute[notes]": "It fell in the storm.",
            "attribute[wires]": "true",
            "attribute[wire_kind]": "Telephone",
            "attribute[fixmystreet_id]": "1234",  # not ours: ignored
        },
    )
    with time_machine.travel("2026-02-01 10:00Z"):
        json_body(client.post(BASE + "requests.json", fields))
    case = Case.objects.get()
    assert case.answers == {
        "size": "whole",
        "blocking": ["road", "pavement"],
        "girth": 180,
        "fell_on": "2026-01-14",
        "notes": "It fell in the storm.",
        "sketch": [],
        "wires": True,
        "wire_kind": "Telephone",
    }


def _tree(key, **attributes) -> dict:
    """A fallen tree's form; a list is sent as a multivaluelist (``attribute[code][]``)."""
    fields = {
        f"attribute[{code}][]" if isinstance(value, list) else f"attribute[{code}]": value
        for code, value in attributes.items()
    }
    return form(key, service_code="fallen-tree", **{"attribute[hazard]": None, **fields})


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        pytest.param(
            {"size": "whole", "wires": "true"},
            "attribute[wire_kind]: Enter the kind of wires",
            id="required-once-shown",
        ),
        pytest.param(
            {"size": "whole", "wires": "false", "girth": "ten"},
            "attribute[girth]: ",
            id="not-a-number",
        ),
        pytest.param(
            {"size": "whole", "wires": "false", "girth": "5000"},
            "attribute[girth]: ",
            id="number-too-large",
        ),
        pytest.param(
            {"size": "whole", "wires": "false", "blocking": ["road", "river"]},
            "attribute[blocking]: ",
            id="not-one-of-the-values",
        ),
        pytest.param(
            {"size": "whole", "wires": "false", "fell_on": "2099-01-01"},
            "attribute[fell_on]: ",
            id="date-in-the-future",
        ),
        pytest.param(
            {"size": "whole", "wires": "false", "fell_on": "last Tuesday"},
            "attribute[fell_on]: ",
            id="not-a-date",
        ),
    ],
)
def test_answers_are_checked_like_the_website_s(client, categories, app, attributes, expected):
    _api, key = app
    errors = errors_of(client.post(BASE + "requests.xml", _tree(key, **attributes)))
    assert [text for _code, text in errors if text.startswith(expected)], errors
    assert not Report.objects.exists()


def test_a_question_shown_only_after_an_answer_is_not_asked_otherwise(client, categories, app):
    _api, key = app
    json_body(client.post(BASE + "requests.json", _tree(key, size="branch", wires="false")))
    answers = Case.objects.get().answers
    assert answers["wires"] is False
    assert "wire_kind" not in answers


@pytest.mark.parametrize(
    ("overrides", "status", "expected"),
    [
        pytest.param({"service_code": "unicorn"}, 404, "unicorn was not found", id="unknown-code"),
        pytest.param({"service_code": None}, 400, "service_code is required", id="no-code"),
        pytest.param(
            {"attribute[hazard]": None},
            400,
            "attribute[hazard]: Select yes if it is a hazard to traffic",
            id="missing-required-attribute",
        ),
        pytest.param(
            {"attribute[hazard]": "perhaps"},
            400,
            "attribute[hazard]: ",
            id="attribute-not-a-value",
        ),
        pytest.param({"lat": "fifty-two"}, 400, "lat: Latitude must be a number", id="bad-lat"),
        pytest.param({"lat": "95"}, 400, "lat: Latitude must be a number", id="lat-out-of-range"),
        pytest.param({"long": None}, 400, "long: Enter a longitude", id="lat-without-long"),
        pytest.param(
            {"lat": str(LONDON[0]), "long": str(LONDON[1])},
            400,
            "lat, long: This place is outside Riverton",
            id="outside-the-area",
        ),
        pytest.param(
            {"lat": None, "long": None},
            400,
            "lat and long are required",
            id="no-place",
        ),
        pytest.param(
            {"lat": None, "long": None, "address_string": "Nowhere Boulevard"},
            400,
            "address_string: No street or postcode",
            id="unknown-address",
        ),
        pytest.param({"email": None}, 400, "email is required", id="no-email"),
        pytest.param({"email": "sam@"}, 400, "email: Enter an email address", id="bad-email"),
        pytest.param({"description": " "}, 400, "description is required", id="no-description"),
        pytest.param(
            {"description": "x" * 2001}, 400, "2000 characters or fewer", id="long-description"
        ),
        pytest.param({"media_url": "javascript:alert(1)"}, 400, "media_url: ", id="bad-media-url"),
        pytest.param({"api_key": None}, 403, "api_key is required", id="no-key"),
        pytest.param(
            {"api_key": "not-a-key"},
            403,
            "Invalid api_key received -- can't proceed with create_request.",
            id="unknown-key",
        ),
    ],
)
def test_a_refused_request_is_an_error_document_and_stores_nothing(
    client, categories, app, overrides, status, expected
):
    _api, key = app
    users = get_user_model().objects.count()
    for fmt in ("xml", "json"):
        response = client.post(BASE + f"requests.{fmt}", form(key, **overrides))
        errors = errors_of(response, fmt, status)
        assert {code for code, _text in errors} == {str(status)}
        assert any(expected in text for _code, text in errors), errors
    assert not Report.objects.exists()
    assert not Case.objects.exists()
    assert get_user_model().objects.count() == users  # not even the reporter's account


def test_every_problem_is_listed_at_once(client, categories, app):
    _api, key = app
    response = client.post(
        BASE + "requests.xml",
        form(key, lat="abc", email=None, **{"attribute[hazard]": None}),
    )
    descriptions = [text for _code, text in errors_of(response)]
    assert len(descriptions) == 3
    assert descriptions[0].startswith("lat: ")
    assert descriptions[1].startswith("email is required")
    assert descriptions[2].startswith("attribute[hazard]: ")


def test_a_revoked_key_is_refused(client, categories, app, platform_admin):
    api, key = app
    services.api_client_revoke(client=api, actor=platform_admin)
    errors = errors_of(client.post(BASE + "requests.xml", form(key)), status=403)
    assert errors == [("403", "Invalid api_key received -- can't proceed with create_request.")]
    assert not Report.objects.exists()


def test_an_app_past_its_hourly_limit_is_told_when_to_come_back(client, categories, app):
    api, key = app
    with time_machine.travel("2026-03-02 09:00Z", tick=False):
        for _n in range(api.hourly_limit):
            json_body(client.post(BASE + "requests.json", form(key)))
    with time_machine.travel("2026-03-02 09:40Z", tick=False):
        response = client.post(BASE + "requests.json", form(key))
        ((code, description),) = errors_of(response, "json", 429)
    assert code == "429"
    assert "5 reports an hour" in description
    assert response["Retry-After"] == str(20 * 60)
    assert Report.objects.count() == api.hourly_limit
    with time_machine.travel("2026-03-02 10:00:01Z", tick=False):
        json_body(client.post(BASE + "requests.json", form(key)))


def test_a_street_name_places_a_report_without_coordinates(client, categories, app):
    _api, key = app
    json_body(
        client.post(
            BASE + "requests.json",
            form(key, lat=None, long=None, address_string="Hawthorn Avenue"),
        )
    )
    report = Report.objects.get()
    assert (report.latitude, report.longitude) == (52.206997, -2.228555)
    assert report.address == "Hawthorn Avenue"
    assert report.ward.code == "northgate"


def test_a_multipart_post_with_a_photo_keeps_it_without_its_metadata(
    client, categories, app, settings
):
    from PIL import Image

    from ecitizen.documents.services import upload_read

    _api, key = app
    photo = jpeg_with_gps()
    assert Image.open(io.BytesIO(photo.read())).getexif()  # it has EXIF and GPS to lose
    photo.seek(0)
    body = json_body(client.post(BASE + "requests.json", {**form(key), "media": photo}))
    report = Report.objects.get(reference=body[0]["service_request_id"])
    (stored,) = ReportPhoto.objects.filter(report=report)
    for upload in (stored.original, stored.display):
        image = Image.open(io.BytesIO(upload_read(upload=upload)))
        assert not image.getexif(), "EXIF (with GPS) must be gone"
        assert "exif" not in image.info
    # The request lists the photo at its public address.
    (listed,) = json_body(client.get(BASE + f"requests/{report.reference}.json"))
    assert listed["media_url"] == f"{settings.PUBLIC_BASE_URL}/reports/photos/{stored.public_id}/"


def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(client, categories, app):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _api, key = app
    fake = SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg")
    errors_of(client.post(BASE + "requests.xml", {**form(key), "media": fake}))
    assert not Report.objects.exists()
    assert not Upload.objects.exists()


# FixMyStreet's Open311.pm, as FixMyStreet::SendReport::Open311 calls it for a UK council
# (extended description, always_send_latlong): the body below is byte for byte what
# HTTP::Request::Common's POST builds from its parameter hash (keys sorted), the
# description with the CRLF line ends it arrives with. Attributes are the category's,
# plus the ones FixMyStreet fills in itself when a definition declares them.
def _fixmystreet_params(key: str, *, attributes: dict[str, str]) -> dict[str, str]:
    description = (
        "title: Pothole by the school gate\r\n\r\n"
        "detail: It has been there a week and is getting deeper.\r\n\r\n"
        "url: https://fixmystreet.example/report/1234\r\n\r\n"
        "Submitted via FixMyStreet\r\n"
    )
    return {
        "api_key": key,
        "jurisdiction_id": "riverton.example",
        "service_code": "pothole",
        "description": description,
        "first_name": "Robin",
        "last_name": "Fairweather-Jones",
        "email": "robin@example.test",
        "lat": "52.18976",
        "long": "-2.24702",
        "media_url": "https://fixmystreet.example/photo/1234.0.full.jpeg",
        **{f"attribute[{name}]": value for name, value in attributes.items()},
    }


def _form_encoded(params: dict[str, str]) -> bytes:
    """The body HTTP::Request::Common's POST builds: keys sorted, every byte that is not
    unreserved percent-encoded (brackets included), UTF-8."""
    return "&".join(
        f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in sorted(params.items())
    ).encode("utf-8")


def test_fixmystreet_s_exact_form_creates_a_report_and_its_token_resolves(client, categories, app):
    _api, key = app
    body = _form_encoded(
        _fixmystreet_params(
            key,
            attributes={
                "hazard": "false",
                "fixmystreet_id": "1234",
                "easting": "385612",
                "northing": "254981",
                "closest_address": "12 Mill Lane",
            },
        )
    )
    response = client.generic(
        "POST",
        BASE + "requests.xml",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    root = xml_root(response)
    # What Open311.pm reads: request[0].service_request_id, a non-empty scalar.
    service_request_id = text_of(root, "request/service_request_id")
    assert service_request_id
    report = Report.objects.get(reference=service_request_id)
    assert report.title == "Pothole by the school gate"
    assert report.description.startswith("title: Pothole by the school gate\n\ndetail:")
    assert "\r" not in report.description
    assert report.media_url == "https://fixmystreet.example/photo/1234.0.full.jpeg"
    assert Case.objects.get(pk=report.case_id).answers == {"hazard": False}
    assert report.reporter.get_full_name() == "Robin Fairweather-Jones"

    # Had it answered only with a token, FixMyStreet would poll tokens/<token>.xml.
    token = text_of(root, "request/token")
    polled = xml_root(client.get(BASE + f"tokens/{token}.xml"))
    assert text_of(polled, "request/service_request_id") == service_request_id


def test_fixmystreet_s_multipart_form_with_photo_parts(client, categories, app):
    from PIL import Image

    from ecitizen.documents.services import upload_read

    _api, key = app
    fields: dict = _fixmystreet_params(key, attributes={"hazard": "true"})
    fields["photo1"] = jpeg_with_gps("1.jpeg")
    fields["photo2"] = jpeg_with_gps("2.jpeg")
    root = xml_root(client.post(BASE + "requests.xml", fields))  # multipart/form-data
    report = Report.objects.get(reference=text_of(root, "request/service_request_id"))
    photos = list(ReportPhoto.objects.filter(report=report).order_by("position"))
    assert len(photos) == 2
    for photo in photos:
        assert not Image.open(io.BytesIO(upload_read(upload=photo.original))).getexif()


# --- GET requests ---------------------------------------------------------------------------


def test_requests_follow_the_specification(client, categories, resident):
    report = submit(resident, description="About 30 cm wide & <deep>.\x0b")
    root = xml_root(client.get(BASE + "requests.xml"))
    assert root.tag == "service_requests"
    (entry,) = root
    assert entry.tag == "request"
    assert tags(entry) == REQUEST_FIELDS
    assert text_of(entry, "service_request_id") == report.reference
    assert text_of(entry, "status") == "open"
    assert text_of(entry, "service_name") == "Pothole"
    assert text_of(entry, "service_code") == "pothole"
    # The summary leads the text; a character XML cannot hold is left out.
    assert text_of(entry, "description") == (
        "Deep pothole outside number 12\n\nAbout 30 cm wide & <deep>."
    )
    assert text_of(entry, "agency_responsible") == "Public Works"
    assert text_of(entry, "address") == "Mill Lane"
    assert float(text_of(entry, "lat")) == RIVERSIDE[0]
    assert float(text_of(entry, "long")) == RIVERSIDE[1]
    assert re.match(W3C, text_of(entry, "requested_datetime"))
    assert re.match(W3C, text_of(entry, "updated_datetime"))

    (item,) = json_body(client.get(BASE + "requests.json"))
    assert list(item) == REQUEST_FIELDS
    assert item["service_request_id"] == report.reference
    assert isinstance(item["lat"], float)
    assert isinstance(item["long"], float)
    assert item["status_notes"] is None
    assert item["media_url"] is None
    assert item["expected_datetime"] is None


def test_a_closed_request_carries_the_official_s_notes(
    client, categories, resident, works_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(resident)
        cases.case_transition(
            case=Case.objects.get(pk=report.case_id),
            action_id="decline",
            actor=works_officer,
            given=cases.ActionInput(text="The county council repairs this road."),
        )
    (item,) = json_body(client.get(BASE + "requests.json?status=closed"))
    assert item["status"] == "closed"
    assert item["status_notes"] == "The county council repairs this road."
    assert json_body(client.get(BASE + "requests.json?status=open")) == []
    assert len(json_body(client.get(BASE + "requests.json?status=open,closed"))) == 1


def test_request_filters(client, categories, resident):
    near = submit(resident)
    tree = submit(
        resident,
        RIVERSIDE_20M,
        category="fallen-tree",
        answers=TREE_ANSWERS,
    )
    far = submit(resident, RIVERSIDE_200M)

    def ids(query: str) -> list[str]:
        return [
            r["service_request_id"] for r in json_body(client.get(BASE + "requests.json?" + query))
        ]

    assert ids("") == [far.reference, tree.reference, near.reference]  # newest first
    assert ids("service_code=fallen-tree") == [tree.reference]
    assert ids("service_code=fallen-tree,pothole") == ids("")
    assert ids("service_code=unicorn") == []
    assert ids(f"service_request_id={near.reference},{far.reference}") == [
        far.reference,
        near.reference,
    ]
    # An id list overrides every other filter.
    assert ids(f"service_request_id={near.reference}&service_code=fallen-tree") == [near.reference]
    # A circle of 100 m around the first report, and a box around the third.
    lat, long = RIVERSIDE
    assert ids(f"lat={lat}&long={long}&radius=100") == [tree.reference, near.reference]
    assert ids(f"lat={lat}&long={long}&radius=10") == [near.reference]
    assert ids("bbox=-2.2475,52.1910,-2.2465,52.1920") == [far.reference]
    assert ids(f"bbox=-2.2475,52.1910,-2.2465,52.1920&lat={lat}&long={long}&radius=100") == []
    # Optional means an empty parameter is an absent one.
    assert ids("status=&service_code=&start_date=") == ids("")


def test_requests_are_paged(client, categories, resident):
    made = [submit(resident).reference for _n in range(5)]
    newest_first = list(reversed(made))

    def ids(query: str) -> list[str]:
        return [
            r["service_request_id"] for r in json_body(client.get(BASE + "requests.json?" + query))
        ]

    assert ids("page_size=2") == newest_first[:2]
    assert ids("page_size=2&page=2") == newest_first[2:4]
    assert ids("page_size=2&page=3") == newest_first[4:]
    assert ids("page_size=2&page=4") == []
    assert ids("page=1") == newest_first
    # XML of an empty page: the root alone.
    root = xml_root(client.get(BASE + "requests.xml?page=9"))
    assert (root.tag, len(root)) == ("service_requests", 0)


def test_at_most_1000_requests_by_default(client, categories, resident):
    now = timezone.now()
    Report.objects.bulk_create(
        Report(
            reporter=resident,
            reference=f"RIV-PHT-2026-{n:06d}",
            category="pothole",
            latitude=RIVERSIDE[0],
            longitude=RIVERSIDE[1],
            title=f"Pothole {n}",
            description="A pothole.",
            state="received",
            confirmed_at=now,
            requested_at=now - timedelta(minutes=n),
            updated_at=now - timedelta(minutes=n),
        )
        for n in range(1, 1002)
    )
    first = json_body(client.get(BASE + "requests.json"))
    assert len(first) == 1000
    assert first[0]["service_request_id"] == "RIV-PHT-2026-000001"  # the newest
    rest = json_body(client.get(BASE + "requests.json?page=2"))
    assert [r["service_request_id"] for r in rest] == ["RIV-PHT-2026-001001"]


def test_a_page_of_requests_costs_the_same_queries_whatever_its_length(
    client, categories, resident, django_assert_num_queries
):
    submit(resident, photos=[jpeg_with_gps()])
    json_body(client.get(BASE + "requests.json"))  # caches warmed
    # The page of reports, then the categories (services) they name.
    with django_assert_num_queries(2):
        json_body(client.get(BASE + "requests.json"))
    for _n in range(4):
        submit(resident, photos=[jpeg_with_gps()])
    submit(resident, category="fallen-tree", answers=TREE_ANSWERS)
    with django_assert_num_queries(2):
        assert len(json_body(client.get(BASE + "requests.json"))) == 6


def test_the_default_window_is_the_last_90_days(client, categories, resident):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=100)):
        old = submit(resident)
    with time_machine.travel(now - timedelta(days=30)):
        recent = submit(resident)

    def ids(query: str) -> list[str]:
        return [
            r["service_request_id"] for r in json_body(client.get(BASE + "requests.json?" + query))
        ]

    assert ids("") == [recent.reference]
    start = (now - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(urlencode({"start_date": start, "end_date": end})) == [old.reference]
    assert ids(urlencode({"start_date": start})) == [old.reference]  # 90 days from it
    assert ids(urlencode({"end_date": end})) == [old.reference]  # the 90 days before it
    # An offset's "+" sent unencoded arrives as a space: it is read as the "+" it was.
    plus = (now - timedelta(days=120)).astimezone(timezone.get_fixed_timezone(60))
    assert ids("start_date=" + plus.strftime("%Y-%m-%dT%H:%M:%S+01:00")) == [old.reference]
    # The specification's limit on a range, and its format.
    wide = (now - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ((_code, text),) = errors_of(
        client.get(BASE + "requests.xml?" + urlencode({"start_date": wide, "end_date": end}))
    )
    assert "90 days" in text
    ((_code, text),) = errors_of(client.get(BASE + "requests.xml?start_date=yesterday"))
    assert text.startswith("start_date must be a W3C date and time")
    errors_of(
        client.get(BASE + "requests.xml?" + urlencode({"start_date": end, "end_date": start}))
    )


def test_updated_after_finds_what_changed_since(
    client, categories, resident, works_officer, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=200)):
        old = submit(resident)
    quiet = submit(resident)
    since = timezone.now()
    with (
        time_machine.travel(since + timedelta(minutes=5)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        cases.case_transition(
            case=Case.objects.get(pk=old.case_id), action_id="fix", actor=works_officer
        )
    query = urlencode({"updated_after": since.isoformat()})
    (item,) = json_body(client.get(BASE + "requests.json?" + query))
    # Requested 200 days ago: updated_after is not held to the 90 days.
    assert item["service_request_id"] == old.reference
    assert item["status"] == "closed"
    assert item["service_request_id"] != quiet.reference
    before = urlencode({"updated_after": since.isoformat(), "updated_before": since.isoformat()})
    assert json_body(client.get(BASE + "requests.json?" + before)) == []
    errors_of(client.get(BASE + "requests.json?updated_before=2026-01-01"), "json")


@pytest.mark.parametrize(
    "query",
    [
        "status=pending",
        "page=0",
        "page_size=1001",
        "page_size=ten",
        "lat=52.19",
        "lat=52.19&long=-2.24&radius=0",
        "lat=52.19&long=-2.24&radius=50001",
        "radius=100",
        "bbox=1,2,3",
        "bbox=-2.2,52.2,-2.3,52.1",
        "bbox=a,b,c,d",
        "updated_after=soon",
    ],
)
def test_a_bad_query_is_a_400_error_document(client, categories, query):
    ((code, _text),) = errors_of(client.get(BASE + "requests.json?" + query), "json")
    assert code == "400"


def test_one_request_is_a_list_of_one_and_unknown_or_hidden_ones_are_404(
    client, categories, resident, works_supervisor
):
    report = submit(resident)
    body = json_body(client.get(BASE + f"requests/{report.reference}.json"))
    assert isinstance(body, list)
    assert [item["service_request_id"] for item in body] == [report.reference]
    root = xml_root(client.get(BASE + f"requests/{report.reference}.xml"))
    assert tags(root) == ["request"]
    assert errors_of(client.get(BASE + "requests/RIV-PHT-1999-000001.xml"), status=404)
    services.report_hide(report=report, reason="Offensive words", actor=works_supervisor)
    errors_of(client.get(BASE + f"requests/{report.reference}.json"), "json", 404)
    assert json_body(client.get(BASE + "requests.json")) == []


def test_an_unconfirmed_report_is_not_served(client, categories):
    reporter = services.reporter_for_email(email="walker@example.test", name="Sam Walker")
    report = services.report_submit(
        data=report_input(), reporter=reporter, actor=reporter, confirmed=False
    )
    assert json_body(client.get(BASE + "requests.json")) == []
    errors_of(client.get(BASE + f"tokens/{report.token}.json"), "json", 404)


# --- tokens ---------------------------------------------------------------------------------


def test_a_token_gives_its_request_id(client, categories, resident):
    report = submit(resident)
    root = xml_root(client.get(BASE + f"tokens/{report.token}.xml"))
    assert root.tag == "service_requests"
    (entry,) = root
    assert tags(entry) == ["service_request_id", "token"]
    assert text_of(entry, "service_request_id") == report.reference
    assert json_body(client.get(BASE + f"tokens/{report.token}.json")) == [
        {"service_request_id": report.reference, "token": str(report.token)}
    ]
    errors_of(client.get(BASE + "tokens/00000000-0000-4000-8000-000000000000.xml"), status=404)
    errors_of(client.get(BASE + "tokens/not-a-token.xml"), status=404)


# --- servicerequestupdates --------------------------------------------------------------------


def test_request_updates_list_public_updates_with_their_state(
    client, categories, resident, works_officer, django_capture_on_commit_callbacks
):
    reported = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(resident)
    with (
        time_machine.travel(reported + timedelta(minutes=10)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        cases.case_transition(
            case=Case.objects.get(pk=report.case_id),
            action_id="decline",
            actor=works_officer,
            given=cases.ActionInput(text="The county council repairs this road."),
        )
    received, declined = ReportUpdate.objects.filter(report=report).order_by("pk")
    root = xml_root(client.get(BASE + "servicerequestupdates.xml"))
    assert root.tag == "service_request_updates"
    assert tags(root) == ["request_update", "request_update"]
    assert all(tags(entry) == UPDATE_FIELDS for entry in root)
    body = json_body(client.get(BASE + "servicerequestupdates.json"))
    assert body[0]["update_id"] == str(received.pk)
    assert body[1] == {
        "update_id": str(declined.pk),
        "service_request_id": report.reference,
        "status": "closed",
        "updated_datetime": body[1]["updated_datetime"],
        "description": "The county council repairs this road.",
        "media_url": "",
        "external_status_code": "will_not_fix",
    }
    # FixMyStreet asks for a window with start_date and end_date, and may use updated_after.
    query = urlencode(
        {
            "start_date": (declined.created_at - timedelta(seconds=1)).isoformat(),
            "end_date": (declined.created_at + timedelta(seconds=1)).isoformat(),
            "api_key": "whatever",  # sent by FixMyStreet, not needed to read
        }
    )
    assert [
        u["update_id"] for u in json_body(client.get(BASE + "servicerequestupdates.json?" + query))
    ] == [str(declined.pk)]
    after = urlencode({"updated_after": declined.created_at.isoformat()})
    assert json_body(client.get(BASE + "servicerequestupdates.json?" + after)) == []


def test_an_app_posts_a_comment_on_a_report(client, categories, app, resident):
    _api, key = app
    report = submit(resident)
    fields = {
        "api_key": key,
        "service_request_id": report.reference,
        "update_id": "9876",
        "status": "OPEN",
        "updated_datetime": "2026-03-02T09:00:00Z",
        "description": "Still there this morning, and bigger.",
        "email": resident.email,
        "first_name": "Alex",
        "last_name": "Morgan",
    }
    root = xml_root(client.post(BASE + "servicerequestupdates.xml", fields))
    assert root.tag == "service_request_updates"
    update = ReportUpdate.objects.filter(report=report).order_by("-pk").first()
    assert text_of(root, "request_update/update_id") == str(update.pk)
    assert update.text == "Still there this morning, and bigger."
    assert update.by_label == "Reporter"
    assert update.state == "received"
    report.refresh_from_db()
    assert report.state == "received"  # an app cannot move the case
    listed = json_body(client.get(BASE + "servicerequestupdates.json"))
    assert listed[-1]["description"] == "Still there this morning, and bigger."
    # A comment is not an official's status note.
    assert (
        json_body(client.get(BASE + f"requests/{report.reference}.json"))[0]["status_notes"] is None
    )

    # Someone else, through the same app.
    other = {**fields, "email": "neighbour@example.test", "description": "Me too."}
    body = json_body(client.post(BASE + "servicerequestupdates.json", other))
    assert list(body[0]) == ["update_id"]
    assert ReportUpdate.objects.get(pk=body[0]["update_id"]).by_label == "Member of the public"


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"api_key": None}, 403),
        ({"api_key": "not-a-key"}, 403),
        ({"service_request_id": "RIV-PHT-1999-000001"}, 404),
        ({"service_request_id": None}, 400),
        ({"description": ""}, 400),
        ({"email": None}, 400),
    ],
)
def test_a_refused_update_stores_nothing(client, categories, app, resident, overrides, status):
    _api, key = app
    report = submit(resident)
    fields = {
        "api_key": key,
        "service_request_id": report.reference,
        "description": "Still there.",
        "email": resident.email,
    }
    fields.update(overrides)
    fields = {name: value for name, value in fields.items() if value is not None}
    count = ReportUpdate.objects.count()
    errors_of(client.post(BASE + "servicerequestupdates.xml", fields), status=status)
    assert ReportUpdate.objects.count() == count


# --- methods --------------------------------------------------------------------------------


def test_other_methods_get_a_405_error_document(client, categories):
    response = client.post(BASE + "services.json")
    ((code, _text),) = errors_of(response, "json", 405)
    assert code == "405"
    assert response["Allow"] == "GET, HEAD"
    response = client.put(BASE + "requests.xml")
    errors_of(response, status=405)
    assert response["Allow"] == "GET, HEAD, POST"


def test_public_answers_may_be_read_by_any_web_page(client, categories):
    assert client.get(BASE + "services.json")["Access-Control-Allow-Origin"] == "*"

"""The CKAN Action API through Django's test client: CKAN's envelope, statuses and
errors, the reads, the writes of API tokens, and bad input that changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ecitizen.opendata import selectors, services
from ecitizen.opendata.ckan import fq
from ecitizen.opendata.models import Dataset, DatasetRevision, Resource
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db

API = "/api/3/action/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _published(department, name, *, themes, keywords, licence="OGL-UK-3.0", fmt="CSV", **more):
    dataset = services.dataset_create(
        actor=None,
        department=department,
        fields={
            "name": name,
            "titles": {"en": name.replace("-", " ").title(), "fr": f"FR {name}"},
            "descriptions": {"en": f"About {name}."},
            "licence_id": licence,
            "themes": themes,
            "keywords": keywords,
            **more,
        },
    )
    services.resource_add(
        actor=None,
        dataset=dataset,
        url=f"https://files.example.org/{name}.{fmt.lower()}",
        names={"en": f"{name} data"},
        format_label=fmt,
    )
    return services.dataset_publish(actor=None, dataset=dataset)


@pytest.fixture
def catalogue(department, other_department):
    trees = _published(
        department, "street-trees", themes=["ENVI"], keywords=["trees", "street trees"]
    )
    parks = _published(
        other_department,
        "car-parks",
        themes=["TRAN"],
        keywords=["parking"],
        licence="CC-BY-4.0",
        fmt="GeoJSON",
    )
    spending = _published(
        department, "spending-over-500", themes=["ECON", "GOVE"], keywords=["money"]
    )
    draft = services.dataset_create(
        actor=None,
        department=department,
        fields={
            "name": "budget-draft",
            "titles": {"en": "Budget draft"},
            "licence_id": "OGL-UK-3.0",
        },
    )
    private = _published(
        department, "staff-sickness", themes=["GOVE"], keywords=["staff"], private=True
    )
    withdrawn = _published(department, "old-bins", themes=["ENVI"], keywords=["bins"])
    services.dataset_withdraw(actor=None, dataset=withdrawn, reason="Replaced by waste-collections")
    return {
        "trees": trees,
        "parks": parks,
        "spending": spending,
        "draft": draft,
        "private": private,
        "withdrawn": withdrawn,
    }


@pytest.fixture
def token(publisher):
    _row, secret = services.api_token_create(actor=publisher, name="test script")
    return secret


@pytest.fixture
def other_token(other_publisher):
    _row, secret = services.api_token_create(actor=other_publisher, name="other script")
    return secret


def _call(client, name, data=None, *, token=None, method="post", **extra):
    headers = {"HTTP_AUTHORIZATION": token} if token else {}
    if method == "get":
        return client.get(API + name, data or {}, **headers, **extra)
    return client.post(
        API + name, json.dumps(data or {}), content_type="application/json", **headers, **extra
    )


def _ok(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    return body["result"]


def _error(response, status, kind):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["__type"] == kind
    return body["error"]


def _snapshot():
    return (
        sorted(Dataset.objects.values_list("name", "revision", "state", "titles")),
        Resource.objects.count(),
        DatasetRevision.objects.count(),
    )


# --- the envelope and the request ------------------------------------------------------


def test_the_api_says_its_version_without_redirects(client):
    assert client.get("/api/3").json() == {"version": 3}
    assert client.get("/api/3/").json() == {"version": 3}
    assert client.get("/api").json() == {"version": 1}  # CKAN's get_api default


def test_the_envelope_names_the_help_of_the_action(client, catalogue):
    body = client.get(API + "package_list").json()
    assert body["help"] == "http://testserver/api/3/action/help_show?name=package_list"
    assert body["success"] is True
    assert body["result"] == ["car-parks", "spending-over-500", "street-trees"]


def test_both_paths_and_a_trailing_slash_answer_without_a_redirect(client, catalogue):
    for path in ("/api/action/package_list", "/api/3/action/package_list/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json;charset=utf-8"
    response = client.post("/api/action/status_show/", "{}", content_type="application/json")
    assert response.status_code == 200


def test_an_unknown_action_is_ckans_bad_request(client):
    response = client.post(API + "package_explode", "{}", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == "Bad request: Action name not known: package_explode"


def test_malformed_json_is_a_400_never_a_500(client, catalogue):
    before = _snapshot()
    response = client.post(API + "package_search", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json().startswith("Bad request: JSON Error: Error decoding JSON data.")
    response = client.post(API + "package_search", "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "needs to be a dictionary" in response.json()
    assert _snapshot() == before


def test_a_get_of_a_write_is_refused_as_ckan_does(client, catalogue, token):
    before = _snapshot()
    response = client.get(
        API + "package_create", {"name": "by-get", "owner_org": "revenue"}, HTTP_AUTHORIZATION=token
    )
    assert response.status_code == 400
    assert response.json() == (
        "Bad request: JSON Error: Invalid request. Please use POST method for your request"
    )
    assert _snapshot() == before


def test_other_methods_are_not_allowed(client):
    assert client.put(API + "package_list").status_code == 405


def test_parameters_come_from_a_query_string_a_form_or_json(client, catalogue):
    by_get = _ok(client.get(API + "package_search", {"fq": "organization:planning"}))
    by_form = _ok(client.post(API + "package_search", {"fq": "organization:planning"}))
    by_json = _ok(_call(client, "package_search", {"fq": "organization:planning"}))
    # CKAN also reads a form whose only key is a JSON document.
    by_json_key = _ok(
        client.post(
            API + "package_search",
            json.dumps({"fq": "organization:planning"}) + "=1",
            content_type="application/x-www-form-urlencoded",
        )
    )
    for result in (by_get, by_form, by_json, by_json_key):
        assert [p["name"] for p in result["results"]] == ["car-parks"]


def test_jsonp_wraps_a_get(client, catalogue):
    response = client.get(API + "package_list", {"callback": "show"})
    assert response["Content-Type"].startswith("application/javascript")
    assert response.content.decode().startswith('show({"help"')


# --- reads -----------------------------------------------------------------------------


def test_status_help_and_licences(client):
    status = _ok(client.get(API + "status_show"))
    assert status["site_url"] == "http://testserver"
    assert status["locale_default"] == "en"
    assert "ckan_version" in status
    assert "Searches for datasets" in _ok(client.get(API + "help_show", {"name": "package_search"}))
    missing = _error(client.get(API + "help_show", {"name": "nope"}), 404, "Not Found Error")
    assert missing["message"] == "Not found: Action function not found"
    assert _error(client.get(API + "help_show"), 409, "Validation Error")["name"] == "Missing value"
    licences = _ok(client.get(API + "license_list"))
    assert {"OGL-UK-3.0", "CC-BY-4.0"} <= {licence["id"] for licence in licences}


def test_package_show_by_name_and_id_with_absolute_urls(client, catalogue):
    trees = catalogue["trees"]
    by_name = _ok(client.get(API + "package_show", {"id": "street-trees"}))
    by_id = _ok(client.get(API + "package_show", {"id": str(trees.pk)}))
    assert by_name == by_id
    assert by_name["url"] == "http://testserver/dataset/street-trees/"
    assert by_name["organization"]["name"] == "revenue"
    assert by_name["title_translated"]["fr"] == "FR street-trees"
    assert [t["name"] for t in by_name["tags"]] == ["trees", "street trees"]
    assert [g["name"] for g in by_name["groups"]] == ["envi"]
    assert by_name["resources"][0]["url"] == "https://files.example.org/street-trees.csv"
    resource = _ok(client.get(API + "resource_show", {"id": by_name["resources"][0]["id"]}))
    assert resource["package_id"] == str(trees.pk)


def test_drafts_and_private_datasets_only_for_their_publishers(
    client, catalogue, token, other_token, publisher
):
    for name in ("budget-draft", "staff-sickness"):
        error = _error(client.get(API + "package_show", {"id": name}), 404, "Not Found Error")
        assert error["message"] == "Not found: Dataset not found"
        _error(
            _call(client, "package_show", {"id": name}, token=other_token), 404, "Not Found Error"
        )
        assert _ok(_call(client, "package_show", {"id": name}, token=token))["name"] == name
    draft = _ok(_call(client, "package_show", {"id": "budget-draft"}, token="Bearer " + token))
    assert draft["state"] == "draft"
    # A GET from the publisher's signed-in browser acts for them...
    sign_in_official(client, publisher)
    assert _ok(client.get(API + "package_show", {"id": "budget-draft"}))["name"] == "budget-draft"
    # ...a POST does not (the API is exempt from CSRF, so it must not act on cookies).
    _error(client.post(API + "package_show", {"id": "budget-draft"}), 404, "Not Found Error")


def test_a_withdrawn_dataset_reads_as_deleted_and_leaves_lists(client, catalogue):
    assert "old-bins" not in _ok(client.get(API + "package_list"))
    shown = _ok(client.get(API + "package_show", {"id": "old-bins"}))
    assert shown["state"] == "deleted"
    search = _ok(client.get(API + "package_search", {"include_deleted": "true", "q": "bins"}))
    assert [p["name"] for p in search["results"]] == ["old-bins"]


def test_current_package_list_with_resources_pages(client, catalogue):
    first = _ok(client.get(API + "current_package_list_with_resources", {"limit": 2}))
    rest = _ok(client.get(API + "current_package_list_with_resources", {"limit": 2, "offset": 2}))
    names = [p["name"] for p in first + rest]
    assert sorted(names) == ["car-parks", "spending-over-500", "street-trees"]
    assert all(p["resources"] for p in first)


def test_package_search_filters_facets_and_sorts(client, catalogue):
    def names(**query):
        return [p["name"] for p in _ok(client.get(API + "package_search", query))["results"]]

    assert names(q="trees") == ["street-trees"]
    assert names(q="tags:parking") == ["car-parks"]
    assert names(fq="organization:revenue", sort="name asc") == [
        "spending-over-500",
        "street-trees",
    ]
    assert names(fq='tags:"street trees"') == ["street-trees"]
    assert names(fq="+groups:gove +license_id:OGL-UK-3.0") == ["spending-over-500"]
    assert names(fq="res_format:GeoJSON") == ["car-parks"]
    assert names(fq="name:car-parks") == ["car-parks"]
    assert names(fq="dataset_type:harvest") == []
    assert names(fq="metadata_modified:[NOW-1DAY TO *]", sort="name desc") == [
        "street-trees",
        "spending-over-500",
        "car-parks",
    ]
    assert names(fq="metadata_modified:[* TO 2000-01-01T00:00:00Z]") == []
    assert names(sort="title_string asc", rows=1, start=1) == ["spending-over-500"]

    result = _ok(
        client.get(
            API + "package_search",
            {
                "facet.field": '["organization", "license_id", "groups"]',
                "facet.limit": "5",
                "rows": 0,
            },
        )
    )
    assert result["count"] == 3
    assert result["results"] == []
    assert result["sort"] == "score desc, metadata_modified desc"
    assert result["facets"]["organization"] == {"revenue": 2, "planning": 1}
    organizations = result["search_facets"]["organization"]
    assert organizations["title"] == "organization"
    assert organizations["items"] == [  # sorted by display name, descending, as CKAN does
        {"name": "revenue", "display_name": "Revenue", "count": 2},
        {"name": "planning", "display_name": "Planning & Building", "count": 1},
    ]
    licences = {
        i["name"]: i["display_name"] for i in result["search_facets"]["license_id"]["items"]
    }
    assert licences["CC-BY-4.0"] == "Creative Commons Attribution 4.0"


def test_package_search_include_private_for_the_department(client, catalogue, token, other_token):
    query = {"include_private": True, "include_drafts": True, "fq": "organization:revenue"}
    mine = [p["name"] for p in _ok(_call(client, "package_search", query, token=token))["results"]]
    assert {"staff-sickness", "budget-draft"} <= set(mine)
    theirs = _ok(_call(client, "package_search", query, token=other_token))["results"]
    assert {"staff-sickness", "budget-draft"}.isdisjoint(p["name"] for p in theirs)
    anonymous = _ok(_call(client, "package_search", query))["results"]
    assert {"staff-sickness", "budget-draft"}.isdisjoint(p["name"] for p in anonymous)


@pytest.mark.parametrize(
    ("query", "status", "kind", "key"),
    [
        ({"rows": 1001}, 409, "Validation Error", "rows"),
        ({"rows": -1}, 409, "Validation Error", "rows"),
        ({"start": "ten"}, 409, "Validation Error", "start"),
        ({"facet.field": '["colour"]'}, 409, "Validation Error", "facet.field"),
        ({"facet.field": "[not json"}, 409, "Validation Error", "facet.field"),
        ({"include_private": "perhaps"}, 409, "Validation Error", "include_private"),
        ({"fq": "tags:(trees OR parks)"}, 409, "Search Error", "message"),
        ({"fq": "colour:green"}, 409, "Search Error", "message"),
        ({"fq": "-tags:trees"}, 409, "Search Error", "message"),
        ({"fq": "metadata_modified:[yesterday TO *]"}, 409, "Search Error", "message"),
        ({"fq": "metadata_modified:[NOW-1FORTNIGHT TO *]"}, 409, "Search Error", "message"),
        ({"fq": 'tags:"unclosed'}, 409, "Search Error", "message"),
        ({"sort": "colour desc"}, 400, "Search Query Error", "message"),
        ({"sort": "name sideways"}, 400, "Search Query Error", "message"),
        ({"colour": "green"}, 400, "Search Query Error", "message"),
    ],
)
def test_package_search_refuses_bad_parameters_clearly(client, catalogue, query, status, kind, key):
    error = _error(client.get(API + "package_search", query), status, kind)
    assert error[key]


def test_the_fq_parser_reads_dates_and_phrases():
    filters = fq.parse(
        'organization:Revenue +tags:"street \\"big\\" trees" AND '
        "metadata_modified:{2024-01-01 TO NOW/DAY-7DAYS]"
    )
    assert filters.terms == [("organization", "revenue"), ("tags", 'street "big" trees')]
    assert filters.modified_from > datetime(2024, 1, 1, tzinfo=UTC)
    week_ago = timezone.now() - timedelta(days=8)
    assert week_ago < filters.modified_to < timezone.now() - timedelta(days=6)
    assert fq.parse("parks name:x", free_words=True).words == ["parks"]
    with pytest.raises(fq.FilterInvalid):
        fq.parse("metadata_modified:[2024-01-01 TO]")


def test_organizations_groups_and_tags(client, catalogue):
    assert _ok(client.get(API + "organization_list")) == ["planning", "revenue"]
    orgs = _ok(
        client.get(API + "organization_list", {"all_fields": "true", "sort": "package_count desc"})
    )
    assert [(o["name"], o["package_count"]) for o in orgs] == [("revenue", 2), ("planning", 1)]
    org = _ok(client.get(API + "organization_show", {"id": "planning", "include_datasets": "true"}))
    assert [p["name"] for p in org["packages"]] == ["car-parks"]
    assert "packages" not in _ok(client.get(API + "organization_show", {"id": "planning"}))
    _error(client.get(API + "organization_show", {"id": "nowhere"}), 404, "Not Found Error")
    _error(client.get(API + "organization_list", {"sort": "colour"}), 409, "Validation Error")

    groups = _ok(client.get(API + "group_list", {"all_fields": True}))
    counts = {g["name"]: g["package_count"] for g in groups}
    assert counts["envi"] == 1
    assert counts["gove"] == 1
    group = _ok(client.get(API + "group_show", {"id": "envi", "include_datasets": True}))
    assert [p["name"] for p in group["packages"]] == ["street-trees"]
    _error(client.get(API + "group_show", {"id": "nope"}), 404, "Not Found Error")

    assert _ok(client.get(API + "tag_list")) == ["money", "parking", "street trees", "trees"]
    assert _ok(client.get(API + "tag_list", {"query": "tree"})) == ["street trees", "trees"]


# --- writes ----------------------------------------------------------------------------


NEW = {
    "name": "bus-stops",
    "title": "Bus stops",
    "title_translated": {"fr": "Arrêts de bus"},
    "notes": "Every bus stop.",
    "owner_org": "revenue",
    "license_id": "CC-BY-4.0",
    "tags": [{"name": "buses"}, {"name": "Transport"}],
    "groups": [{"name": "tran"}],
    "extras": [
        {"key": "frequency", "value": "MONTHLY"},
        {"key": "temporal_start", "value": "2024-01-01"},
    ],
    "maintainer": "Transport team",
    "maintainer_email": "transport@example.org",
    "version": "2026-01",
}


def test_package_create_and_patch_with_a_token(client, catalogue, token):
    created = _ok(_call(client, "package_create", NEW, token=token))
    assert created["state"] == "draft"
    assert created["title_translated"] == {"en": "Bus stops", "fr": "Arrêts de bus"}
    assert [t["name"] for t in created["tags"]] == ["buses", "transport"]
    assert [g["name"] for g in created["groups"]] == ["tran"]
    extras = {e["key"]: e["value"] for e in created["extras"]}
    assert extras["frequency"].endswith("/MONTHLY")
    assert extras["temporal_start"] == "2024-01-01"
    assert created["maintainer_email"] == "transport@example.org"

    patched = _ok(
        _call(client, "package_patch", {"id": "bus-stops", "title": "Bus stops (all)"}, token=token)
    )
    assert patched["title"] == "Bus stops (all)"
    assert patched["title_translated"]["fr"] == "Arrêts de bus"
    assert patched["notes"] == "Every bus stop."
    assert patched["version"] == "2026-01"

    refused = _error(
        _call(client, "package_patch", {"id": "bus-stops", "state": "active"}, token=token),
        409,
        "Validation Error",
    )
    assert refused["state"] == ["Add at least one file before publishing."]

    link = _ok(
        _call(
            client,
            "resource_create",
            {
                "package_id": "bus-stops",
                "url": "https://files.example.org/stops.geojson",
                "format": "geojson",
            },
            token=token,
        )
    )
    assert link["format"] == "GeoJSON"
    published = _ok(
        _call(client, "package_patch", {"id": created["id"], "state": "active"}, token=token)
    )
    assert published["state"] == "active"
    assert "bus-stops" in _ok(client.get(API + "package_list"))


def test_package_create_active_with_links_publishes_at_once(client, catalogue, token):
    body = {
        **NEW,
        "name": "bus-routes",
        "state": "active",
        "resources": [
            {"url": "https://files.example.org/routes.pdf", "name": "Routes", "format": "PDF"}
        ],
    }
    created = _ok(_call(client, "package_create", body, token=token))
    assert created["state"] == "active"
    assert created["resources"][0]["name"] == "Routes"


def test_package_create_active_without_resources_creates_nothing(client, catalogue, token):
    before = _snapshot()
    error = _error(
        _call(client, "package_create", {**NEW, "state": "active"}, token=token),
        409,
        "Validation Error",
    )
    assert error["state"]
    assert _snapshot() == before


def test_validation_errors_use_ckans_field_names(client, catalogue, token):
    before = _snapshot()
    body = {**NEW, "name": "Bad Name!", "license_id": "made-up", "groups": [{"name": "nope"}]}
    error = _error(_call(client, "package_create", body, token=token), 409, "Validation Error")
    assert set(error) >= {"__type", "name", "license_id", "groups"}
    assert isinstance(error["name"], list)
    _error(
        _call(client, "package_create", {**NEW, "owner_org": "nowhere"}, token=token),
        409,
        "Validation Error",
    )
    _error(
        _call(
            client,
            "package_create",
            {k: v for k, v in NEW.items() if k != "owner_org"},
            token=token,
        ),
        409,
        "Validation Error",
    )
    _error(
        _call(
            client,
            "package_create",
            {**NEW, "extras": [{"key": "colour", "value": "red"}]},
            token=token,
        ),
        409,
        "Validation Error",
    )
    _error(
        _call(
            client,
            "resource_create",
            {"package_id": "street-trees", "url": "javascript:alert(1)"},
            token=token,
        ),
        409,
        "Validation Error",
    )
    assert _snapshot() == before


def test_writes_without_a_token_are_refused_and_change_nothing(client, catalogue, publisher):
    before = _snapshot()
    error = _error(_call(client, "package_create", NEW), 403, "Authorization Error")
    assert error["message"].startswith("Access denied: ")
    _error(
        _call(client, "package_patch", {"id": "street-trees", "title": "X"}),
        403,
        "Authorization Error",
    )
    # A signed-in browser session is not a token.
    sign_in_official(client, publisher)
    _error(_call(client, "package_create", NEW), 403, "Authorization Error")
    assert _snapshot() == before


def test_a_revoked_or_unknown_token_is_refused(client, catalogue, publisher, token):
    before = _snapshot()
    row = selectors.api_tokens_of(user=publisher).get()
    services.api_token_revoke(actor=publisher, token=row)
    for secret in (token, "ecod_made-up", "Bearer " + token):
        _error(_call(client, "package_create", NEW, token=secret), 403, "Authorization Error")
    # A bad token is refused for reads too (the client is told its token is wrong).
    _error(_call(client, "package_list", token=token), 403, "Authorization Error")
    assert _snapshot() == before


def test_another_departments_publisher_is_refused(client, catalogue, other_token):
    before = _snapshot()
    _error(_call(client, "package_create", NEW, token=other_token), 403, "Authorization Error")
    _error(
        _call(
            client, "package_patch", {"id": "street-trees", "title": "Mine now"}, token=other_token
        ),
        403,
        "Authorization Error",
    )
    _error(
        _call(
            client,
            "package_patch",
            {"id": "street-trees", "state": "deleted", "withdrawn_reason": "x"},
            token=other_token,
        ),
        403,
        "Authorization Error",
    )
    _error(
        _call(
            client,
            "resource_create",
            {"package_id": "street-trees", "url": "https://x.example.org/a.pdf"},
            token=other_token,
        ),
        403,
        "Authorization Error",
    )
    # Their drafts do not even exist for them.
    _error(
        _call(client, "package_patch", {"id": "budget-draft", "title": "X"}, token=other_token),
        404,
        "Not Found Error",
    )
    assert _snapshot() == before


def test_resource_create_with_a_multipart_upload(client, catalogue, token):
    response = client.post(
        API + "resource_create",
        {
            "package_id": "budget-draft",
            "name": "Budget book",
            "upload": SimpleUploadedFile("budget.pdf", PDF, content_type="application/pdf"),
        },
        HTTP_AUTHORIZATION=token,
    )
    resource = _ok(response)
    assert resource["format"] == "PDF"
    assert resource["name"] == "Budget book"
    assert resource["size"] == len(PDF)
    assert resource["url_type"] == "upload"
    assert resource["url"].startswith("http://testserver/dataset/budget-draft/resource/")
    missing = client.post(
        API + "resource_create", {"package_id": "budget-draft"}, HTTP_AUTHORIZATION=token
    )
    assert _error(missing, 409, "Validation Error")["upload"]


def test_withdrawing_needs_a_reason(client, catalogue, token):
    error = _error(
        _call(client, "package_patch", {"id": "street-trees", "state": "deleted"}, token=token),
        409,
        "Validation Error",
    )
    assert error["reason"]
    done = _ok(
        _call(
            client,
            "package_patch",
            {"id": "street-trees", "state": "deleted", "withdrawn_reason": "Superseded"},
            token=token,
        )
    )
    assert done["state"] == "deleted"

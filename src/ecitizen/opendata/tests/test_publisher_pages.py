"""The publishers' pages: creating and changing a dataset, adding a file and reading its
check (every problem with its row and column), fixing it by replacing the file, editing
the fields, publishing, withdrawing with a reason, and API tokens shown once; the remit —
a publisher of another department gets 404 on every page, a resident 403."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ecitizen.core.models import AuditEvent
from ecitizen.opendata import selectors, services, staff_views
from ecitizen.opendata.models import ApiToken, Dataset, DatasetRevision, Resource
from tests.factories import JurisdictionFactory
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    b"id,name,planted,height_m\n1,Oak,2020-03-01,4.5\n2,Elm,2021-11-20,3\n3,Ash,2022-05-02,2\n"
)
# Row 3 (the second data row) has no name; row 4 has a height that is not a number.
BAD_CSV = (
    b"id,name,planted,height_m\n1,Oak,2020-03-01,4.5\n2,,2021-11-20,3\n3,Ash,2022-05-02,tall\n"
)
TREES_SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
        {"name": "name", "type": "string", "constraints": {"required": True}},
        {"name": "planted", "type": "date"},
        {"name": "height_m", "type": "number"},
    ]
}


@pytest.fixture(autouse=True)
def _datastore_dir(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


@pytest.fixture
def signed_in(client, publisher):
    sign_in_official(client, publisher)
    return client


def _form(**overrides):
    data = {
        "department": "revenue",
        "name": "street-trees",
        "title_en": "Street trees",
        "title_fr": "Arbres d'alignement",
        "description_en": "Every tree the council looks after.",
        "licence_id": "OGL-UK-3.0",
        "themes": ["ENVI", "REGI"],
        "keywords": "Trees, parks",
        "ward": "",
        "temporal_start_day": "1",
        "temporal_start_month": "4",
        "temporal_start_year": "2025",
        "frequency": "ANNUAL",
        "version": "2026",
        "contact_name": "Parks data team",
        "contact_email": "parks@example.test",
        **overrides,
    }
    return {key: value for key, value in data.items() if value is not None}


def _dataset(publisher, department, name="street-trees", **fields):
    return services.dataset_create(
        actor=publisher,
        department=department,
        fields={
            "name": name,
            "titles": {"en": "Street trees"},
            "licence_id": "OGL-UK-3.0",
            **fields,
        },
    )


def _upload(client, url, content, filename="trees.csv", capture=None, **extra):
    data = {"upload": SimpleUploadedFile(filename, content, "text/csv"), **extra}
    if capture is None:
        return client.post(url, data)
    with capture(execute=True):
        return client.post(url, data)


def _table_of_problems(html: str) -> list[list[str]]:
    """The problems table's rows as lists of cell texts."""
    table = html.split('aria-labelledby="problems-heading"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr class=\"govuk-table__row\" id=\"problem-\d+\".*?</tr>", table, re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td.*?</td>", row, re.S)]
        for row in rows
    ]


# --- the home page ------------------------------------------------------------------------


def test_the_home_page_lists_the_department_s_datasets_with_their_state(
    signed_in, publisher, department, other_publisher, other_department
):
    draft = _dataset(publisher, department, "draft-one")
    private = _dataset(publisher, department, "private-one", private=True)
    Dataset.objects.filter(pk=private.pk).update(state=Dataset.State.PUBLISHED)
    withdrawn = _dataset(publisher, department, "gone-one")
    Dataset.objects.filter(pk=withdrawn.pk).update(state=Dataset.State.PUBLISHED)
    services.dataset_withdraw(actor=publisher, dataset=withdrawn, reason="Replaced")
    _dataset(other_publisher, other_department, "planning-data")

    response = signed_in.get(reverse("staff:opendata"))

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("staff:opendata_dataset", args=[draft.name]) in html
    assert "private-one" in html
    assert "Private" in html
    assert "Withdrawn" in html
    assert "Draft" in html
    assert "planning-data" not in html
    assert reverse("staff:opendata_dataset_new") in html
    assert reverse("staff:opendata_tokens") in html


def test_the_home_page_reads_the_same_number_of_queries_for_one_or_many_datasets(
    signed_in, publisher, department, django_assert_num_queries
):
    _dataset(publisher, department, "first")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert signed_in.get(reverse("staff:opendata")).status_code == 200
    for index in range(5):
        _dataset(publisher, department, f"more-{index}", keywords=f"k{index}")
    with django_assert_num_queries(len(one.captured_queries)):
        response = signed_in.get(reverse("staff:opendata"))
    assert response.content.decode().count("govuk-tag--grey") == 6


# --- creating and changing a dataset -----------------------------------------------------


def test_a_publisher_creates_a_dataset(signed_in, publisher):
    page = signed_in.get(reverse("staff:opendata_dataset_new"))
    assert page.status_code == 200
    assert 'name="title_fr"' in page.content.decode()

    response = signed_in.post(reverse("staff:opendata_dataset_new"), _form())

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:opendata_dataset", args=["street-trees"])
    dataset = Dataset.objects.get(name="street-trees")
    assert dataset.state == Dataset.State.DRAFT
    assert dataset.department.slug == "revenue"
    assert dataset.titles == {"en": "Street trees", "fr": "Arbres d'alignement"}
    assert dataset.themes == ["ENVI", "REGI"]
    assert dataset.keywords == ["trees", "parks"]
    assert str(dataset.temporal_start) == "2025-04-01"
    assert dataset.temporal_end is None
    assert dataset.frequency == "ANNUAL"
    assert dataset.contact_email == "parks@example.test"
    detail = signed_in.get(response["Location"]).content.decode()
    assert "saved as a draft" in detail
    assert "Arbres d&#x27;alignement" in detail


def test_the_same_creation_sent_twice_makes_one_dataset(signed_in):
    form = signed_in.get(reverse("staff:opendata_dataset_new")).content.decode()
    key = re.search(r'name="submission" value="([0-9a-f]{32})"', form).group(1)
    data = _form(submission=key)

    first = signed_in.post(reverse("staff:opendata_dataset_new"), data)
    second = signed_in.post(reverse("staff:opendata_dataset_new"), data)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Dataset.objects.filter(name="street-trees").count() == 1


def test_invalid_answers_are_kept_and_summarised(signed_in):
    response = signed_in.post(
        reverse("staff:opendata_dataset_new"),
        _form(
            name="Not A Slug!",
            title_en="",
            title_fr="Garde ceci",
            licence_id="",
            contact_email="not-an-email",
            temporal_end_day="31",
            temporal_end_month="2",
            temporal_end_year="2026",
        ),
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "<title>Error:" in html
    summary = html.split('class="govuk-error-summary"', 1)[1].split("</div>\n</div>", 1)[0]
    assert 'href="#id_title_en"' in summary
    assert "Enter a title" in summary
    assert 'href="#id_licence_id"' in summary
    assert "Choose a licence" in summary
    assert 'href="#id_contact_email"' in summary
    assert 'href="#id_name"' in summary  # with the others, not after they are fixed
    assert 'href="#id_temporal_end_day"' in summary
    assert "Enter a real date" in summary
    # The answers stay.
    assert 'value="Garde ceci"' in html
    assert 'value="Not A Slug!"' in html
    assert re.search(r'<input[^>]*value="ENVI"[^>]*checked', html)
    # A translation with an error would be in the open details; none here, but the
    # service's rules come back on the fields once the form's own pass.
    assert not Dataset.objects.exists()


def test_the_service_s_rules_are_shown_on_their_fields(signed_in, publisher, department):
    _dataset(publisher, department, "street-trees")

    response = signed_in.post(
        reverse("staff:opendata_dataset_new"),
        _form(
            name="street-trees",
            temporal_end_day="1",
            temporal_end_month="1",
            temporal_end_year="2020",
        ),
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_name"' in html
    assert "That URL is already in use." in html
    assert 'href="#id_temporal_end_day"' in html
    assert "The end of the period must be on or after its start." in html
    assert Dataset.objects.count() == 1


def test_a_publisher_changes_a_dataset_s_details(signed_in, publisher, department):
    ward = JurisdictionFactory(code="riverside", name="Riverside")
    dataset = _dataset(publisher, department, themes=["ENVI"])
    url = reverse("staff:opendata_dataset_edit", args=[dataset.name])
    page = signed_in.get(url).content.decode()
    assert 'value="Street trees"' in page
    assert 'name="department"' not in page  # fixed once created

    response = signed_in.post(
        url,
        _form(
            department=None,
            name="trees",
            title_en="Trees in streets",
            ward="riverside",
            private="on",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:opendata_dataset", args=["trees"])
    dataset.refresh_from_db()
    assert dataset.name == "trees"
    assert dataset.titles["en"] == "Trees in streets"
    assert dataset.ward == ward
    assert dataset.private is True
    assert dataset.revision == 2


# --- files and their checks --------------------------------------------------------------


# Row 3 has a cell too few, row 4 one too many: wrong whatever the fields.
RAGGED_CSV = (
    b"id,name,planted,height_m\n1,Oak,2020-03-01,4.5\n2,Elm,2021-11-20\n3,Ash,2022-05-02,2,x\n"
)


def test_an_uploaded_file_with_problems_lists_each_with_its_row_and_column(
    signed_in, publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    page = signed_in.get(reverse("staff:opendata_resource_new", args=[dataset.name]))
    assert 'enctype="multipart/form-data"' in page.content.decode()

    response = _upload(
        signed_in,
        reverse("staff:opendata_resource_new", args=[dataset.name]),
        RAGGED_CSV,
        capture=django_capture_on_commit_callbacks,
        title="Trees",
    )

    assert response.status_code == 302
    resource = Resource.objects.get(dataset=dataset)
    assert resource.name() == "Trees"
    assert response["Location"] == reverse(
        "staff:opendata_resource", args=[dataset.name, resource.id]
    )
    html = signed_in.get(response["Location"]).content.decode()
    assert "There are 2 problems in this file" in html
    assert "<title>Error:" in html
    assert 'href="#problem-1"' in html
    assert 'id="problem-1"' in html
    rows = _table_of_problems(html)
    assert rows[0][:3] == ["3", "4", "height_m"], rows
    assert rows[1][:2] == ["4", "5"], rows
    assert "Row 3, column 4 (height_m): the cell is missing" in html
    dataset_page = signed_in.get(reverse("staff:opendata", args=[])).content.decode()
    assert "street-trees" in dataset_page
    assert (
        "2 problems"
        in signed_in.get(reverse("staff:opendata_dataset", args=[dataset.name])).content.decode()
    )


def test_a_rule_of_the_fields_broken_is_reported_with_its_row_and_column(
    signed_in, publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    _bad_resource(publisher, dataset, django_capture_on_commit_callbacks)
    resource = Resource.objects.get(dataset=dataset)

    html = signed_in.get(
        reverse("staff:opendata_resource", args=[dataset.name, resource.id])
    ).content.decode()

    assert "There are 2 problems in this file" in html
    assert "Row 3, column 2 (name): this column needs a value in every row" in html
    rows = _table_of_problems(html)
    assert ["3", "2", "name", "this column needs a value in every row"] in rows
    assert any(row[:3] == ["4", "4", "height_m"] for row in rows), rows
    assert "Not loaded: the file has problems" in html


def _bad_resource(publisher, dataset, capture):
    with capture(execute=True):
        resource = services.resource_add(
            actor=publisher,
            dataset=dataset,
            filename="trees.csv",
            content=BAD_CSV,
            schema=TREES_SCHEMA,
        )
    resource.refresh_from_db()
    assert resource.validation
    assert resource.validation["valid"] is False
    return resource


def test_replacing_the_file_with_a_fixed_one_makes_it_valid_and_publishable(
    signed_in, publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    resource = _bad_resource(publisher, dataset, django_capture_on_commit_callbacks)

    # Publishing is refused while the file has problems, with the reason.
    refused = signed_in.post(reverse("staff:opendata_dataset_publish", args=[dataset.name]))
    assert refused.status_code == 302
    page = signed_in.get(refused["Location"]).content.decode()
    assert "Fix the problems in" in page
    dataset.refresh_from_db()
    assert dataset.state == Dataset.State.DRAFT

    replace = reverse("staff:opendata_resource_replace", args=[dataset.name, resource.id])
    assert signed_in.get(replace).status_code == 200
    response = _upload(signed_in, replace, GOOD_CSV, capture=django_capture_on_commit_callbacks)

    assert response.status_code == 302
    resource.refresh_from_db()
    assert resource.schema["fields"][1]["constraints"] == {"required": True}  # kept
    assert resource.validation["valid"] is True
    html = signed_in.get(response["Location"]).content.decode()
    assert "govuk-error-summary" not in html
    assert "Valid" in html
    # The first rows, from the DataStore.
    assert resource.datastore_state == Resource.DatastoreState.LOADED
    preview = html.split('aria-labelledby="preview-heading"', 1)[1].split("</table>", 1)[0]
    assert "Elm" in preview
    assert "2021-11-20" in preview

    published = signed_in.post(reverse("staff:opendata_dataset_publish", args=[dataset.name]))
    assert published.status_code == 302
    dataset.refresh_from_db()
    assert dataset.state == Dataset.State.PUBLISHED
    assert "anyone can find" in signed_in.get(published["Location"]).content.decode()
    # Publishing again is harmless.
    again = signed_in.post(reverse("staff:opendata_dataset_publish", args=[dataset.name]))
    assert again.status_code == 302
    assert DatasetRevision.objects.filter(dataset=dataset, summary="Published").count() == 1


def test_a_file_that_does_not_match_the_kept_fields_is_reported(
    signed_in, publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    with django_capture_on_commit_callbacks(execute=True):
        resource = services.resource_add(
            actor=publisher,
            dataset=dataset,
            filename="trees.csv",
            content=GOOD_CSV,
            schema=TREES_SCHEMA,
        )
    replace = reverse("staff:opendata_resource_replace", args=[dataset.name, resource.id])

    response = _upload(
        signed_in,
        replace,
        b"id,colour\n1,red\n",
        capture=django_capture_on_commit_callbacks,
    )

    resource.refresh_from_db()
    assert resource.validation["valid"] is False
    html = signed_in.get(response["Location"]).content.decode()
    assert re.search(r"There (is|are) \d+ problems? in this file", html)


def test_an_upload_that_is_not_a_known_format_keeps_the_form_with_its_error(
    signed_in, publisher, department
):
    dataset = _dataset(publisher, department)

    response = _upload(
        signed_in,
        reverse("staff:opendata_resource_new", args=[dataset.name]),
        b"MZ\x90\x00",
        filename="tool.exe",
        title="A name kept",
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_upload"' in html
    assert "The file must be one of" in html
    assert 'value="A name kept"' in html
    assert not Resource.objects.exists()


def test_a_file_the_storage_cannot_keep_keeps_the_form_with_a_clear_message(
    signed_in, publisher, department, s3_media
):
    dataset = _dataset(publisher, department)
    s3_media.delete()  # the bucket is gone: S3 refuses every write (NoSuchBucket)

    response = _upload(
        signed_in,
        reverse("staff:opendata_resource_new", args=[dataset.name]),
        GOOD_CSV,
        title="A name kept",
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "The selected file could not be uploaded. Try again later" in html
    assert 'value="A name kept"' in html
    assert not Resource.objects.exists()
    assert Dataset.objects.get().revision == 1


def test_an_upload_without_a_file_says_so(signed_in, publisher, department):
    dataset = _dataset(publisher, department)

    response = signed_in.post(reverse("staff:opendata_resource_new", args=[dataset.name]), {})

    assert response.status_code == 400
    assert "Select a file" in response.content.decode()


def test_a_large_file_being_checked_says_so_with_its_progress(signed_in, publisher, department):
    dataset = _dataset(publisher, department)
    resource = services.resource_add(
        actor=publisher, dataset=dataset, filename="trees.csv", content=GOOD_CSV
    )
    # As a worker leaves it halfway through loading a big table.
    Resource.objects.filter(pk=resource.pk).update(
        validation={"valid": True, "rows": 10_000, "errors": []},
        datastore_state=Resource.DatastoreState.LOADING,
        datastore_progress=2_500,
    )

    html = signed_in.get(
        reverse("staff:opendata_resource", args=[dataset.name, resource.id])
    ).content.decode()

    assert "still being checked" in html
    assert "2,500 of 10,000 rows loaded (25%)" in html
    assert "Refresh this page" in html


def test_the_fields_form_changes_the_schema_and_checks_the_file_again(
    signed_in, publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    resource = _bad_resource(publisher, dataset, django_capture_on_commit_callbacks)
    url = reverse("staff:opendata_resource_fields", args=[dataset.name, resource.id])
    page = signed_in.get(url).content.decode()
    assert 'name="f1-required"' in page
    assert re.search(r'<input[^>]*name="f1-required"[^>]*checked', page)
    assert not re.search(r'<input[^>]*name="f1-unique"[^>]*checked', page)
    assert 'name="f3-minimum"' in page

    data = {
        "f0-type": "integer",
        "f0-required": "on",
        "f0-unique": "on",
        "f1-type": "string",  # no longer required: row 3's empty name is fine
        "f1-description": "The tree's common name",
        "f2-type": "date",
        "f3-type": "string",  # "tall" is text
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url, data)

    assert response.status_code == 302
    resource.refresh_from_db()
    fields = {f["name"]: f for f in resource.schema["fields"]}
    assert "constraints" not in fields["name"]
    assert fields["name"]["description"] == "The tree's common name"
    assert fields["height_m"]["type"] == "string"
    assert fields["id"]["constraints"] == {"required": True, "unique": True}
    assert resource.validation["valid"] is True


def test_the_fields_form_refuses_bounds_that_make_no_sense(
    signed_in, publisher, department, django_capture_on_commit_callbacks
):
    dataset = _dataset(publisher, department)
    resource = _bad_resource(publisher, dataset, django_capture_on_commit_callbacks)
    url = reverse("staff:opendata_resource_fields", args=[dataset.name, resource.id])
    before = resource.schema

    response = signed_in.post(
        url,
        {
            "f0-type": "integer",
            "f0-minimum": "1.5",
            "f1-type": "string",
            "f1-maximum": "3",
            "f2-type": "date",
            "f3-type": "number",
            "f3-minimum": "10",
            "f3-maximum": "2",
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_f0-minimum"' in html
    assert "Enter a whole number" in html
    assert 'href="#id_f1-maximum"' in html
    assert 'href="#id_f3-maximum"' in html
    assert 'value="10"' in html  # kept
    resource.refresh_from_db()
    assert resource.schema == before


# --- withdrawing --------------------------------------------------------------------------


def test_a_publisher_withdraws_a_dataset_with_a_reason(signed_in, publisher, department):
    dataset = _dataset(publisher, department)
    Dataset.objects.filter(pk=dataset.pk).update(state=Dataset.State.PUBLISHED)
    url = reverse("staff:opendata_dataset_withdraw", args=[dataset.name])
    assert signed_in.get(url).status_code == 200

    empty = signed_in.post(url, {"reason": "  "})
    assert empty.status_code == 400
    assert "Enter why the dataset is withdrawn" in empty.content.decode()

    response = signed_in.post(url, {"reason": "Replaced by the 2026 survey"})

    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.state == Dataset.State.WITHDRAWN
    assert dataset.withdrawn_reason == "Replaced by the 2026 survey"
    html = signed_in.get(response["Location"]).content.decode()
    assert "Replaced by the 2026 survey" in html
    assert "Publish it again" in html
    # A second withdrawal changes nothing.
    again = signed_in.post(url, {"reason": "Something else"})
    assert again.status_code == 302
    dataset.refresh_from_db()
    assert dataset.withdrawn_reason == "Replaced by the 2026 survey"


# --- API tokens ---------------------------------------------------------------------------


def test_a_token_is_shown_once_then_listed_then_revoked(signed_in, publisher):
    new = reverse("staff:opendata_token_new")
    assert signed_in.get(reverse("staff:opendata_tokens")).status_code == 200
    assert signed_in.post(new, {"name": ""}).status_code == 400

    response = signed_in.post(new, {"name": "Nightly upload"})

    assert response.status_code == 302
    token = ApiToken.objects.get(user=publisher)
    shown = signed_in.get(response["Location"])
    html = shown.content.decode()
    secret = re.search(r'id="api-token">([^<]+)<', html).group(1)
    assert secret.startswith(token.prefix)
    assert services.api_token_user(secret=secret) == publisher
    assert "no-store" in shown["Cache-Control"]
    assert "will not be shown again" in html
    # Once only.
    again = signed_in.get(response["Location"])
    assert again.status_code == 302
    assert secret not in signed_in.get(again["Location"]).content.decode()
    listed = signed_in.get(reverse("staff:opendata_tokens")).content.decode()
    assert "Nightly upload" in listed
    assert token.prefix in listed

    revoke = reverse("staff:opendata_token_revoke", args=[token.pk])
    assert "Revoke the token" in signed_in.get(revoke).content.decode()
    assert signed_in.post(revoke).status_code == 302
    assert signed_in.post(revoke).status_code == 302  # twice is harmless
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert services.api_token_user(secret=secret) is None
    assert AuditEvent.objects.filter(action="opendata.token_revoked").count() == 1


def test_another_publisher_s_token_is_not_found(client, publisher, other_publisher):
    token, _secret = services.api_token_create(actor=publisher, name="Mine")
    sign_in_official(client, other_publisher)

    for name in ("staff:opendata_token", "staff:opendata_token_revoke"):
        assert client.get(reverse(name, args=[token.pk])).status_code == 404
    assert client.post(reverse("staff:opendata_token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


# --- the remit ----------------------------------------------------------------------------


def _every_url(dataset, resource):
    by_dataset = [
        "staff:opendata_dataset",
        "staff:opendata_dataset_edit",
        "staff:opendata_dataset_withdraw",
        "staff:opendata_resource_new",
    ]
    by_resource = [
        "staff:opendata_resource",
        "staff:opendata_resource_replace",
        "staff:opendata_resource_fields",
    ]
    return [reverse(name, args=[dataset.name]) for name in by_dataset] + [
        reverse(name, args=[dataset.name, resource.id]) for name in by_resource
    ]


def test_a_publisher_of_another_department_gets_404_on_every_page(
    client, publisher, department, other_publisher
):
    dataset = _dataset(publisher, department)
    resource = services.resource_add(
        actor=publisher, dataset=dataset, filename="trees.csv", content=GOOD_CSV
    )
    sign_in_official(client, other_publisher)

    for url in _every_url(dataset, resource):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x", "name": "x"}).status_code == 404, url
    publish = reverse("staff:opendata_dataset_publish", args=[dataset.name])
    assert client.post(publish).status_code == 404
    assert "street-trees" not in client.get(reverse("staff:opendata")).content.decode()
    dataset.refresh_from_db()
    assert dataset.state == Dataset.State.DRAFT


def test_a_resident_is_refused_and_a_visitor_sent_to_sign_in(
    client, resident, publisher, department
):
    dataset = _dataset(publisher, department)
    resource = services.resource_add(
        actor=publisher, dataset=dataset, filename="trees.csv", content=GOOD_CSV
    )
    urls = [
        reverse("staff:opendata"),
        reverse("staff:opendata_dataset_new"),
        reverse("staff:opendata_tokens"),
        *_every_url(dataset, resource),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"], url
    client.force_login(resident)
    for url in urls:
        assert client.get(url).status_code == 403, url


def test_the_publish_button_only_posts(signed_in, publisher, department):
    dataset = _dataset(publisher, department)
    url = reverse("staff:opendata_dataset_publish", args=[dataset.name])
    assert signed_in.get(url).status_code == 405


# --- the words of a check ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (
            {"row": 3, "column": 2, "field": "name", "message": "this column needs a value"},
            "Row 3, column 2 (name): this column needs a value",
        ),
        (
            {"row": 5, "column": None, "field": "", "message": "the row is empty"},
            "Row 5: the row is empty",
        ),
        (
            {"row": None, "column": 4, "field": "x", "message": "a column has no heading"},
            "Column 4 (x): a column has no heading",
        ),
        ({"row": None, "column": None, "field": "", "message": "Cannot read"}, "Cannot read"),
    ],
)
def test_a_problem_is_said_with_its_row_and_column(problem, text):
    assert staff_views.problem_text(problem) == text


def test_the_publisher_s_datasets_selector_is_what_the_home_page_lists(publisher, department):
    _dataset(publisher, department)
    assert [d.name for d in selectors.datasets_for_publisher(user=publisher)] == ["street-trees"]

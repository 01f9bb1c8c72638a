"""The catalogue's public pages: search with facets (and bad parameters), a dataset with
its preview, chart and API calls, a file's data dictionary, the history (never naming the
publisher), a withdrawn dataset, a private one (not found), the organisations."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from ecitizen.opendata import charts, services
from ecitizen.opendata.models import Resource
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db

SCHEMA = {
    "fields": [
        {"name": "month", "type": "date", "description": "The first day of the month"},
        {
            "name": "trees_planted",
            "type": "integer",
            "title": "Trees planted",
            "constraints": {"required": True, "minimum": 0},
        },
        {"name": "ward", "type": "string", "constraints": {"enum": ["north", "south"]}},
    ]
}
CSV = (
    b"month,trees_planted,ward\n"
    b"2025-01-01,12,north\n2025-02-01,30,south\n2025-03-01,21,north\n2025-04-01,44,south\n"
)
PDF = b"%PDF-1.4\n% a report\n"


@pytest.fixture(autouse=True)
def _datastore_dir(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


def _create(department, name, **fields):
    values = {
        "name": name,
        "titles": {"en": name.replace("-", " ").capitalize()},
        "descriptions": {"en": f"About {name}."},
        "licence_id": "OGL-UK-3.0",
        "themes": ["ENVI"],
        "keywords": "trees",
        **fields,
    }
    return services.dataset_create(actor=None, department=department, fields=values)


def _published(department, name, *, fmt="PDF", **fields):
    dataset = _create(department, name, **fields)
    if fmt == "PDF":
        services.resource_add(actor=None, dataset=dataset, filename="report.pdf", content=PDF)
    else:
        services.resource_add(
            actor=None, dataset=dataset, filename="map.geojson", content=b'{"type": "x"}'
        )
    return services.dataset_publish(actor=None, dataset=dataset)


@pytest.fixture
def trees(department, django_capture_on_commit_callbacks):
    """A published dataset with a CSV loaded into the DataStore (a monthly series)."""
    dataset = _create(
        department,
        "street-trees",
        keywords="trees, planting",
        contact_name="Parks team",
        contact_email="parks@example.test",
        temporal_start="2025-01-01",
        temporal_end="2025-04-30",
        frequency="MONTHLY",
        version="2025-Q1",
    )
    with django_capture_on_commit_callbacks(execute=True):
        resource = services.resource_add(
            actor=None,
            dataset=dataset,
            filename="planting.csv",
            content=CSV,
            names={"en": "Trees planted by month"},
            schema=SCHEMA,
        )
    resource.refresh_from_db()
    assert resource.datastore_state == Resource.DatastoreState.LOADED, resource.datastore_error
    return services.dataset_publish(actor=None, dataset=dataset)


def _text(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- search --------------------------------------------------------------------------------


def test_search_lists_public_datasets_with_facets_and_count(
    client, department, other_department, django_assert_max_num_queries
):
    _published(department, "bin-collections", keywords="waste")
    _published(other_department, "planning-applications", fmt="GeoJSON", themes=["REGI"])
    _create(department, "draft-only")  # a draft: never listed

    with django_assert_max_num_queries(8):
        response = client.get(reverse("opendata:search"))

    assert response.status_code == 200
    text = _text(response)
    assert "2 datasets" in text
    assert "Bin collections" in text
    assert "Planning applications" in text
    assert "Draft only" not in text
    # Facets as checkboxes, with labels and counts.
    assert "Revenue (1)" in text
    assert "Planning & Building (1)" in text
    assert "Environment (1)" in text
    assert "Regions and cities (1)" in text
    assert "Open Government Licence 3.0 (United Kingdom) (2)" in text
    assert 'name="organization"' in response.content.decode()


def test_a_facet_filters_the_results_and_the_url_is_bookmarkable(
    client, department, other_department
):
    _published(department, "bin-collections", keywords="waste")
    _published(other_department, "planning-applications", fmt="GeoJSON", themes=["REGI"])

    response = client.get(reverse("opendata:search"), {"organization": "planning"})

    text = _text(response)
    assert "1 dataset" in text
    assert "Planning applications" in text
    assert "Bin collections" not in text
    assert "Selected filters" in text
    checked = re.search(r'<input[^>]*value="planning"[^>]*>', response.content.decode())
    assert checked
    assert "checked" in checked.group(0)
    by_format = _text(client.get(reverse("opendata:search"), {"res_format": "GeoJSON"}))
    assert "Planning applications" in by_format
    assert "Bin collections" not in by_format
    by_word = _text(client.get(reverse("opendata:search"), {"q": "bin", "tags": "waste"}))
    assert "1 dataset" in by_word
    assert "Bin collections" in by_word


def test_the_filters_written_once_still_show_each_search_its_counts_ticks_and_language(
    client, department, other_department
):
    # No theme: nothing the filters list is translated, only their own labels.
    _published(department, "bin-collections", keywords="waste", themes=[])
    url = reverse("opendata:search")

    def organisation_boxes(response) -> list[str]:
        return re.findall(r'<input[^>]*name="organization"[^>]*>', response.content.decode())

    assert "Revenue (1)" in _text(client.get(url))
    assert "Revenue (1)" in _text(client.get(url))  # the same filters again
    _published(department, "bin-rounds", keywords="waste", themes=[])
    assert "Revenue (2)" in _text(client.get(url))  # a count changed: written anew
    ticked = organisation_boxes(client.get(url, {"organization": department.slug}))
    assert ["checked" in box for box in ticked] == [True]
    unticked = organisation_boxes(client.get(url))
    assert ["checked" in box for box in unticked] == [False]
    assert "Sort by" in _text(client.get(url))
    client.cookies["django_language"] = "fr"
    french = _text(client.get(url))
    assert "Trier par" in french  # the same filters, written in French
    assert "Sort by" not in french


def test_bad_search_parameters_get_a_message_not_an_error(client, department):
    _published(department, "bin-collections")
    url = reverse("opendata:search")

    unknown_sort = client.get(url, {"sort": "colour desc"})
    assert unknown_sort.status_code == 200
    assert "cannot be sorted by “colour desc”" in _text(unknown_sort)
    assert "Bin collections" in _text(unknown_sort)

    not_a_number = client.get(url, {"page": "two"})
    assert not_a_number.status_code == 200
    assert "“two” is not a page number" in _text(not_a_number)

    past_the_end = client.get(url, {"page": "99"})
    assert past_the_end.status_code == 200
    assert "There is no page 99" in _text(past_the_end)
    assert "Bin collections" in _text(past_the_end)

    huge = client.get(url, {"page": "9" * 40})
    assert huge.status_code == 200
    assert "the last page, 1, is shown" in _text(huge)

    zero = client.get(url, {"page": "0"})
    assert "“0” is not a page number" in _text(zero)

    with_nul = client.get(url, {"q": "bin\x00", "organization": "rev\x00enue"})
    assert with_nul.status_code == 200

    nothing = client.get(url, {"organization": "no-such-department", "q": "x" * 500})
    assert nothing.status_code == 200
    assert "No datasets match" in _text(nothing)


def test_search_pages_through_many_results(client, department):
    for number in range(23):
        _published(department, f"dataset-{number:02d}")

    first = client.get(reverse("opendata:search"), {"sort": "title_string asc"})
    second = client.get(reverse("opendata:search"), {"sort": "title_string asc", "page": "2"})

    assert "Dataset 00" in _text(first)
    assert "Dataset 22" not in _text(first)
    assert "Dataset 22" in _text(second)
    assert "Dataset 00" not in _text(second)
    assert 'rel="next"' in first.content.decode()
    assert "sort=title_string+asc&amp;page=2" in first.content.decode()


# --- a dataset ------------------------------------------------------------------------------


def test_the_dataset_page_shows_metadata_files_preview_chart_and_api(
    client, trees, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = client.get(reverse("opendata:dataset", args=["street-trees"]))

    assert response.status_code == 200
    html = response.content.decode()
    text = _text(response)
    # Metadata.
    assert "Revenue" in text
    assert reverse("opendata:organization", args=["revenue"]) in html
    assert "Parks team" in text
    assert "mailto:parks@example.test" in html
    assert "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/" in html
    assert "Environment" in text
    assert "planting" in text
    assert "1 January 2025 to 30 April 2025" in text
    assert "Monthly" in text
    assert "2025-Q1" in text
    assert reverse("opendata:dataset_history", args=["street-trees"]) in html
    # Files: size, checksum, download and exports.
    resource = trees.resources.get()
    assert f"{resource.checksum[:12]}…" in html
    assert (
        reverse(
            "opendata:resource_export",
            kwargs={"name": "street-trees", "resource_id": resource.id, "fmt": "csv"},
        )
        in html
    )
    # The preview: a table with a caption and column headers.
    assert re.search(r"<caption[^>]*>\s*The first 4 rows of “Trees planted by month”", html)
    assert (
        '<th scope="col" class="govuk-table__header govuk-table__header--numeric">trees_planted'
        in html
    )
    assert ">44<" in html
    # The chart: an SVG image named and described, its data as a table.
    assert 'role="img"' in html
    assert "<desc" in html
    assert "polyline" in html
    assert "Show the chart&#x27;s data as a table" in html or "Show the chart's data" in text
    # The API calls and the DCAT links, in the page and its head.
    assert "/api/3/action/package_show?id=street-trees" in html
    assert f"/api/3/action/datastore_search?resource_id={resource.id}" in html
    assert "curl '" in text
    assert '<link rel="alternate" type="text/turtle"' in html
    assert "/dataset/street-trees.ttl" in html


def test_a_withdrawn_dataset_shows_why_and_when_and_keeps_its_history(client, department):
    dataset = _published(department, "old-bins")
    services.dataset_withdraw(
        actor=None, dataset=dataset, reason="Replaced by the waste collections dataset."
    )

    response = client.get(reverse("opendata:dataset", args=["old-bins"]))

    assert response.status_code == 200
    text = _text(response)
    assert "Withdrawn on" in text
    assert "Replaced by the waste collections dataset." in text
    assert "govuk-warning-text" in response.content.decode()
    history = _text(client.get(reverse("opendata:dataset_history", args=["old-bins"])))
    assert "Withdrawn" in history
    assert "Published" in history
    # What the dataset was before its publication stays with its department.
    assert "Created" not in history
    # Not among the search results.
    assert "Old bins" not in _text(client.get(reverse("opendata:search")))


def test_a_private_or_draft_dataset_is_not_found_by_others(
    client, department, publisher, other_publisher
):
    from tests.personas import sign_in_official

    _create(department, "draft-plans")
    private = _published(department, "private-figures")
    services.dataset_update(actor=None, dataset=private, fields={"private": True})

    for name in ("draft-plans", "private-figures"):
        assert client.get(reverse("opendata:dataset", args=[name])).status_code == 404
        assert client.get(reverse("opendata:dataset_history", args=[name])).status_code == 404
    sign_in_official(client, other_publisher)
    assert client.get(reverse("opendata:dataset", args=["draft-plans"])).status_code == 404
    sign_in_official(client, publisher)
    own = client.get(reverse("opendata:dataset", args=["draft-plans"]))
    assert own.status_code == 200
    assert "Draft: only publishers of this department" in _text(own)


def test_an_unknown_dataset_resource_or_revision_is_not_found(client, trees):
    import uuid

    resource = trees.resources.get()
    assert client.get(reverse("opendata:dataset", args=["no-such"])).status_code == 404
    assert (
        client.get(
            reverse(
                "opendata:resource", kwargs={"name": "street-trees", "resource_id": uuid.uuid4()}
            )
        ).status_code
        == 404
    )
    other = _published(trees.department, "other-one")
    assert (
        client.get(
            reverse("opendata:resource", kwargs={"name": other.name, "resource_id": resource.id})
        ).status_code
        == 404
    )
    assert (
        client.get(reverse("opendata:dataset_revision", args=["street-trees", 999])).status_code
        == 404
    )


# --- a file ---------------------------------------------------------------------------------


def test_the_resource_page_shows_the_data_dictionary_preview_and_downloads(client, trees):
    resource = trees.resources.get()

    response = client.get(
        reverse("opendata:resource", kwargs={"name": "street-trees", "resource_id": resource.id})
    )

    assert response.status_code == 200
    text = _text(response)
    assert "Data dictionary" in text
    assert "month Date No The first day of the month" in text
    assert "trees_planted Trees planted Whole number Yes" in text
    assert "At least 0" in text
    assert "One of: north, south" in text
    assert "The first 4 rows" in text
    assert "Download the table as Parquet" in text
    assert resource.checksum in text
    assert f"datastore_search?resource_id={resource.id}" in response.content.decode()


# --- history --------------------------------------------------------------------------------


def test_the_history_lists_revisions_without_the_publisher(client, department, publisher):
    dataset = _create(department, "bin-days")
    services.resource_add(actor=publisher, dataset=dataset, filename="days.pdf", content=PDF)
    services.dataset_publish(actor=publisher, dataset=dataset)
    services.dataset_update(actor=publisher, dataset=dataset, fields={"version": "2"})

    response = client.get(reverse("opendata:dataset_history", args=["bin-days"]))

    assert response.status_code == 200
    text = _text(response)
    # From its publication on: revisions 1 (created) and 2 (file added) were drafts.
    for number in (3, 4):
        assert f"Revision {number}" in text
    assert "Revision 2" not in text
    assert "Changed: version" in text
    assert "Published" in text
    assert publisher.email not in text
    if publisher.full_name:
        assert publisher.full_name not in text

    revision = client.get(reverse("opendata:dataset_revision", args=["bin-days", 3]))
    assert revision.status_code == 200
    revision_text = _text(revision)
    assert "Revision 3" in revision_text
    assert "Published" in revision_text
    assert "earlier version" in revision_text
    assert "days.pdf" in revision_text
    assert "PDF" in revision_text
    assert publisher.email not in revision_text
    # Versions before the publication: the department's, not the public's.
    assert client.get(reverse("opendata:dataset_revision", args=["bin-days", 2])).status_code == 404
    sign_in_official(client, publisher)
    first = _text(client.get(reverse("opendata:dataset_revision", args=["bin-days", 1])))
    assert "This version had no files." in first


# --- organisations ---------------------------------------------------------------------------


def test_organisations_list_their_public_datasets(client, department, other_department):
    _published(department, "bin-collections")
    _published(department, "council-tax-bands")
    _create(department, "draft-only")

    listing = client.get(reverse("opendata:organizations"))
    assert listing.status_code == 200
    assert re.search(r"Revenue\s*2", _text(listing))
    assert re.search(r"Planning &amp; Building\s*0|Planning & Building\s*0", _text(listing))

    page = client.get(reverse("opendata:organization", args=["revenue"]))
    assert page.status_code == 200
    text = _text(page)
    assert "2 datasets" in text
    assert "Bin collections" in text
    assert "Draft only" not in text
    assert client.get(reverse("opendata:organization", args=["nobody"])).status_code == 404


# --- the chart --------------------------------------------------------------------------------


def test_a_time_series_is_recognised_from_its_schema():
    assert charts.time_series_fields(SCHEMA) == ("month", "date", ["trees_planted"])
    assert charts.time_series_fields({"fields": [{"name": "a", "type": "string"}]}) is None
    assert charts.time_series_fields(None) is None


def test_the_chart_is_an_accessible_svg_drawn_against_time():
    records = [
        {"year": 2020, "spend": 10, "income": 4},
        {"year": 2021, "spend": 20, "income": None},
        {"year": 2023, "spend": 35.5, "income": 8},
        {"year": 2024, "spend": 30, "income": 9},
    ]
    chart = charts.line_chart(
        records=records,
        time_field="year",
        time_kind="year",
        value_fields=["spend", "income"],
        title="Spending <by year>",
        id_prefix="c1",
    )
    assert chart is not None
    svg = str(chart.svg)
    assert 'role="img"' in svg
    assert 'aria-labelledby="c1-title"' in svg
    assert '<title id="c1-title">Spending &lt;by year&gt;</title>' in svg
    assert 'dir="ltr"' in svg
    assert "currentColor" in svg
    # The missing income of 2021 breaks its line in two.
    assert svg.count("<polyline") == 3
    assert 'stroke-dasharray="8 5"' in svg
    assert chart.rows[1] == ("2021", ["20", ""])
    assert chart.rows[2] == ("2023", ["35.5", "8"])
    # Repeated points in time are not one series: no chart.
    assert (
        charts.line_chart(
            records=[{"year": 2020, "v": 1}, {"year": 2020, "v": 2}],
            time_field="year",
            time_kind="year",
            value_fields=["v"],
            title="t",
            id_prefix="c2",
        )
        is None
    )


def test_nice_ticks_cover_the_values():
    assert charts.nice_ticks(0, 44) == [0, 10, 20, 30, 40, 50]
    assert charts.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1]
    assert charts.nice_ticks(0, 9) == [0, 2, 4, 6, 8, 10]
    assert charts.nice_ticks(5, 5)[0] <= 5 <= charts.nice_ticks(5, 5)[-1]


def test_several_rows_per_point_in_time_make_one_series_per_category():
    records = [
        {"month": "2024-01-01", "site": "Station Road", "no2": 38.0},
        {"month": "2024-01-01", "site": "Market Square", "no2": 24.8},
        {"month": "2024-02-01", "site": "Station Road", "no2": 33.1},
        {"month": "2024-02-01", "site": "Market Square", "no2": 21.0},
    ]
    rows, categories = charts.series_by_category(
        records, time_field="month", category_field="site", value_field="no2"
    )
    assert categories == ["Station Road", "Market Square"]
    assert rows == [
        {"month": "2024-01-01", "Station Road": 38.0, "Market Square": 24.8},
        {"month": "2024-02-01", "Station Road": 33.1, "Market Square": 21.0},
    ]
    chart = charts.line_chart(
        records=rows,
        time_field="month",
        time_kind="date",
        value_fields=categories,
        title="NO2 by site",
        id_prefix="t",
    )
    assert [s.label for s in chart.series] == ["Station Road", "Market Square"]

    # Not series: a category twice at one time, or too many categories.
    assert (
        charts.series_by_category(
            [*records, records[0]], time_field="month", category_field="site", value_field="no2"
        )
        is None
    )
    many = [
        {"month": "2024-01-01", "site": f"site {n}", "no2": 1.0}
        for n in range(charts.MAX_SERIES + 1)
    ]
    assert (
        charts.series_by_category(
            many, time_field="month", category_field="site", value_field="no2"
        )
        is None
    )

"""Open data in a real browser: find a dataset by a facet, open it, read the preview table
and the chart, download the CSV, open its history; a withdrawn dataset's page; the pages
in Arabic (right to left). Every page is checked with axe-core (WCAG 2.2 AA) and at
375 px by ``assert_accessible``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ecitizen.opendata import services
from ecitizen.opendata.models import Resource
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {
    "fields": [
        {"name": "month", "type": "date", "title": "Month"},
        {"name": "trees_planted", "type": "integer", "title": "Trees planted"},
        {"name": "trees_felled", "type": "integer", "title": "Trees felled"},
        {"name": "note", "type": "string", "title": "Note"},
    ]
}
CSV = (
    b"month,trees_planted,trees_felled,note\n"
    b"2025-01-01,12,3,Winter planting on Mill Lane\n"
    b"2025-02-01,30,5,\n"
    b"2025-03-01,21,2,Riverside Park avenue\n"
    b"2025-04-01,44,1,\n"
    b"2025-05-01,8,6,Dry spell\n"
)


@pytest.fixture
def catalogue(settings, tmp_path, department, other_department):
    """Three public datasets in two departments (one a loaded CSV), and a withdrawn one."""
    settings.DATASTORE_DIR = tmp_path / "datastore"
    trees = services.dataset_create(
        actor=None,
        department=department,
        fields={
            "name": "street-trees",
            "titles": {"en": "Street trees planted", "ar": "الأشجار المزروعة في الشوارع"},
            "descriptions": {
                "en": "Trees the council planted and felled each month, by the parks team.",
                "ar": "الأشجار التي زرعها المجلس وقطعها كل شهر.",
            },
            "licence_id": "OGL-UK-3.0",
            "themes": ["ENVI"],
            "keywords": "trees, parks",
            "frequency": "MONTHLY",
            "temporal_start": "2025-01-01",
            "temporal_end": "2025-05-31",
            "contact_name": "Parks team",
            "contact_email": "parks@example.test",
        },
    )
    resource = services.resource_add(
        actor=None,
        dataset=trees,
        filename="trees-by-month.csv",
        content=CSV,
        names={"en": "Trees by month", "ar": "الأشجار حسب الشهر"},
        schema=SCHEMA,
    )
    resource.refresh_from_db()
    assert resource.datastore_state == Resource.DatastoreState.LOADED, resource.datastore_error
    services.dataset_publish(actor=None, dataset=trees)
    services.dataset_update(actor=None, dataset=trees, fields={"version": "2026"})
    published = {}
    for name, owner in (("planning-decisions", other_department), ("old-bin-rounds", department)):
        dataset = services.dataset_create(
            actor=None,
            department=owner,
            fields={
                "name": name,
                "titles": {"en": name.replace("-", " ").capitalize()},
                "licence_id": "CC-BY-4.0",
                "themes": ["REGI"],
            },
        )
        services.resource_add(
            actor=None, dataset=dataset, filename=f"{name}.pdf", content=b"%PDF-1.4\n"
        )
        published[name] = services.dataset_publish(actor=None, dataset=dataset)
    services.dataset_withdraw(
        actor=None,
        dataset=published["old-bin-rounds"],
        reason="The rounds changed in 2025: see Bin collection days.",
    )
    return trees


@pytest.mark.smoke
def test_find_a_dataset_by_facet_preview_download_and_history(page: Page, catalogue):
    page.goto("/dataset/")
    expect(page.get_by_role("heading", name="2 datasets")).to_be_visible()
    assert_accessible(page)

    # Filter by the organisation (a facet with its count), without typing anything.
    page.get_by_label("Revenue (1)").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", name="1 dataset", exact=True)).to_be_visible()
    assert "organization=revenue" in page.url
    assert_accessible(page)
    page.get_by_role("link", name="Street trees planted").click()

    # The dataset: metadata, the preview table, the chart with its table.
    expect(page.get_by_role("heading", name="Street trees planted", level=1)).to_be_visible()
    preview = page.get_by_role("table", name=re.compile("The first 5 rows of"))
    expect(preview).to_be_visible()
    expect(preview.get_by_role("columnheader", name="trees_planted")).to_be_visible()
    expect(preview).to_contain_text("Riverside Park avenue")
    expect(page.get_by_role("img", name="Trees by month over time")).to_be_visible()
    page.get_by_text("Show the chart's data as a table").click()
    expect(page.get_by_role("table", name=re.compile("Data of the chart"))).to_contain_text("44")
    expect(page.locator("main")).to_contain_text("/api/3/action/package_show?id=street-trees")
    assert_accessible(page)

    # Download the CSV as published.
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Download Trees by month")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), "rb") as downloaded:
        assert downloaded.read() == CSV

    # Its history since publication, numbered, with no publisher named.
    page.get_by_role("link", name="See every change to this dataset").click()
    expect(page.get_by_role("heading", name="Every change to this dataset")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Published")
    assert_accessible(page)
    expect(page.locator("main")).not_to_contain_text("Created")  # a draft's, not public
    page.get_by_role("link", name="Revision 3", exact=True).click()
    expect(page.locator("main")).to_contain_text("earlier version")
    assert_accessible(page)

    # Back to the current version, then the file's page: its data dictionary.
    page.get_by_role("link", name="See the current version").click()
    assert_accessible(page)
    page.get_by_role("link", name="Trees by month", exact=True).click()
    expect(page.get_by_role("table", name="What each column means")).to_contain_text("Whole number")
    assert_accessible(page)


def test_a_withdrawn_dataset_says_why(page: Page, catalogue):
    page.goto("/dataset/old-bin-rounds/")
    warning = page.locator(".govuk-warning-text")
    expect(warning).to_contain_text("Withdrawn on")
    expect(warning).to_contain_text("The rounds changed in 2025")
    assert_accessible(page)
    page.get_by_role("link", name="See every change to this dataset").click()
    expect(page.locator("main")).to_contain_text("Withdrawn")
    assert_accessible(page)


def test_the_organisations_and_the_pages_in_arabic(page: Page, live_server, catalogue):
    page.goto("/organization/")
    assert_accessible(page)
    page.get_by_role("link", name="Planning & Building").click()
    expect(page.get_by_role("heading", name="1 dataset")).to_be_visible()
    assert_accessible(page)

    page.context.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    page.goto("/dataset/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert_accessible(page)
    page.goto("/dataset/street-trees/")
    expect(page.get_by_role("heading", level=1)).to_have_text("الأشجار المزروعة في الشوارع")
    # The chart keeps time running left to right.
    expect(page.locator("svg[role=img]")).to_have_attribute("dir", "ltr")
    assert_accessible(page)
    page.goto("/dataset/street-trees/history/")
    assert_accessible(page)

"""The records of processing (GDPR article 30), generated from what the apps registered:
every registration complete, the command's Markdown and CSV, the staff page for the
data-protection officer and the platform administrator, and the public summary linked
from the privacy notice."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape

from ecitizen.core.registry import registry
from ecitizen.privacy.selectors import LAWFUL_BASES, RECORDS_READ, records_of_processing
from tests.personas import sign_in_official

#: Apps that hold personal data of residents: each must describe it.
EXPECTED_SOURCES = {
    "accounts",
    "api",
    "cases",
    "documents",
    "payments",
    "taxes",
    "notifications",
    "reports",
    "feedback",
    "participation",
    "voting",
    "audit",
}


def test_every_app_with_personal_data_describes_it_completely():
    assert set(registry.personal_data) >= EXPECTED_SOURCES
    for data in registry.personal_data_in_order():
        assert data.lawful_basis in LAWFUL_BASES, data.name
        for text in (data.label, data.purpose, data.recipients, data.retention):
            assert str(text).strip(), data.name
        assert data.categories
        assert all(str(category).strip() for category in data.categories)
        assert callable(data.export)


def test_the_records_follow_the_registrations_in_order():
    records = records_of_processing()
    assert [r.name for r in records] == [d.name for d in registry.personal_data_in_order()]
    cases = next(r for r in records if r.name == "cases")
    assert cases.article == "6(1)(e)"
    assert cases.label == "Your applications"


def test_the_command_prints_markdown_and_csv():
    out = io.StringIO()
    call_command("privacy", "records", stdout=out)
    text = out.getvalue()
    assert text.startswith("# Records of processing")
    for data in registry.personal_data_in_order():
        assert f"## {data.label} (`{data.name}`)" in text
        assert str(data.purpose) in text

    out = io.StringIO()
    call_command("privacy", "records", "--format", "csv", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["name"] for row in rows] == [d.name for d in registry.personal_data_in_order()]
    payments = next(row for row in rows if row["name"] == "payments")
    assert payments["lawful_basis"] == "legal_obligation"
    assert payments["article"] == "6(1)(c)"


def test_the_command_refuses_an_unknown_language():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown language"):
        call_command("privacy", "records", "--language", "xx", stdout=io.StringIO())


def test_the_records_are_translated(settings):
    out = io.StringIO()
    call_command("privacy", "records", "--language", "fr", stdout=out)
    assert out.getvalue().startswith("# ")


@pytest.mark.django_db
def test_the_public_summary_is_public_and_lists_every_processing(client):
    response = client.get(reverse("privacy:records"))
    assert response.status_code == 200
    page = response.content.decode()
    for record in records_of_processing():
        assert escape(record.label) in page
        assert escape(record.retention) in page
    assert reverse("core:privacy") in page


def test_the_privacy_notice_panel_links_to_the_records_and_your_data():
    panels = registry.panels_for("core.privacy")
    assert [panel.template for panel in panels] == ["privacy/_privacy_notice_panel.html"]
    html = render_to_string(panels[0].template, {})
    assert reverse("privacy:records") in html
    assert reverse("privacy:data") in html


def test_the_data_protection_officer_and_the_platform_administrator_read_the_records():
    assert {"data_protection_officer", "platform_admin"} <= registry.roles_with(RECORDS_READ)
    assert "case_officer" not in registry.roles_with(RECORDS_READ)


@pytest.mark.django_db
def test_the_staff_page_and_its_downloads(client, platform_admin):
    sign_in_official(client, platform_admin)
    url = reverse("staff:privacy_records")
    page = client.get(url)
    assert page.status_code == 200
    assert '<code dir="ltr">cases</code>' in page.content.decode()
    download = client.get(url, {"format": "csv"})
    assert download["Content-Type"] == "text/csv"
    assert download.content.decode().startswith("name,label,purpose")
    markdown = client.get(url, {"format": "markdown"})
    assert markdown.content.decode().startswith("# Records of processing")
    # An unknown format shows the page rather than failing.
    assert client.get(url, {"format": "pdf"}).status_code == 200


@pytest.mark.django_db
def test_residents_and_other_officials_cannot_read_the_staff_records(
    client, resident, case_officer
):
    url = reverse("staff:privacy_records")
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(resident)
    assert client.get(url).status_code == 403
    client.logout()
    sign_in_official(client, case_officer)
    assert client.get(url).status_code == 403

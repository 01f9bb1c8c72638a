"""Catalogue search over Riverton's services, on SQLite (FTS5) and PostgreSQL (full text)
through one interface."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from ecitizen.accounts.services import department_ensure
from ecitizen.catalogue import selectors
from ecitizen.catalogue.selectors import services_search
from ecitizen.demo import riverton
from ecitizen.demo.cases import demo_services_publish


@pytest.fixture
def riverton_services(db):
    for slug, name in riverton.DEPARTMENTS:
        department_ensure(slug=slug, name=name, email="", actor=None)
    return demo_services_publish()


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("drivers license", "en", "renew-driving-licence"),
        ("driving licence renewal", "en", "renew-driving-licence"),
        ("building permit", "en", "building-permit"),
        ("birth certificate", "en", "birth-certificate-copy"),
        ("FOI", "en", "freedom-of-information"),
        ("parking", "en", "residents-parking-permit"),
        ("permis de conduire", "fr", "renew-driving-licence"),
        ("رخصة القيادة", "ar", "renew-driving-licence"),
    ],
)
@pytest.mark.db_specific
def test_search_finds_services_by_the_words_people_use(
    riverton_services, query, language, expected
):
    found = [service.slug for service in services_search(query=query, language=language)]
    assert found, f"nothing found for {query!r}"
    assert found[0] == expected, found


@pytest.mark.db_specific
def test_search_page_lists_results_and_handles_nonsense(client, riverton_services):
    page = client.get(reverse("catalogue:search"), {"q": "drivers license"}).content.decode()
    assert "Renew your driving licence" in page
    page = client.get(reverse("catalogue:search"), {"q": 'zzqx" OR "1"="1 --'}).content.decode()
    assert "0 results" in page


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_catalogue_lists_each_service_once_under_its_first_topic(
    client, riverton_services, language
):
    """A service in several topics (the building permit: planning, building, housing) was
    listed under each of them and again under its department: up to four times on a
    page."""
    page = client.get(reverse("catalogue:list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'lang="{language}"' in page
    with translation.override(language):
        planning = str(selectors.topic_label("planning"))
    for service in riverton_services:
        link = f'href="{reverse("catalogue:start", args=[service.slug])}"'
        assert page.count(link) == 1, (service.slug, page.count(link))
    # under the first topic of its definition
    section = page.split(f">{planning}</h3>", 1)[1].split("</ul>", 1)[0]
    assert reverse("catalogue:start", args=["building-permit"]) in section


def test_start_page_says_what_you_need_how_long_and_what_it_costs(client, riverton_services):
    page = client.get(reverse("catalogue:start", args=["birth-certificate-copy"])).content.decode()
    assert "What you need" in page
    assert "£12.50 for each certified copy" in page
    assert "Start now" in page

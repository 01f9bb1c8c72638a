"""The page layout (base.html): no content outside a landmark, a navigation of one row
however many staff sections an official may use, and dates written one way."""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, TemplateSyntaxError, engines
from django.urls import reverse
from django.utils import formats, translation

from ecitizen.accounts.models import Role
from tests.personas import _official, sign_in_official

LANDMARKS = {"header", "nav", "main", "footer", "aside"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class _BackLinks(HTMLParser):
    """The landmark (if any) around each back link of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, bool]] = []
        self.found: list[bool] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "govuk-back-link" in (attributes.get("class") or "").split():
            self.found.append(any(landmark for _tag, landmark in self.open))
        if tag not in VOID:
            self.open.append((tag, tag in LANDMARKS or "role" in attributes))

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break


def _back_links_in_landmarks(page: str) -> list[bool]:
    parser = _BackLinks()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize(
    "url", [reverse("catalogue:search") + "?q=permit", reverse("notifications:inbox")]
)
def test_a_back_link_is_inside_a_landmark(client, resident, url):
    """axe's best-practice rule ``region`` flagged the back link of 388 pages: it sat
    between the header and <main>, in no landmark."""
    client.force_login(resident)
    with translation.override("en"):
        page = client.get(url).content.decode()
    found = _back_links_in_landmarks(page)
    assert found, "the page has a back link"
    assert all(found)
    assert '<nav class="app-before-content" aria-label="Back">' in page


def test_a_page_without_a_back_link_has_no_empty_landmark(client, db):
    page = client.get(reverse("catalogue:list")).content.decode()
    assert "app-before-content" not in page


def _primary_navigation(page: str) -> list[str]:
    block = page.split('id="navigation">', 1)[1].split("</ul>", 1)[0]
    items = block.split("</li>")[:-1]
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_the_staff_sections_are_a_second_navigation_on_staff_pages(client, platform_admin):
    """A platform administrator may use eleven sections: in one navigation they wrapped
    onto two rows at 1280 px. The service navigation has one item for all of them."""
    sign_in_official(client, platform_admin)
    with translation.override("en"):
        resident_page = client.get(reverse("catalogue:list")).content.decode()
        staff_page = client.get(reverse("staff:case_queue")).content.decode()
    primary = _primary_navigation(resident_page)
    assert primary[-1] == "Staff"
    assert not {"Cases", "Audit trail"} & set(primary)
    assert "app-sub-navigation" not in resident_page
    assert _primary_navigation(staff_page) == primary
    assert 'aria-current="true"' in staff_page.split("govuk-service-navigation__list", 1)[1]
    sections = staff_page.split('class="app-sub-navigation"', 1)[1].split("</nav>", 1)[0]
    assert 'aria-label="Staff pages"' in staff_page
    for label in ("Cases", "Residents", "Payments", "Audit trail"):
        assert f">{label}</a>" in sections
    assert re.search(r'aria-current="(page|true)">Cases</a>', sections)


def test_a_case_officer_sees_only_the_sections_of_their_roles(client, department):
    officer = _official(Role.CASE_OFFICER, department, email="officer2@example.test")
    sign_in_official(client, officer)
    page = client.get(reverse("staff:home")).content.decode()
    sections = page.split('class="app-sub-navigation"', 1)[1].split("</nav>", 1)[0]
    assert ">Cases</a>" in sections
    assert "Audit trail" not in sections
    assert 'aria-current="page"' in page.split("govuk-service-navigation__list", 1)[1]


# --- Markup kept for everyone ({% shared %}) -------------------------------------------


def test_what_base_html_keeps_for_everyone_shows_nothing_of_a_person(
    client, resident, second_resident
):
    """The header, the footer and the navigation are rendered once per language and kept
    ({% shared %}): the address, the form's token, the return address and the current
    page are still each request's own."""
    client.force_login(resident)
    first = client.get(reverse("accounts:home")).content.decode()
    client.force_login(second_resident)
    second = client.get(reverse("catalogue:list")).content.decode()
    assert resident.email in first
    assert resident.email not in second
    assert second_resident.email in second
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    assert token.findall(second)
    assert set(token.findall(first)).isdisjoint(token.findall(second))
    assert f'name="next" value="{reverse("catalogue:list")}"' in second
    account_link = f'app-header__user" href="{reverse("accounts:home")}"'
    assert f'{account_link} aria-current="true"' in first
    assert f"{account_link}>" in second


def test_what_is_kept_follows_the_language_and_the_settings(client, db, settings):
    with translation.override("en"):
        english = client.get(reverse("catalogue:list")).content.decode()
    client.post(reverse("core:language"), {"language": "fr", "next": "/"})
    french = client.get(reverse("catalogue:list")).content.decode()
    assert "Skip to main content" in english
    assert 'lang="fr"' in french
    assert "Skip to main content" not in french
    settings.DEMO_BANNER = not settings.DEMO_BANNER
    client.post(reverse("core:language"), {"language": "en", "next": "/"})
    toggled = client.get(reverse("catalogue:list")).content.decode()
    assert ('id="demo-site"' in toggled) is settings.DEMO_BANNER
    assert ('id="demo-site"' in english) is not settings.DEMO_BANNER


def test_shared_markup_holds_no_block_and_reads_only_values_made_to_be_shared():
    engine = engines["django"].engine
    with pytest.raises(TemplateSyntaxError):
        engine.from_string(
            "{% load layout %}{% shared %}{% block a %}{% endblock %}{% endshared %}"
        )
    kept = engine.from_string("{% load layout %}{% shared user %}{{ user }}{% endshared %}")
    with pytest.raises(TypeError, match="not a SharedValue"):
        kept.render(Context({"user": "someone@example.test"}))
    page = engine.from_string("{% load layout %}{% shared %}[{{ user }}]{% endshared %}")
    assert page.render(Context({"user": "someone@example.test"})) == "[]"


# --- Dates ---------------------------------------------------------------------------


TEMPLATE_DIRS = [Path(settings.PACKAGE_DIR)]
#: The ways the pages write a date: "7 November 2026" and "7 November 2026, 14:30"; and
#: ISO 8601 ("c") for machines, in <time datetime="...">.
PAGE_DATE_FORMATS = {"j F Y", "j F Y, H:i", "j F Y, H:i:s", "c"}


def test_pages_write_dates_one_way():
    """A page wrote "2 January 2027" in one place and "7 Nov 2026" in another. Every
    date filter of the pages' templates (PDFs apart, laid out for print) uses one of the
    formats of PAGE_DATE_FORMATS; 'Y-m-d' and 'Y-m' only in addresses (links), for machines."""
    wrong = []
    for path in Path(settings.PACKAGE_DIR).rglob("templates/**/*.html"):
        if "/pdf/" in str(path):
            continue
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"""\|date:(["'])([^"']*)\1""", text):
            fmt = match.group(2)
            before = text[: match.start()].rstrip()
            machine = (
                fmt == "Y-m-d"
                and before.endswith(("?day={{ previous", "?day={{ next", "?day={{ day"))
            ) or (fmt == "Y-m" and before.endswith("?month={{ dashboard.month"))
            if fmt not in PAGE_DATE_FORMATS and not machine:
                wrong.append(f"{path.relative_to(settings.PACKAGE_DIR)}: {fmt}")
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("language", "date", "moment"),
    [
        ("en", "7 November 2026", "7 November 2026, 14:30"),
        ("fr", "7 novembre 2026", "7 novembre 2026, 14:30"),
        ("ar", "7 نوفمبر 2026", "7 نوفمبر 2026, 14:30"),
    ],
)
def test_dates_formatted_by_default_are_written_the_same_way(language, date, moment):
    """What Django writes for a date without a format (a message's placeholders, a
    form's value) is the pages' format, not English's "Nov. 7, 2026"."""
    with translation.override(language):
        assert formats.date_format(datetime.date(2026, 11, 7)) == date
        assert (
            formats.date_format(datetime.datetime(2026, 11, 7, 14, 30), "DATETIME_FORMAT") == moment
        )

"""Every user-facing string of ours is translated into French and Arabic."""

import os
from pathlib import Path

import polib
import pytest
from django.conf import settings

LANGUAGES = ["fr", "ar"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language):
    path = Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(path))
    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not missing, f"{language}: untranslated: {missing[:10]}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy[:10]}"
    assert len(catalogue) > 100


def test_catalogues_cover_every_string_in_the_code(tmp_path, settings):
    """Extract the strings afresh into a scratch copy: nothing may be missing from the
    committed catalogues (run `ecitizen translations update` after changing strings)."""
    import shutil

    from django.core.management import call_command

    from ecitizen.core.management.commands.translations import PACKAGE_DIR

    committed = {
        language: {
            (e.msgctxt or "", e.msgid)
            for e in polib.pofile(
                str(Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po")
            )
        }
        for language in LANGUAGES
    }
    scratch = tmp_path / "ecitizen"
    shutil.copytree(
        PACKAGE_DIR, scratch, ignore=shutil.ignore_patterns("static", "tests", "__pycache__")
    )
    # makemessages writes into LOCALE_PATHS[0]: point it at the scratch copy.
    settings.LOCALE_PATHS = [scratch / "locale"]
    previous = Path.cwd()
    os.chdir(scratch)
    try:
        call_command(
            "makemessages", locale=LANGUAGES, ignore_patterns=["migrations/*"], verbosity=0
        )
    finally:
        os.chdir(previous)
    for language in LANGUAGES:
        extracted = {
            (e.msgctxt or "", e.msgid)
            for e in polib.pofile(str(scratch / "locale" / language / "LC_MESSAGES" / "django.po"))
        }
        missing = sorted(extracted - committed[language])
        assert not missing, f"{language}: strings missing from the catalogue: {missing[:10]}"


# --- Rendered pages: what the authority configures is in the reader's language too ------


def _text(page: str) -> str:
    """The words a reader sees (and a screen reader reads) of an HTML page."""
    import html
    import re

    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def riverton_in_three_languages(db):
    """Riverton's departments and wards with their names in French and Arabic, its
    services published, a resident at a Latin address, a planning officer and a finance
    officer, and a payment settled today for Planning & Building."""
    from django.utils import timezone

    from ecitizen.accounts import services as accounts
    from ecitizen.accounts.models import Role
    from ecitizen.demo import riverton
    from ecitizen.demo.cases import demo_services_publish
    from ecitizen.payments.models import Bill
    from ecitizen.payments.services import BillSpec, LineSpec, bill_create, payment_record_offline
    from tests.factories import UserFactory
    from tests.personas import _official

    departments = {
        slug: accounts.department_ensure(
            slug=slug, name=name, names=riverton.DEPARTMENT_NAMES[slug], actor=None
        )
        for slug, name in riverton.DEPARTMENTS
    }
    wards = {
        code: accounts.jurisdiction_ensure(
            code=code, name=name, names=riverton.WARD_NAMES[code], actor=None
        )
        for code, name in riverton.WARDS
    }
    demo_services_publish()
    resident = UserFactory(email="resident@example.test", full_name="Alex Morgan")
    accounts.profile_update(
        user=resident,
        data={
            "address_line_1": "141 Lock Keeper's Walk",
            "town": "Riverton",
            "postcode": "RV1 4AB",
            "ward": wards["old-town"],
        },
        actor=resident,
    )
    planning = departments["planning-building"]
    officer = _official(Role.CASE_OFFICER, planning, email="planning@example.test")
    finance = _official(Role.FINANCE_OFFICER, planning, email="finance@example.test")
    bill = bill_create(
        spec=BillSpec(
            reference="RIV-TST-000001",
            kind=Bill.Kind.FEE,
            description="Test fee",
            department_id=planning.pk,
            due_date=timezone.localdate(),
            lines=[LineSpec("Test fee", 6_000, "fee")],
            payer_id=resident.pk,
            source_key="test:translations",
        ),
        actor=None,
    )
    payment_record_offline(bill=bill, amount_minor=6_000)
    return {"resident": resident, "officer": officer, "finance": finance}


def _english_only(language: str) -> set[str]:
    """Names configured in English that have another name in ``language``."""
    from ecitizen.demo import riverton

    names = {
        settings.AUTHORITY_NAME: settings.AUTHORITY_NAMES[language],
        settings.AUTHORITY_SERVICE_NAME: settings.AUTHORITY_SERVICE_NAMES[language],
    }
    names.update(
        {name: riverton.DEPARTMENT_NAMES[slug][language] for slug, name in riverton.DEPARTMENTS}
    )
    names.update({name: riverton.WARD_NAMES[code][language] for code, name in riverton.WARDS})
    return {english for english, translated in names.items() if english != translated}


@pytest.mark.parametrize("language", LANGUAGES)
def test_rendered_pages_name_the_authority_its_departments_and_wards_in_the_language(
    client, riverton_in_three_languages, language
):
    """Every string of ours comes from the catalogues; these come from configuration
    (settings, departments, wards). Render the pages residents and officials use most in
    each language: none may keep an English name that has a translation."""
    from django.urls import reverse

    from tests.personas import sign_in_official

    people = riverton_in_three_languages
    english = _english_only(language)
    assert {"Planning & Building", "City of Riverton"} <= english
    pages = {
        None: [
            reverse("core:home"),
            reverse("catalogue:list"),
            reverse("catalogue:start", args=["building-permit"]),
        ],
        people["resident"]: [reverse("accounts:home"), reverse("payments:bills")],
        people["officer"]: [reverse("staff:home"), reverse("staff:case_queue")],
        people["finance"]: [reverse("staff:payments"), reverse("staff:payments_report")],
    }
    for person, urls in pages.items():
        client.logout()
        if person is not None:
            if person is people["resident"]:
                client.force_login(person)
            else:
                sign_in_official(client, person)
        for url in urls:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200, url
            page = response.content.decode()
            assert f'lang="{language}"' in page, url
            text = _text(page)
            left = sorted(name for name in english if name in text)
            assert not left, f"{language} {url}: still in English: {left}"
            # Amounts: not Arabic's "UK£" (shown as "£UK" right to left) nor "£GB".
            assert not {"UK£", "£GB"} & set(text.split()), url


def test_a_latin_address_keeps_its_order_on_an_arabic_page(client, riverton_in_three_languages):
    """Each address line is isolated (<bdi>): its direction is its own, so "141 Lock
    Keeper's Walk" is not shown as "Lock Keeper's Walk 141" on a right-to-left page."""
    from django.urls import reverse

    client.force_login(riverton_in_three_languages["resident"])
    page = client.get(reverse("accounts:home"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "<bdi>141 Lock Keeper&#x27;s Walk</bdi>" in page

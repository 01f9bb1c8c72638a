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

"""Every user-facing string of ours is translated into French and Arabic."""

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

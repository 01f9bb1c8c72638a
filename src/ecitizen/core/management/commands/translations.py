"""``ecitizen translations compile|update``.

- ``compile`` builds the .mo catalogues from the .po sources in pure Python (polib), so a
  fresh machine needs no GNU gettext to run the platform; .mo files are build outputs.
- ``update`` (needs GNU gettext's ``xgettext``) re-extracts every translatable string of
  the package into ``locale/<lang>/LC_MESSAGES/django.po`` and fills strings that we share
  word for word with Django or django-allauth (our overrides of allauth's pages reuse its
  wording) from their own catalogues. What remains untranslated is listed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

PACKAGE_DIR = Path(__file__).resolve().parents[3]
UPSTREAM_PACKAGES = ("django", "allauth")


def catalogue_paths() -> list[Path]:
    return sorted(Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/django.po"))


def _upstream_translations(language: str) -> dict[tuple[str, str], polib.POEntry]:
    import importlib

    found: dict[tuple[str, str], polib.POEntry] = {}
    for package in UPSTREAM_PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for po_path in root.rglob(f"locale/{language}/LC_MESSAGES/django.po"):
            for entry in polib.pofile(str(po_path)).translated_entries():
                found.setdefault((entry.msgctxt or "", entry.msgid), entry)
    return found


class Command(BaseCommand):
    help = "Compile translation catalogues, or update them from the source code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["compile", "update"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "update":
            self.update()
        self.compile()

    def compile(self) -> None:
        for po_path in catalogue_paths():
            catalogue = polib.pofile(str(po_path))
            catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
            self.stdout.write(
                f"{po_path.parent.parent.name}: {catalogue.percent_translated()}% translated"
            )

    def update(self) -> None:
        languages = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
        previous = Path.cwd()
        os.chdir(PACKAGE_DIR)  # makemessages extracts from the working directory
        try:
            call_command(
                "makemessages",
                locale=languages,
                ignore_patterns=["tests/*", "static/*", "migrations/*"],
                no_obsolete=True,
                verbosity=0,
            )
        finally:
            os.chdir(previous)
        for po_path in catalogue_paths():
            language = po_path.parent.parent.name
            upstream = _upstream_translations(language)
            catalogue = polib.pofile(str(po_path))
            filled = 0
            for entry in catalogue.untranslated_entries():
                source = upstream.get((entry.msgctxt or "", entry.msgid))
                if source is None or bool(source.msgid_plural) != bool(entry.msgid_plural):
                    continue
                entry.msgstr = source.msgstr
                entry.msgstr_plural = dict(source.msgstr_plural)
                filled += 1
            catalogue.save()
            missing = len(catalogue.untranslated_entries()) + len(catalogue.fuzzy_entries())
            self.stdout.write(
                f"{language}: filled {filled} from Django/allauth; {missing} still to translate"
            )

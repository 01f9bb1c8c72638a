"""``ecitizen translations compile``: build the .mo catalogues from the .po sources.

Pure Python (polib), so a fresh machine needs no GNU gettext to run the platform; the
compiled files are build outputs and are not committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Compile translation catalogues (.po → .mo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["compile"])

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        for root in settings.LOCALE_PATHS:
            for po_path in sorted(Path(root).glob("*/LC_MESSAGES/*.po")):
                catalogue = polib.pofile(str(po_path))
                catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
                count += 1
                self.stdout.write(
                    f"{po_path.parent.parent.name}: {catalogue.percent_translated()}% translated"
                )
        self.stdout.write(self.style.SUCCESS(f"Compiled {count} catalogues."))

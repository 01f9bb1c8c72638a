"""``ecitizen services load DIR``: check and publish service definition files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecitizen.catalogue.definitions import InvalidDefinition
from ecitizen.catalogue.services import service_definitions_publish


class Command(BaseCommand):
    help = "Publish the service definitions (*.yaml) of a folder; unchanged ones are skipped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["load"])
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["directory"]
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder")
        try:
            results = service_definitions_publish(directory=directory, actor=None)
        except InvalidDefinition as error:
            raise CommandError(
                "Nothing was published. Fix these problems and run again:\n" + str(error)
            ) from error
        for result in results:
            state = "published" if result.changed else "unchanged"
            self.stdout.write(f"{result.slug}: version {result.version} ({state})")

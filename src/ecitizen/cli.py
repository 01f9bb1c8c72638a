"""The ``ecitizen`` command: Django's management commands under the platform's name.

``ecitizen worker``, ``ecitizen demo``, ``ecitizen keys rotate``, ``ecitizen audit verify``
and every Django command (``ecitizen migrate``, ``ecitizen runserver``...) are available.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["keys", "generate"], ["keys", "generate", "--audit-signing"]):
        # Needs no settings: it makes the keys that a first configuration requires.
        from ecitizen.core.crypto import generate_key, generate_signing_key

        print(generate_signing_key() if args[2:] else generate_key())  # noqa: T201 - the output
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecitizen.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ecitizen", *args])


if __name__ == "__main__":
    main()

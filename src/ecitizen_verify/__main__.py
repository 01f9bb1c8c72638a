"""`ecitizen-verify ARCHIVE` (or `python -m ecitizen_verify`): check an election's public
archive and say what was checked. Exit status 0 when everything verifies, 1 otherwise."""

from __future__ import annotations

import argparse
import sys

from .errors import Invalid
from .group import UnsupportedGroup
from .verify import read_path, verify_archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ecitizen-verify",
        description="Verify a Belenios election archive (.bel): every ballot, proof and total.",
    )
    parser.add_argument("archive", help="the .bel file, or a folder holding exactly one")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    arguments = parser.parse_args(argv)
    try:
        report = verify_archive(read_path(arguments.archive), workers=arguments.workers)
    except (Invalid, UnsupportedGroup, OSError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    for line in report.lines:
        print(f"checked: {line}")
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

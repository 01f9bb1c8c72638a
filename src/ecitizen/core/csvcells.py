"""Cells of the CSV files staff download and open in a spreadsheet."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell: numbers as they are (``-5`` stays a number), ``None`` empty, booleans
    ``true``/``false``, text that a spreadsheet would read as a formula (starting with
    ``= + - @``, a tab or a carriage return) behind an apostrophe, as OWASP advises."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text

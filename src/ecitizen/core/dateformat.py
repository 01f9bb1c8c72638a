"""Dates and times written as Django's ``date`` filter writes them, for less.

Django's filter (``formats.date_format``) looks the format up among the format settings,
builds a ``DateFormat`` around the value, splits the format with a regular expression and
calls one method per letter, translating the month's name each time: some forty
microseconds a date, and the pages write up to twenty (every row of a list, every event
of a case's timeline). :func:`formatted` does the same work once per format and once per
language, and writes each date from those.

It knows the letters the pages use (:data:`LETTERS`); a format with any other letter, a
backslash (Django's escape) or the name of a format setting, and any value that is not a
``date`` or a ``datetime``, is left to Django: :func:`formatted` returns ``None``.
``core.tests.test_dateformat`` compares the two on random dates and times, in every
language of the site.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import cast

from django.utils.dates import MONTHS, MONTHS_3
from django.utils.formats import FORMAT_SETTINGS
from django.utils.translation import get_language

from ecitizen.core.processcache import Kept

#: A language's month names: full ("F") and abbreviated ("M"), January first.
MonthNames = tuple[tuple[str, ...], tuple[str, ...]]

#: What each letter writes, as Django's ``DateFormat`` (``django.utils.dateformat``).
LETTERS: dict[str, Callable[[date, MonthNames], str]] = {
    "j": lambda value, _names: str(value.day),
    "d": lambda value, _names: f"{value.day:02d}",
    "n": lambda value, _names: str(value.month),
    "m": lambda value, _names: f"{value.month:02d}",
    "F": lambda value, names: names[0][value.month - 1],
    "M": lambda value, names: names[1][value.month - 1],
    "Y": lambda value, _names: f"{value.year:04d}",
    "c": lambda value, _names: value.isoformat(),
}

#: The letters of a time of day, which Django refuses for a ``date`` (a ``TypeError``).
TIME_LETTERS: dict[str, Callable[[date, MonthNames], str]] = {
    "H": lambda value, _names: f"{value.hour:02d}",  # type: ignore[attr-defined]
    "i": lambda value, _names: f"{value.minute:02d}",  # type: ignore[attr-defined]
    "s": lambda value, _names: f"{value.second:02d}",  # type: ignore[attr-defined]
}

_LETTER = re.compile(r"([a-zA-Z])")

#: A format as its literal texts and the writers of its letters, and whether it has a
#: time of day; ``None``: left to Django.
Plan = tuple[tuple[str | Callable[[date, MonthNames], str], ...], bool] | None

_month_names: Kept[MonthNames] = Kept()


@functools.lru_cache(maxsize=256)
def _plan(format_string: str) -> Plan:
    """A format split once into its pieces. Kept by the format alone (no setting
    changes how it splits); bounded, since a template may take its format from a
    variable."""
    if format_string in FORMAT_SETTINGS or "\\" in format_string:
        return None
    pieces: list[str | Callable[[date, MonthNames], str]] = []
    has_time = False
    for piece in _LETTER.split(format_string):
        if not _LETTER.fullmatch(piece):
            if piece:
                pieces.append(piece)
        elif piece in LETTERS:
            pieces.append(LETTERS[piece])
        elif piece in TIME_LETTERS:
            pieces.append(TIME_LETTERS[piece])
            has_time = True
        else:
            return None
    return tuple(pieces), has_time


def month_names(language: str | None = None) -> MonthNames:
    """The month names of ``language`` (default: the active one), as Django's ``F`` and
    ``M`` write them, translated once per language."""
    return _month_names.get_or_make(
        language or get_language(),
        lambda: (
            tuple(str(MONTHS[number]) for number in range(1, 13)),
            tuple(str(MONTHS_3[number]).title() for number in range(1, 13)),
        ),
    )


def formatted(value: object, format_string: object) -> str | None:
    """``value`` written in ``format_string`` (Django's ``date`` filter's letters) as
    Django's ``dateformat.format`` writes it, in the active language; ``None`` when this
    module leaves it to Django (see the module's docstring). A ``datetime`` is written as
    it is: converting it to the current time zone is the caller's (the template engine
    does it before a filter that expects local time)."""
    # Exactly these types: a subclass (such as pendulum's) may write itself otherwise.
    if type(value) not in (date, datetime) or not isinstance(format_string, str):
        return None
    if not format_string:
        return None  # Django writes DATE_FORMAT
    moment = cast(date, value)
    plan = _plan(format_string)
    if plan is None:
        return None
    pieces, has_time = plan
    if has_time and type(moment) is date:
        return None  # Django raises its TypeError
    names = month_names()
    return "".join(piece if isinstance(piece, str) else piece(moment, names) for piece in pieces)

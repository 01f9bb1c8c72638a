"""CKAN's ``fq`` (and the fielded words of ``q``), read into a :class:`Filters`.

CKAN hands ``fq`` to Solr. We read the part of Solr's syntax that CKAN clients and
harvesters send, and refuse the rest with :class:`FilterInvalid` (the API answers CKAN's
"Search Error") rather than guess:

- clauses ``field:value``, separated by spaces or ``AND``, each optionally with ``+``;
- a value is a bare word, a quoted phrase (``tags:"street trees"``), or, for
  ``metadata_modified``, a range ``[X TO Y]`` (``{X TO Y}`` excludes the ends) whose ends
  are ``*``, an ISO 8601 date or time, or ``NOW`` with date maths (``NOW-1DAY``,
  ``NOW/DAY-7DAYS``);
- fields: ``organization`` (also ``owner_org``), ``tags``, ``groups``, ``res_format``,
  ``license_id``, ``name``, ``metadata_modified``, and ``dataset_type``/``type``
  (``dataset`` only: the catalogue holds nothing else).

``OR``, ``NOT``, ``-field:…``, grouping and wildcards are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

#: fq field -> the facet field of ``selectors.SearchQuery.terms``.
TERM_FIELDS = {
    "organization": "organization",
    "owner_org": "organization",
    "tags": "tags",
    "groups": "groups",
    "res_format": "res_format",
    "license_id": "license_id",
}
#: Fields whose values are stored in lower case.
LOWER_CASE = {"organization", "tags", "groups"}
OTHER_FIELDS = ("name", "metadata_modified", "dataset_type", "type")
FIELDS = (*TERM_FIELDS, *OTHER_FIELDS)


class FilterInvalid(ValueError):
    """An ``fq`` this catalogue cannot read; the message says what and where."""


@dataclass
class Filters:
    terms: list[tuple[str, str]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    #: Free words (from ``q``).
    words: list[str] = field(default_factory=list)
    #: A clause no dataset can match (``dataset_type:harvest``).
    nothing: bool = False


_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<sign>[+-])?(?P<field>[A-Za-z_][\w.]*):
        (?:
          "(?P<quoted>(?:[^"\\]|\\.)*)"
        | (?P<range>[\[{][^\]}]*[\]}])
        | (?P<bare>[^\s()\[\]{}"]+)
        )
    | (?P<operator>AND|OR|NOT|&&|\|\|)(?=\s|$)
    | (?P<word>[^\s]+)
    )""",
    re.VERBOSE,
)

_UNITS = {
    "YEAR": "years",
    "MONTH": "months",
    "DAY": "days",
    "DATE": "days",
    "HOUR": "hours",
    "MINUTE": "minutes",
    "SECOND": "seconds",
}
_DATE_MATH = re.compile(r"(/[A-Z]+|[+-]\d+[A-Z]+)")


def _round(moment: datetime, unit: str) -> datetime:
    if unit == "years":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "months":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "days":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hours":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "minutes":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def _shift(moment: datetime, amount: int, unit: str) -> datetime:
    """``moment`` moved by ``amount`` units; :class:`FilterInvalid` past the years a date
    can have (1 to 9999)."""
    out_of_range = FilterInvalid(_("The date is outside the years 1 to 9999."))
    if unit in {"years", "months"}:
        months = moment.month - 1 + amount * (12 if unit == "years" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        if not 1 <= year <= 9999:
            raise out_of_range
        for day in range(moment.day, 27, -1):  # 31 January + 1 month = 28 or 29 February
            try:
                return moment.replace(year=year, month=month, day=day)
            except ValueError:
                continue
        return moment.replace(year=year, month=month, day=28)
    try:
        return moment + timedelta(**{unit: amount})
    except OverflowError:
        raise out_of_range from None


def _unit(word: str, text: str) -> str:
    key = word[:-1] if word.endswith("S") and word[:-1] in _UNITS else word
    if key not in _UNITS:
        raise FilterInvalid(
            _("“%(text)s”: unknown time unit “%(unit)s”.") % {"text": text, "unit": word}
        )
    return _UNITS[key]


def parse_moment(text: str) -> datetime | None:
    """``*`` (None), an ISO 8601 date or time (UTC unless it says), or ``NOW`` with Solr's
    date maths."""
    if text == "*":
        return None
    if text.startswith("NOW"):
        moment = timezone.now().astimezone(UTC)
        rest = text[3:]
        position = 0
        for match in _DATE_MATH.finditer(rest):
            if match.start() != position:
                break
            position = match.end()
            part = match.group(1)
            if part.startswith("/"):
                moment = _round(moment, _unit(part[1:], text))
            else:
                number = re.match(r"([+-]\d+)([A-Z]+)", part)
                assert number is not None
                moment = _shift(moment, int(number.group(1)), _unit(number.group(2), text))
        if position != len(rest):
            raise FilterInvalid(_("“%(text)s” is not a date Solr reads.") % {"text": text})
        return moment
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value), time())
        except ValueError:
            raise FilterInvalid(
                _("“%(text)s” is not a date: use 2024-01-31 or 2024-01-31T00:00:00Z.")
                % {"text": text}
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _range(text: str, filters: Filters) -> None:
    inner = text[1:-1].strip()
    parts = inner.split(" TO ")
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        raise FilterInvalid(
            _("“%(text)s”: write a range as [FROM TO UNTIL], e.g. [2024-01-01T00:00:00Z TO *].")
            % {"text": text}
        )
    start, end = (parse_moment(part.strip()) for part in parts)
    try:
        _bound(text, start, end, filters)
    except OverflowError:
        raise FilterInvalid(_("The date is outside the years 1 to 9999.")) from None


def _bound(text: str, start: datetime | None, end: datetime | None, filters: Filters) -> None:
    if start is not None:
        if text[0] == "{":
            start += timedelta(microseconds=1)
        if filters.modified_from is None or start > filters.modified_from:
            filters.modified_from = start
    if end is not None:
        if text[-1] == "}":
            end -= timedelta(microseconds=1)
        if filters.modified_to is None or end < filters.modified_to:
            filters.modified_to = end


def _clause(name: str, value: str, is_range: bool, filters: Filters) -> None:
    if name == "metadata_modified":
        if not is_range:
            raise FilterInvalid(
                _("metadata_modified takes a range, e.g. metadata_modified:[NOW-7DAYS TO *].")
            )
        _range(value, filters)
        return
    if is_range:
        raise FilterInvalid(
            _("%(field)s does not take a range; only metadata_modified does.") % {"field": name}
        )
    if any(char in value for char in "*?"):
        raise FilterInvalid(
            _("Wildcards are not supported (in “%(field)s:%(value)s”).")
            % {"field": name, "value": value}
        )
    if name in {"dataset_type", "type"}:
        if value != "dataset":
            filters.nothing = True
        return
    if name == "name":
        filters.names.append(value)
        return
    term = TERM_FIELDS[name]
    filters.terms.append((term, value.lower() if term in LOWER_CASE else value))


def parse(  # noqa: PLR0912 (one branch per kind of token)
    text: str, *, free_words: bool = False, filters: Filters | None = None
) -> Filters:
    """Read ``text`` (an ``fq``; a ``q`` with ``free_words``, where words that are not a
    known ``field:value`` are search words) into ``filters``."""
    filters = filters if filters is not None else Filters()
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
        if match.group("operator"):
            if match.group("operator") in {"AND", "&&"}:
                continue
            if free_words:
                filters.words.append(match.group("operator").lower())
                continue
            raise FilterInvalid(
                _("“%(op)s” is not supported: every clause must hold (AND).")
                % {"op": match.group("operator")}
            )
        name = match.group("field")
        if name is None or name not in FIELDS:
            word = match.group(0).strip()
            if free_words:
                filters.words.append(word)
                continue
            if name is None:
                raise FilterInvalid(
                    _("“%(word)s” is not a filter: write field:value (fields: %(fields)s).")
                    % {"word": word, "fields": ", ".join(FIELDS)}
                )
            raise FilterInvalid(
                _("Cannot filter on “%(field)s”; the fields are: %(fields)s.")
                % {"field": name, "fields": ", ".join(FIELDS)}
            )
        if match.group("sign") == "-":
            raise FilterInvalid(_("Excluding (“-%(field)s:”) is not supported.") % {"field": name})
        if match.group("quoted") is not None:
            value = re.sub(r"\\(.)", r"\1", match.group("quoted"))
            _clause(name, value, False, filters)
        elif match.group("range") is not None:
            _clause(name, match.group("range"), True, filters)
        else:
            bare = match.group("bare")
            _clause(name, re.sub(r"\\(.)", r"\1", bare), False, filters)
    if position < len(text):
        raise FilterInvalid(
            _("Cannot read the filter from “%(rest)s”.") % {"rest": text[position:][:50]}
        )
    return filters

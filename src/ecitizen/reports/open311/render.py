"""Open311 GeoReport v2 documents written as XML or JSON, the way the specification does.

A document is built once, without a format: a root element name, the name of each item
(``services`` holds ``service`` items) and the items as dicts whose insertion order is the
elements' order. Values are ``str``, ``bool``, ``int``, ``float``, ``None`` (an empty
element in XML, ``null`` in JSON), an aware ``datetime`` (a W3C timestamp with its
offset) or :class:`Many` (a nested list: ``<attributes><attribute>…`` in XML, an array in
JSON).

XML: UTF-8 with the declaration the specification asks for, no namespace, every value as
text (``true``/``false`` for booleans). JSON, the specification's "Spark convention": the
root and the plural wrapper are dropped, so a list is a bare array and a single object
(``service_definition``, ``discovery``) a bare object; numbers and booleans keep their
type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from xml.sax.saxutils import escape

import orjson
from django.http import HttpResponse
from django.utils import timezone

XML = "xml"
JSON = "json"
CONTENT_TYPES = {
    XML: "text/xml; charset=utf-8",
    JSON: "application/json; charset=utf-8",
}
# Characters XML 1.0 cannot hold at all (control characters but tab and line breaks,
# lone surrogates, U+FFFE/U+FFFF): a resident's text may carry them, a parser would
# refuse the whole document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Many:
    """A nested list: ``tag`` names each entry in XML (``attribute`` in ``attributes``)."""

    tag: str
    items: Sequence[Any]


@dataclass(frozen=True)
class Document:
    """What one endpoint answers. ``item`` is ``None`` when the root holds a single
    object (``body`` is then a dict), else the name of each entry of ``body``."""

    root: str
    item: str | None
    body: Sequence[Mapping[str, Any]] | Mapping[str, Any]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


def w3c(value: datetime, zone: tzinfo | None = None) -> str:
    """A W3C (ISO 8601) timestamp to the second, in the server's time zone (``zone``,
    when the caller looked it up once for a whole document), with its offset:
    ``2026-03-01T09:30:00+00:00``. ``value`` must be aware (ValueError otherwise)."""
    if value.tzinfo is None:
        raise ValueError("w3c() cannot be applied to a naive datetime")
    return value.astimezone(zone or timezone.get_current_timezone()).isoformat(timespec="seconds")


#: The clock's "THH:MM:" for each minute of a day, and ":SS"'s digits for each second.
_MINUTES = [f"T{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60)]
_SECONDS = [f"{second:02d}" for second in range(60)]
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_ONE_SECOND = timedelta(seconds=1)
_NO_OFFSET = timedelta(0)
#: An offset from UTC: (its seconds, its text). A process meets a handful.
_offsets: dict[timedelta, tuple[int, str]] = {}
#: A day since 1970-01-01: its "YYYY-MM-DD". Forgotten past :data:`_DAYS_KEPT` days.
_days: dict[int, str] = {}
_DAYS_KEPT = 4096


def _offset(offset: timedelta) -> tuple[int, str]:
    found = _offsets.get(offset)
    if found is None:
        seconds = offset // _ONE_SECOND
        hours, rest = divmod(abs(seconds), 3600)
        minutes, rest = divmod(rest, 60)
        text = f"{'-' if seconds < 0 else '+'}{hours:02d}:{minutes:02d}"
        found = _offsets[offset] = (seconds, f"{text}:{rest:02d}" if rest else text)
    return found


#: (a zone, an hour since 1970-01-01 UTC): the zone's offset all through that hour, or
#: ``None`` when it changes within it. Forgotten past :data:`_HOURS_KEPT` hours.
_hour_offsets: dict[tuple[tzinfo, int], tuple[int, str] | None] = {}
_HOURS_KEPT = 8192


def _offset_at(seconds: int, zone: tzinfo) -> tuple[int, str]:
    """``zone``'s offset from UTC at the time ``seconds`` after 1970-01-01 UTC.

    Looked up once per hour of UTC time and kept: the offset at the hour's first and last
    second, when they are the same, is the offset all through it (no zone changes its
    offset and back within an hour); when they differ, the hour holds a change, and each
    time in it is looked up alone, so the change falls where it falls. A page's requests
    are reported over the same hours on every request, and ``fromtimestamp`` in a zone
    was a fifth of the page's time."""
    hour = seconds // 3600
    key = (zone, hour)
    try:
        found = _hour_offsets[key]
    except KeyError:
        start = hour * 3600
        first = _offset(datetime.fromtimestamp(start, zone).utcoffset() or _NO_OFFSET)
        last = _offset(datetime.fromtimestamp(start + 3599, zone).utcoffset() or _NO_OFFSET)
        if len(_hour_offsets) >= _HOURS_KEPT:
            _hour_offsets.clear()
        found = _hour_offsets[key] = first if first == last else None
    if found is None:
        found = _offset(datetime.fromtimestamp(seconds, zone).utcoffset() or _NO_OFFSET)
    return found


def w3c_seconds(seconds: int, zone: tzinfo) -> str:
    """:func:`w3c` of the time ``seconds`` after 1970-01-01 UTC, in ``zone``.

    Written as ``isoformat(timespec="seconds")`` writes it, from the time's offset in
    ``zone`` (:func:`_offset_at`, so a change of summer time falls where it falls) and
    tables of the days and the minutes: a page of a thousand requests has two thousand
    times, and ``isoformat`` cost twice as much (a test compares the two over two
    centuries and several zones)."""
    offset, offset_text = _offset_at(seconds, zone)
    day, second = divmod(seconds + offset, 86400)
    day_text = _days.get(day)
    if day_text is None:
        if len(_days) >= _DAYS_KEPT:
            _days.clear()
        day_text = _days[day] = date.fromordinal(_EPOCH_DAY + day).isoformat()
    return day_text + _MINUTES[second // 60] + _SECONDS[second % 60] + offset_text


def _number(value: float) -> str:
    """A decimal number as text without an exponent (``0.00001``, not ``1e-05``)."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text


# The XML writer tests a value's exact type first: a page holds up to a thousand
# requests of seventeen fields, and the abstract-class check (Mapping) costs more than
# writing the value.
_SCALARS = (str, int, bool, float, datetime)


def _text(value: Any, zone: tzinfo) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3c(value, zone)
    if isinstance(value, float):
        return _number(value)
    return _NOT_XML.sub("", str(value))


def _xml_element(tag: str, value: Any, depth: int, out: list[str], zone: tzinfo) -> None:
    pad = "  " * depth
    if value is None or (isinstance(value, Many) and not value.items):
        out.append(f"{pad}<{tag}/>")
    elif type(value) in _SCALARS:
        out.append(f"{pad}<{tag}>{escape(_text(value, zone))}</{tag}>")
    elif isinstance(value, Mapping):
        out.append(f"{pad}<{tag}>")
        for key, inner in value.items():
            _xml_element(key, inner, depth + 1, out, zone)
        out.append(f"{pad}</{tag}>")
    elif isinstance(value, Many):
        out.append(f"{pad}<{tag}>")
        for inner in value.items:
            _xml_element(value.tag, inner, depth + 1, out, zone)
        out.append(f"{pad}</{tag}>")
    else:
        out.append(f"{pad}<{tag}>{escape(_text(value, zone))}</{tag}>")


def to_xml(document: Document) -> bytes:
    """The document as UTF-8 XML, with its declaration, indented for people reading it
    with curl (whitespace between elements means nothing to a parser)."""
    zone = timezone.get_current_timezone()
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    if document.item is None:
        _xml_element(document.root, document.body, 0, out, zone)
    elif not document.body:
        out.append(f"<{document.root}/>")
    else:
        out.append(f"<{document.root}>")
        for entry in document.body:
            _xml_element(document.item, entry, 1, out, zone)
        out.append(f"</{document.root}>")
    return ("\n".join(out) + "\n").encode("utf-8")


def to_json(document: Document) -> bytes:
    """The document in the Spark convention: a bare array, or a bare object (UTF-8)."""
    zone = timezone.get_current_timezone()

    def other(value: Any) -> Any:
        if isinstance(value, datetime):
            return w3c(value, zone)
        if isinstance(value, Many):
            return list(value.items)
        if isinstance(value, Mapping):
            return dict(value)
        raise TypeError(f"{type(value).__name__} is not a value of a document")

    # orjson walks the document in C, calling back only for timestamps (in the server's
    # time zone, to the second: not its own format) and nested lists (Many, a dataclass
    # it would write as an object); a number that is not finite, never stored, would be
    # written as null.
    return orjson.dumps(
        document.body,
        default=other,
        option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS,
    )


def respond(document: Document, fmt: str) -> HttpResponse:
    """The HTTP response carrying ``document`` in ``fmt`` (``xml`` or ``json``)."""
    content = to_xml(document) if fmt == XML else to_json(document)
    response = HttpResponse(content, status=document.status, content_type=CONTENT_TYPES[fmt])
    for name, value in document.headers.items():
        response[name] = value
    return response


def errors_document(
    errors: Sequence[tuple[int, str]], *, status: int, headers: Mapping[str, str] | None = None
) -> Document:
    """The specification's error document: ``errors`` of ``error`` with ``code`` and
    ``description``, one per problem found."""
    return Document(
        root="errors",
        item="error",
        body=[{"code": code, "description": description} for code, description in errors],
        status=status,
        headers=dict(headers or {}),
    )

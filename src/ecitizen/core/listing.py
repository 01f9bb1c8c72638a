"""What each row of a long list (the officer's queue, the street reports, the datasets)
would work out in its template, worked out for less: a row's ``{% url %}``,
``|date:"j F Y"`` or ``{% blocktranslate %}`` costs about a hundred Python calls, a
thousand or more on a page; and a list's first page without its count query when the
list is shorter than a page (:func:`list_page`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import Any, TypeVar
from urllib.parse import quote

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.urls import NoReverseMatch, get_script_prefix, resolve, reverse
from django.urls.converters import get_converters
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString

from ecitizen.core.dateformat import month_names
from ecitizen.core.forms import html_text
from ecitizen.core.processcache import Kept

T = TypeVar("T")

_ARGUMENT = re.compile(r"<(?:(?P<converter>[^>:]+):)?[^>]+>")


class Addresses:
    """The addresses of one ``path()`` with one argument (``reports/<str:reference>/``)
    for many values: ``Addresses("reports:detail")(reference)`` is ``reverse("reports:detail",
    args=[reference])``.

    Django reverses the URL once per script prefix, with a placeholder the path's converters
    (``str``, ``slug``) accept; each value then takes its place, turned into text by the
    argument's converter, checked against its pattern and quoted as ``reverse`` does: a
    value the pattern refuses raises ``NoReverseMatch`` as ``reverse`` would.
    """

    PLACEHOLDER = "ecitizen_argument"

    def __init__(self, url_name: str) -> None:
        self.url_name = url_name
        self._parts: Kept[tuple[str, str, Any, re.Pattern[str]]] = Kept()

    def _parts_for(self, script_prefix: str) -> tuple[str, str, Any, re.Pattern[str]]:
        url = reverse(self.url_name, args=[self.PLACEHOLDER])
        before, after = url.split(self.PLACEHOLDER)
        route = resolve("/" + url.removeprefix(script_prefix)).route
        (argument,) = _ARGUMENT.finditer(route)
        converter = get_converters()[argument["converter"] or "str"]
        return before, after, converter, re.compile(converter.regex)

    def __call__(self, value: Any) -> str:
        script_prefix = get_script_prefix()
        before, after, converter, pattern = self._parts.get_or_make(
            script_prefix, lambda: self._parts_for(script_prefix)
        )
        text = str(converter.to_url(value))
        if not pattern.fullmatch(text):
            raise NoReverseMatch(f"{self.url_name}: {text!r} does not fit the address")
        return before + quote(text, safe=RFC3986_SUBDELIMS + "/~:@") + after


def day_month_year(value: date, language: str | None = None, zone: tzinfo | None = None) -> str:
    """``value|date:"j F Y"`` ("7 November 2026", "7 novembre 2026"), the way the pages
    write a date, with the months' names translated once per language. An aware
    ``datetime`` is written in the current time zone, as the filter does. ``language``
    and ``zone``, when given, are the active ones, looked up once by a caller writing many
    dates (each lookup reads a context-local variable)."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value, zone)
    return f"{value.day} {month_names(language)[0][value.month - 1]} {value.year:04d}"


def sentence(translated: str, **values: Any) -> SafeString:
    """What ``{% blocktranslate with name=value %}`` writes, for rows: ``translated`` is
    the message already translated, once for the page (``gettext("reported on
    %(date)s")``), each row fills it in. The translation is written as it is and each
    value escaped, as the tag does."""
    return SafeString(translated % {name: html_text(value) for name, value in values.items()})


def first_words(text: str, count: int, ending: str = " …") -> str:
    """``Truncator(text).words(count, truncate=ending)`` as Django writes it, without the
    lazy object around the text (eight attribute look-ups through it a call): the words
    (split on white space) joined by single spaces, ``ending`` after them when there were
    more, unless they already end with it. Precondition: ``count`` > 0 and ``ending``
    holds no ``%(truncated_text)s``."""
    words = text.split()
    if len(words) <= count:
        return " ".join(words)
    kept = " ".join(words[:count])
    return kept if kept.endswith(ending) else kept + ending


class CountedRows(list[T]):
    """A list's first rows, with the number of rows of the whole list (``total``)."""

    def __init__(self, rows: list[T], total: int) -> None:
        super().__init__(rows)
        self.total = total


def list_page(
    build: Callable[[], QuerySet[Any]],
    number: str | None,
    size: int,
    *,
    first_rows: Callable[[], list[Any]] | None = None,
) -> Page[Any]:
    """``Paginator(build(), size).get_page(number)``, the queryset built only when it is
    read. The first page (no number, or "1") reads its rows first, from ``first_rows()``
    when given (precondition: the rows ``build()[:size]`` gives, read another way, such
    as a compiled query): when they are fewer than a page, they are the count, and no
    count query is made (nor is the queryset built when ``first_rows`` is given); nor
    when ``first_rows()`` gives them with the whole list's count (:class:`CountedRows`,
    as a window count reads it with the rows)."""
    if number not in {None, "1"}:
        return Paginator(build(), size).get_page(number)
    rows = first_rows() if first_rows is not None else list(build()[:size])
    if isinstance(rows, CountedRows):
        count = rows.total
    elif len(rows) < size:
        count = len(rows)
    else:
        count = build().count()
    paginator = Paginator(rows, size)
    paginator.count = count  # the cached property, known without another query
    return Page(rows, 1, paginator)

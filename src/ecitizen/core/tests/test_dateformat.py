"""The ``date`` filter of every template (core/templatetags/kept_builtins.py) writes what
Django's own writes: for random dates and times, naive and aware, in every language of
the site, in every format the templates use and in random ones; and it leaves to Django
what it does not know."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.template import defaultfilters, engines
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from ecitizen.core.dateformat import LETTERS, TIME_LETTERS, formatted
from ecitizen.core.templatetags.kept_builtins import date as date_filter

#: The formats the templates write (grep '|date:' in the templates).
USED_FORMATS = ["j F Y", "j F Y, H:i", "j F Y, H:i:s", "j M Y", "Y-m-d", "c", "Y-m"]
LANGUAGES = [code for code, _name in settings.LANGUAGES]
ZONES = ["UTC", "Europe/London", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"]

moments = st.datetimes(
    min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31)
)
aware_moments = st.datetimes(
    min_value=datetime.datetime(1900, 1, 2),
    max_value=datetime.datetime(2200, 12, 30),
    timezones=st.sampled_from([zoneinfo.ZoneInfo(zone) for zone in ZONES]),
)
# Formats of the letters this filter knows, and others, with literal text between.
random_formats = st.lists(
    st.sampled_from([*LETTERS, *TIME_LETTERS, "D", "N", "y", ", ", " ", "-", ":", "\\Y", "é"]),
    max_size=8,
).map("".join)


def _both(value, format_string):
    """What Django's filter and this one write (or the exception Django's raises)."""
    try:
        theirs = defaultfilters.date(value, format_string)
    except TypeError:
        with pytest.raises(TypeError):
            date_filter(value, format_string)
        return None, None
    return theirs, date_filter(value, format_string)


@given(
    value=st.one_of(moments, aware_moments, st.dates()),
    format_string=st.one_of(st.sampled_from(USED_FORMATS), random_formats),
    language=st.sampled_from(LANGUAGES),
)
def test_the_filter_writes_what_djangos_writes(value, format_string, language):
    with translation.override(language):
        theirs, ours = _both(value, format_string)
    assert ours == theirs


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("format_string", ["j F Y", "j M Y"])
def test_every_month_is_named_as_django_names_it(language, format_string):
    with translation.override(language):
        for month in range(1, 13):
            day = datetime.date(2026, month, 28)
            assert date_filter(day, format_string) == defaultfilters.date(day, format_string)


def test_the_month_names_follow_the_active_language():
    day = datetime.date(2026, 2, 7)
    with translation.override("en"):
        assert date_filter(day, "j F Y") == "7 February 2026"
    with translation.override("fr"):
        assert date_filter(day, "j F Y") == "7 février 2026"


@pytest.mark.parametrize(
    ("value", "format_string"),
    [
        (datetime.date(2026, 2, 7), r"\Y j"),  # an escape
        (datetime.date(2026, 2, 7), "l j F"),  # a weekday: a letter it does not know
        (datetime.date(2026, 2, 7), "DATE_FORMAT"),  # a format setting's name
        (datetime.date(2026, 2, 7), None),  # the default format
        (datetime.date(2026, 2, 7), ""),  # the default format too
        (datetime.date(2026, 2, 7), "j F, H:i"),  # a time of day of a date
        ("2026-02-07", "j F Y"),  # not a date
        (None, "j F Y"),
    ],
)
def test_what_it_does_not_know_is_left_to_django(value, format_string):
    assert formatted(value, format_string) is None


def test_an_unknown_format_is_still_written_by_django():
    day = datetime.date(2026, 2, 7)
    assert date_filter(day, "l j F") == defaultfilters.date(day, "l j F") == "Saturday 7 February"
    assert date_filter(None, "j F Y") == defaultfilters.date(None, "j F Y") == ""


def test_every_template_uses_this_filter_in_local_time():
    assert engines["django"].engine.template_builtins[-1].filters["date"] is date_filter
    page = engines["django"].from_string('{{ moment|date:"j F Y, H:i" }}')
    moment = datetime.datetime(2026, 12, 31, 20, 30, tzinfo=datetime.UTC)
    with timezone.override("Pacific/Auckland"), translation.override("en"):
        assert page.render({"moment": moment}) == "1 January 2027, 09:30"


def test_its_text_is_escaped_as_djangos():
    page = engines["django"].from_string('{{ day|date:"j <F>" }}')
    assert page.render({"day": datetime.date(2026, 2, 7)}) == "7 &lt;February&gt;"

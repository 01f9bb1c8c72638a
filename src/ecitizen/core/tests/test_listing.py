"""The rows of long lists work out addresses and dates for less (core.listing) and write
their filters' options in one tag (select_options): the same text as reverse(), the date
filter and the template tags they replace."""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, engines
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import formats, timezone, translation

from ecitizen.core.listing import Addresses, day_month_year, first_words, sentence


@pytest.mark.parametrize(
    ("url_name", "value"),
    [
        ("staff:case_detail", "RIV-BP-2026-000123"),
        ("staff:case_detail", "a b:é@~"),  # quoted as reverse() quotes it
        ("opendata:dataset", "street-lights_2026"),
    ],
)
def test_addresses_are_those_reverse_gives(url_name, value):
    assert Addresses(url_name)(value) == reverse(url_name, args=[value])


def test_addresses_follow_the_script_prefix():
    addresses = Addresses("staff:case_detail")
    assert addresses("RIV-1") == "/staff/cases/RIV-1/"
    set_script_prefix("/city/")
    try:
        assert addresses("RIV-1") == reverse("staff:case_detail", args=["RIV-1"])
        assert addresses("RIV-1").startswith("/city/")
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize(
    ("url_name", "value"), [("staff:case_detail", "a/b"), ("opendata:dataset", "not a slug")]
)
def test_a_value_the_address_refuses_raises_as_reverse_does(url_name, value):
    with pytest.raises(NoReverseMatch):
        reverse(url_name, args=[value])
    with pytest.raises(NoReverseMatch):
        Addresses(url_name)(value)


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_dates_are_written_as_the_date_filter_writes_them(language):
    with translation.override(language):
        for month in range(1, 13):
            day = datetime.date(2026, month, 7)
            assert day_month_year(day) == formats.date_format(day, "j F Y")


def test_a_moment_is_written_on_its_local_day():
    moment = datetime.datetime(2026, 12, 31, 20, 0, tzinfo=datetime.UTC)
    page = engines["django"].from_string('{{ moment|date:"j F Y" }}')
    with timezone.override("Pacific/Auckland"):
        assert day_month_year(moment) == page.render({"moment": moment}) == "1 January 2027"


def test_select_options_are_those_the_template_tags_wrote():
    engine = engines["django"].engine
    choices = [("a", "Ward <A>"), ("b&c", "B"), ("", "None")]
    ours = engine.from_string("{% select_options choices chosen %}")
    theirs = engine.from_string(
        '{% for value, label in choices %}<option value="{{ value }}"'
        "{% if chosen == value %} selected{% endif %}>{{ label }}</option>{% endfor %}"
    )
    for chosen in ["a", "b&c", "", "none of them"]:
        context = {"choices": choices, "chosen": chosen}
        assert ours.render(Context(context)) == theirs.render(Context(context))


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_sentences_are_those_blocktranslate_writes(language):
    page = engines["django"].from_string(
        "{% load i18n %}{% blocktranslate with ward=name %}{{ ward }} ward{% endblocktranslate %}"
    )
    with translation.override(language):
        for name in ["Riverside", "North & <East>"]:
            expected = page.render({"name": name})
            assert sentence(translation.gettext("%(ward)s ward"), ward=name) == expected


def test_first_words_are_what_django_s_truncator_writes():
    import random

    from django.utils.text import Truncator

    picked = random.Random(7)
    pieces = ["word", "é", "…", " ", "  ", "\n", "\t", "a-b", "<b>", "&amp;"]
    texts = ["", " ", "one", "one …", "a " * 40 + "…", "a " * 39 + "… b"]
    texts += [
        "".join(picked.choice(pieces) for _ in range(picked.randrange(90))) for _ in range(3000)
    ]
    for text in texts:
        for count in (1, 3, 40):
            assert first_words(text, count) == Truncator(text).words(count, truncate=" …"), text

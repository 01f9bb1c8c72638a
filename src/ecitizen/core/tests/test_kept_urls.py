"""The ``url`` tag of every template (core/templatetags/kept_builtins.py) writes, raises and
sets what Django's own does, with each address kept by all that ``reverse`` depends on."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, engines
from django.test import override_settings
from django.urls import NoReverseMatch, set_script_prefix

from ecitizen.core.templatetags.kept_builtins import KeptURLNode

#: Django's engine alone: its own ``url`` tag.
DJANGO = Engine()

TEMPLATES = [
    "{% url 'core:privacy' %}",
    '{% url "staff:case_detail" reference %}',
    "{% url 'staff:case_detail' reference=reference %}",
    "{% url 'staff:resident_detail' number %}",
    "{% url 'staff:case_detail' reference as address %}[{{ address }}]",
    "{% url 'core:no_such_page' as address %}[{{ address }}]",
    "{% url name reference %}",
]
VALUES = [
    {"reference": "RIV-BP-2026-000123", "number": 7, "name": "staff:case_detail"},
    {"reference": "a&b <c>", "number": 12, "name": "cases:case_detail"},  # escaped
    {"reference": 42, "number": "7", "name": "staff:case_detail"},
]


def _both(source: str, values: dict, autoescape: bool = True) -> tuple[str, str]:
    ours = engines["django"].engine.from_string(source)
    theirs = DJANGO.from_string(source)
    return (
        ours.render(Context(values, autoescape=autoescape)),
        theirs.render(Context(values, autoescape=autoescape)),
    )


@pytest.mark.parametrize("source", TEMPLATES)
@pytest.mark.parametrize("values", VALUES)
@pytest.mark.parametrize("autoescape", [True, False])
def test_the_tag_writes_what_djangos_writes(source, values, autoescape):
    # Twice: the second address is the kept one.
    for _time in range(2):
        ours, theirs = _both(source, values, autoescape)
        assert ours == theirs


def test_every_template_uses_the_kept_tag():
    page = engines["django"].engine.from_string("{% url 'core:privacy' %}")
    assert isinstance(page.nodelist[0], KeptURLNode)


def test_an_address_that_does_not_reverse_raises_as_djangos():
    for engine in (engines["django"].engine, DJANGO):
        with pytest.raises(NoReverseMatch):
            engine.from_string("{% url 'core:no_such_page' %}").render(Context())
        with pytest.raises(NoReverseMatch):  # an argument the pattern refuses
            engine.from_string("{% url 'staff:case_detail' 'a/b' %}").render(Context())


def test_values_equal_but_written_apart_are_kept_apart():
    source = "{% url 'staff:case_detail' reference %}"
    for reference in (1, True, "1", "True"):
        ours, theirs = _both(source, {"reference": reference})
        assert ours == theirs
    assert _both(source, {"reference": True})[0].endswith("/True/")


def test_an_argument_that_is_not_text_or_a_number_is_left_to_django():
    class Changing:
        text = "first"

        def __str__(self) -> str:
            return self.text

    reference = Changing()
    source = "{% url 'staff:case_detail' reference %}"
    assert _both(source, {"reference": reference})[0].endswith("/first/")
    reference.text = "second"  # equal to itself, written otherwise: not kept
    ours, theirs = _both(source, {"reference": reference})
    assert ours == theirs
    assert ours.endswith("/second/")


def test_the_address_follows_the_script_prefix():
    source = "{% url 'core:privacy' %}"
    assert _both(source, {})[0] == "/privacy/"
    set_script_prefix("/city/")
    try:
        ours, theirs = _both(source, {})
        assert ours == theirs == "/city/privacy/"
    finally:
        set_script_prefix("/")
    assert _both(source, {})[0] == "/privacy/"


@override_settings(ROOT_URLCONF="ecitizen.core.tests.test_kept_urls")
def test_a_change_of_url_map_is_followed():
    ours, theirs = _both("{% url 'core:privacy' %}", {})
    assert ours == theirs == "/elsewhere/privacy/"


# The URL map of the test above: the same names under another path.
from django.urls import include, path  # noqa: E402

urlpatterns = [path("elsewhere/", include("ecitizen.core.urls"))]

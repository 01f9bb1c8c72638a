"""{% load i18n_kept %} is Django's i18n library with literals' translations kept per
language (core.templatetags.i18n_kept): the same text as Django's tag, in each language."""

from __future__ import annotations

import re
from pathlib import Path

from django.template import Context, engines
from django.templatetags import i18n
from django.utils import translation

import ecitizen
from ecitizen.core.templatetags.i18n_kept import KeptTranslation

TEMPLATE = (
    "{% load i18n_kept %}"
    '{% translate "Sign out" %}|'
    '{% translate "More" context "navigation" %}|'
    '{% translate "Back" as label %}[{{ label }}]|'
    "{% translate word %}|"
    '{% translate "Sign out"|upper %}'
)


def test_kept_translations_are_the_ones_django_gives_in_each_language():
    page = engines["django"].engine.from_string(TEMPLATE)
    seen = set()
    for language in ["en", "fr", "ar", "en"]:
        with translation.override(language):
            expected = "|".join(
                [
                    translation.gettext("Sign out"),
                    translation.pgettext("navigation", "More"),
                    f"[{translation.gettext('Back')}]",
                    translation.gettext("Cases"),
                    translation.gettext("Sign out").upper(),
                ]
            )
            for _twice in range(2):
                assert page.render(Context({"word": "Cases"})) == expected
        seen.add(expected)
    assert len(seen) == 3


def test_only_literals_are_kept():
    nodes = engines["django"].engine.from_string(TEMPLATE).nodelist
    kept = [node for node in nodes if isinstance(node, KeptTranslation)]
    django = [node for node in nodes if isinstance(node, i18n.TranslateNode)]
    assert len(kept) == 3
    assert len(django) == 2  # the variable, and the literal with a filter
    libraries = engines["django"].engine.template_libraries
    assert set(i18n.register.tags) <= set(libraries["i18n_kept"].tags)
    # Django's own library keeps its name, for templates that load it.
    assert libraries["i18n"] is i18n.register


def test_the_platform_s_templates_load_the_kept_library():
    """A template of the platform that loads Django's i18n renders its literals the slow
    way: each loads i18n_kept instead."""
    load = re.compile(r"\{%\s*load\s[^%]*\bi18n\b[^%]*%\}")
    root = Path(ecitizen.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.html")
        if "templates" in path.parts and load.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []

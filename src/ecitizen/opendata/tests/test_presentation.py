"""The list items of a list of datasets, written in Python (opendata.presentation), read
as the template that wrote them before did: the same markup, each value escaped the same
way, in each language."""

from __future__ import annotations

import pytest
from django.template import engines
from django.utils import translation
from django.utils.safestring import SafeString

from ecitizen.opendata.presentation import result_items

#: What opendata/_results.html wrote for each dataset.
_TEMPLATE = """{% load i18n_kept %}{% for row in rows %}
  <li class="govuk-!-margin-bottom-6">
    <h3 class="govuk-heading-s govuk-!-margin-bottom-1"><a class="govuk-link" href="{{ row.url }}">{{ row.title }}</a></h3>
    <p class="govuk-body-s govuk-!-margin-bottom-1">{{ row.department }}</p>
    {% if row.description %}<p class="govuk-body govuk-!-margin-bottom-1">{{ row.description }}</p>{% endif %}
    <p class="govuk-body-s govuk-!-margin-bottom-0">{% if row.formats %}<span class="govuk-visually-hidden">{% translate "Formats:" %} </span>{{ row.formats }}· {% endif %}{{ row.updated }}</p>
  </li>
  {% endfor %}"""  # noqa: E501

ROWS = [
    {
        "url": "/data/dataset/bins-&-bags/?a=1&b=<2>",
        "title": 'Bins & "bags" <collected>',
        "department": "Waste & Streets",
        "description": "Every bin's <round> & its days …",
        "formats": SafeString(
            '<strong class="govuk-tag govuk-tag--grey">CSV</strong> '
            '<strong class="govuk-tag govuk-tag--grey">JSON</strong> '
        ),
        "updated": SafeString("Last updated 7 November 2026"),
    },
    {
        "url": "/data/dataset/empty/",
        "title": "Empty",
        "department": "Roads",
        "description": "",
        "formats": "",
        "updated": SafeString("Last updated 1 March 2026"),
    },
]


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_items_are_the_markup_the_template_wrote(language):
    template = engines["django"].from_string(_TEMPLATE)
    with translation.override(language):
        assert result_items(ROWS) == template.render({"rows": ROWS})
    assert result_items([]) == ""

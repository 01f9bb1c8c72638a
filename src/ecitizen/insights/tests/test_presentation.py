"""The public performance table's rows, written in Python (insights.presentation), read
as the template that wrote them before did: the same markup, each text escaped the same
way, in each language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation

from ecitizen.insights.performance import (
    PUBLISHED,
    SUPPRESSED,
    UNAVAILABLE,
    Figure,
    ServicePerformance,
)
from ecitizen.insights.presentation import KINDS, figure_text, performance_rows_html

#: What insights/public_performance.html wrote for the rows, with the cells its view
#: worked out for each (``item.row``, ``item.cells``).
_TEMPLATE = """{% load i18n_kept %}{% for item in rows %}
      <tr class="govuk-table__row" data-service="{{ item.row.service }}">
        <th scope="row" class="govuk-table__header">{{ item.row.service_title }}<br><span class="govuk-hint govuk-!-font-size-16 govuk-!-margin-bottom-0">{{ item.row.department_name }}</span></th>
        {% for cell in item.cells %}
        <td class="govuk-table__cell govuk-table__cell--numeric" data-figure="{{ cell.name }}" data-status="{{ cell.status }}">{% if cell.published %}{{ cell.text }}{% elif cell.suppressed %}<span class="govuk-hint govuk-!-font-size-16 govuk-!-margin-bottom-0">{% translate "Not enough data to publish" %}</span>{% else %}<span class="govuk-hint govuk-!-font-size-16 govuk-!-margin-bottom-0">{% translate "Not available" %}</span>{% endif %}</td>
        {% endfor %}
      </tr>
      {% endfor %}"""  # noqa: E501


def _rows() -> list[ServicePerformance]:
    return [
        ServicePerformance(
            month=date(2026, 10, 1),
            service='bins-&-"bags"',
            service_title="Bins & <bags>",
            department="waste",
            department_name="Waste & Streets",
            transactions=Figure(PUBLISHED, 12345),
            cost_per_transaction=Figure(PUBLISHED, Decimal("12.40")),
            currency="GBP",
            user_satisfaction=Figure(SUPPRESSED),
            completion_rate=Figure(PUBLISHED, 0.875),
            digital_take_up=Figure(UNAVAILABLE),
        ),
        ServicePerformance(
            month=date(2026, 10, 1),
            service="parking",
            service_title="Parking",
            department="roads",
            department_name="Roads",
            transactions=Figure(SUPPRESSED),
            cost_per_transaction=Figure(UNAVAILABLE),
            currency="GBP",
            user_satisfaction=Figure(PUBLISHED, 1.0),
            completion_rate=Figure(PUBLISHED, None),
            digital_take_up=Figure(PUBLISHED, 0.0),
        ),
    ]


def _template_items(rows: list[ServicePerformance]) -> list[dict]:
    return [
        {
            "row": row,
            "cells": [
                {
                    "name": name,
                    "status": getattr(row, name).status,
                    "published": getattr(row, name).published,
                    "suppressed": getattr(row, name).suppressed,
                    "text": figure_text(getattr(row, name), kind),
                }
                for name, kind in KINDS
            ],
        }
        for row in rows
    ]


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_rows_are_the_markup_the_template_wrote(language):
    rows = _rows()
    template = engines["django"].from_string(_TEMPLATE)
    with translation.override(language):
        written = performance_rows_html(rows)
        expected = template.render({"rows": _template_items(rows)})
    assert written == expected
    assert "Bins &amp; &lt;bags&gt;" in written
    assert 'data-service="bins-&amp;-&quot;bags&quot;"' in written
    assert performance_rows_html([]) == ""

"""The street reports list's cards, written in Python (reports.presentation), read as the
template that wrote them before did: the same markup, each value escaped the same way."""

from __future__ import annotations

from django.template import engines
from django.utils.safestring import SafeString

from ecitizen.reports.presentation import report_cards

#: What reports/list.html wrote for each card.
_TEMPLATE = """{% for row in rows %}
      <li class="app-report-card">
        <h3 class="govuk-heading-s govuk-!-margin-bottom-1"><a class="govuk-link" href="{{ row.url }}">{{ row.title }}</a></h3>
        <p class="govuk-body-s govuk-!-margin-bottom-1"><strong class="govuk-tag {{ row.tag }}">{{ row.status }}</strong> {{ row.category }}{% if row.distance %} · {{ row.distance }}{% endif %}</p>
        <p class="govuk-body-s govuk-!-margin-bottom-0 app-report-card__meta">{% if row.address %}{{ row.address }}, {% endif %}{% if row.ward %}{{ row.ward }} · {% endif %}{{ row.reported }} · {{ row.reference }}</p>
      </li>{% endfor %}"""  # noqa: E501


def test_the_cards_are_the_markup_the_template_wrote():
    rows = [
        {
            "url": "/reports/RPT-1/?a=1&b=<2>",
            "title": 'Bins & "bags" <left>',
            "tag": "govuk-tag--blue",
            "status": "Reported",
            "category": "Fly-tipping & rubbish",
            "distance": "120 metres away",
            "address": "12 O'Hara Street",
            "ward": SafeString("Northgate &amp; Mill ward"),
            "reported": SafeString("reported on 7 November 2026"),
            "reference": "RPT-1",
        },
        {
            "url": "/reports/RPT-2/",
            "title": "Pothole",
            "tag": "govuk-tag--grey",
            "status": "Closed",
            "category": "Pothole",
            "distance": "",
            "address": "",
            "ward": "",
            "reported": SafeString("reported on 1 March 2026"),
            "reference": "RPT-2",
        },
    ]
    template = engines["django"].from_string(_TEMPLATE)
    assert report_cards(rows) == template.render({"rows": rows})
    assert report_cards([]) == ""

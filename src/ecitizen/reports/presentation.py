"""The street reports list's cards, written in Python: twenty cards of eight values each
cost about 6,700 Python calls through the template language (a ``{{ value }}`` about 30,
an ``{% if %}`` about 50), a few hundred here. The markup is what ``reports/list.html``
wrote for each card; a test compares the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.safestring import SafeString

from ecitizen.core.forms import html_text

_CARD = """
      <li class="app-report-card">
        <h3 class="govuk-heading-s govuk-!-margin-bottom-1"><a class="govuk-link" href="{url}">{title}</a></h3>
        <p class="govuk-body-s govuk-!-margin-bottom-1"><strong class="govuk-tag {tag}">{status}</strong> {category}{distance}</p>
        <p class="govuk-body-s govuk-!-margin-bottom-0 app-report-card__meta">{address}{ward}{reported} · {reference}</p>
      </li>"""  # noqa: E501


def report_cards(rows: Sequence[Mapping[str, Any]]) -> SafeString:
    """The list items of the reports in ``rows`` (the values ``views.report_list`` works
    out for each: ``url``, ``title``, ``tag``, ``status``, ``category``, ``distance``,
    ``address``, ``ward``, ``reported``, ``reference``), each value escaped as ``{{ value }}``
    would, text marked safe written as it is."""
    return SafeString(
        "".join(
            _CARD.format(
                url=html_text(row["url"]),
                title=html_text(row["title"]),
                tag=html_text(row["tag"]),
                status=html_text(row["status"]),
                category=html_text(row["category"]),
                distance=f" · {html_text(row['distance'])}" if row["distance"] else "",
                address=f"{html_text(row['address'])}, " if row["address"] else "",
                ward=f"{html_text(row['ward'])} · " if row["ward"] else "",
                reported=html_text(row["reported"]),
                reference=html_text(row["reference"]),
            )
            for row in rows
        )
    )

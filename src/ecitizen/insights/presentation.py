"""The public performance table's rows, written in Python: a service's row of five
figures cost about 450 Python calls through the template language (each cell an
``{% if %}`` chain, a ``{% translate %}`` and three ``{{ value }}``), a few dozen here.
The markup is what ``insights/public_performance.html`` wrote for each row; a test
compares the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import cast

from babel.numbers import format_decimal, format_percent
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from ecitizen.core.forms import html_text
from ecitizen.core.processcache import babel_locale
from ecitizen.insights.performance import Figure, ServicePerformance
from ecitizen.payments.money import format_money

#: (the figure's field on :class:`ServicePerformance`, how it is written: "count",
#: "money" or "rate"), in the table's order of columns.
KINDS = (
    ("transactions", "count"),
    ("cost_per_transaction", "money"),
    ("user_satisfaction", "rate"),
    ("completion_rate", "rate"),
    ("digital_take_up", "rate"),
)

_ROW = (
    '\n      <tr class="govuk-table__row" data-service="{service}">\n'
    '        <th scope="row" class="govuk-table__header">{title}<br>'
    '<span class="govuk-hint govuk-!-font-size-16 govuk-!-margin-bottom-0">{department}'
    "</span></th>\n        {cells}\n      </tr>\n      "
)
_CELL = (
    '<td class="govuk-table__cell govuk-table__cell--numeric" data-figure="{name}" '
    'data-status="{status}">{content}</td>'
)
_NOT_SHOWN = '<span class="govuk-hint govuk-!-font-size-16 govuk-!-margin-bottom-0">{}</span>'


def figure_text(figure: Figure, kind: str) -> str:
    """A published count (``1,234``), rate (``87.5%``) or amount (``£12.40``) the
    reader's way; ``""`` for a figure not published (the table says why)."""
    if not figure.published or figure.value is None:
        return ""
    if kind == "money":
        return format_money(cast(Decimal, figure.value))  # an amount is a Decimal
    if kind == "count":
        return str(format_decimal(figure.value, locale=babel_locale()))
    return str(format_percent(figure.value, format="#,##0.0%", locale=babel_locale()))


def performance_rows_html(rows: Sequence[ServicePerformance]) -> SafeString:
    """The ``<tr>`` of each service in ``rows``: its title and department, then a cell
    per figure of :data:`KINDS` with its ``name`` and ``status``, holding the figure as
    :func:`figure_text` writes it when it is published, else why it is not ("Not
    enough data to publish" for a suppressed figure, "Not available" for one not
    measured), in the active language. Every text is escaped."""
    suppressed = _NOT_SHOWN.format(html_text(gettext("Not enough data to publish")))
    unavailable = _NOT_SHOWN.format(html_text(gettext("Not available")))
    written = []
    for row in rows:
        cells = []
        for name, kind in KINDS:
            figure: Figure = getattr(row, name)
            if figure.published:
                content = html_text(figure_text(figure, kind))
            else:
                content = suppressed if figure.suppressed else unavailable
            cells.append(_CELL.format(name=name, status=html_text(figure.status), content=content))
        written.append(
            _ROW.format(
                service=html_text(row.service),
                title=html_text(row.service_title),
                department=html_text(row.department_name),
                cells="".join(f"\n        {cell}\n        " for cell in cells),
            )
        )
    return SafeString("".join(written))

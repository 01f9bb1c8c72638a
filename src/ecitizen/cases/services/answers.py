"""An answer as a person reads it: on the case pages (``cases.presentation``) and on the
issued document (``.workflow``).

It lives here, not in ``cases.presentation``, because the issued document needs it and
``cases.presentation`` imports this package: there it would make an import cycle."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecitizen.catalogue.spec import ServiceSpec, localised
from ecitizen.payments.money import format_money


def format_answer(  # noqa: PLR0911 - one return per kind of answer
    spec: ServiceSpec, question_id: str, value: Any, language: str | None = None
) -> str:
    """An answer as a person reads it (choice labels, Yes/No, amounts)."""
    question = spec.questions.get(question_id) or spec.eligibility_question(question_id) or {}
    kind = question.get("type", "single_choice" if question.get("choices") else "")
    if value is None or value in ("", []):
        return _("Not given")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if kind in {"single_choice", "multiple_choice"}:
        labels = {c["value"]: localised(c["label"], language) for c in question.get("choices", [])}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in values)
    if kind == "money":
        return format_money(str(value), language=language)
    if kind == "date":
        from django.utils.formats import date_format

        return date_format(date.fromisoformat(value), "j F Y")
    if kind == "file":
        return ngettext("%(count)s file", "%(count)s files", len(value)) % {"count": len(value)}
    return str(value)

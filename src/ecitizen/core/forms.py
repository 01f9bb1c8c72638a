"""Django forms rendered as GOV.UK Design System components.

``GovukFormRenderer`` makes ``{{ form }}`` and ``{{ field.as_field_group }}`` produce
GOV.UK markup (labels, hints, inline errors, ``aria-describedby``); the base layout puts the
error summary at the top of the page (``{% govuk_error_summary form %}``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _


class GovukFormRenderer(TemplatesSetting):
    form_template_name = "govuk/form.html"
    field_template_name = "govuk/field.html"


class GovukDateWidget(forms.MultiWidget):
    """The GOV.UK date input: three text boxes for day, month and year."""

    template_name = "govuk/widgets/date.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        numeric = {"inputmode": "numeric"}
        widgets = {
            "day": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-2"}),
            "month": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-2"}),
            "year": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-4"}),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, datetime.date):
            return [value.day, value.month, value.year]
        return [None, None, None]

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        labels = [_("Day"), _("Month"), _("Year")]
        autocomplete = (attrs or {}).get("autocomplete") or self.attrs.get("autocomplete")
        suffixes = ["-day", "-month", "-year"]
        for subwidget, label, suffix in zip(context["widget"]["subwidgets"], labels, suffixes, strict=True):
            subwidget["label"] = label
            if autocomplete == "bday":
                subwidget["attrs"]["autocomplete"] = "bday" + suffix
        return context


class GovukDateField(forms.MultiValueField):
    """A date entered as day, month and year, with GOV.UK's error messages."""

    widget = GovukDateWidget

    def __init__(self, **kwargs: Any) -> None:
        fields = (forms.CharField(), forms.CharField(), forms.CharField())
        kwargs.setdefault("require_all_fields", False)
        super().__init__(fields=fields, **kwargs)

    def compress(self, data_list: list[str]) -> datetime.date | None:
        if not data_list or not any(data_list):
            return None
        day, month, year = (str(part or "").strip() for part in data_list)
        if not (day and month and year):
            raise forms.ValidationError(
                _("The date must include a day, a month and a year"), code="incomplete"
            )
        try:
            return datetime.date(int(year), int(month), int(day))
        except ValueError:
            raise forms.ValidationError(_("Enter a real date"), code="invalid") from None

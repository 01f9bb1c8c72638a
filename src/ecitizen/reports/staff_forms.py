"""Forms of the officials' pages of street reports: hiding a report or a photo, merging a
duplicate, one workflow action on several reports, and an Open311 app's key."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ecitizen.cases.services import MESSAGE_MAX_LENGTH
from ecitizen.core.text import FreeTextField

#: What the public is told nothing about, but the audit trail keeps: the model's length.
REASON_MAX_LENGTH = 300
#: A case reference as the case engine makes them (RIV-PH-2026-000123), with some slack.
REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,31}")
#: How many reports one bulk update may touch: one page of the list.
BULK_MAX = 50


class HideForm(forms.Form):
    reason = FreeTextField(
        label=_("Why is it hidden from the public?"),
        help_text=_(
            "For example, it names a person or uses offensive words. Only officials "
            "read this; it is kept in the audit trail."
        ),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Enter why the report is hidden"),
            "max_length": _("The reason must be %(limit_value)s characters or fewer"),
        },
    )


class PhotoHideForm(HideForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("Why is this photo hidden from the public?")
        self.fields["reason"].help_text = _(
            "For example, it shows a face or a number plate. Only officials read this; it "
            "is kept in the audit trail."
        )
        self.fields["reason"].error_messages["required"] = _("Enter why the photo is hidden")


class MergeForm(forms.Form):
    into = forms.CharField(
        label=_("Reference of the report to keep"),
        help_text=_("For example, RIV-PH-2026-000123."),
        max_length=32,
        error_messages={
            "required": _("Enter the reference of the report to keep"),
            "max_length": _("Enter a reference like RIV-PH-2026-000123"),
        },
    )

    def clean_into(self) -> str:
        reference = str(self.cleaned_data["into"]).strip()
        if not REFERENCE_PATTERN.fullmatch(reference):
            raise forms.ValidationError(
                _("Enter a reference like RIV-PH-2026-000123"), code="invalid"
            )
        return reference


class ReferencesField(forms.MultipleChoiceField):
    """The references ticked in the list. Any well-formed reference is accepted here;
    whether the official may act on it is checked report by report."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: Any) -> bool:
        return bool(REFERENCE_PATTERN.fullmatch(str(value)))


class BulkActionForm(forms.Form):
    """One workflow action, with one public update, for every ticked report."""

    reports = ReferencesField(
        label=_("Reports"),
        error_messages={
            "required": _("Select the reports to update"),
            "invalid_choice": _("Select the reports to update from the list"),
        },
    )
    action = forms.ChoiceField(
        label=_("What to do"),
        error_messages={"required": _("Select what to do with the selected reports")},
    )
    text = FreeTextField(
        label=_("Public update"),
        help_text=_(
            "The reporters and supporters are sent this, and it is shown on each report's "
            "public page. Internal notes stay on each case."
        ),
        required=False,
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": _("The public update must be %(limit_value)s characters or fewer")
        },
    )
    #: The list's filters, to show the same list again when something is missing.
    filters = forms.CharField(required=False, widget=forms.HiddenInput, max_length=500)

    def __init__(
        self,
        *args: Any,
        actions: list[tuple[str, str]],
        reason_required: set[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Choose an action")), *actions]  # type: ignore[attr-defined]
        self.reason_required = reason_required

    def clean_reports(self) -> list[str]:
        chosen = list(dict.fromkeys(self.cleaned_data["reports"]))
        if len(chosen) > BULK_MAX:
            raise forms.ValidationError(
                _("Select %(max)s reports or fewer at a time") % {"max": BULK_MAX},
                code="too_many",
            )
        return chosen

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") in self.reason_required and not cleaned.get("text"):
            self.add_error(
                "text", _("Enter the public update: this action tells the reporters why")
            )
        return cleaned


class ApiClientForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the app"),
        max_length=120,
        error_messages={
            "required": _("Enter the name of the app"),
            "max_length": _("The name must be %(limit_value)s characters or fewer"),
        },
    )
    contact_email = forms.EmailField(
        label=_("Email address of its developer"),
        help_text=_("We write there if the app sends bad reports or its key must change."),
        error_messages={
            "required": _("Enter the email address of the app's developer"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
        },
    )
    hourly_limit = forms.IntegerField(
        label=_("Reports it may send per hour"),
        min_value=1,
        max_value=10_000,
        initial=100,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "govuk-input--width-5"}),
        error_messages={
            "required": _("Enter how many reports the app may send per hour"),
            "invalid": _("Enter a whole number of reports, like 100"),
            "min_value": _("The app must be allowed at least %(limit_value)s report per hour"),
            "max_value": _("The limit must be %(limit_value)s reports per hour or fewer"),
        },
    )

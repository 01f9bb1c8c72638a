"""Forms of the process pages: the organiser's (a process, its phases, eligibility rules,
documents, census list), the census code a resident types, the news opt-in, and the paper
entry forms of officials.

The forms check what a browser can get wrong (a missing field, a date that is not one, a
file that is not a CSV); the rules of participation (dates in order, a rule's conditions
that go together, a slug in use) are the services', whose messages the views put on the
fields.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.identity import validate_national_id
from ecitizen.core.forms import GovukDateField, SubmissionForm
from ecitizen.core.text import FreeTextField
from ecitizen.participation.models import Action, Phase
from ecitizen.participation.services.census import IDENTIFIER_MAX_LENGTH
from ecitizen.participation.services.processes import RuleSpec

#: The most identifiers one census file may hold.
CENSUS_MAX_ROWS = 50_000


def language_name(code: str) -> str:
    """A site language's name in the reader's language ("French")."""
    try:
        return str(translation.get_language_info(code)["name_translated"])
    except KeyError:
        return dict(settings.LANGUAGES).get(code, code)


def other_languages() -> list[str]:
    """The site's languages other than the authority's own."""
    return [code for code, _label in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class TranslatedForm(SubmissionForm):
    """A form of organiser-written texts with optional translations: for each field of
    ``translated`` and each other site language, an optional field ``<field>_<language>``
    (shown in a "other languages" section); :meth:`translations` gives them back as a
    model's ``translations``."""

    translated: tuple[str, ...] = ()

    def __init__(self, *args: Any, translations: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for language in other_languages():
            name = language_name(language)
            for field_name in self.translated:
                base = self.fields[field_name]
                field = FreeTextField(
                    label=_("%(field)s in %(language)s") % {"field": base.label, "language": name},
                    required=False,
                    max_length=getattr(base, "max_length", None),
                    widget=forms.Textarea if isinstance(base.widget, forms.Textarea) else None,
                )
                field.widget.attrs.update({"lang": language, "dir": "auto"})
                key = f"{field_name}_{language}"
                self.fields[key] = field
                text = ((translations or {}).get(language) or {}).get(field_name)
                if text:
                    self.initial.setdefault(key, text)

    def translation_fields(self) -> list[forms.BoundField]:
        return [
            self[f"{name}_{language}"] for language in other_languages() for name in self.translated
        ]

    def main_fields(self) -> list[forms.BoundField]:
        hidden = {
            f"{name}_{language}" for language in other_languages() for name in self.translated
        }
        return [field for field in self.visible_fields() if field.name not in hidden]

    def translations_have_errors(self) -> bool:
        return any(field.errors for field in self.translation_fields())

    def translations(self) -> dict[str, dict[str, str]]:
        data = self.cleaned_data
        return {
            language: {name: data.get(f"{name}_{language}") or "" for name in self.translated}
            for language in other_languages()
        }


class ProcessForm(TranslatedForm):
    """A process's texts, department, wards and support threshold. ``departments``: those
    the organiser may choose; ``wards``: every ward. ``creating`` adds the web address
    name (it cannot change afterwards)."""

    translated = ("title", "summary", "description")

    title = FreeTextField(
        label=_("Title"),
        max_length=200,
        help_text=_("What residents will recognise, for example “Riverside regeneration plan”."),
        error_messages={"required": _("Enter a title")},
    )
    slug = forms.SlugField(
        label=_("Web address name"),
        required=False,
        max_length=80,
        help_text=_(
            "The end of the process's web address: lower-case letters, digits and hyphens, "
            "for example “budget-2027”. Leave it empty to make one from the title. It "
            "cannot be changed later."
        ),
        error_messages={"invalid": _("Use only lower-case letters, digits and hyphens")},
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "none"}),
    )
    summary = FreeTextField(
        label=_("Summary"),
        max_length=500,
        help_text=_("One or two sentences, shown in the list of processes and in invitations."),
        error_messages={"required": _("Enter a summary")},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    description = FreeTextField(
        label=_("Description"),
        required=False,
        help_text=_("What the process is about, what will be decided, and how."),
        widget=forms.Textarea,
    )
    department = forms.ChoiceField(
        label=_("Department"),
        help_text=_("The department that runs the process."),
        error_messages={
            "required": _("Choose the department that runs the process"),
            "invalid_choice": _("Choose the department that runs the process"),
        },
    )
    wards = forms.MultipleChoiceField(
        label=_("Wards"),
        required=False,
        help_text=_("The wards the process is about. Choose none if it is about the whole area."),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose wards from the list")},
    )
    support_threshold = forms.IntegerField(
        label=_("Supports a proposal needs for an official answer"),
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text=_("Leave it empty if proposals do not need supports to be answered."),
        error_messages={
            "invalid": _("Enter a whole number, like 100"),
            "min_value": _("Enter a number of at least 1"),
            "max_value": _("Enter a number up to 1,000,000"),
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "govuk-input--width-5"}),
    )

    def __init__(
        self,
        *args: Any,
        departments: Iterable[Any],
        wards: Iterable[Any],
        creating: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.department_objects = {str(d.pk): d for d in departments}
        self.ward_objects = {str(w.pk): w for w in wards}
        self.fields["department"].choices = [  # type: ignore[attr-defined]
            ("", _("Choose a department")),
            *((key, str(d)) for key, d in self.department_objects.items()),
        ]
        wards_field: Any = self.fields["wards"]
        wards_field.choices = [(key, str(w)) for key, w in self.ward_objects.items()]
        if not creating:
            del self.fields["slug"]

    @classmethod
    def initial_for(cls, process: Any) -> dict[str, Any]:
        return {
            "title": process.title,
            "summary": process.summary,
            "description": process.description,
            "department": str(process.department_id),
            "wards": [str(ward.pk) for ward in process.wards.all()],
            "support_threshold": process.support_threshold,
        }

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "summary": data["summary"],
            "description": data.get("description") or "",
            "department": self.department_objects[data["department"]],
            "wards": [self.ward_objects[key] for key in data.get("wards") or []],
            "support_threshold": data.get("support_threshold"),
            "translations": self.translations(),
        }


class PhaseForm(TranslatedForm):
    """A phase: its kind, dates and optional texts."""

    translated = ("title", "description")

    kind = forms.ChoiceField(
        label=_("What happens in this phase"),
        choices=Phase.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose what happens in this phase"),
            "invalid_choice": _("Choose what happens in this phase"),
        },
    )
    starts_on = GovukDateField(
        label=_("Start date"),
        help_text=_("The first day of the phase, for example 1 4 2027."),
        error_messages={"required": _("Enter the start date")},
    )
    ends_on = GovukDateField(
        label=_("End date"),
        help_text=_("The last day of the phase (included)."),
        error_messages={"required": _("Enter the end date")},
    )
    title = FreeTextField(
        label=_("Title"),
        required=False,
        max_length=200,
        help_text=_("Leave it empty to call the phase by its kind."),
    )
    description = FreeTextField(
        label=_("What residents can do in this phase"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("The end date must be the same as or after the start date"))
        return data

    @classmethod
    def initial_for(cls, phase: Phase) -> dict[str, Any]:
        return {
            "kind": phase.kind,
            "starts_on": phase.starts_on,
            "ends_on": phase.ends_on,
            "title": phase.title,
            "description": phase.description,
        }

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "title": data.get("title") or "",
            "description": data.get("description") or "",
            "translations": self.translations(),
        }


#: The question above each action's conditions on the rules page.
ACTION_QUESTIONS: dict[str, Any] = {
    Action.RESPOND: _("Who can respond to consultations and surveys?"),
    Action.PROPOSE: _("Who can submit proposals?"),
    Action.SUPPORT: _("Who can support proposals?"),
    Action.COMMENT: _("Who can comment?"),
    Action.VOTE: _("Who can vote?"),
}


class RulesForm(SubmissionForm):
    """Who may do each action: one group of conditions per action (``<action>_<condition>``
    fields). With no condition ticked, any signed-in resident may."""

    def __init__(self, *args: Any, rules: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for action in Action.values:
            rule = rules.get(action)
            self.fields[f"{action}_email_verified"] = forms.BooleanField(
                label=_("They have confirmed their email address"), required=False
            )
            self.fields[f"{action}_ward_resident"] = forms.BooleanField(
                label=_("They live in the process's wards (from the address on their account)"),
                required=False,
            )
            self.fields[f"{action}_min_age"] = forms.IntegerField(
                label=_("Minimum age"),
                required=False,
                min_value=1,
                max_value=120,
                help_text=_("From the date of birth on their account. Leave it empty for any age."),
                error_messages={
                    "invalid": _("Enter the minimum age as a whole number, like 16"),
                    "min_value": _("Enter a minimum age from 1 to 120"),
                    "max_value": _("Enter a minimum age from 1 to 120"),
                },
                widget=forms.TextInput(
                    attrs={"inputmode": "numeric", "class": "govuk-input--width-3"}
                ),
            )
            self.fields[f"{action}_census_only"] = forms.BooleanField(
                label=_("Only the people on the census list, with their one-time code"),
                help_text=_(
                    "No account or email address is needed; the other conditions are not checked."
                ),
                required=False,
            )
            if action == Action.RESPOND:
                self.fields[f"{action}_anonymous_allowed"] = forms.BooleanField(
                    label=_("People without an account, after confirming an email address"),
                    help_text=_("One response per email address."),
                    required=False,
                )
            if rule is not None:
                for name in ("email_verified", "ward_resident", "min_age", "census_only"):
                    self.initial[f"{action}_{name}"] = getattr(rule, name)
                if action == Action.RESPOND:
                    self.initial[f"{action}_anonymous_allowed"] = rule.anonymous_allowed

    def sections(self) -> list[dict[str, Any]]:
        """One group of fields per action, in the order of the actions."""
        return [
            {
                "action": action,
                "legend": ACTION_QUESTIONS[action],
                "fields": [
                    field for field in self.visible_fields() if field.name.startswith(f"{action}_")
                ],
            }
            for action in Action.values
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for action in Action.values:
            if data.get(f"{action}_census_only") and (
                data.get(f"{action}_email_verified")
                or data.get(f"{action}_ward_resident")
                or data.get(f"{action}_min_age")
                or data.get(f"{action}_anonymous_allowed")
            ):
                self.add_error(
                    f"{action}_census_only",
                    _(
                        "The census list stands alone: untick the other conditions for "
                        "“%(action)s”, or untick the census list"
                    )
                    % {"action": Action(action).label},
                )
        return data

    def specs(self) -> dict[str, RuleSpec]:
        data = self.cleaned_data
        return {
            action: RuleSpec(
                email_verified=bool(data.get(f"{action}_email_verified")),
                ward_resident=bool(data.get(f"{action}_ward_resident")),
                min_age=data.get(f"{action}_min_age"),
                census_only=bool(data.get(f"{action}_census_only")),
                anonymous_allowed=bool(data.get(f"{action}_anonymous_allowed")),
            )
            for action in Action.values
        }


class DocumentForm(TranslatedForm):
    """A PDF document of a process and its title."""

    translated = ("title",)

    title = FreeTextField(
        label=_("Title"),
        max_length=200,
        help_text=_("For example “Draft regeneration plan (March 2027)”."),
        error_messages={"required": _("Enter the document's title")},
    )
    file = forms.FileField(
        label=_("Upload a PDF"),
        error_messages={
            "required": _("Select a PDF file"),
            "empty": _("The selected file is empty"),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )


class CensusUploadForm(SubmissionForm):
    """A CSV file of the census list: one person a row, their identifier in the first
    column. ``rows`` holds (row number, identifier) once valid."""

    file = forms.FileField(
        label=_("Upload the census list"),
        help_text=_(
            "A CSV file with one person a row and their identifier (a voter number, a "
            "tenancy reference...) in the first column, saved as UTF-8."
        ),
        error_messages={
            "required": _("Select a CSV file"),
            "empty": _("The selected file is empty"),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    has_header = forms.BooleanField(
        label=_("The first row holds the column names"),
        required=False,
        initial=True,
    )

    rows: list[tuple[int, str]]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is None:
            return data
        limit = settings.UPLOAD_MAX_MB * 1024 * 1024
        if upload.size is not None and upload.size > limit:
            self.add_error(
                "file",
                _("The selected file must be smaller than %(size)s MB")
                % {"size": settings.UPLOAD_MAX_MB},
            )
            return data
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            self.add_error("file", _("The selected file must be a CSV file saved as UTF-8"))
            return data
        try:
            self.rows = census_rows(text, has_header=bool(data.get("has_header")))
        except ValidationError as error:
            self.add_error("file", error)
        return data


def census_rows(text: str, *, has_header: bool) -> list[tuple[int, str]]:
    """(row number, identifier) of each non-empty row of a CSV text (first column),
    comma, semicolon or tab separated. ``ValidationError`` for a file that is not a CSV,
    has no identifiers, or too many."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[int, str]] = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
            if has_header and number == 1:
                continue
            value = row[0].strip() if row else ""
            if not value:
                continue
            if len(value) > IDENTIFIER_MAX_LENGTH:
                raise ValidationError(
                    _("The identifier in row %(row)s is longer than %(max)s characters")
                    % {"row": number, "max": IDENTIFIER_MAX_LENGTH}
                )
            rows.append((number, value))
            if len(rows) > CENSUS_MAX_ROWS:
                raise ValidationError(
                    _("The file has more than %(max)s identifiers: split it in parts")
                    % {"max": f"{CENSUS_MAX_ROWS:,}"}
                )
    except csv.Error:
        raise ValidationError(_("The selected file must be a CSV file")) from None
    if not rows:
        raise ValidationError(_("The selected file has no identifiers in its first column"))
    return rows


class CensusClaimForm(forms.Form):
    """The identifier the organiser listed and the one-time code sent on paper."""

    identifier = forms.CharField(
        label=_("Your identifier"),
        max_length=IDENTIFIER_MAX_LENGTH,
        help_text=_("As written on the letter with your code."),
        error_messages={"required": _("Enter your identifier")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    code = forms.CharField(
        label=_("Your one-time code"),
        max_length=40,
        help_text=_("12 letters and digits, like ABCD-EFGH-JKLM."),
        error_messages={"required": _("Enter your one-time code")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "spellcheck": "false",
                "autocapitalize": "characters",
                "class": "govuk-input--width-20",
            }
        ),
    )


class NewsForm(forms.Form):
    """Whether the resident wants participation news."""

    news = forms.ChoiceField(
        label=_("Do you want to be invited to take part in your ward?"),
        choices=[("yes", _("Yes, invite me")), ("no", _("No"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose yes or no"), "invalid_choice": _("Choose yes or no")},
    )


class PaperPersonForm(SubmissionForm):
    """Who a paper entry is for: their national identity number, and the official's
    declaration that they checked an identity document in person."""

    national_id = forms.CharField(
        label=_("Their national identity number"),
        help_text=_("From the identity document they showed you, like RV12345678."),
        max_length=20,
        error_messages={"required": _("Enter their national identity number")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "govuk-input--width-10"}
        ),
    )
    declaration = forms.BooleanField(
        label=_("I checked their identity document and they may take part"),
        error_messages={
            "required": _("Confirm that you checked their identity document and they may take part")
        },
    )

    def clean_national_id(self) -> str:
        return validate_national_id(self.cleaned_data["national_id"])


class PaperSupportForm(PaperPersonForm):
    """A paper support: the proposal's reference, as printed on the paper form."""

    reference = forms.CharField(
        label=_("The proposal's reference"),
        max_length=20,
        help_text=_("As printed on the proposal, for example P-2027-0042."),
        error_messages={"required": _("Enter the proposal's reference")},
        widget=forms.TextInput(attrs={"spellcheck": "false", "class": "govuk-input--width-10"}),
    )

    field_order = ["reference", "national_id", "declaration"]


class PaperBallotForm(PaperPersonForm):
    """A paper ballot: the projects ticked on it."""

    projects = forms.MultipleChoiceField(
        label=_("The projects chosen on the ballot"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Select the projects chosen on the ballot"),
            "invalid_choice": _("Select projects from the list"),
        },
    )

    field_order = ["projects", "national_id", "declaration"]

    def __init__(self, *args: Any, projects: Iterable[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        projects_field: Any = self.fields["projects"]
        projects_field.choices = [(str(p.pk), str(p)) for p in projects]

    def project_ids(self) -> list[int]:
        return [int(value) for value in self.cleaned_data["projects"]]

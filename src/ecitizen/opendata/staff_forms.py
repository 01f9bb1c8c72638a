"""Forms of the publishers' pages: a dataset's metadata, a file, a file's fields (its Table
Schema), a withdrawal's reason, and an API token's name.

The forms check what a browser can get wrong (a choice that is not offered, a date that is
not one); the rules of the catalogue (a name in use, a title in the main language, an end
before the start) are the services', whose messages the views put on the fields here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ecitizen.core.forms import GovukDateField, SubmissionForm
from ecitizen.core.text import FreeTextField
from ecitizen.opendata import validation
from ecitizen.opendata.vocabularies import FORMATS, FREQUENCIES, LICENCES, THEMES

#: Extensions a publisher may upload, for the file input's ``accept``.
ACCEPT = ",".join(ext for fmt in FORMATS.values() for ext in fmt.extensions)


def language_name(code: str) -> str:
    """A site language's name in the reader's language ("French")."""
    try:
        return str(translation.get_language_info(code)["name_translated"])
    except KeyError:
        return dict(settings.LANGUAGES).get(code, code)


def other_languages() -> list[str]:
    return [code for code, _label in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def _select(choices: list[tuple[str, Any]], empty: Any) -> list[tuple[str, Any]]:
    return [("", empty), *choices]


class DatasetForm(SubmissionForm):
    """A dataset's metadata. ``departments`` (creation only) are those the publisher may
    create datasets in; ``wards`` every ward (code -> ward)."""

    department = forms.ChoiceField(
        label=_("Department"),
        help_text=_("The department that publishes the dataset and answers questions on it."),
        error_messages={
            "required": _("Choose the department that publishes the dataset"),
            "invalid_choice": _("Choose the department that publishes the dataset"),
        },
    )
    name = forms.CharField(
        label=_("Web address name"),
        help_text=_(
            "The last part of the dataset's address, which tools and links use: lower-case "
            "letters, digits, hyphens or underscores, for example “street-trees”."
        ),
        max_length=100,
        error_messages={"required": _("Enter the web address name")},
        widget=forms.TextInput(
            attrs={"spellcheck": "false", "autocapitalize": "none", "autocomplete": "off"}
        ),
    )
    licence_id = forms.ChoiceField(
        label=_("Licence"),
        help_text=_("What people may do with the data."),
        error_messages={
            "required": _("Choose a licence"),
            "invalid_choice": _("Choose a licence from the list"),
        },
    )
    themes = forms.MultipleChoiceField(
        label=_("Themes"),
        help_text=_("The EU data themes the dataset belongs to. Select all that apply."),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose themes from the list")},
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        help_text=_("Words people search for, separated by commas, for example “trees, parks”."),
        required=False,
        max_length=1000,
        error_messages={"max_length": _("Keep the keywords to 1000 characters")},
    )
    ward = forms.ChoiceField(
        label=_("Area covered"),
        required=False,
        error_messages={"invalid_choice": _("Choose a ward from the list")},
    )
    temporal_start = GovukDateField(
        label=_("Period covered: from"),
        help_text=_("The first day the data covers, for example 1 4 2025."),
        required=False,
    )
    temporal_end = GovukDateField(
        label=_("Period covered: to"),
        help_text=_("The last day the data covers. Leave it empty if the data is still growing."),
        required=False,
    )
    frequency = forms.ChoiceField(
        label=_("How often it is updated"),
        required=False,
        error_messages={"invalid_choice": _("Choose a frequency from the list")},
    )
    version = forms.CharField(
        label=_("Version"),
        help_text=_("Your own label for this edition, for example “2026-Q1” or “1.2”."),
        required=False,
        max_length=50,
        error_messages={"max_length": _("Keep the version to 50 characters")},
    )
    contact_name = forms.CharField(
        label=_("Contact name"),
        help_text=_("A team rather than a person, for example “Parks data team”."),
        required=False,
        max_length=200,
        error_messages={"max_length": _("Keep the contact name to 200 characters")},
    )
    contact_email = forms.EmailField(
        label=_("Contact email address"),
        help_text=_("A shared mailbox. The department's address is used when this is empty."),
        required=False,
        max_length=254,
        error_messages={"invalid": _("Enter an email address like name@example.org")},
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    private = forms.BooleanField(
        label=_("Private: only the department can see it, even once published"),
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        departments: list[Any] | None = None,
        wards: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choice = self._choice_field
        if departments is None:
            del self.fields["department"]
        else:
            choice("department").choices = _select(
                [(d.slug, str(d)) for d in departments], _("Choose a department")
            )
            if len(departments) == 1 and not self.is_bound:
                self.initial.setdefault("department", departments[0].slug)
        choice("licence_id").choices = _select(
            [(code, licence.title) for code, licence in LICENCES.items()], _("Choose a licence")
        )
        choice("themes").choices = [(code, label) for code, label in THEMES.items()]
        choice("ward").choices = [
            ("", _("The whole authority")),
            *[(code, str(ward)) for code, ward in (wards or {}).items()],
        ]
        choice("frequency").choices = _select(
            [(code, label) for code, label in FREQUENCIES.items()], _("Not said")
        )
        # Title and description in each site language: the main language's title first.
        titles: dict[str, forms.Field] = {}
        main = settings.LANGUAGE_CODE
        for code in [main, *other_languages()]:
            language = language_name(code)
            titles[f"title_{code}"] = forms.CharField(
                label=_("Title")
                if code == main
                else _("Title in %(language)s") % {"language": language},
                help_text=_("What the data is, in a few words, for example “Street trees”.")
                if code == main
                else "",
                required=code == main,
                max_length=200,
                error_messages={
                    "required": _("Enter a title"),
                    "max_length": _("Keep the title to 200 characters"),
                },
                widget=forms.TextInput(attrs={"lang": code}),
            )
            titles[f"description_{code}"] = forms.CharField(
                label=_("Description")
                if code == main
                else _("Description in %(language)s") % {"language": language},
                help_text=_("What is in it, where it comes from, and anything users should know.")
                if code == main
                else "",
                required=False,
                max_length=10_000,
                error_messages={"max_length": _("Keep the description to 10,000 characters")},
                widget=forms.Textarea(attrs={"lang": code, "rows": 4}),
            )
        # Department and name first, then the texts, then the rest in declaration order.
        ordered = [key for key in ("submission", "department", "name") if key in self.fields]
        ordered += list(titles)
        rest = [key for key in self.fields if key not in ordered]
        self.fields.update(titles)
        self.order_fields([*ordered, *rest])

    def _choice_field(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field

    def clean_name(self) -> str:
        """The name's shape is checked here too, so that it is reported with the form's
        other mistakes; whether it is in use is the service's check."""
        from ecitizen.opendata.services import NAME_RE

        name = str(self.cleaned_data["name"]).strip()
        if not NAME_RE.match(name):
            raise forms.ValidationError(
                _(
                    "Use 2 to 100 lower-case letters, digits, hyphens or underscores "
                    "(for example “street-trees”)."
                ),
                code="invalid",
            )
        return name

    def sections(self) -> dict[str, list[forms.BoundField]]:
        """The visible fields in the groups the page shows them in."""
        main = settings.LANGUAGE_CODE
        groups = {
            "about": ["department", "name", f"title_{main}", f"description_{main}"],
            "translations": [
                key
                for code in other_languages()
                for key in (f"title_{code}", f"description_{code}")
            ],
            "use": ["licence_id", "themes", "keywords"],
            "coverage": ["ward", "temporal_start", "temporal_end", "frequency", "version"],
            "contact": ["contact_name", "contact_email", "private"],
        }
        return {
            group: [self[key] for key in keys if key in self.fields]
            for group, keys in groups.items()
        }

    def translations_have_errors(self) -> bool:
        return any(field.errors for field in self.sections()["translations"])

    @staticmethod
    def initial_for(dataset: Any) -> dict[str, Any]:
        """The form's answers for an existing dataset."""
        initial: dict[str, Any] = {
            "name": dataset.name,
            "licence_id": dataset.licence_id,
            "themes": list(dataset.themes),
            "keywords": ", ".join(dataset.keywords),
            "ward": dataset.ward.code if dataset.ward else "",
            "temporal_start": dataset.temporal_start,
            "temporal_end": dataset.temporal_end,
            "frequency": dataset.frequency,
            "version": dataset.version,
            "contact_name": dataset.contact_name,
            "contact_email": dataset.contact_email,
            "private": dataset.private,
        }
        for code, text in dataset.titles.items():
            initial[f"title_{code}"] = text
        for code, text in dataset.descriptions.items():
            initial[f"description_{code}"] = text
        return initial

    def service_fields(self) -> dict[str, Any]:
        """The cleaned answers as the services take them."""
        data = self.cleaned_data
        languages = [code for code, _label in settings.LANGUAGES]
        return {
            "name": data["name"].strip(),
            "titles": {code: data.get(f"title_{code}") or "" for code in languages},
            "descriptions": {code: data.get(f"description_{code}") or "" for code in languages},
            "licence_id": data["licence_id"],
            "themes": list(data["themes"]),
            "keywords": data["keywords"],
            "ward": data["ward"] or None,
            "temporal_start": data["temporal_start"],
            "temporal_end": data["temporal_end"],
            "frequency": data["frequency"],
            "version": data["version"],
            "contact_name": data["contact_name"],
            "contact_email": data["contact_email"],
            "private": data["private"],
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put a :class:`~ecitizen.opendata.services.DatasetInvalid`'s messages on the
        fields they are about (a form-wide error for any other)."""
        main = settings.LANGUAGE_CODE
        targets = {"titles": f"title_{main}", "descriptions": f"description_{main}"}
        for key, messages in errors.items():
            field = targets.get(key, key)
            for message in messages:
                self.add_error(field if field in self.fields else None, str(message))


class UploadForm(SubmissionForm):
    """A file to add to a dataset (or to replace a file with: without the name)."""

    upload = forms.FileField(
        label=_("Upload a file"),
        help_text=_(
            "CSV, Excel (XLSX), JSON, Parquet, GeoJSON or PDF, up to %(size)s MB. "
            "Tables are checked row by row."
        ),
        error_messages={
            "required": _("Select a file"),
            "empty": _("The selected file is empty"),
            "invalid": _("Select a file"),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    title = forms.CharField(
        label=_("Name of the file"),
        help_text=_("What this file holds, for example “Trees in 2026”. The file's name if empty."),
        required=False,
        max_length=200,
        error_messages={"max_length": _("Keep the name to 200 characters")},
    )

    def __init__(self, *args: Any, replacing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["upload"]
        field.help_text = str(field.help_text) % {"size": settings.OPENDATA_UPLOAD_MAX_MB}
        if replacing:
            del self.fields["title"]
            field.label = _("Upload the new file")


class WithdrawForm(forms.Form):
    reason = FreeTextField(
        label=_("Why is the dataset withdrawn?"),
        help_text=_(
            "Everyone reading the dataset's page sees this, for example “Replaced by the "
            "2026 tree survey” or “The source data was found to be wrong”."
        ),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": _("Enter why the dataset is withdrawn"),
            "max_length": _("The reason must be 1000 characters or fewer"),
        },
    )


class TokenForm(SubmissionForm):
    name = forms.CharField(
        label=_("Name of the token"),
        help_text=_(
            "What uses it, so you can tell your tokens apart, for example “Nightly upload”."
        ),
        max_length=100,
        error_messages={
            "required": _("Enter a name for the token"),
            "max_length": _("The name must be 100 characters or fewer"),
        },
    )


# --- a file's fields (its Table Schema) -------------------------------------------------

NUMERIC_TYPES = {"integer", "number"}


class SchemaForm(forms.Form):
    """A Table Schema as a form: for each field of the file, its type, whether it is
    required and unique, a description, and the smallest and largest value of numbers.
    Each field's inputs are prefixed ``f<n>-``; what the form does not show (formats,
    titles, other constraints) is kept as it was."""

    def __init__(self, *args: Any, schema: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = schema
        types = [(code, label) for code, label in validation.FIELD_TYPES.items()]
        for index, field in enumerate(schema.get("fields", [])):
            name = str(field.get("name", ""))
            constraints = field.get("constraints") or {}
            key = f"f{index}"
            label_args = {"field": name}
            self.fields[f"{key}-type"] = forms.ChoiceField(
                label=_("Type of “%(field)s”") % label_args,
                choices=types,
                initial=field.get("type", "string"),
                error_messages={"invalid_choice": _("Choose a type from the list")},
            )
            self.fields[f"{key}-required"] = forms.BooleanField(
                label=_("Every row must have a value"),
                required=False,
                initial=bool(constraints.get("required")),
            )
            self.fields[f"{key}-unique"] = forms.BooleanField(
                label=_("No two rows may have the same value"),
                required=False,
                initial=bool(constraints.get("unique")),
            )
            self.fields[f"{key}-description"] = forms.CharField(
                label=_("Description of “%(field)s”") % label_args,
                help_text=_(
                    "What the column holds, with its unit, for example “Height in metres”."
                ),
                required=False,
                max_length=1000,
                initial=field.get("description", ""),
                error_messages={"max_length": _("Keep the description to 1000 characters")},
            )
            for bound, label in (
                ("minimum", _("Smallest value of “%(field)s”")),
                ("maximum", _("Largest value of “%(field)s”")),
            ):
                self.fields[f"{key}-{bound}"] = forms.DecimalField(
                    label=label % label_args,
                    help_text=_("Numbers only."),
                    required=False,
                    initial=constraints.get(bound),
                    error_messages={"invalid": _("Enter a number, like 0 or 2.5")},
                    widget=forms.TextInput(
                        attrs={"inputmode": "decimal", "class": "govuk-input--width-10"}
                    ),
                )

    def groups(self) -> list[dict[str, Any]]:
        """For each field of the schema: the column's name, its inputs, and its smallest
        and largest values (shown open for a number, else behind a disclosure)."""
        result = []
        for index, field in enumerate(self.schema.get("fields", [])):
            key = f"f{index}"
            bounds = [self[f"{key}-minimum"], self[f"{key}-maximum"]]
            field_type = self[f"{key}-type"].value()
            result.append(
                {
                    "name": str(field.get("name", "")),
                    "inputs": [
                        self[f"{key}-{part}"]
                        for part in ("type", "required", "unique", "description")
                    ],
                    "bounds": bounds,
                    "numeric": field_type in NUMERIC_TYPES
                    or any(b.errors or b.value() not in (None, "") for b in bounds),
                }
            )
        return result

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for index, _field in enumerate(self.schema.get("fields", [])):
            key = f"f{index}"
            field_type = data.get(f"{key}-type")
            low, high = data.get(f"{key}-minimum"), data.get(f"{key}-maximum")
            if field_type and field_type not in NUMERIC_TYPES:
                for bound, value in (("minimum", low), ("maximum", high)):
                    if value is not None:
                        self.add_error(
                            f"{key}-{bound}",
                            _("Only numbers have a smallest and largest value: clear this box"),
                        )
                continue
            if field_type == "integer":
                for bound, value in (("minimum", low), ("maximum", high)):
                    if value is not None and value != value.to_integral_value():
                        self.add_error(f"{key}-{bound}", _("Enter a whole number"))
            if low is not None and high is not None and low > high:
                self.add_error(
                    f"{key}-maximum", _("The largest value must be at least the smallest")
                )
        return data

    def new_schema(self) -> dict[str, Any]:
        """The schema with the answers applied; everything else kept."""
        data = self.cleaned_data
        fields = []
        for index, field in enumerate(self.schema.get("fields", [])):
            key = f"f{index}"
            changed = dict(field)
            old_type = field.get("type", "string")
            changed["type"] = data[f"{key}-type"]
            if changed["type"] != old_type:
                changed.pop("format", None)  # a date's format means nothing to a number
            constraints = dict(field.get("constraints") or {})
            for flag in ("required", "unique"):
                if data[f"{key}-{flag}"]:
                    constraints[flag] = True
                else:
                    constraints.pop(flag, None)
            for bound in ("minimum", "maximum"):
                value = data.get(f"{key}-{bound}")
                if value is None or changed["type"] not in NUMERIC_TYPES:
                    constraints.pop(bound, None)
                else:
                    constraints[bound] = _number(value, integer=changed["type"] == "integer")
            if constraints:
                changed["constraints"] = constraints
            else:
                changed.pop("constraints", None)
            description = (data.get(f"{key}-description") or "").strip()
            if description:
                changed["description"] = description
            else:
                changed.pop("description", None)
            fields.append(changed)
        return {**self.schema, "fields": fields}


def _number(value: Decimal, *, integer: bool) -> int | float:
    if integer or value == value.to_integral_value():
        return int(value)
    return float(value)

"""Forms built from a service definition: one per question page or eligibility question,
and the small forms of casework."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from ecitizen.cases.services import IDENTITY_DOCUMENTS, MESSAGE_MAX_LENGTH
from ecitizen.catalogue.spec import localised
from ecitizen.core.forms import GovukDateField
from ecitizen.core.text import FreeTextField

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
PHONE_PATTERN = r"^\+?[0-9 ()-]{7,20}$"
NATIONAL_ID_PATTERN = r"^[A-Za-z0-9 -]{6,20}$"


class AmountField(forms.DecimalField):
    """A number or an amount as people type it: "£1,250.50", "1 250,50", "1250"."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            text = re.sub(r"[\s£$€\u00a0]", "", value)
            if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
                text = text.replace(",", "")  # thousands separators
            elif text.count(",") == 1 and "." not in text:
                text = text.replace(",", ".")  # a decimal comma
            value = text
        return super().to_python(value)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (empty when none chosen)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _date_validator(when: str) -> Any:
    """The date must be in the past (a birth date) or in the future (a start date)."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    def check(value: Any) -> None:
        today = timezone.localdate()
        if when == "past" and value >= today:
            raise ValidationError(_("The date must be in the past"), code="not_past")
        if when == "future" and value <= today:
            raise ValidationError(_("The date must be in the future"), code="not_future")

    return check


def _field_for(question: dict[str, Any], *, has_files: bool) -> forms.Field:  # noqa: PLR0912, PLR0915 - one branch per question type
    kind = question["type"]
    required = question.get("required", True)
    rules = question.get("validation", {})
    label = localised(question["label"])
    hint = localised(question.get("hint"))
    required_message = {
        "yes_no": _("Select yes or no"),
        "single_choice": _("Select an option"),
        "multiple_choice": _("Select at least one option"),
        "file": _("Select a file"),
    }.get(kind, _("Enter an answer"))
    common: dict[str, Any] = {
        "label": label,
        "help_text": hint,
        "required": required,
        "error_messages": {"required": required_message},
    }
    field: forms.Field
    if kind in {"text", "national_id", "phone", "email", "long_text", "address"}:
        validators = []
        if rules.get("pattern"):
            validators.append(
                RegexValidator(
                    rules["pattern"],
                    localised(rules.get("pattern_message"))
                    or _("Enter the answer in the right format"),
                )
            )
        if kind == "national_id":
            validators.append(
                RegexValidator(
                    NATIONAL_ID_PATTERN, _("Enter a national identity number in the right format")
                )
            )
        if kind == "phone":
            validators.append(
                RegexValidator(
                    PHONE_PATTERN, _("Enter a phone number, like 01632 960 001 or +44 7700 900 982")
                )
            )
        widget: forms.Widget
        if kind in {"long_text", "address"}:
            widget = forms.Textarea(
                attrs={"autocomplete": "street-address"} if kind == "address" else {}
            )
        elif kind == "email":
            widget = forms.EmailInput(attrs={"autocomplete": "email"})
        elif kind == "phone":
            widget = forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"})
        else:
            widget = forms.TextInput(attrs={"spellcheck": "false"} if kind == "national_id" else {})
        field_class = forms.EmailField if kind == "email" else FreeTextField
        field = field_class(
            widget=widget,
            max_length=rules.get("max_length", 5000 if kind == "long_text" else 500),
            min_length=rules.get("min_length"),
            validators=validators,
            **common,
        )
        if kind == "email":
            field.error_messages["invalid"] = _(
                "Enter an email address in the correct format, like name@example.com"
            )
    elif kind in {"number", "money"}:
        field = AmountField(
            max_digits=14,
            decimal_places=0 if kind == "number" else 2,
            min_value=Decimal(str(rules["min"])) if "min" in rules else None,
            max_value=Decimal(str(rules["max"])) if "max" in rules else None,
            widget=forms.TextInput(
                attrs={
                    "inputmode": "numeric" if kind == "number" else "decimal",
                    "class": "govuk-input--width-10",
                }
            ),
            **common,
        )
        field.error_messages.update(
            invalid=_("Enter a whole number")
            if kind == "number"
            else _("Enter an amount, like 1250 or 1250.50"),
            min_value=_("The number must be %(limit_value)s or more"),
            max_value=_("The number must be %(limit_value)s or less"),
            max_decimal_places=_("Enter a whole number")
            if kind == "number"
            else _("Enter the amount with no more than 2 decimal places"),
        )
    elif kind == "date":
        field = GovukDateField(**common)
        when = rules.get("date", "any")
        if when in {"past", "future"}:
            field.validators.append(_date_validator(when))
    elif kind == "yes_no":
        field = forms.ChoiceField(choices=YES_NO, widget=forms.RadioSelect, **common)
    elif kind in {"single_choice", "multiple_choice"}:
        choices = [(c["value"], localised(c["label"])) for c in question["choices"]]
        hints = {c["value"]: localised(c.get("hint")) for c in question["choices"] if c.get("hint")}
        if kind == "single_choice":
            field = forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
        else:
            field = forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, **common
            )
        field.choice_hints = hints  # type: ignore[attr-defined]
    else:  # file
        rules = question["file"]
        formats = ", ".join(
            f.split("/")[1].upper().replace("JPEG", "JPG") for f in rules["formats"]
        )
        size_hint = _("%(formats)s, up to %(size)s MB each.") % {
            "formats": formats,
            "size": rules["max_size_mb"],
        }
        common["help_text"] = f"{hint} {size_hint}".strip()
        # Files already uploaded satisfy a required question.
        common["required"] = required and not has_files
        field = MultipleFileField(**common)
        field.widget.attrs["accept"] = ",".join(rules["formats"])
    return field


class QuestionPageForm(forms.Form):
    """The questions of one page of a service. With a single question, its label is the
    page's heading (GOV.UK: one thing per page)."""

    def __init__(
        self,
        *args: Any,
        page: dict[str, Any],
        questions: list[dict[str, Any]],
        files_present: set[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.questions = {q["id"]: q for q in questions}
        single = len(questions) == 1 and not page.get("title")
        for question in questions:
            field = _field_for(question, has_files=question["id"] in files_present)
            if single:
                field.page_heading = True  # type: ignore[attr-defined]
            self.fields[question["id"]] = field

    @staticmethod
    def initial_from_answers(
        questions: list[dict[str, Any]], answers: dict[str, Any]
    ) -> dict[str, Any]:
        import datetime

        initial: dict[str, Any] = {}
        for question in questions:
            if question["id"] not in answers or question["type"] == "file":
                continue
            value = answers[question["id"]]
            if question["type"] == "yes_no" and isinstance(value, bool):
                value = "yes" if value else "no"
            elif question["type"] == "date" and value:
                value = datetime.date.fromisoformat(value)
            initial[question["id"]] = value
        return initial

    def answers(self) -> dict[str, Any]:
        """The cleaned values as JSON answers (files excluded: stored separately)."""
        values: dict[str, Any] = {}
        for question_id, question in self.questions.items():
            value = self.cleaned_data.get(question_id)
            kind = question["type"]
            if kind == "file":
                continue
            if kind == "yes_no":
                values[question_id] = value == "yes" if value else ""
            elif kind == "number":
                values[question_id] = int(value) if value is not None else ""
            elif kind == "money":
                values[question_id] = (
                    str(value.quantize(Decimal("0.01"))) if value is not None else ""
                )
            elif kind == "date":
                values[question_id] = value.isoformat() if value else ""
            elif kind == "multiple_choice":
                values[question_id] = list(value or [])
            elif kind in {"text", "long_text", "address", "national_id", "phone"}:
                values[question_id] = re.sub(r"\s+\n", "\n", (value or "").strip())
            else:
                values[question_id] = value or ""
        return values

    def new_files(self) -> dict[str, list[Any]]:
        return {
            question_id: list(self.cleaned_data.get(question_id) or [])
            for question_id, question in self.questions.items()
            if question["type"] == "file" and self.cleaned_data.get(question_id)
        }


class EligibilityForm(forms.Form):
    """One "check you can use this service" question: yes/no, or its choices."""

    def __init__(self, *args: Any, question: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = (
            [(c["value"], localised(c["label"])) for c in question["choices"]]
            if question.get("choices")
            else list(YES_NO)
        )
        self.question = question
        field = forms.ChoiceField(
            label=localised(question["question"]),
            help_text=localised(question.get("hint")),
            choices=choices,
            widget=forms.RadioSelect,
            error_messages={"required": _("Select an answer")},
        )
        field.page_heading = True  # type: ignore[attr-defined]
        self.fields["answer"] = field

    def answer(self) -> Any:
        value = self.cleaned_data["answer"]
        if not self.question.get("choices"):
            return value == "yes"
        return value


class DeclarationForm(forms.Form):
    declaration = forms.BooleanField(
        label=_("I confirm that the information I have given is true and complete."),
        error_messages={"required": _("Confirm that the information you have given is true")},
    )


class ConsentForm(forms.Form):
    """A helper or an official names the resident they apply for; the resident then
    receives a one-time code (see ``cases.services.assist_consent_request``)."""

    resident_email = forms.EmailField(
        label=_("Email address of the resident you are helping"),
        help_text=_(
            "If they have an account, we send them a code to read out to you. Nothing is "
            "shown about them until you enter it."
        ),
        error_messages={
            "required": _("Enter the resident's email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
        },
    )


class ConsentCodeForm(forms.Form):
    """The one-time code the resident reads out, and their agreement."""

    code = forms.RegexField(
        label=_("Code the resident read out to you"),
        help_text=_("6 digits, for example 042917"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        error_messages={
            "required": _("Enter the code the resident read out to you"),
            "invalid": _("Enter the code as 6 digits, for example 042917"),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    consent = forms.BooleanField(
        label=_(
            "The resident has asked me to apply for them and agrees that I see the answers "
            "and documents of this application."
        ),
        error_messages={"required": _("Confirm that the resident agrees")},
    )


class InPersonCheckForm(forms.Form):
    """An official at the counter records the identity document they checked."""

    identity_document = forms.ChoiceField(
        label=_("Which identity document did you check?"),
        choices=list(IDENTITY_DOCUMENTS.items()),
        widget=forms.RadioSelect,
        error_messages={"required": _("Select the identity document you checked")},
    )
    consent = forms.BooleanField(
        label=_(
            "The resident is here in person, I checked their identity document, and they "
            "agree that I apply for them and see the answers and documents of this "
            "application."
        ),
        error_messages={"required": _("Confirm that you checked their identity and they agree")},
    )


class ActionForm(forms.Form):
    text = FreeTextField(
        label=_("Reason or message to the applicant"),
        required=False,
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea,
    )
    attachments = MultipleFileField(
        label=_("Attach files"), required=False, help_text=_("PDF, JPG or PNG.")
    )
    publish = forms.BooleanField(
        label=_(
            "Publish the attached records in the public archive (they hold no personal information)"
        ),
        required=False,
    )


class NoteForm(forms.Form):
    text = FreeTextField(
        label=_("Internal note"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea,
        help_text=_("Only officials see notes."),
        error_messages={
            "required": _("Enter the note"),
            "max_length": _("The note must be %(limit_value)s characters or fewer"),
        },
    )


class MessageForm(forms.Form):
    text = FreeTextField(
        label=_("Message to the applicant"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea,
        error_messages={
            "required": _("Enter the message"),
            "max_length": _("The message must be %(limit_value)s characters or fewer"),
        },
    )


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(
        label=_("Assign to"), error_messages={"required": _("Select who works on the case")}
    )

    def __init__(self, *args: Any, officials: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", _("Nobody (unassigned)")),
            *[(str(u.pk), u.full_name or u.email) for u in officials],
        ]
        self.fields["assignee"].required = False


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Overall, how did you feel about applying online?"),
        coerce=int,
        choices=[
            (5, _("Very satisfied")),
            (4, _("Satisfied")),
            (3, _("Neither satisfied nor dissatisfied")),
            (2, _("Dissatisfied")),
            (1, _("Very dissatisfied")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Select how you felt about the service")},
    )
    comment = FreeTextField(
        label=_("How could we improve this service?"),
        help_text=_("Do not include personal or financial information."),
        required=False,
        max_length=1200,
        widget=forms.Textarea,
    )

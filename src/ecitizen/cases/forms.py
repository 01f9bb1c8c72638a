"""Forms built from a service definition: one per question page or eligibility question,
and the small forms of casework."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop, ngettext
from django.utils.translation import gettext_lazy as _

from ecitizen.cases.services import IDENTITY_DOCUMENTS, MESSAGE_MAX_LENGTH
from ecitizen.catalogue.spec import localised
from ecitizen.core.forms import BlankWrittenOnce, GovukDateField
from ecitizen.core.patterns import answer_pattern
from ecitizen.core.text import FreeTextField
from ecitizen.payments.money import currency_precision, minor_quantum

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
    """Several files in one input; cleans to a list (empty when none chosen and the
    field is optional). A required field with no file gets its "required" message: the
    browser sends an empty list, which ``FileField`` alone would let through."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        chosen = data if isinstance(data, list | tuple) else [data]
        items = [item for item in chosen if item]
        if not items:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        single = super().clean
        return [single(item, initial) for item in items]


def _date_validator(when: str, naming: Naming) -> Any:
    """The date must be in the past (a birth date) or in the future (a start date)."""
    from django.utils import timezone

    def check(value: Any) -> None:
        today = timezone.localdate()
        if when == "past" and value >= today:
            raise ValidationError(naming.date_past(), code="not_past")
        if when == "future" and value <= today:
            raise ValidationError(naming.date_future(), code="not_future")

    return check


def _with_params(message: str) -> str:
    """A finished message that Django still formats with its own parameters
    (``message % params``): a ``%`` in the definition's words must stay a ``%``."""
    return message.replace("%", "%%")


class Naming:
    """The error messages of one question, naming what to enter as GOV.UK's patterns do
    ("Enter the vehicle registration number", "Select a proof of address", "Your date of
    birth must include a month").

    The definition names the answer with ``error_label`` (the words that complete "Enter
    …" or "Select …") and may write a message out in full with ``errors.required`` (a
    yes/no question must: "Select yes if the light is flickering"). Versions published
    before error labels were required have neither: their messages stay the general ones
    they were published with, rather than a sentence with a hole.

    Messages that Django formats with its own parameters (lengths, limits, choices,
    patterns) come ready for it: the definition's words escaped, or Django's own
    placeholder (``%(limit_value)s``) in the general ones.
    """

    def __init__(self, question: dict[str, Any]) -> None:
        self.what = localised(question.get("error_label"))
        self.required_text = localised(question.get("errors", {}).get("required"))

    def _named(self, message: str, **values: Any) -> str:
        """``message`` with the answer's name at the start of the sentence."""
        return message % {"what": capfirst(self.what), **values}

    def required(self, kind: str) -> str:
        if self.required_text:
            return self.required_text
        if not self.what:
            return str(
                {
                    "yes_no": _("Select yes or no"),
                    "single_choice": _("Select an option"),
                    "multiple_choice": _("Select at least one option"),
                    "file": _("Select a file"),
                }.get(kind, _("Enter an answer"))
            )
        if kind in {"single_choice", "multiple_choice", "file", "yes_no"}:
            # Translators: %(what)s names the answer, e.g. "a proof of address".
            return gettext("Select %(what)s") % {"what": self.what}
        # Translators: %(what)s names the answer, e.g. "the vehicle registration number".
        return gettext("Enter %(what)s") % {"what": self.what}

    def invalid_choice(self, kind: str) -> str:
        return _with_params(self.required(kind))

    def pattern(self, written: str) -> str:
        """The definition's own ``pattern_message``, else one naming the answer."""
        if written:
            return _with_params(written)
        if not self.what:
            return str(_("Enter the answer in the right format"))
        # Translators: %(what)s names the answer, e.g. "the company number".
        return _with_params(gettext("Enter %(what)s in the right format") % {"what": self.what})

    def too_long(self, limit: int) -> str | None:
        if not self.what:
            return None  # Django's own message
        # Translators: %(what)s names the answer at the start of the sentence, e.g.
        # "The business name".
        message = gettext("%(what)s must be %(limit)s characters or fewer")
        return _with_params(self._named(message, limit=limit))

    def too_short(self, limit: int) -> str | None:
        if not self.what:
            return None
        # Translators: %(what)s names the answer at the start of the sentence.
        message = gettext("%(what)s must be %(limit)s characters or more")
        return _with_params(self._named(message, limit=limit))

    def not_a_number(self, kind: str) -> str:
        if not self.what:
            return str(
                _("Enter a whole number")
                if kind == "number"
                else _("Enter an amount, like 1250 or 1250.50")
            )
        if kind == "number":
            # Translators: %(what)s names the answer at the start of the sentence, e.g.
            # "The number of certified copies".
            return _with_params(self._named(gettext("%(what)s must be a whole number")))
        # Translators: %(what)s names the answer at the start of the sentence, e.g.
        # "The estimated cost of the work".
        message = gettext("%(what)s must be an amount, like 1250 or 1250.50")
        return _with_params(self._named(message))

    def too_many_places(self, kind: str, places: int) -> str:
        if kind == "number" or places == 0:
            return self.not_a_number("number")
        if not self.what:
            return ngettext(
                "Enter the amount with no more than %(count)s decimal place",
                "Enter the amount with no more than %(count)s decimal places",
                places,
            ) % {"count": places}
        message = ngettext(
            # Translators: %(what)s names the answer at the start of the sentence.
            "%(what)s must have no more than %(count)s decimal place",
            "%(what)s must have no more than %(count)s decimal places",
            places,
        )
        return _with_params(self._named(message, count=places))

    def at_least(self, limit: Any) -> str:
        if not self.what:
            return str(_("The number must be %(limit_value)s or more"))
        # Translators: %(what)s names the answer at the start of the sentence.
        return _with_params(self._named(gettext("%(what)s must be %(limit)s or more"), limit=limit))

    def at_most(self, limit: Any) -> str:
        if not self.what:
            return str(_("The number must be %(limit_value)s or less"))
        # Translators: %(what)s names the answer at the start of the sentence.
        return _with_params(self._named(gettext("%(what)s must be %(limit)s or less"), limit=limit))

    def too_many_digits(self, limit: int) -> str | None:
        if not self.what:
            return None
        # Translators: %(what)s names the answer at the start of the sentence.
        message = gettext("%(what)s must be %(limit)s digits or fewer")
        return _with_params(self._named(message, limit=limit))

    def date_past(self) -> str:
        if not self.what:
            return str(_("The date must be in the past"))
        # Translators: %(what)s names the date at the start of the sentence, e.g.
        # "Your date of birth".
        return self._named(gettext("%(what)s must be in the past"))

    def date_future(self) -> str:
        if not self.what:
            return str(_("The date must be in the future"))
        # Translators: %(what)s names the date at the start of the sentence, e.g.
        # "The date you want to start trading".
        return self._named(gettext("%(what)s must be in the future"))

    def date_incomplete(self, missing: tuple[str, ...]) -> str:
        messages = {
            # Translators: %(what)s names the date at the start of the sentence, e.g.
            # "Your date of birth".
            ("day",): gettext_noop("%(what)s must include a day"),
            # Translators: %(what)s names the date at the start of the sentence.
            ("month",): gettext_noop("%(what)s must include a month"),
            # Translators: %(what)s names the date at the start of the sentence.
            ("year",): gettext_noop("%(what)s must include a year"),
            # Translators: %(what)s names the date at the start of the sentence.
            ("day", "month"): gettext_noop("%(what)s must include a day and a month"),
            # Translators: %(what)s names the date at the start of the sentence.
            ("day", "year"): gettext_noop("%(what)s must include a day and a year"),
            # Translators: %(what)s names the date at the start of the sentence.
            ("month", "year"): gettext_noop("%(what)s must include a month and a year"),
        }
        return self._named(gettext(messages[missing]))

    def date_unreal(self) -> str:
        # Translators: %(what)s names the date at the start of the sentence.
        return self._named(gettext("%(what)s must be a real date"))


class QuestionDateField(GovukDateField):
    """The GOV.UK date input, its messages naming the date ("Your date of birth must
    include a month", "The date you want to start trading must be a real date")."""

    def __init__(self, *, naming: Naming, **kwargs: Any) -> None:
        self.naming = naming
        super().__init__(**kwargs)

    def compress(self, data_list: list[str]) -> Any:
        try:
            return super().compress(data_list)
        except ValidationError as error:
            if not self.naming.what or error.code not in {"incomplete", "invalid"}:
                raise
            if error.code == "invalid":
                raise ValidationError(self.naming.date_unreal(), code="invalid") from None
            parts = [str(part or "").strip() for part in data_list]
            missing = tuple(
                name
                for name, value in zip(("day", "month", "year"), parts, strict=True)
                if not value
            )
            raise ValidationError(self.naming.date_incomplete(missing), code="incomplete") from None


def _field_for(question: dict[str, Any], *, has_files: bool) -> forms.Field:  # noqa: PLR0912, PLR0915 - one branch per question type
    kind = question["type"]
    required = question.get("required", True)
    rules = question.get("validation", {})
    label = localised(question["label"])
    hint = localised(question.get("hint"))
    naming = Naming(question)
    common: dict[str, Any] = {
        "label": label,
        "help_text": hint,
        "required": required,
        "error_messages": {"required": naming.required(kind)},
    }
    field: forms.Field
    if kind in {"text", "national_id", "phone", "email", "long_text", "address"}:
        validators = []
        if rules.get("pattern"):
            validators.append(
                RegexValidator(
                    answer_pattern(rules["pattern"]),
                    naming.pattern(localised(rules.get("pattern_message"))),
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
        max_length = rules.get("max_length", 5000 if kind == "long_text" else 500)
        field = field_class(
            widget=widget,
            max_length=max_length,
            min_length=rules.get("min_length"),
            validators=validators,
            **common,
        )
        lengths = {
            "max_length": naming.too_long(max_length),
            "min_length": naming.too_short(rules["min_length"])
            if rules.get("min_length")
            else None,
        }
        field.error_messages.update({code: text for code, text in lengths.items() if text})
        if kind == "email":
            field.error_messages["invalid"] = _(
                "Enter an email address in the correct format, like name@example.com"
            )
    elif kind in {"number", "money"}:
        places = 0 if kind == "number" else currency_precision()
        field = AmountField(
            max_digits=14,
            decimal_places=places,
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
        digits = naming.too_many_digits(14 - places)
        messages = {
            "invalid": naming.not_a_number(kind),
            "max_decimal_places": naming.too_many_places(kind, places),
            "min_value": naming.at_least(rules["min"]) if "min" in rules else None,
            "max_value": naming.at_most(rules["max"]) if "max" in rules else None,
            "max_digits": digits,
            "max_whole_digits": digits,
        }
        field.error_messages.update({code: text for code, text in messages.items() if text})
    elif kind == "date":
        field = QuestionDateField(naming=naming, **common)
        when = rules.get("date", "any")
        if when in {"past", "future"}:
            field.validators.append(_date_validator(when, naming))
    elif kind == "yes_no":
        field = forms.ChoiceField(choices=YES_NO, widget=forms.RadioSelect, **common)
        field.error_messages["invalid_choice"] = naming.invalid_choice(kind)
    elif kind in {"single_choice", "multiple_choice"}:
        choices = [(c["value"], localised(c["label"])) for c in question["choices"]]
        hints = {c["value"]: localised(c.get("hint")) for c in question["choices"] if c.get("hint")}
        if kind == "single_choice":
            field = forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
        else:
            field = forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, **common
            )
        field.error_messages["invalid_choice"] = naming.invalid_choice(kind)
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
        self.files_present = files_present
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
                # An optional file question left without a file is answered "none", so
                # the page counts as done; a required one cannot get here without a file.
                if question_id not in self.files_present and not value:
                    values[question_id] = []
                continue
            if kind == "yes_no":
                values[question_id] = value == "yes" if value else ""
            elif kind == "number":
                values[question_id] = int(value) if value is not None else ""
            elif kind == "money":
                values[question_id] = (
                    str(value.quantize(minor_quantum())) if value is not None else ""
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
        naming = Naming(question)
        kind = "single_choice" if question.get("choices") else "yes_no"
        # Versions published before error labels were required keep their message.
        required = (
            naming.required(kind)
            if naming.what or naming.required_text
            else str(_("Select an answer"))
        )
        field = forms.ChoiceField(
            label=localised(question["question"]),
            help_text=localised(question.get("hint")),
            choices=choices,
            widget=forms.RadioSelect,
            error_messages={"required": required, "invalid_choice": _with_params(required)},
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


class NoteForm(BlankWrittenOnce):
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


class MessageForm(BlankWrittenOnce):
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

"""Forms of consultations and surveys: the response (every question on one page, asked
with the cases app's question form), and the organiser's consultation and outcome."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.cases.forms import QuestionPageForm
from ecitizen.core.forms import GovukDateField, SubmissionForm
from ecitizen.core.text import FreeTextField
from ecitizen.participation.models import Consultation
from ecitizen.participation.selectors import consultations as selectors
from ecitizen.participation.services import consultations as services

EMAIL_INVALID = _("Enter an email address in the correct format, like name@example.com")


def answers_as_data(questions: list[dict[str, Any]], answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers as JSON values (as stored, or as a paper form's code sends them) made the
    data a submitted response page would carry, so that the page's form checks them."""
    data: dict[str, Any] = {}
    for question in questions:
        name, value = question["id"], answers.get(question["id"])
        if value is None:
            continue
        if question["type"] == "yes_no" and isinstance(value, bool):
            data[name] = "yes" if value else "no"
        elif question["type"] == "date":
            # The date field reads three boxes; an ISO date fills them, anything else goes
            # in the day box so that the field says what is wrong with it.
            match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", str(value).strip())
            if match is None:
                data.update({f"{name}_day": str(value), f"{name}_month": "", f"{name}_year": ""})
            else:
                year, month, day = match.groups()
                data.update({f"{name}_day": day, f"{name}_month": month, f"{name}_year": year})
        else:
            data[name] = value
    return data


class ConsultationForm(SubmissionForm, QuestionPageForm):
    """A response to ``consultation``: each question is a field of a service's question
    page (same types, same checks, same messages); ``answers()`` gives them as stored.
    ``ask_email``: an anonymous respondent also gives the address their confirmation link
    goes to. Sent twice (a double click), the same one-off key comes back
    (:class:`~ecitizen.core.forms.SubmissionForm`)."""

    def __init__(
        self,
        *,
        consultation: Consultation,
        data: Mapping[str, Any] | None = None,
        previous: Mapping[str, Any] | None = None,
        ask_email: bool = False,
    ) -> None:
        questions = list(consultation.questions)
        super().__init__(
            data,
            page={"id": "response", "title": consultation.title},
            questions=questions,
            files_present=set(),
            initial=QuestionPageForm.initial_from_answers(questions, dict(previous or {})),
        )
        for question in questions:
            # Several questions share the page: each is a heading-sized label or legend.
            self.fields[question["id"]].label_size = "m"  # type: ignore[attr-defined]
        if ask_email:
            field = forms.EmailField(
                label=_("Your email address"),
                help_text=_(
                    "We email you a link to confirm your response: it counts once you follow "
                    "it. We keep only a coded form of the address, so that each address "
                    "responds once."
                ),
                max_length=254,
                error_messages={
                    "required": _("Enter your email address"),
                    "invalid": EMAIL_INVALID,
                },
                widget=forms.EmailInput(attrs={"autocomplete": "email"}),
            )
            field.label_size = "m"  # type: ignore[attr-defined]
            self.fields["email"] = field

    def email(self) -> str:
        return str(self.cleaned_data["email"])


def _other_languages() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def _midnight(day: datetime.date) -> datetime.datetime:
    """The start of ``day`` in the authority's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


QUESTIONS_EXAMPLE = """\
- id: visits
  type: single_choice
  label: How often do you visit Riverside Park?
  error_label: how often you visit the park
  choices:
    - value: weekly
      label: Every week
    - value: monthly
      label: Every month
    - value: rarely
      label: Rarely or never
- id: play-area
  type: yes_no
  label: Should the play area be extended?
  errors:
    required: Select yes if the play area should be extended
- id: ideas
  type: long_text
  required: false
  label: What else would you change?
  error_label: what you would change
"""


class ConsultationEditForm(SubmissionForm):
    """The organiser's consultation or survey: title, kind, text, dates (from the first
    day to the last, both included) and the questions as YAML, with the title and text in
    the other languages."""

    title = FreeTextField(
        label=_("Title"),
        max_length=200,
        error_messages={"required": _("Enter the title")},
    )
    kind = forms.ChoiceField(
        label=_("What is it?"),
        choices=Consultation.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Select whether it is a consultation or a survey")},
    )
    body = FreeTextField(
        label=_("What is consulted on"),
        help_text=_(
            "The proposal or plan residents respond to, in plain words. A survey may leave "
            "it empty. Leave a blank line between paragraphs."
        ),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 10}),
    )
    opens_on = GovukDateField(
        label=_("Opens on"),
        help_text=_("For example, 1 3 2027. Responses are taken from the start of this day."),
        error_messages={"required": _("Enter the date it opens")},
    )
    closes_on = GovukDateField(
        label=_("Last day for responses"),
        help_text=_("Responses are taken until midnight at the end of this day."),
        error_messages={"required": _("Enter the last day for responses")},
    )
    questions = forms.CharField(
        label=_("Questions"),
        help_text=_(
            "Written in YAML, as service questions are: each question starts with a "
            "hyphen and has an id (small letters, digits and hyphens), a type, a label and "
            "an error_label (a yes/no question has errors: required instead). Types: "
            "text, long_text, number, money, date, yes_no, single_choice, "
            "multiple_choice, email, phone, address, national_id. A plain text is "
            "English; write other languages as en:, fr:, ar: under the key."
        ),
        widget=forms.Textarea(attrs={"rows": 20, "spellcheck": "false", "dir": "ltr"}),
        error_messages={"required": _("Write at least one question")},
        max_length=100000,
    )

    def __init__(self, *args: Any, consultation: Consultation | None = None, **kwargs: Any) -> None:
        if consultation is not None and not kwargs.get("data") and not args:
            kwargs["initial"] = {
                "title": consultation.title,
                "kind": consultation.kind,
                "body": consultation.body,
                "opens_on": selectors.first_day(consultation),
                "closes_on": selectors.last_day(consultation),
                "questions": services.questions_text(consultation.questions),
                **{
                    f"{name}_{code}": (consultation.translations.get(code) or {}).get(name, "")
                    for code, _language in _other_languages()
                    for name in ("title", "body")
                },
            }
        super().__init__(*args, **kwargs)
        for code, language in _other_languages():
            self.fields[f"title_{code}"] = FreeTextField(
                label=_("Title in %(language)s") % {"language": language},
                required=False,
                max_length=200,
            )
            self.fields[f"body_{code}"] = FreeTextField(
                label=_("What is consulted on, in %(language)s") % {"language": language},
                required=False,
                max_length=20000,
                widget=forms.Textarea(attrs={"rows": 6}),
            )
        self.parsed_questions: list[dict[str, Any]] = []

    @property
    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("title", "kind", "body", "opens_on", "closes_on")]

    @property
    def translation_fields(self) -> list[forms.BoundField]:
        return [
            self[f"{name}_{code}"]
            for code, _language in _other_languages()
            for name in ("title", "body")
        ]

    @property
    def translations_have_errors(self) -> bool:
        return any(field.errors for field in self.translation_fields)

    def clean_questions(self) -> str:
        text = self.cleaned_data["questions"]
        parsed, problems = services.questions_read(text)
        if problems:
            raise forms.ValidationError(problems)
        self.parsed_questions = parsed
        return str(text)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        opens, closes = cleaned.get("opens_on"), cleaned.get("closes_on")
        if opens and closes and closes < opens:
            self.add_error(
                "closes_on", _("The last day for responses must be on or after the day it opens")
            )
        if cleaned.get("kind") == Consultation.Kind.CONSULTATION and not cleaned.get("body"):
            self.add_error("body", _("Enter what is consulted on"))
        return cleaned

    def consultation_input(self) -> services.ConsultationInput:
        data = self.cleaned_data
        return services.ConsultationInput(
            title=data["title"],
            kind=data["kind"],
            body=data.get("body") or "",
            opens_at=_midnight(data["opens_on"]),
            closes_at=_midnight(data["closes_on"] + datetime.timedelta(days=1)),
            questions=self.parsed_questions,
            translations={
                code: {
                    "title": data.get(f"title_{code}") or "",
                    "body": data.get(f"body_{code}") or "",
                }
                for code, _language in _other_languages()
            },
        )


class OutcomeForm(forms.Form):
    """The outcome: what the authority heard and what it will do, with translations."""

    outcome = FreeTextField(
        label=_("Outcome"),
        help_text=_(
            "What you heard and what you will do about it. Leave a blank line between paragraphs."
        ),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 12}),
        error_messages={"required": _("Enter the outcome")},
    )

    def __init__(self, *args: Any, consultation: Consultation, **kwargs: Any) -> None:
        if not kwargs.get("data") and not args:
            kwargs["initial"] = {
                "outcome": consultation.outcome,
                **{
                    f"outcome_{code}": (consultation.translations.get(code) or {}).get(
                        "outcome", ""
                    )
                    for code, _language in _other_languages()
                },
            }
        super().__init__(*args, **kwargs)
        for code, language in _other_languages():
            self.fields[f"outcome_{code}"] = FreeTextField(
                label=_("Outcome in %(language)s") % {"language": language},
                required=False,
                max_length=20000,
                widget=forms.Textarea(attrs={"rows": 8}),
            )

    def translations(self) -> dict[str, str]:
        return {
            code: self.cleaned_data.get(f"outcome_{code}") or ""
            for code, _language in _other_languages()
        }

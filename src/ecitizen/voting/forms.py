"""Forms of the voting pages. They check what a browser can get wrong (a date that is not
one, a list that cannot be read); the election's rules are the services', whose messages
the views put on the forms."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.forms import GovukDateField, SubmissionForm
from ecitizen.core.text import FreeTextField, NameField
from ecitizen.voting.models import Election

_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
MAX_VOTERS_TEXT = 2_000_000  # characters: about 60,000 addresses


def _time_field(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=_("In 24-hour time, for example 09:00 or 18:30"),
        max_length=5,
        error_messages={"required": _("Enter a time")},
        widget=forms.TextInput(attrs={"class": "govuk-input--width-5", "inputmode": "numeric"}),
    )


def _moment(day: datetime.date, text: str) -> datetime.datetime:
    match = _TIME.match(text.strip())
    if not match:
        raise forms.ValidationError(_("Enter a time like 09:00"))
    moment = datetime.datetime.combine(day, datetime.time(int(match[1]), int(match[2])))
    return timezone.make_aware(moment)


class ElectionForm(SubmissionForm):
    """A new election: its texts, place, dates, voters, credentials and key's threshold."""

    title = FreeTextField(
        label=_("Title"),
        max_length=200,
        help_text=_("What voters decide, in a few words: “Car-free Sundays on the High Street”"),
        error_messages={"required": _("Enter a title")},
    )
    slug = forms.SlugField(
        label=_("Short name for its web address"),
        max_length=60,
        help_text=_("Lower-case letters, numbers and hyphens, like car-free-sundays"),
        error_messages={
            "required": _("Enter a short name"),
            "invalid": _("Use only lower-case letters, numbers and hyphens"),
        },
    )
    description = FreeTextField(
        label=_("Description"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the vote is about and what will happen with the result."),
    )
    title_fr = FreeTextField(label=_("Title in French"), required=False, max_length=200)
    title_ar = FreeTextField(label=_("Title in Arabic"), required=False, max_length=200)
    department = forms.ChoiceField(
        label=_("Department"), error_messages={"required": _("Choose a department")}
    )
    ward = forms.ChoiceField(label=_("Ward"), required=False)
    opens_on = GovukDateField(
        label=_("Voting opens on"), error_messages={"required": _("Enter the day voting opens")}
    )
    opens_time = _time_field(_("at"))
    closes_on = GovukDateField(
        label=_("Voting closes on"), error_messages={"required": _("Enter the day voting closes")}
    )
    closes_time = _time_field(_("at"))
    voters_from = forms.ChoiceField(
        label=_("Who may vote"),
        choices=Election.Voters.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose who may vote")},
    )
    process = forms.ChoiceField(
        label=_("Process whose voting rule applies"),
        required=False,
        help_text=_(
            "Only for an election whose voters are the residents who meet a process's voting rule."
        ),
    )
    credentials = forms.ChoiceField(
        label=_("Voters' credentials"),
        choices=Election.Credentials.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how credentials are made")},
    )
    credential_authority = forms.EmailField(
        label=_("Email address of the credential authority"),
        help_text=_("Another official, holding the credential authority role."),
        error_messages={
            "required": _("Enter the credential authority's email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
        },
    )
    threshold = forms.IntegerField(
        label=_("Trustees needed to decrypt the result"),
        min_value=1,
        max_value=20,
        initial=3,
        help_text=_("For example 3: any 3 of the trustees can decrypt, and fewer cannot."),
        error_messages={
            "required": _("Enter a number of trustees"),
            "invalid": _("Enter a whole number"),
            "min_value": _("At least 1 trustee must decrypt"),
            "max_value": _("At most 20 trustees"),
        },
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
    )
    requires_verified_identity = forms.BooleanField(
        label=_("Voters must have confirmed their identity with the national eID"),
        help_text=_(
            "Only voters who linked their national eID to their account can cast a ballot; "
            "others are asked to link it first."
        ),
        required=False,
    )

    def __init__(self, *args: Any, departments=(), wards=(), processes=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["department"].choices = [("", "")] + [(str(d.pk), str(d)) for d in departments]
        fields["ward"].choices = [("", _("The whole authority"))] + [
            (str(w.pk), str(w)) for w in wards
        ]
        fields["process"].choices = [("", _("None"))] + [(str(p.pk), str(p)) for p in processes]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for day, time, name in (
            ("opens_on", "opens_time", "opens_at"),
            ("closes_on", "closes_time", "closes_at"),
        ):
            if cleaned.get(day) and cleaned.get(time):
                try:
                    cleaned[name] = _moment(cleaned[day], cleaned[time])
                except forms.ValidationError as error:
                    self.add_error(time, error)
        if (
            cleaned.get("opens_at")
            and cleaned.get("closes_at")
            and cleaned["closes_at"] <= cleaned["opens_at"]
        ):
            self.add_error("closes_on", _("Voting must close after it opens"))
        if cleaned.get("voters_from") == Election.Voters.ELIGIBLE and not cleaned.get("process"):
            self.add_error("process", _("Choose the process whose voting rule says who may vote"))
        return cleaned


class QuestionForm(SubmissionForm):
    """One question, added to the draft election."""

    text = FreeTextField(
        label=_("Question"), max_length=500, error_messages={"required": _("Enter the question")}
    )
    answers = FreeTextField(
        label=_("Answers"),
        help_text=_("One per line, in the order voters see them."),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Enter the answers, one per line")},
    )
    min = forms.IntegerField(
        label=_("Fewest answers a voter chooses"),
        min_value=0,
        max_value=20,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
        error_messages={"required": _("Enter a number"), "invalid": _("Enter a whole number")},
    )
    max = forms.IntegerField(
        label=_("Most answers a voter chooses"),
        min_value=1,
        max_value=20,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
        error_messages={"required": _("Enter a number"), "invalid": _("Enter a whole number")},
    )
    blank = forms.BooleanField(label=_("Voters may vote blank on this question"), required=False)
    text_fr = FreeTextField(label=_("Question in French"), required=False, max_length=500)
    answers_fr = FreeTextField(
        label=_("Answers in French, one per line"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    text_ar = FreeTextField(label=_("Question in Arabic"), required=False, max_length=500)
    answers_ar = FreeTextField(
        label=_("Answers in Arabic, one per line"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    @staticmethod
    def lines(text: str) -> list[str]:
        return [line.strip() for line in (text or "").splitlines() if line.strip()]


class VotersForm(SubmissionForm):
    addresses = forms.CharField(
        label=_("Voters' email addresses"),
        help_text=_("One per line, or separated by commas. This list replaces the current one."),
        max_length=MAX_VOTERS_TEXT,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        error_messages={"required": _("Enter at least one email address")},
    )

    def clean_addresses(self) -> list[str]:
        found = [
            part.strip()
            # Latin and Arabic commas and semicolons both separate addresses.
            for part in re.split(r"[\s,;\u060c\u061b]+", self.cleaned_data["addresses"])
            if part.strip()
        ]
        wrong = []
        for address in found:
            try:
                validate_email(address)
            except forms.ValidationError:
                wrong.append(address)
        if wrong:
            raise forms.ValidationError(
                _("These are not email addresses: %(wrong)s") % {"wrong": ", ".join(wrong[:5])}
            )
        return found


class TrusteesForm(SubmissionForm):
    trustees = forms.CharField(
        label=_("Trustees"),
        help_text=_(
            "One per line: their name, a comma, and the email address of their account. "
            "For example: Ana Ruiz, ana.ruiz@example.org"
        ),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        error_messages={"required": _("Enter the trustees, one per line")},
    )

    def clean_trustees(self) -> list[tuple[str, str]]:
        rows = []
        for number, line in enumerate(self.cleaned_data["trustees"].splitlines(), 1):
            if not line.strip():
                continue
            name, _comma, email = line.replace("\u060c", ",").rpartition(",")  # Arabic comma
            try:
                validate_email(email.strip())
                name = NameField().clean(name.strip())
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("Line %(n)s must be a name, a comma and an email address") % {"n": number}
                ) from None
            rows.append((name, email.strip()))
        return rows


class ConfirmForm(SubmissionForm):
    """A button that does one thing (freeze, open, close, publish, issue)."""


class PubcredsForm(SubmissionForm):
    pubcreds = forms.FileField(
        label=_("Public credentials file (.pubcreds)"),
        error_messages={"required": _("Choose the .pubcreds file belenios-tool wrote")},
    )


class BallotForm(forms.Form):
    """What the booth posts: the encrypted ballot (canonical JSON)."""

    ballot = forms.CharField(
        max_length=1_000_000,
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Your ballot did not reach us. Nothing was cast: encrypt it again.")
        },
    )


class MessageForm(forms.Form):
    """What a trustee's browser posts at a step of the ceremony or the tally."""

    message = forms.CharField(
        max_length=5_000_000,
        widget=forms.HiddenInput,
        error_messages={"required": _("Nothing reached us from your browser. Try the step again.")},
    )

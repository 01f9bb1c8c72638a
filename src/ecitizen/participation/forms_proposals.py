"""Forms of the proposal and comment pages: a new proposal, the public list's filters, a
support, a comment and a flag; the officials' answer and moderation reasons.

Lengths and the personal-data screening are the services' rules too (the forms say them
first, in the field's words); the services check again for every other caller.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ecitizen.core.forms import SubmissionForm
from ecitizen.core.text import FreeTextField
from ecitizen.participation.models import CommentFlag, Proposal
from ecitizen.participation.screening import personal_data_find, personal_data_message
from ecitizen.participation.selectors.proposals import SORT_NEWEST, SORT_SUPPORTS, WAITING
from ecitizen.participation.services.comments import COMMENT_MAX_LENGTH
from ecitizen.participation.services.comments import REASON_MAX_LENGTH as HIDE_REASON_MAX
from ecitizen.participation.services.proposals import (
    ANSWER_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from ecitizen.reports import geo

#: What the photo input offers to choose (the content is checked anyway).
PHOTO_TYPES = "image/jpeg,image/png,image/webp"


def _screened(text: str) -> str:
    """``text``, or a ``ValidationError`` saying which personal details to take out."""
    findings = personal_data_find(text or "")
    if findings:
        raise forms.ValidationError(personal_data_message(findings), code="personal_data")
    return text


def _sized(form: forms.Form, size: str = "s") -> None:
    for field in form.fields.values():
        field.label_size = size  # type: ignore[attr-defined]


class ProposalForm(SubmissionForm):
    """A new proposal. ``lat``/``lon`` are named as the street-report map's script fills
    them (``reports/_map.html`` in "pick" mode), and can be typed without it."""

    title = FreeTextField(
        label=_("Title"),
        help_text=_("For example, a pedestrian crossing outside Riverside school"),
        max_length=TITLE_MAX_LENGTH,
        error_messages={
            "required": _("Enter a title for your proposal"),
            "max_length": _("The title must be %(limit_value)s characters or fewer"),
        },
    )
    description = FreeTextField(
        label=_("Your proposal"),
        help_text=_(
            "What you propose, why, and who it would help. It will be public: do not "
            "include personal details such as email addresses or phone numbers."
        ),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={
            "required": _("Describe your proposal"),
            "max_length": _("The description must be %(limit_value)s characters or fewer"),
        },
    )
    ward = forms.ChoiceField(
        label=_("Ward"),
        error_messages={
            "required": _("Select the ward your proposal is for"),
            "invalid_choice": _("Select the ward your proposal is for"),
        },
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        help_text=_(
            "A JPG, PNG or WebP photo. We remove the location and camera details from it "
            "before anyone sees it."
        ),
    )
    remove_photo = forms.BooleanField(label=_("Remove the photo"), required=False)
    lat = forms.CharField(
        label=_("Latitude"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "spellcheck": "false"}),
    )
    lon = forms.CharField(
        label=_("Longitude"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "spellcheck": "false"}),
    )

    def __init__(
        self, *args: Any, wards: list[tuple[int, str]], ward_required: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        ward = self.fields["ward"]
        ward.required = ward_required
        choices = [(str(pk), name) for pk, name in wards]
        if not ward_required:
            ward.help_text = _("Leave it if your proposal is for the whole area.")
            choices = [("", gettext("The whole area")), *choices]
        elif len(choices) > 1:
            choices = [("", gettext("Select a ward")), *choices]
        ward.choices = choices  # type: ignore[attr-defined]
        self.fields["photo"].widget.attrs["accept"] = PHOTO_TYPES
        _sized(self)

    def clean_title(self) -> str:
        return _screened(self.cleaned_data["title"])

    def clean_description(self) -> str:
        return _screened(self.cleaned_data["description"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        lat, lon = cleaned.get("lat", ""), cleaned.get("lon", "")
        cleaned["latitude"] = cleaned["longitude"] = None
        if lat or lon:
            try:
                latitude, longitude = geo.parse_coordinates(lat, lon)
            except geo.GeoError as error:
                self.add_error(error.field or "lat", error.message)
                return cleaned
            if not geo.area().contains(latitude, longitude):
                self.add_error(
                    "lat",
                    gettext("This place is outside the area. Choose a place in the area."),
                )
                return cleaned
            cleaned["latitude"] = Decimal(f"{latitude:.6f}")
            cleaned["longitude"] = Decimal(f"{longitude:.6f}")
        return cleaned


class ProposalFilterForm(forms.Form):
    """The public list's filters and order (a GET form: a wrong value is ignored)."""

    ward = forms.ChoiceField(label=_("Ward"), required=False)
    answer = forms.ChoiceField(
        label=_("Official answer"),
        required=False,
        choices=[
            ("", _("Any")),
            (WAITING, _("Waiting for an answer")),
            *Proposal.Answer.choices,
        ],
    )
    sort = forms.ChoiceField(
        label=_("Order"),
        required=False,
        choices=[(SORT_SUPPORTS, _("Most supported")), (SORT_NEWEST, _("Newest"))],
    )

    def __init__(self, *args: Any, wards: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_required_attribute = False
        self.fields["ward"].choices = [  # type: ignore[attr-defined]
            ("", _("All wards")),
            *((str(pk), name) for pk, name in wards),
        ]
        _sized(self)

    def value(self, name: str) -> str:
        """The cleaned value of a filter, or "" when not given or not valid (a stale link
        shows the list, not an error)."""
        if not self.is_bound:
            return ""
        self.is_valid()
        if name in self.errors:
            return ""
        return str(self.cleaned_data.get(name) or "")

    def for_display(self) -> ProposalFilterForm:
        """The form as the page shows it, once its values are read: filters are optional
        by nature, so their labels do not say "(optional)" (GOV.UK's filter pattern)."""
        self.is_valid()
        for field in self.fields.values():
            field.required = True
        return self


class SupportForm(SubmissionForm):
    """A support: nothing to answer, a one-off key against a double click."""


class FollowForm(forms.Form):
    following = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
    )


class CommentForm(SubmissionForm):
    body = FreeTextField(
        label=_("Your comment"),
        help_text=_(
            "Comments are public and signed with your first name and initial. Keep to the "
            "code of conduct, and do not include personal details such as email addresses "
            "or phone numbers."
        ),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": _("Enter your comment"),
            "max_length": _("Your comment must be %(limit_value)s characters or fewer"),
        },
    )
    #: The comment replied to; the page finds it (an id of no comment of the page's is
    #: no reply), so the form does not check it.
    parent = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, reply: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if reply:
            self.fields["body"].label = _("Your reply")
        _sized(self)

    def clean_body(self) -> str:
        return _screened(self.cleaned_data["body"])


class FlagForm(SubmissionForm):
    reason = forms.ChoiceField(
        label=_("Why should this comment be removed?"),
        choices=CommentFlag.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select why the comment should be removed"),
            "invalid_choice": _("Select why the comment should be removed"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _sized(self, "m")


class AnswerForm(SubmissionForm):
    answer = forms.ChoiceField(
        label=_("Official answer"),
        choices=Proposal.Answer.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select the answer"),
            "invalid_choice": _("Select the answer"),
        },
    )
    text = FreeTextField(
        label=_("Explanation"),
        required=False,
        max_length=ANSWER_MAX_LENGTH,
        help_text=_(
            "Shown publicly with the answer. Required when the proposal is not accepted: "
            "give the reason."
        ),
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "max_length": _("The answer must be %(limit_value)s characters or fewer"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _sized(self, "m")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("answer") == Proposal.Answer.NOT_ACCEPTED and not cleaned.get("text"):
            self.add_error("text", gettext("Enter the reason the proposal is not accepted"))
        return cleaned


class HideForm(SubmissionForm):
    """Why a comment or proposal is hidden (shown publicly in its place)."""

    reason = FreeTextField(
        label=_("Why is it hidden?"),
        help_text=_(
            "Shown to everyone in its place. Name the rule of the code of conduct it breaks."
        ),
        max_length=HIDE_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Enter why it is hidden: the reason is shown in its place"),
            "max_length": _("The reason must be %(limit_value)s characters or fewer"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _sized(self, "m")

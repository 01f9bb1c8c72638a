"""The feedback app's forms, as GOV.UK components. Every error message names what to
fix; nothing a person typed is lost when the form comes back with an error."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ecitizen.core.text import FreeTextField, NameField
from ecitizen.feedback.models import Kind, Level
from ecitizen.feedback.services import CHANGE_MAX_LENGTH, COMMENT_MAX_LENGTH, TEXT_MAX_LENGTH

#: The hint of every free-text field whose text officials read without knowing who
#: wrote it: what happens to personal details is said, not only asked.
PERSONAL_DETAILS_HINT = _(
    "Do not include personal or financial information, like your name, email address, "
    "phone number or card number. We remove anything that looks like personal "
    "information before our staff read your comments."
)


class RatingForm(forms.Form):
    """How satisfied someone was with what they just did (GOV.UK's five-point scale),
    and an optional comment. ``token``: the signed transaction (``services.rating_token``)."""

    token = forms.CharField(widget=forms.HiddenInput)
    level = forms.TypedChoiceField(
        label=_("How satisfied were you with this service?"),
        coerce=int,
        # GOV.UK's order: the most satisfied first.
        choices=[(level.value, level.label) for level in reversed(Level)],
        widget=forms.RadioSelect,
        error_messages={"required": _("Select how satisfied you were with this service")},
    )
    comment = FreeTextField(
        label=_("How could we improve this service?"),
        help_text=PERSONAL_DETAILS_HINT,
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea,
        error_messages={
            "max_length": _("Your comment must be %(limit_value)d characters or fewer")
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Ids of their own: the form sits on other apps' pages.
        kwargs.setdefault("auto_id", "feedback-%s")
        super().__init__(*args, **kwargs)
        self.fields["level"].label_size = "m"  # type: ignore[attr-defined]


def new_form_key() -> str:
    """A random key for a new form: sent twice, it finds what it sent the first time."""
    return secrets.token_urlsafe(18)


class _SenderForm(forms.Form):
    """What every compliment, suggestion and complaint form asks: what it is about, a
    form key, and, from a visitor who is not signed in, a name and an email address to
    confirm."""

    form_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    about = forms.ChoiceField(
        label=_("What is it about?"),
        help_text=_("Choose the service, or the department if it is about something else."),
        error_messages={
            "required": _("Select what your feedback is about"),
            "invalid_choice": _("Select what your feedback is about"),
        },
    )

    def __init__(
        self,
        *args: Any,
        about_choices: list[tuple[str, list[tuple[str, str]]]],
        signed_in: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["about"].choices = [("", _("Choose one")), *about_choices]  # type: ignore[attr-defined]
        if not signed_in:
            self.fields["name"] = NameField(
                label=_("Your name"),
                max_length=200,
                error_messages={
                    "required": _("Enter your name"),
                    "max_length": _("Your name must be 200 characters or fewer"),
                },
                widget=forms.TextInput(attrs={"autocomplete": "name"}),
            )
            self.fields["email"] = forms.EmailField(
                label=_("Your email address"),
                help_text=_("We send you a link to confirm it. We use it only to reply to you."),
                error_messages={
                    "required": _("Enter your email address"),
                    "invalid": _(
                        "Enter an email address in the correct format, like name@example.com"
                    ),
                },
                widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
            )


class RemarkForm(_SenderForm):
    """A compliment or a suggestion."""

    text = FreeTextField(
        label=_("What would you like to tell us?"),
        help_text=PERSONAL_DETAILS_HINT,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea,
        error_messages={
            "required": _("Enter what you would like to tell us"),
            "max_length": _("Your message must be %(limit_value)d characters or fewer"),
        },
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kind == Kind.COMPLIMENT:
            self.fields["text"].label = _("What would you like to thank us for?")
        else:
            self.fields["text"].label = _("What is your suggestion?")


class ComplaintForm(_SenderForm):
    """A complaint: what happened and what would put it right. Its details go to the
    officials who answer it, as they are (they need them)."""

    what_happened = FreeTextField(
        label=_("What happened?"),
        help_text=_(
            "Tell us what went wrong, when, and who you dealt with if you know. Include any "
            "reference number."
        ),
        min_length=10,
        max_length=5000,
        widget=forms.Textarea,
        error_messages={
            "required": _("Tell us what happened"),
            "min_length": _("Tell us what happened in at least %(limit_value)d characters"),
            "max_length": _("What happened must be %(limit_value)d characters or fewer"),
        },
    )
    put_right = FreeTextField(
        label=_("What would you like us to do to put it right?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea,
        error_messages={
            "max_length": _(
                "What you would like us to do must be %(limit_value)d characters or fewer"
            )
        },
    )


class EscalateForm(forms.Form):
    """The complainant asks for a stage 2 review."""

    reason = FreeTextField(
        label=_("Why are you not satisfied with our reply?"),
        help_text=_("A senior officer reviews your complaint and replies within 20 working days."),
        max_length=5000,
        widget=forms.Textarea,
        error_messages={
            "required": _("Tell us why you are not satisfied with our reply"),
            "max_length": _("Your reason must be %(limit_value)d characters or fewer"),
        },
    )


class ConfirmForm(forms.Form):
    """Following an emailed link shows a button: a link scanner that opens the link does
    not send anything."""


class ChangeForm(forms.Form):
    """A "You said, we did" change."""

    you_said = FreeTextField(
        label=_("You said"),
        help_text=_("What people told you, in a sentence or two. Do not name anyone."),
        max_length=CHANGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Enter what people told you"),
            "max_length": _("What people told you must be %(limit_value)d characters or fewer"),
        },
    )
    we_did = FreeTextField(
        label=_("We did"),
        help_text=_("What you changed in answer."),
        max_length=CHANGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Enter what you changed"),
            "max_length": _("What you changed must be %(limit_value)d characters or fewer"),
        },
    )


class WithdrawForm(forms.Form):
    change = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={"required": _("Choose the change to withdraw")},
    )

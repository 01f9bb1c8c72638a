"""Forms of erasure: the resident's request (a reason, optional, and a confirmation) and
the data-protection officer's decision."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ecitizen.core.text import FreeTextField
from ecitizen.privacy.erasure import REASON_MAX_LENGTH


class ErasureRequestForm(forms.Form):
    reason = FreeTextField(
        label=_("Why do you want to close your account? (optional)"),
        help_text=_("This helps our data-protection officer. You do not have to tell us."),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": _("Your reason must be %(limit_value)d characters or fewer"),
        },
    )
    confirm = forms.BooleanField(
        label=_("I understand that my account will be closed and I will not be able to sign in"),
        error_messages={
            "required": _("Confirm that you understand your account will be closed"),
        },
    )


class ErasureDecisionForm(forms.Form):
    APPROVE = "approve"
    REFUSE = "refuse"

    decision = forms.ChoiceField(
        label=_("Your decision"),
        choices=[
            (APPROVE, _("Approve: erase the data now and close the account")),
            (REFUSE, _("Refuse")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Select approve or refuse")},
    )
    reason = FreeTextField(
        label=_("Reason for refusing"),
        help_text=_("Required if you refuse. The resident reads it."),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": _("The reason must be %(limit_value)d characters or fewer"),
        },
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == self.REFUSE and not data.get("reason"):
            self.add_error("reason", _("Enter the reason for refusing"))
        return data

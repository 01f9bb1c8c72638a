"""Forms of the documents pages: typing a verification code, revoking a document."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ecitizen.core.text import FreeTextField
from ecitizen.documents.models import IssuedDocument
from ecitizen.documents.selectors import document_for_verification
from ecitizen.documents.services import CODE_LENGTH, CODE_PATTERN, normalise_code


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        help_text=_("It is printed under the QR code on the document, like ABCD-EFGH-JKMN-PQRS."),
        max_length=40,
        error_messages={"required": _("Enter the verification code")},
        widget=forms.TextInput(
            attrs={
                "class": "govuk-input--width-20",
                "spellcheck": "false",
                "autocomplete": "off",
                "autocapitalize": "characters",
            }
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.document: IssuedDocument | None = None
        self.fields["code"].label_size = "m"  # type: ignore[attr-defined]

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not CODE_PATTERN.fullmatch(code):
            raise forms.ValidationError(
                _("The verification code must be %(count)s letters and numbers"),
                params={"count": CODE_LENGTH},
                code="format",
            )
        self.document = document_for_verification(code=code)
        if self.document is None:
            raise forms.ValidationError(
                _("No document has this code. Check you typed it exactly as it is printed"),
                code="unknown",
            )
        return code


class RevokeForm(forms.Form):
    reason = FreeTextField(
        label=_("Why is the document being revoked?"),
        help_text=_(
            "The holder is told this reason. The public verification page shows only "
            "that the document was revoked, and when."
        ),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": _("Enter why the document is being revoked"),
            "max_length": _("The reason must be 1000 characters or fewer"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].label_size = "m"  # type: ignore[attr-defined]

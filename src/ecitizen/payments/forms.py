"""Forms of the payments pages and of the sandbox provider's card page."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.text import FreeTextField, NameField


class PayByReferenceForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference number"),
        help_text=_(
            "It is printed on your bill or penalty notice, for example PCN-2026-000123-K7QM."
        ),
        max_length=40,
        error_messages={"required": _("Enter the reference number")},
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        help_text=_("The postcode the bill or notice was sent to."),
        max_length=12,
        error_messages={"required": _("Enter the postcode")},
        widget=forms.TextInput(
            attrs={"autocomplete": "postal-code", "class": "govuk-input--width-10"}
        ),
    )

    def clean_reference(self) -> str:
        return re.sub(r"\s+", "", self.cleaned_data["reference"]).upper()


class ContinueToPaymentForm(forms.Form):
    """Only the idempotency key travels with the request: the amount is worked out on
    the server from the bill, whatever else the form sends."""

    key = forms.UUIDField(widget=forms.HiddenInput)


class CardForm(forms.Form):
    card_number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        error_messages={"required": _("Enter your card number")},
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    expiry = forms.CharField(
        label=_("Expiry date"),
        help_text=_("For example, 10/28"),
        max_length=7,
        error_messages={"required": _("Enter the expiry date")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "cc-exp",
                "inputmode": "numeric",
                "class": "govuk-input--width-5",
            }
        ),
    )
    name = NameField(
        label=_("Name on card"),
        max_length=100,
        error_messages={"required": _("Enter the name as it appears on the card")},
        widget=forms.TextInput(attrs={"autocomplete": "cc-name", "spellcheck": "false"}),
    )
    security_code = forms.CharField(
        label=_("Card security code"),
        help_text=_("The last 3 digits on the back of the card"),
        max_length=4,
        error_messages={"required": _("Enter the card security code")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "cc-csc",
                "inputmode": "numeric",
                "class": "govuk-input--width-4",
            }
        ),
    )

    def clean_card_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["card_number"])
        if not re.fullmatch(r"\d{12,19}", number) or not _luhn(number):
            raise forms.ValidationError(_("Enter a valid card number"))
        return number

    def clean_expiry(self) -> str:
        match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", self.cleaned_data["expiry"])
        if not match or not 1 <= int(match.group(1)) <= 12:
            raise forms.ValidationError(_("Enter the expiry date in the format MM/YY"))
        month, year = int(match.group(1)), int(match.group(2)) % 100 + 2000
        today = timezone.localdate()
        if (year, month) < (today.year, today.month):
            raise forms.ValidationError(_("The card has expired"))
        return f"{month:02d}/{year % 100:02d}"

    def clean_security_code(self) -> str:
        code = self.cleaned_data["security_code"].strip()
        if not re.fullmatch(r"\d{3,4}", code):
            raise forms.ValidationError(_("Enter the 3 or 4 digit security code"))
        return code


def _luhn(number: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to refund"),
        min_value=0,
        decimal_places=2,
        max_digits=12,
        error_messages={
            "required": _("Enter the amount to refund"),
            "invalid": _("Enter an amount, like 12.50"),
        },
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "govuk-input--width-10"}),
    )
    reason = FreeTextField(
        label=_("Reason for the refund"),
        help_text=_("The payer sees this reason."),
        max_length=500,
        widget=forms.Textarea,
        error_messages={"required": _("Enter the reason for the refund")},
    )

    def amount_minor(self) -> int:
        value: Any = self.cleaned_data["amount"]
        return int(value * 100)


class PaymentSearchForm(forms.Form):
    query = forms.CharField(
        label=_("Reference, bill, payment number or payer's email"), required=False, max_length=120
    )
    state = forms.ChoiceField(label=_("Status"), required=False)
    provider = forms.ChoiceField(label=_("Provider"), required=False)
    date_from = forms.DateField(
        label=_("From (YYYY-MM-DD)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To (YYYY-MM-DD)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings

        from ecitizen.payments.models import PaymentState

        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("Any")), *PaymentState.choices]  # type: ignore[attr-defined]
        self.fields["provider"].choices = [  # type: ignore[attr-defined]
            ("", _("Any")),
            *((name, name) for name in settings.PAYMENT_PROVIDERS),
            ("counter", _("Cash desk")),
        ]

"""Forms of the payments pages and of the sandbox provider's card page."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import DecimalValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ecitizen.core.forms import GovukDateField
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
    # Decimals: those of the currency (set in __init__: none for JPY, three for KWD).
    amount = forms.DecimalField(
        label=_("Amount to refund"),
        min_value=0,
        max_digits=15,
        error_messages={
            "required": _("Enter the amount to refund"),
            "invalid": _("Enter an amount, like %(example)s"),
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from ecitizen.payments.money import currency_precision, from_minor

        super().__init__(*args, **kwargs)
        precision = currency_precision()
        field: Any = self.fields["amount"]
        field.decimal_places = precision
        # The validator was built with the class's decimal_places (None): rebuild it.
        kept = [v for v in field.validators if not isinstance(v, DecimalValidator)]
        field.validators = [*kept, DecimalValidator(field.max_digits, precision)]
        example = from_minor(1250 * 10**precision // 100)
        field.error_messages["invalid"] = field.error_messages["invalid"] % {
            "example": f"{example:f}"
        }
        too_precise: Any
        if precision:
            too_precise = ngettext(
                "Enter the amount with no more than %(count)s decimal place",
                "Enter the amount with no more than %(count)s decimal places",
                precision,
            ) % {"count": precision}
        else:
            too_precise = _("Enter the amount as a whole number")
        field.error_messages["max_decimal_places"] = too_precise

    def amount_minor(self) -> int:
        from ecitizen.payments.money import to_minor

        value: Any = self.cleaned_data["amount"]
        return to_minor(value)


class PaymentSearchForm(forms.Form):
    query = forms.CharField(
        label=_("Reference, bill, payment number or payer's email"), required=False, max_length=120
    )
    state = forms.ChoiceField(label=_("Status"), required=False)
    provider = forms.ChoiceField(label=_("Provider"), required=False)
    # GOV.UK date inputs: the hint and the boxes say the same thing in every browser and
    # language (a browser's own date control shows a format of its own choosing).
    date_from = GovukDateField(
        label=_("Created on or after"),
        help_text=_("For example, 27 3 2026"),
        required=False,
    )
    date_to = GovukDateField(
        label=_("Created on or before"),
        help_text=_("For example, 27 3 2026"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings

        from ecitizen.payments.models import PaymentState
        from ecitizen.payments.providers import COUNTER, provider_label

        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("Any")), *PaymentState.choices]  # type: ignore[attr-defined]
        self.fields["provider"].choices = [  # type: ignore[attr-defined]
            ("", _("Any")),
            *((name, provider_label(name)) for name in [*settings.PAYMENT_PROVIDERS, COUNTER]),
        ]

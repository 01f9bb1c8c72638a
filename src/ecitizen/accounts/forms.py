"""Forms for sign-up, the resident's profile and staff administration."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.identity import validate_national_id
from ecitizen.accounts.models import ContactPreference, Department, Jurisdiction, User
from ecitizen.accounts.selectors import SEARCH_MIN_LENGTH, name_query_searchable
from ecitizen.accounts.services import date_of_birth_valid
from ecitizen.accounts.validators import PersonalInformationValidator
from ecitizen.core.forms import GovukDateField
from ecitizen.core.text import FreeTextField, NameField


class SignupForm(AllauthSignupForm):
    """allauth's sign-up with the person's name, which also feeds the password check."""

    full_name = NameField(
        label=_("Full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name", "spellcheck": "false"}),
        error_messages={"required": _("Enter your full name")},
    )

    field_order = ["full_name", "email", "password1"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = _("We will send you an email to confirm this address.")
        self.fields["email"].error_messages["required"] = _("Enter your email address")
        self.fields["password1"].error_messages["required"] = _("Enter a password")
        self.fields["password1"].help_text = _(
            "Use at least 8 characters. A long phrase of a few unrelated words is strong "
            "and easy to remember. Do not use your name or email address."
        )
        self.order_fields(self.field_order)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password = cleaned.get("password1")
        if password and "password1" not in self.errors:
            candidate = User(
                email=cleaned.get("email") or "", full_name=cleaned.get("full_name") or ""
            )
            try:
                PersonalInformationValidator().validate(password, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ProfileForm(forms.Form):
    legal_name = NameField(
        label=_("Full legal name"),
        max_length=200,
        error_messages={"required": _("Enter your full legal name")},
        widget=forms.TextInput(attrs={"autocomplete": "name", "spellcheck": "false"}),
    )
    preferred_name = NameField(
        label=_("Preferred name"),
        help_text=_("What you would like us to call you, if different."),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "nickname", "spellcheck": "false"}),
    )
    date_of_birth = GovukDateField(
        label=_("Date of birth"),
        help_text=_("For example, 27 3 1985"),
        required=False,
    )
    national_id = forms.CharField(
        label=_("National identity number"),
        help_text=_("It's on your identity card, like RV12345678."),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    address_line_1 = FreeTextField(
        label=_("Address line 1"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line_2 = FreeTextField(
        label=_("Address line 2"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    town = FreeTextField(
        label=_("Town or city"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    postcode = FreeTextField(
        label=_("Postcode"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        help_text=_("For international numbers include the country code."),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    contact_preference = forms.ChoiceField(
        label=_("How should we contact you?"),
        choices=ContactPreference.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Select how we should contact you")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date_of_birth"].widget.attrs["autocomplete"] = "bday"

    def clean_date_of_birth(self) -> Any:
        value = self.cleaned_data.get("date_of_birth")
        if value and not date_of_birth_valid(value):
            raise ValidationError(_("Date of birth must be in the past"), code="future")
        return value

    def clean_national_id(self) -> str:
        value = self.cleaned_data.get("national_id", "")
        return validate_national_id(value) if value else ""

    def clean_phone(self) -> str:
        value: str = self.cleaned_data.get("phone", "")
        digits = [c for c in value if c.isdigit()]
        if value and not (7 <= len(digits) <= 15 and all(c in "0123456789+ ()-" for c in value)):
            raise ValidationError(
                _("Enter a phone number, like 01632 960 001 or +44 7700 900 982"), code="phone"
            )
        return value.strip()


class ResidentLookupForm(forms.Form):
    national_id = forms.CharField(
        label=_("National identity number"),
        help_text=_("Finds the one resident with exactly this number."),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    query = forms.CharField(
        label=_("Name or email address"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )

    def clean_national_id(self) -> str:
        value = self.cleaned_data.get("national_id", "")
        return validate_national_id(value) if value else ""

    def clean_query(self) -> str:
        value: str = self.cleaned_data.get("query", "").strip()
        # Names are found by the start of their words: one word must be long enough.
        if value and (len(value) < SEARCH_MIN_LENGTH or not name_query_searchable(value)):
            raise ValidationError(
                _("Enter at least %(count)d characters of the name") % {"count": SEARCH_MIN_LENGTH},
                code="too_short",
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("national_id") and not cleaned.get("query") and not self.errors:
            raise ValidationError(
                _("Enter a national identity number, or a name or email address"),
                code="empty",
            )
        return cleaned


class RoleAssignForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address of the person"),
        error_messages={
            "required": _("Enter the person's email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=(),  # the registered roles, set in __init__
        widget=forms.RadioSelect,
        error_messages={"required": _("Select a role")},
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        required=False,
        help_text=_(
            "Not needed for authority-wide roles (platform administrator, auditor, "
            "assisted-digital helper)."
        ),
    )
    jurisdiction = forms.ModelChoiceField(
        label=_("Ward"),
        queryset=Jurisdiction.objects.all(),
        required=False,
        help_text=_("Limit the role to one ward."),
    )

    def __init__(self, *args: Any, departments: Any, **kwargs: Any) -> None:
        from ecitizen.core.registry import registry

        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = departments
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = registry.role_choices()

    def clean_email(self) -> User:
        email = self.cleaned_data["email"].lower()
        user = User.objects.filter(email=email).first()
        if user is None:
            raise ValidationError(
                _(
                    "There is no account with this email address. Ask the person to create "
                    "an account first."
                ),
                code="unknown_user",
            )
        return user

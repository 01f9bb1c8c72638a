"""The platform administrator's form to register an integrator's client."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import Department, Jurisdiction
from ecitizen.api.clients import back_office_roles
from ecitizen.api.oauth import (
    BACK_OFFICE,
    BACK_OFFICE_SCOPES,
    RESIDENT_APP,
    RESIDENT_SCOPES,
    scope_label,
)

#: Which field a service's refusal is about (by the domain error's code).
_FIELD_BY_CODE = {
    "client_name_required": "name",
    "client_kind_unknown": "kind",
    "client_scopes_required": "scopes",
    "client_scope_not_allowed": "scopes",
    "client_redirect_required": "redirect_uris",
    "client_redirect_invalid": "redirect_uris",
    "client_department_required": "department",
    "client_role_invalid": "role",
}


class ClientForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        help_text=_("Residents see it on the consent page, e.g. “Riverton in your pocket”."),
        error_messages={"required": _("Enter the client's name")},
    )
    kind = forms.ChoiceField(
        label=_("What kind of client is it?"),
        choices=[
            (RESIDENT_APP, _("An app acting for residents, with their consent")),
            (BACK_OFFICE, _("A back-office system working in one department")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Select what kind of client it is")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("What may it be allowed to do?"),
        choices=(),  # set in __init__: every scope, in plain words
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "An app acting for residents may have only residents' scopes and webhooks; a "
            "back-office system only cases and webhooks."
        ),
        error_messages={"required": _("Select at least one scope")},
    )
    redirect_uris = forms.CharField(
        label=_("Redirect addresses (apps acting for residents)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_("One full address per line, where residents return after consenting."),
    )
    public = forms.BooleanField(
        label=_("It is a mobile or browser app that cannot keep a secret"),
        required=False,
    )
    department = forms.ModelChoiceField(
        label=_("Department (back-office systems)"),
        queryset=Department.objects.all(),
        required=False,
    )
    ward = forms.ModelChoiceField(
        label=_("Ward (optional)"),
        queryset=Jurisdiction.objects.all(),
        required=False,
        help_text=_("Limit a back-office system to one ward."),
    )
    role = forms.ChoiceField(
        label=_("Role it acts in (back-office systems)"),
        choices=(),  # set in __init__
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scopes = self.fields["scopes"]
        assert isinstance(scopes, forms.MultipleChoiceField)
        names = list(dict.fromkeys((*RESIDENT_SCOPES, *BACK_OFFICE_SCOPES)))
        scopes.choices = [(name, f"{scope_label(name)} ({name})") for name in names]
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [("", _("Choose a role")), *back_office_roles()]

    def clean_redirect_uris(self) -> list[str]:
        raw = self.cleaned_data.get("redirect_uris") or ""
        return [line.strip() for line in raw.splitlines() if line.strip()]

    @staticmethod
    def field_for(code: str) -> str | None:
        """The field a domain error with ``code`` is about (``None``: the whole form)."""
        return _FIELD_BY_CODE.get(code)

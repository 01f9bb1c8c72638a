"""Forms of the email-alert pages: which ward (a GET form: nothing personal yet), and the
alert's details (how far from a place, which problems, the address of someone who is not
signed in)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ecitizen.reports.services import ALERT_RADII_M, alert_radius_text


class AlertWardForm(forms.Form):
    """The ward an alert watches (the page's first way of choosing where)."""

    ward = forms.ChoiceField(
        label=_("Ward"),
        error_messages={
            "required": _("Select a ward"),
            "invalid_choice": _("Select a ward"),
        },
    )

    def __init__(self, *args: Any, wards: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = [("", _("Choose a ward")), *wards]  # type: ignore[attr-defined]
        self.fields["ward"].label_size = "s"  # type: ignore[attr-defined]


class AlertForm(forms.Form):
    """An alert's details. ``area``: the alert watches a place, so it asks how far from
    it; ``anonymous``: the person is not signed in, so it asks their email address."""

    radius = forms.TypedChoiceField(
        label=_("How far from there?"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select how far from the place"),
            "invalid_choice": _("Select how far from the place"),
        },
    )
    category = forms.ChoiceField(
        label=_("Which problems?"),
        required=False,
        help_text=_("Choose one kind of problem, or get alerts about all of them."),
        error_messages={"invalid_choice": _("Select the kind of problem")},
    )
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("We will send you a link to confirm it. It is never shown to anyone."),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
            "max_length": _("Your email address must be %(limit_value)s characters or fewer"),
        },
    )

    def __init__(
        self,
        *args: Any,
        area: bool,
        anonymous: bool,
        categories: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if area:
            self.fields["radius"].choices = [  # type: ignore[attr-defined]
                (str(metres), alert_radius_text(metres)) for metres in ALERT_RADII_M
            ]
        else:
            del self.fields["radius"]
        if not anonymous:
            del self.fields["email"]
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", _("All problems")),
            *categories,
        ]
        for field in self.fields.values():
            field.label_size = "s"  # type: ignore[attr-defined]

"""Forms of the street-report pages: the "report a problem" journey (one question per
page), the public list's filters. The category's own questions are built by the cases
app's :class:`~ecitizen.cases.forms.QuestionPageForm` from its definition."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from ecitizen.cases.forms import MultipleFileField
from ecitizen.core.text import FreeTextField, NameField
from ecitizen.reports.services import DESCRIPTION_MAX_LENGTH, MAX_PHOTOS, TITLE_MAX_LENGTH

#: What the photo input offers to choose (the content is checked anyway).
PHOTO_TYPES = "image/jpeg,image/png,image/webp"
#: The "where exactly?" words kept with the street (the report's address holds 300).
WHERE_MAX_LENGTH = 200
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class CategoryForm(forms.Form):
    """What kind of problem: one radio per category, shown under its group's heading
    (the template groups them; ``groups`` is ``[(group title, [(code, title), ...])]``)."""

    category = forms.ChoiceField(
        label=_("What is the problem?"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select the kind of problem"),
            "invalid_choice": _("Select the kind of problem"),
        },
    )

    def __init__(self, *args: Any, groups: list[tuple[str, list[tuple[str, str]]]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.groups = groups
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            choice for _group, choices in groups for choice in choices
        ]


class WhereForm(forms.Form):
    """Where the problem is: a pin on the map (``lat``/``lon``, filled in by the map's
    script), or a street from the search results (``place``: its coordinates as
    "lat,lon"), and optionally the words that pin it down. Which one counts, and whether
    it is inside the area, is the view's decision (it knows the search results)."""

    lat = forms.CharField(required=False, widget=forms.HiddenInput)
    lon = forms.CharField(required=False, widget=forms.HiddenInput)
    place = forms.ChoiceField(
        label=_("Select the street"),
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Select the street from the list")},
    )
    where = FreeTextField(
        label=_("Where exactly?"),
        help_text=_("For example, outside number 12, or next to the bus stop"),
        required=False,
        max_length=WHERE_MAX_LENGTH,
        error_messages={
            "max_length": _("Where exactly must be %(limit_value)s characters or fewer")
        },
    )

    def __init__(self, *args: Any, places: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = places  # type: ignore[attr-defined]
        self.fields["where"].label_size = "s"  # type: ignore[attr-defined]


class SearchForm(forms.Form):
    """A street name or postcode to look up in the authority's gazetteer."""

    q = forms.CharField(
        label=_("Street name or postcode"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class DescribeForm(forms.Form):
    title = FreeTextField(
        label=_("Summary"),
        help_text=_("For example, deep pothole outside number 12"),
        max_length=TITLE_MAX_LENGTH,
        error_messages={
            "required": _("Enter a summary of the problem"),
            "max_length": _("The summary must be %(limit_value)s characters or fewer"),
        },
    )
    description = FreeTextField(
        label=_("Details"),
        help_text=_(
            "What is wrong, how big it is, and whether it is dangerous. This will be public: "
            "do not include personal information."
        ),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea,
        error_messages={
            "required": _("Enter details of the problem"),
            "max_length": _("The details must be %(limit_value)s characters or fewer"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.label_size = "s"  # type: ignore[attr-defined]


class PhotosForm(forms.Form):
    photos = MultipleFileField(label=_("Add photos"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["photos"]
        field.widget.attrs["accept"] = PHOTO_TYPES
        field.label_size = "s"  # type: ignore[attr-defined]
        field.help_text = gettext(
            "Up to %(count)s photos, JPG, PNG or WebP. We remove the location and camera "
            "details from them before anyone sees them."
        ) % {"count": MAX_PHOTOS}


class ShowNameForm(forms.Form):
    """A signed-in reporter's one question: is their name shown on the public report?"""

    show_name = forms.ChoiceField(
        label=_("Do you want your name to be shown on the report?"),
        help_text=_("Your email address is never shown."),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select yes if you want your name to be shown on the report"),
            "invalid_choice": _("Select yes if you want your name to be shown on the report"),
        },
    )


class AboutYouForm(ShowNameForm):
    """A reporter who is not signed in: their email address (we send the link that sends
    the report), their name, and whether it is shown."""

    name = NameField(
        label=_("Your name"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name", "spellcheck": "false"}),
        error_messages={"max_length": _("Your name must be %(limit_value)s characters or fewer")},
    )
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("We will send you a link to confirm your report, then tell you what happens."),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
            "max_length": _("Your email address must be %(limit_value)s characters or fewer"),
        },
    )

    field_order = ["name", "email", "show_name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(self.field_order)
        self.fields["show_name"].label_size = "s"  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("show_name") == "yes" and not cleaned.get("name"):
            self.add_error(
                "name",
                ValidationError(
                    _("Enter your name, or select no to keep it off the report"), code="required"
                ),
            )
        return cleaned


class ListFilterForm(forms.Form):
    """The public list's filters (a GET form: every value optional, a wrong one ignored)."""

    q = forms.CharField(
        label=_("Street name or postcode"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    category = forms.ChoiceField(label=_("Problem"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Open and closed")),
            ("open", pgettext_lazy("report status", "Open")),
            ("closed", pgettext_lazy("report status", "Closed")),
        ],
    )
    ward = forms.ChoiceField(label=_("Ward"), required=False)

    def __init__(
        self,
        *args: Any,
        categories: list[tuple[str, str]],
        wards: list[tuple[str, str]],
        for_display: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if for_display:
            # Shown, never validated: filters are optional by nature, so their labels do
            # not say "(optional)" (GOV.UK's filter pattern), and no field is "required".
            self.use_required_attribute = False
            for field in self.fields.values():
                field.required = True
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", _("All problems")),
            *categories,
        ]
        self.fields["ward"].choices = [("", _("All wards")), *wards]  # type: ignore[attr-defined]
        for field in self.fields.values():
            field.label_size = "s"  # type: ignore[attr-defined]

    def value(self, name: str) -> str:
        """The cleaned value of a filter, or "" when it was not given or is not valid (a
        stale link should show the list, not an error)."""
        if not self.is_bound:
            return ""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        if name in self.errors:
            return ""
        return str(self.cleaned_data.get(name) or "")

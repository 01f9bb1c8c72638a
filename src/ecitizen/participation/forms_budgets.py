"""Forms of the budget pages: the organiser's settings, headings and projects, a
department's feasibility review and delivery report, and a resident's ballot.

The forms check what a browser can get wrong (a choice that is not offered, a number that
is not one); the budget's rules (headings within the total, a ballot within the heading's
amount) are the services', whose messages the views put on the fields.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ecitizen.cases.forms import AmountField
from ecitizen.core.forms import GovukDateField, SubmissionForm
from ecitizen.core.text import FreeTextField
from ecitizen.participation.models import Budget, Project
from ecitizen.participation.selectors.budgets import money, to_minor

_MONEY_ERRORS = {
    "required": _("Enter an amount"),
    "invalid": _("Enter an amount in numbers, like 25000"),
    "min_value": _("Enter an amount of more than 0"),
    "max_digits": _("Enter an amount of less than 1,000,000,000,000"),
    "max_decimal_places": _("Enter an amount with no more than 2 decimal places"),
    "max_whole_digits": _("Enter an amount of less than 1,000,000,000,000"),
}


def _amount(label: Any, help_text: Any = "", *, required: bool = True) -> AmountField:
    return AmountField(
        label=label,
        help_text=help_text,
        required=required,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        error_messages=_MONEY_ERRORS,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "spellcheck": "false", "class": "govuk-input--width-10"}
        ),
    )


class BudgetSettingsForm(SubmissionForm):
    total_amount = _amount(_("Total amount"), _("All the money residents decide on."))
    ballot_kind = forms.ChoiceField(
        label=_("Kind of ballot"),
        choices=Budget.BallotKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the kind of ballot")},
    )
    min_projects = forms.IntegerField(
        label=_("Fewest projects a ballot must choose"),
        min_value=1,
        max_value=100,
        initial=1,
        error_messages={
            "required": _("Enter the fewest projects a ballot must choose"),
            "invalid": _("Enter a whole number, like 1"),
            "min_value": _("Enter 1 or more"),
            "max_value": _("Enter 100 or less"),
        },
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
    )
    max_projects = forms.IntegerField(
        label=_("Most projects a ballot may choose"),
        help_text=_("Needed for an approval ballot; optional for a knapsack ballot."),
        required=False,
        min_value=1,
        max_value=100,
        error_messages={
            "invalid": _("Enter a whole number, like 5"),
            "min_value": _("Enter 1 or more"),
            "max_value": _("Enter 100 or less"),
        },
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
    )
    min_share_percent = forms.IntegerField(
        label=_("Minimum share of the heading's amount a knapsack ballot must spend (per cent)"),
        help_text=_("0 for none. For example 50: a ballot must choose projects worth half of it."),
        min_value=0,
        max_value=100,
        initial=0,
        error_messages={
            "required": _("Enter the minimum share, or 0 for none"),
            "invalid": _("Enter a whole number from 0 to 100"),
            "min_value": _("Enter a whole number from 0 to 100"),
            "max_value": _("Enter a whole number from 0 to 100"),
        },
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
    )
    method = forms.ChoiceField(
        label=_("How the votes are counted"),
        choices=Budget.Method.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how the votes are counted")},
    )
    completion = forms.BooleanField(
        label=_("Complete equal shares so that money is not left unspent"),
        help_text=_(
            "The budget is raised step by step while equal shares still fits it, then the "
            "projects with the most votes that still fit are added."
        ),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].choice_hints = {  # type: ignore[attr-defined]
            Budget.Method.GREEDY: _(
                "The projects with the most votes, in order, as long as they fit the money left."
            ),
            Budget.Method.EQUAL_SHARES: _(
                "Each voter gets an equal share of the money; a project is funded when its "
                "supporters' shares can pay for it. Proportional: groups of voters get "
                "projects in proportion to their size."
            ),
        }


class HeadingForm(SubmissionForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("For example “Riverside ward” or “The whole city”."),
        error_messages={"required": _("Enter the heading's name")},
    )
    slug = forms.SlugField(
        label=_("Address name"),
        max_length=40,
        help_text=_("Lower-case letters, digits and hyphens, used in the heading's addresses."),
        error_messages={
            "required": _("Enter the heading's address name"),
            "invalid": _("Use only lower-case letters, digits and hyphens"),
        },
    )
    ward = forms.ChoiceField(
        label=_("Ward"),
        help_text=_("Only the residents of this ward vote in the heading. None: everyone."),
        required=False,
    )
    amount = _amount(_("Amount"))

    def __init__(self, *args: Any, wards: dict[str, Any], editing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wards = wards
        self.fields["ward"].choices = [("", _("None: the whole authority"))] + [  # type: ignore[attr-defined]
            (code, str(ward)) for code, ward in wards.items()
        ]
        if editing:
            del self.fields["slug"]

    def clean_ward(self) -> Any:
        code = self.cleaned_data.get("ward") or ""
        return self.wards.get(code) if code else None


class ProjectForm(SubmissionForm):
    heading = forms.ChoiceField(
        label=_("Heading"), error_messages={"required": _("Choose the project's heading")}
    )
    proposal = forms.ChoiceField(
        label=_("From an accepted proposal"),
        help_text=_("Its title and description become the project's."),
        required=False,
    )
    title = forms.CharField(label=_("Title"), max_length=150, required=False)
    description = FreeTextField(
        label=_("Description"), max_length=5000, required=False, widget=forms.Textarea
    )
    department = forms.ChoiceField(
        label=_("Department that reviews and delivers it"),
        error_messages={"required": _("Choose the department")},
    )
    cost = _amount(_("Estimated cost"))

    def __init__(
        self,
        *args: Any,
        headings: list[Any],
        proposals: list[Any],
        departments: list[Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headings = {h.slug: h for h in headings}
        self.proposals = {p.reference: p for p in proposals}
        self.departments = {str(d.pk): d for d in departments}
        self.fields["heading"].choices = [(h.slug, h.tr("name")) for h in headings]  # type: ignore[attr-defined]
        if proposals:
            self.fields["proposal"].choices = [("", _("None: a new project"))] + [  # type: ignore[attr-defined]
                (p.reference, f"{p.reference}: {p.tr('title')}") for p in proposals
            ]
        else:
            del self.fields["proposal"]
        self.fields["department"].choices = [("", "")] + [(str(d.pk), str(d)) for d in departments]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["heading"] = self.headings.get(data.get("heading") or "")
        data["proposal"] = self.proposals.get(data.get("proposal") or "")
        data["department"] = self.departments.get(data.get("department") or "")
        if data["proposal"] is None:
            if not data.get("title"):
                self.add_error("title", _("Enter the project's title"))
            if not data.get("description"):
                self.add_error("description", _("Enter the project's description"))
        return data


class ReviewForm(SubmissionForm):
    feasibility = forms.ChoiceField(
        label=_("Is the project feasible?"),
        choices=[
            (Project.Feasibility.FEASIBLE, _("Feasible")),
            (Project.Feasibility.NOT_FEASIBLE, _("Not feasible")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Say whether the project is feasible")},
    )
    reason = FreeTextField(
        label=_("Reason"),
        help_text=_("Residents read it on the project's page. Needed when it is not feasible."),
        max_length=3000,
        required=False,
        widget=forms.Textarea,
    )
    cost = _amount(
        _("Revised cost"),
        _("Only if the review changed the cost. Residents see the first estimate too."),
        required=False,
    )


class DeliveryForm(SubmissionForm):
    delivery = forms.ChoiceField(
        label=_("Where the project is"),
        choices=Project.Delivery.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose where the project is")},
    )


class MilestoneForm(SubmissionForm):
    title = forms.CharField(
        label=_("What happened"),
        max_length=200,
        error_messages={"required": _("Enter what happened")},
    )
    description = FreeTextField(
        label=_("More detail"), max_length=3000, required=False, widget=forms.Textarea
    )
    happened_on = GovukDateField(
        label=_("When"),
        help_text=_("For example, 27 3 2027"),
        error_messages={"required": _("Enter the date")},
    )


class ProjectCheckboxes(forms.CheckboxSelectMultiple):
    """The ballot's checkboxes, each carrying its project's cost in minor units
    (``data-cost``) for the running total's script."""

    def __init__(self, *args: Any, costs: dict[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.costs = costs

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        option["attrs"]["data-cost"] = self.costs.get(int(option["value"]), 0)
        return option


class BallotForm(forms.Form):
    """A ballot's choices among ``projects`` (those on the ballot). Whether the choice is a
    valid ballot is the service's to say (``ballot_validate``); here only that each
    choice is one offered."""

    projects = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        error_messages={"invalid_choice": _("Choose from the projects listed")},
    )

    def __init__(self, *args: Any, projects: list[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["projects"]
        field.choices = [(p.pk, p.tr("title")) for p in projects]  # type: ignore[attr-defined]
        field.widget = ProjectCheckboxes(costs={p.pk: to_minor(p.cost) for p in projects})
        field.widget.choices = field.choices  # type: ignore[attr-defined]
        field.choice_hints = {p.pk: money(p.cost) for p in projects}  # type: ignore[attr-defined]


class CastForm(SubmissionForm):
    """The check page's "Cast your vote": the one-off key makes a double click one ballot."""


class ResultsForm(SubmissionForm):
    action = forms.ChoiceField(choices=[("compute", "compute"), ("publish", "publish")])

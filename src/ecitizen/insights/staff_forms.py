"""Forms of the officials' planning pages: hourly costs of roles, a service's costs of a
month, handling times, staffing, and computing a month's figures again.

Amounts are typed as text (GOV.UK: no number inputs) and read by :class:`AmountField`,
which accepts thousands separators, a decimal comma or point (the rule:
:func:`amount_text`) and the currency symbol, and says precisely what is wrong ("Enter
the fixed costs, or 0 if there were none", "The fixed costs must be 0 or more"). A month
is the GOV.UK date input with a month and a year box (:class:`GovukMonthField`, from 1900
on). The services check the same rules again; the views put their messages on these
fields.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal, get_decimal_symbol
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.forms import GovukDateWidget as CoreGovukDateWidget
from ecitizen.core.forms import SubmissionForm
from ecitizen.core.processcache import babel_locale
from ecitizen.core.text import FreeTextField
from ecitizen.insights.services.costs import NOTE_MAX_LENGTH, month_start
from ecitizen.insights.services.kpis import EARLIEST_MONTH
from ecitizen.payments.money import currency_symbol

# --- a month: the GOV.UK date input with a month and a year ------------------------------


class GovukDateWidget(CoreGovukDateWidget):
    """The GOV.UK date input with a month and a year box only, for "which month".

    It keeps the core widget's class name on purpose: the form renderer picks the GOV.UK
    component by widget type (``govukdate``: a fieldset with the boxes), and the error
    summary links to the first box through :meth:`id_for_label` (here the month box)."""

    parts = ("month", "year")  # type: ignore[assignment]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        numeric = {"inputmode": "numeric"}
        widgets: dict[str, forms.Widget | type[forms.Widget]] = {
            "month": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-2"}),
            "year": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-4"}),
        }
        forms.MultiWidget.__init__(self, widgets, attrs)

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, datetime.date):
            return [value.month, value.year]
        return [None, None]

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_month" if id_ else ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = forms.MultiWidget.get_context(self, name, value, attrs)
        base_id = context["widget"]["attrs"].get("id")
        invalid = context["widget"]["attrs"].get("aria-invalid") in {True, "true"}
        labels = [_("Month"), _("Year")]
        for widget, subwidget, label, part in zip(
            self.widgets, context["widget"]["subwidgets"], labels, self.parts, strict=True
        ):
            subwidget["label"] = label
            if base_id:
                subwidget["attrs"]["id"] = f"{base_id}_{part}"
            classes = ["govuk-input", "govuk-date-input__input", str(widget.attrs.get("class", ""))]
            if invalid:
                classes.append("govuk-input--error")
            subwidget["attrs"]["class"] = " ".join(c for c in classes if c)
            subwidget["attrs"].pop("aria-describedby", None)
        return context


_MONTH_BOX = re.compile(r"[0-9]{1,2}")
_YEAR_BOX = re.compile(r"[0-9]{4}")


class GovukMonthField(forms.MultiValueField):
    """A month entered as a month number and a year (GOV.UK's date input without the
    day), cleaned to the month's first day.

    The month is 1 or 2 digits from 1 to 12, the year 4 digits from 1900
    (:data:`~ecitizen.insights.services.kpis.EARLIEST_MONTH`: no figures are older), both
    in the digits 0 to 9 (``²`` or ``٢`` are refused, not read). ``past_only``: a month
    after this one is refused ("The month must be this month or in the past"); without
    it, the year is at most :data:`LATEST_YEAR`."""

    widget = GovukDateWidget
    default_error_messages = {
        "required": _("Enter the month and year"),
        "future": _("The month must be this month or in the past"),
        "too_early": _("The year must be %(year)s or later"),
        "too_late": _("The year must be %(year)s or earlier"),
    }

    #: The latest year a month may be in when future months are allowed.
    LATEST_YEAR = 2999

    def __init__(self, *, past_only: bool = True, **kwargs: Any) -> None:
        fields = (forms.CharField(required=False), forms.CharField(required=False))
        kwargs.setdefault("require_all_fields", False)
        self.past_only = past_only
        super().__init__(fields=fields, **kwargs)

    def compress(self, data_list: list[str]) -> datetime.date | None:
        if not data_list or not any(data_list):
            return None
        month, year = (str(part or "").strip() for part in data_list)
        if not month:
            raise forms.ValidationError(_("The month must include a month"), code="incomplete")
        if not year:
            raise forms.ValidationError(_("The month must include a year"), code="incomplete")
        if not (month.isascii() and month.isdigit() and year.isascii() and year.isdigit()):
            raise forms.ValidationError(
                _("Enter the month as a number from 1 to 12 and the year, like 4 2025"),
                code="invalid",
            )
        if not _YEAR_BOX.fullmatch(year):
            raise forms.ValidationError(_("The year must include 4 numbers"), code="invalid_year")
        if not _MONTH_BOX.fullmatch(month) or not 1 <= int(month) <= 12:
            raise forms.ValidationError(
                _("The month must be a number from 1 to 12"), code="invalid_month"
            )
        if int(year) < EARLIEST_MONTH.year:
            raise forms.ValidationError(
                self.error_messages["too_early"] % {"year": EARLIEST_MONTH.year},
                code="too_early",
            )
        if not self.past_only and int(year) > self.LATEST_YEAR:
            raise forms.ValidationError(
                self.error_messages["too_late"] % {"year": self.LATEST_YEAR}, code="too_late"
            )
        first = datetime.date(int(year), int(month), 1)
        if self.past_only and first > month_start(timezone.localdate()):
            raise forms.ValidationError(self.error_messages["future"], code="future_month")
        return first


def month_from_text(value: str) -> datetime.date | None:
    """``"2025-04"`` → 1 April 2025; ``None`` when it is not a month like that (in the
    digits 0 to 9) or is before 1900."""
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", value.strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < EARLIEST_MONTH.year:
        return None
    return datetime.date(int(match[1]), int(match[2]), 1)


# --- amounts -------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f]")
#: A whole part with its thousands in groups of 3 digits (``1,250,000``), the first group
#: not starting with 0; ``{sep}`` is the separator.
_GROUPED = r"[+-]?[1-9]\d{{0,2}}(?:{sep}\d{{3}})+"


def decimal_point() -> str:
    """The decimal separator of the active language as this site writes numbers (Babel's,
    as :func:`ecitizen.payments.money.format_money` shows amounts): ``.`` in English and
    Arabic, ``,`` in French."""
    return str(get_decimal_symbol(babel_locale()))


def amount_text(text: str, *, point: str) -> str | None:
    """The number typed in ``text`` written for :class:`~decimal.Decimal` (a ``.`` for
    the decimal separator, no thousands separators), or ``None`` when its separators do
    not make sense. ``point`` is the decimal separator of the reader's language. The rule:

    - spaces of any kind separate thousands and are ignored (``1 250,50``);
    - the Arabic decimal separator (U+066B) is a decimal separator and the Arabic
      thousands separator (U+066C) a thousands separator;
    - with both a comma and a point, the last one is the decimal separator and the other
      separates thousands, in groups of 3 digits (``1,250.50`` and ``1.250,50``: 1250.50);
    - with several commas, they separate thousands, in groups of 3 (``1,250,000``);
    - with one comma: a decimal comma (``12,50`` is 12.50), except in a language that
      writes a decimal point where it is followed by exactly 3 digits after 1 to 3 digits
      (``1,250`` is 1250 in English; 1.25 in French);
    - with one point: the decimal point (``12.50``, in every language); with several, the
      amount is refused (no language of the site groups thousands with points).

    So a comma is never silently dropped: ``12,50`` is never read as 1250."""
    text = _SPACES.sub("", text).replace("\u066c", "").replace("\u066b", ".")
    if "," not in text:
        return None if text.count(".") > 1 else text
    if "." in text:
        decimal, thousands = (".", ",") if text.rfind(".") > text.rfind(",") else (",", ".")
        whole, _sep, fraction = text.rpartition(decimal)
        if not re.fullmatch(_GROUPED.format(sep=re.escape(thousands)), whole):
            return None
        return f"{whole.replace(thousands, '')}.{fraction}"
    if text.count(",") > 1:
        return text.replace(",", "") if re.fullmatch(_GROUPED.format(sep=","), text) else None
    if point != "," and re.fullmatch(_GROUPED.format(sep=","), text):
        return text.replace(",", "")
    return text.replace(",", ".")


class AmountField(forms.CharField):
    """A number typed as text: at most ``places`` decimals, from ``min_value`` to
    ``max_value``. The currency symbol (``money``) and spaces are ignored; commas and
    points are read by :func:`amount_text` (``1,250.50``, ``1 250,50`` and ``12,50`` are
    read; a comma is never dropped, so ``12,50`` is never 1250). Error messages
    (``required``, ``invalid``, ``separators``, ``min_value``, ``max_value``, ``places``)
    should name the value; ``%(limit)s`` is the bound, ``%(places)s`` the decimals,
    ``%(grouped)s`` and ``%(plain)s`` a number written with and without thousands
    separators in the reader's language."""

    default_error_messages = {
        "required": _("Enter a number"),
        "invalid": _("Enter a number, like 12.50"),
        "separators": _(
            "Separate the thousands in groups of 3 digits, like %(grouped)s, or do not "
            "separate them, like %(plain)s"
        ),
        "min_value": _("Enter a number of %(limit)s or more"),
        "max_value": _("Enter a number of %(limit)s or less"),
        "places": _("Enter a number with no more than %(places)s decimal places"),
    }

    def __init__(
        self,
        *,
        places: int = 2,
        min_value: Decimal = Decimal("0"),
        max_value: Decimal | None = None,
        money: bool = False,
        **kwargs: Any,
    ) -> None:
        self.places, self.min_value, self.max_value, self.money = (
            places,
            min_value,
            max_value,
            money,
        )
        kwargs.setdefault("max_length", 40)
        width = kwargs.pop("width", 10)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "inputmode": "decimal",
                    "spellcheck": "false",
                    "autocomplete": "off",
                    "class": f"govuk-input--width-{width}",
                }
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        text = str(text)
        if self.money:
            symbol = currency_symbol()
            text = text.replace(symbol, "").replace(_SPACES.sub("", symbol) or symbol, "")
        number = amount_text(text, point=decimal_point())
        if number is None:
            example = Decimal("1250.50")
            locale = babel_locale()
            raise forms.ValidationError(
                self.error_messages["separators"]
                % {
                    "grouped": format_decimal(example, format="#,##0.00", locale=locale),
                    "plain": format_decimal(example, format="0.00", locale=locale),
                },
                code="separators",
            )
        try:
            amount = Decimal(number)
        except (InvalidOperation, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not amount.is_finite():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return amount

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None:
            return
        if value < self.min_value:
            raise forms.ValidationError(
                self.error_messages["min_value"] % {"limit": self.min_value}, code="min_value"
            )
        if self.max_value is not None and value > self.max_value:
            raise forms.ValidationError(
                self.error_messages["max_value"] % {"limit": self.max_value}, code="max_value"
            )
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.places:
            raise forms.ValidationError(
                self.error_messages["places"] % {"places": self.places}, code="places"
            )

    def run_validators(self, value: Any) -> None:
        # CharField's length validators do not apply to the Decimal.
        return None

    def clean(self, value: Any) -> Any:
        amount = super().clean(value)
        return amount.quantize(Decimal(1).scaleb(-self.places)) if amount is not None else None


def plain_number(value: Decimal) -> str:
    """``Decimal("37.0")`` → ``"37"``, ``Decimal("2.50")`` → ``"2.5"``: what a box shows."""
    return f"{value.normalize():f}"


def _money_label(text: Any) -> str:
    return f"{text} ({currency_symbol()})"


# --- costs ----------------------------------------------------------------------------------


class ServiceCostForm(SubmissionForm):
    """A service's costs of one month: fixed costs and start-up costs (0 allowed), and a
    note of what they are."""

    month = GovukMonthField(
        label=_("Month"),
        help_text=_("For example, 4 2025. This month or a past one."),
        error_messages={"required": _("Enter the month and year of the costs")},
    )
    fixed_costs = AmountField(
        money=True,
        max_value=Decimal("999999999999.99"),
        help_text=_(
            "Running costs of the service in the month other than officers' time on cases: "
            "hosting, licences, premises, postage. Enter 0 if there were none."
        ),
        error_messages={
            "required": _("Enter the fixed costs, or 0 if there were none"),
            "invalid": _("Enter the fixed costs as an amount, like 1250.00"),
            "min_value": _("The fixed costs must be 0 or more"),
            "max_value": _("The fixed costs must be %(limit)s or less"),
            "places": _("Enter the fixed costs with no more than 2 decimal places, like 1250.50"),
        },
    )
    startup_costs = AmountField(
        money=True,
        max_value=Decimal("999999999999.99"),
        help_text=_(
            "Building or changing the service (design, development, migration). Recorded, "
            "but left out of the cost per transaction. Enter 0 if there were none."
        ),
        error_messages={
            "required": _("Enter the start-up costs, or 0 if there were none"),
            "invalid": _("Enter the start-up costs as an amount, like 5000.00"),
            "min_value": _("The start-up costs must be 0 or more"),
            "max_value": _("The start-up costs must be %(limit)s or less"),
            "places": _(
                "Enter the start-up costs with no more than 2 decimal places, like 5000.50"
            ),
        },
    )
    note = FreeTextField(
        label=_("Note"),
        help_text=_("What the costs are, for whoever reads the figures later."),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": _("The note must be 2000 characters or fewer")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fixed_costs"].label = _money_label(_("Fixed costs"))
        self.fields["startup_costs"].label = _money_label(_("Start-up costs"))


class RoleCostsForm(SubmissionForm):
    """The hourly cost of each role (``roles``: (code, label) pairs). A role with no
    cost yet may stay empty; a cost once set cannot be emptied, only changed."""

    def __init__(
        self, *args: Any, roles: list[tuple[str, Any]], current: dict[str, Decimal], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.roles = roles
        for code, label in roles:
            name = self.field_name(code)
            role = {"role": str(label)}
            self.fields[name] = AmountField(
                label=_("%(role)s (%(symbol)s an hour)") % {**role, "symbol": currency_symbol()},
                money=True,
                max_value=Decimal("99999999.99"),
                required=code in current,
                width=5,
                error_messages={
                    "required": _("Enter the hourly cost of the role “%(role)s”") % role,
                    "invalid": _(
                        "Enter the hourly cost of the role “%(role)s” as an amount, like 35.50"
                    )
                    % role,
                    "min_value": _("The hourly cost of the role “%(role)s” must be 0 or more")
                    % role,
                    "max_value": _("The hourly cost must be %(limit)s or less"),
                    "places": _("Enter the hourly cost with no more than 2 decimal places"),
                },
            )
            if code in current and not self.is_bound:
                self.initial[name] = current[code]

    @staticmethod
    def field_name(role: str) -> str:
        return f"role_{role}"

    def costs(self) -> dict[str, Decimal]:
        """The costs entered, by role (roles left empty are not in it)."""
        return {
            code: self.cleaned_data[self.field_name(code)]
            for code, _label in self.roles
            if self.cleaned_data.get(self.field_name(code)) is not None
        }


# --- handling times and staffing -------------------------------------------------------------


class ActionTimesForm(SubmissionForm):
    """Minutes and role of each official action of a service (``actions``: (id, label)
    pairs; ``roles``: the role choices). Empty minutes leave an action with no time yet
    as it is; a time once set cannot be emptied."""

    def __init__(
        self,
        *args: Any,
        actions: list[tuple[str, str]],
        roles: list[tuple[str, Any]],
        current: dict[str, tuple[Decimal, str]],
        defaults: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.actions = actions
        for action, label in actions:
            minutes, role = f"minutes_{action}", f"role_{action}"
            self.fields[minutes] = AmountField(
                label=_("Minutes to “%(action)s”") % {"action": label},
                places=1,
                max_value=Decimal("99999.9"),
                required=action in current,
                width=4,
                error_messages={
                    "required": _("Enter the minutes to “%(action)s”") % {"action": label},
                    "invalid": _("Enter the minutes to “%(action)s” as a number, like 12.5")
                    % {"action": label},
                    "min_value": _("The minutes to “%(action)s” must be 0 or more")
                    % {"action": label},
                    "max_value": _("The minutes must be %(limit)s or fewer"),
                    "places": _("Enter the minutes with no more than 1 decimal place, like 12.5"),
                },
            )
            self.fields[role] = forms.ChoiceField(
                label=_("Role that does “%(action)s”") % {"action": label},
                choices=roles,
                error_messages={
                    "required": _("Choose the role that does “%(action)s”") % {"action": label},
                    "invalid_choice": _("Choose a role from the list"),
                },
            )
            if not self.is_bound:
                if action in current:
                    self.initial[minutes] = plain_number(current[action][0])
                    self.initial[role] = current[action][1]
                else:
                    self.initial[role] = defaults.get(action, "")

    def rows(self) -> list[tuple[str, str, forms.BoundField, forms.BoundField]]:
        """(action id, label, minutes field, role field) in the definition's order."""
        return [
            (action, label, self[f"minutes_{action}"], self[f"role_{action}"])
            for action, label in self.actions
        ]

    def times(self) -> dict[str, tuple[Decimal, str]]:
        """(minutes, role) of each action whose minutes were entered."""
        return {
            action: (self.cleaned_data[f"minutes_{action}"], self.cleaned_data[f"role_{action}"])
            for action, _label in self.actions
            if self.cleaned_data.get(f"minutes_{action}") is not None
        }


class StaffingForm(SubmissionForm):
    """What the staffing advice starts from. Shares are entered as percentages and the
    counter's waiting target in minutes (the service takes a share and seconds)."""

    officers = AmountField(
        label=_("Officers working the service's cases"),
        help_text=_("Full-time equivalents, for example 3 or 2.5."),
        places=1,
        max_value=Decimal("9999.9"),
        width=4,
        error_messages={
            "required": _("Enter the number of officers, or 0"),
            "invalid": _("Enter the number of officers as a number, like 2.5"),
            "min_value": _("The number of officers must be 0 or more"),
            "max_value": _("The number of officers must be %(limit)s or fewer"),
            "places": _("Enter the number of officers with no more than 1 decimal place"),
        },
    )
    hours_per_week = AmountField(
        label=_("Contracted hours of a full-time officer a week"),
        places=1,
        min_value=Decimal("1"),
        max_value=Decimal("80"),
        width=4,
        error_messages={
            "required": _("Enter the hours of a full-time officer a week"),
            "invalid": _("Enter the hours a week as a number, like 37.5"),
            "min_value": _("The hours a week must be between 1 and 80"),
            "max_value": _("The hours a week must be between 1 and 80"),
            "places": _("Enter the hours a week with no more than 1 decimal place"),
        },
    )
    productive_percent = AmountField(
        label=_("Share of their hours spent on cases (%)"),
        help_text=_("The rest is leave, training and meetings. Usually 70 to 80."),
        places=0,
        min_value=Decimal("5"),
        max_value=Decimal("100"),
        width=3,
        error_messages={
            "required": _("Enter the share of hours spent on cases"),
            "invalid": _("Enter the share of hours spent on cases as a whole number, like 75"),
            "min_value": _("The share of hours spent on cases must be between 5 and 100"),
            "max_value": _("The share of hours spent on cases must be between 5 and 100"),
            "places": _("Enter the share of hours spent on cases as a whole number, like 75"),
        },
    )
    counter_hours_per_week = AmountField(
        label=_("Hours the counter is open a week"),
        places=1,
        min_value=Decimal("1"),
        max_value=Decimal("168"),
        width=4,
        error_messages={
            "required": _("Enter the hours the counter is open a week"),
            "invalid": _("Enter the counter's hours a week as a number, like 35"),
            "min_value": _("The counter's hours a week must be between 1 and 168"),
            "max_value": _("The counter's hours a week must be between 1 and 168"),
            "places": _("Enter the counter's hours with no more than 1 decimal place"),
        },
    )
    counter_minutes_per_visit = AmountField(
        label=_("Minutes a counter visit takes"),
        places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal("480"),
        width=4,
        error_messages={
            "required": _("Enter the minutes a counter visit takes"),
            "invalid": _("Enter the minutes a visit takes as a number, like 12"),
            "min_value": _("The minutes a visit takes must be between 0.5 and 480"),
            "max_value": _("The minutes a visit takes must be between 0.5 and 480"),
            "places": _("Enter the minutes a visit takes with no more than 1 decimal place"),
        },
    )
    counter_wait_minutes = AmountField(
        label=_("Waiting-time target at the counter, in minutes"),
        help_text=_("The longest most visitors should wait before they are seen."),
        places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal("1440"),
        width=4,
        error_messages={
            "required": _("Enter the waiting-time target"),
            "invalid": _("Enter the waiting-time target as a number of minutes, like 5"),
            "min_value": _("The waiting-time target must be between 0.5 and 1440 minutes"),
            "max_value": _("The waiting-time target must be between 0.5 and 1440 minutes"),
            "places": _("Enter the waiting-time target with no more than 1 decimal place"),
        },
    )
    counter_service_percent = AmountField(
        label=_("Visitors to be seen within the target (%)"),
        help_text=_("For example 80: four visitors in five are seen within the target."),
        places=0,
        min_value=Decimal("5"),
        max_value=Decimal("99"),
        width=3,
        error_messages={
            "required": _("Enter the share of visitors to be seen within the target"),
            "invalid": _("Enter the share of visitors as a whole number, like 80"),
            "min_value": _("The share of visitors must be between 5 and 99"),
            "max_value": _("The share of visitors must be between 5 and 99"),
            "places": _("Enter the share of visitors as a whole number, like 80"),
        },
    )

    #: Form field -> the service's argument it fills (after conversion).
    SERVICE_FIELDS = {
        "officers": "officers",
        "hours_per_week": "hours_per_week",
        "productive_percent": "productive_share",
        "counter_hours_per_week": "counter_hours_per_week",
        "counter_minutes_per_visit": "counter_minutes_per_visit",
        "counter_wait_minutes": "counter_wait_target_seconds",
        "counter_service_percent": "counter_service_level",
    }

    @classmethod
    def initial_for(cls, staffing: Any) -> dict[str, Any]:
        """The form's values from a staffing row (or the model's defaults)."""
        return {
            "officers": plain_number(staffing.officers),
            "hours_per_week": plain_number(staffing.hours_per_week),
            "productive_percent": plain_number(staffing.productive_share * 100),
            "counter_hours_per_week": plain_number(staffing.counter_hours_per_week),
            "counter_minutes_per_visit": plain_number(staffing.counter_minutes_per_visit),
            "counter_wait_minutes": plain_number(
                (Decimal(staffing.counter_wait_target_seconds) / 60).quantize(Decimal("0.1"))
            ),
            "counter_service_percent": plain_number(staffing.counter_service_level * 100),
        }

    def service_values(self) -> dict[str, Any]:
        """The cleaned values as :func:`~ecitizen.insights.services.costs.staffing_set`
        takes them."""
        data = self.cleaned_data
        return {
            "officers": data["officers"],
            "hours_per_week": data["hours_per_week"],
            "productive_share": data["productive_percent"] / 100,
            "counter_hours_per_week": data["counter_hours_per_week"],
            "counter_minutes_per_visit": data["counter_minutes_per_visit"],
            "counter_wait_target_seconds": int(data["counter_wait_minutes"] * 60),
            "counter_service_level": data["counter_service_percent"] / 100,
        }

    def field_for(self, service_argument: str) -> str | None:
        """The form field showing a service argument's error."""
        for name, argument in self.SERVICE_FIELDS.items():
            if argument == service_argument:
                return name
        return None


# --- computing a month again -------------------------------------------------------------------


class RecomputeForm(SubmissionForm):
    """Which month's figures to compute again (this month or a past one)."""

    month = GovukMonthField(
        label=_("Month"),
        help_text=_("For example, 4 2025. This month or a past one."),
        error_messages={
            "required": _("Enter the month and year of the figures to compute"),
            "future": _("You can only compute the figures of this month or a past month"),
        },
    )
    next = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)

"""Django forms rendered as GOV.UK Design System components.

``GovukFormRenderer`` makes ``{{ form }}`` and ``{{ field.as_field_group }}`` produce
GOV.UK markup (labels, hints, inline errors, ``aria-describedby``); the base layout puts the
error summary at the top of the page (``{% govuk_error_summary form %}``).
"""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any, cast

from django import forms
from django.conf import settings
from django.forms.renderers import TemplatesSetting
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import Promise, cached_property
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ecitizen.core.preferences import Contrast, TextSize
from ecitizen.core.processcache import Kept

_WIDGETS = "django/forms/widgets/"
#: Django's widget templates that write one ``<input>``: each only includes ``input.html``.
_INPUT_TEMPLATES = frozenset(
    f"{_WIDGETS}{name}.html"
    for name in (
        *("input", "text", "email", "number", "password", "url", "tel", "search"),
        *("hidden", "checkbox", "date", "datetime", "time", "color", "file"),
    )
)
#: One radio or checkbox of a multiple-choice field (``input_option.html``).
_OPTION_TEMPLATES = frozenset(
    f"{_WIDGETS}{name}.html" for name in ("input_option", "radio_option", "checkbox_option")
)
_SELECT_TEMPLATE = f"{_WIDGETS}select.html"
_TEXTAREA_TEMPLATE = f"{_WIDGETS}textarea.html"
#: The platform's own templates folder (in ``TEMPLATES["DIRS"]``, after a deployer's).
_OWN_TEMPLATES = (Path(__file__).resolve().parent.parent / "templates").resolve()
#: ``govuk/field.html`` and the parts it includes: written in Python together
#: (``templatetags.govuk.field_html``).
_FIELD_TEMPLATES = frozenset(
    ("govuk/field.html", "govuk/_label.html", "govuk/_hint_and_error.html")
)
_SELECT_OPTION_TEMPLATE = f"{_WIDGETS}select_option.html"


class GovukFormRenderer(TemplatesSetting):
    """Forms and fields through ``govuk/form.html`` and ``govuk/field.html``.

    Django's own templates for an ``<input>``, a radio or checkbox option, a ``<select>``
    and a ``<textarea>`` are written in Python instead (:func:`_input_html`,
    :func:`_select_html`, :func:`_textarea_html`: the same markup, attribute order and
    escaping, which a test compares): a template render per input and per option was a
    fifth to a third of pages with a list of choices (the open-data facets, the month and
    service selects), and each text box some 1.3 ms (the officer's case page has two). So is
    ``govuk/field.html`` (``templatetags.govuk.field_html``, about a thousand Python calls
    a field less; a test compares it with the template's markup). Any other template,
    and any of these a deployer overrides by name, is rendered as usual.
    """

    form_template_name = "govuk/form.html"
    field_template_name = "govuk/field.html"

    def render(
        self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None
    ) -> str:
        if template_name == self.field_template_name and template_name not in self._overridden:
            from ecitizen.core.templatetags.govuk import field_html  # imports this module

            return field_html(context["field"])
        widget = context.get("widget")
        if isinstance(widget, dict) and template_name not in self._overridden:
            if template_name in _INPUT_TEMPLATES:
                return _input_html(widget)
            if template_name in _OPTION_TEMPLATES and not widget.get("wrap_label"):
                return _input_html(widget)
            if template_name == _TEXTAREA_TEMPLATE:
                return _textarea_html(widget)
            if template_name == _SELECT_TEMPLATE and all(
                option["template_name"] == _SELECT_OPTION_TEMPLATE
                for _name, options, _index in widget["optgroups"]
                for option in options
            ):
                return _select_html(widget)
        rendered: str = super().render(template_name, context, request)
        return rendered

    def option_html(self, data: dict[str, Any]) -> str | None:
        """One radio or checkbox input (a ``BoundWidget``'s ``data``, label not wrapped)
        as :meth:`render` writes it, without the ``BoundWidget.tag`` and
        ``Widget._render`` around it (some twenty Python calls an option); ``None`` when
        its template is not one written here, or a deployer overrides it."""
        if not self.writes_option(data.get("template_name")):
            return None
        return _input_html(data)

    def writes_option(self, template_name: Any) -> bool:
        """Whether :meth:`option_html` writes an option of this template."""
        return template_name in _OPTION_TEMPLATES and template_name not in self._overridden

    @cached_property
    def _overridden(self) -> frozenset[str]:
        """The templates written in Python that a deployer's folder
        (``TEMPLATE_OVERRIDES_DIR``) replaces: those are rendered from their files."""
        folders = [
            folder
            for folder in cast("list[Any]", settings.TEMPLATES[0].get("DIRS", []))
            if Path(folder).resolve() != _OWN_TEMPLATES
        ]
        overridden = frozenset(
            name
            for name in (
                *_INPUT_TEMPLATES,
                *_OPTION_TEMPLATES,
                _SELECT_TEMPLATE,
                _TEXTAREA_TEMPLATE,
                *_FIELD_TEMPLATES,
            )
            if any((Path(folder) / name).is_file() for folder in folders)
        )
        # The field is written in Python from all three of its templates: overriding any
        # of them has the field rendered from the templates.
        if overridden & _FIELD_TEMPLATES:
            overridden |= {self.field_template_name}
        return overridden


#: What ``html.escape`` (and Django's ``escape``) replaces, for ``str.translate``: one call
#: where ``html.escape`` makes six.
_HTML_ESCAPES = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
    ord("'"): "&#x27;",
}


def escaped(text: str) -> str:
    """``text`` with ``& < > " '`` escaped, as ``html.escape`` and Django's ``escape``
    write them."""
    return text.translate(_HTML_ESCAPES)


def html_text(value: Any) -> str:
    """What ``{{ value }}`` writes, as Django's ``conditional_escape``: markup marked safe
    as it is, anything else escaped. Without the check for lazy arguments around Django's
    function (five Python calls a value), for what writes many values in Python."""
    if isinstance(value, Promise):
        value = str(value)
    return value.__html__() if hasattr(value, "__html__") else str(value).translate(_HTML_ESCAPES)


def _attributes_html(attrs: dict[str, Any]) -> str:
    """Django's ``attrs.html``: `` name="value"`` for each, bare for ``True``, none for
    ``False`` (values through ``stringformat:'s'``, hence always escaped)."""
    return "".join(
        f" {html_text(name)}" if value is True else f' {html_text(name)}="{escaped(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input_html(widget: dict[str, Any]) -> str:
    """Django's ``input.html`` for a widget's context."""
    value = widget["value"]
    value_html = "" if value is None else f' value="{escaped(str(value))}"'
    return (
        f'<input type="{html_text(widget["type"])}" '
        f'name="{html_text(widget["name"])}"{value_html}'
        f"{_attributes_html(widget['attrs'])}>"
    )


def _select_html(widget: dict[str, Any]) -> str:
    """Django's ``select.html`` with ``select_option.html`` for each option (the blank
    lines between options included)."""
    parts = [
        f'<select name="{html_text(widget["name"])}"',
        _attributes_html(widget["attrs"]),
        ">",
    ]
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{html_text(group_name)}">')
        parts.extend(
            f'\n  <option value="{escaped(str(option["value"]))}"'
            f"{_attributes_html(option['attrs'])}>{html_text(option['label'])}</option>\n"
            for option in options
        )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _textarea_html(widget: dict[str, Any]) -> str:
    """Django's ``textarea.html``: the value, if any, after a line break (which browsers
    drop from the start of a text box)."""
    value = widget["value"]
    return (
        f'<textarea name="{html_text(widget["name"])}"{_attributes_html(widget["attrs"])}>\n'
        f"{html_text(value) if value else ''}</textarea>"
    )


class BlankWrittenOnce(forms.Form):
    """A form whose blank rendering, ``{{ form }}`` unbound and without initial values,
    is written once per process for each prefix and language (and ids, label suffix and
    renderer), then written out as it was.

    For forms whose fields are the same for every instance (none set per instance in
    ``__init__``, no initial value depending on the moment): their blank rendering then
    holds nothing of the request or the person. A form that is bound (its values as
    typed, its errors), has initial values, or is rendered with another template,
    context or renderer, is rendered as usual. The officer's case page writes two such
    text boxes on every view, a twentieth of its time."""

    def render(
        self,
        template_name: str | None = None,
        context: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        if (
            self.is_bound
            or self.initial
            or template_name is not None
            or context is not None
            or renderer is not None
        ):
            return super().render(template_name, context, renderer)
        key = (
            type(self),
            self.prefix,
            self.auto_id,
            self.label_suffix,
            self.renderer,
            get_language(),
        )
        return _blank_forms.get_or_make(key, lambda: super(BlankWrittenOnce, self).render())

    # As Django's ``RenderableMixin`` does: ``{{ form }}`` calls ``__html__``.
    __str__ = render
    __html__ = render


#: The blank renderings of :class:`BlankWrittenOnce` forms, by class, prefix, ids, label
#: suffix, renderer and language: a few forms' worth, bounded by the code's own forms
#: and languages; forgotten when a setting changes (tests: the templates, the renderer).
_blank_forms: Kept[SafeString] = Kept()


class GovukDateWidget(forms.MultiWidget):
    """The GOV.UK date input: three text boxes for day, month and year.

    The boxes are named and identified ``<name>_day``, ``<name>_month``, ``<name>_year``
    (ids ``<id>_day``...), so that the error summary can link to the day box.
    ``autocomplete="bday"`` on the widget becomes ``bday-day``/``bday-month``/``bday-year``.
    """

    template_name = "govuk/widgets/date.html"
    parts = ("day", "month", "year")

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        numeric = {"inputmode": "numeric"}
        widgets: dict[str, forms.Widget | type[forms.Widget]] = {
            "day": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-2"}),
            "month": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-2"}),
            "year": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-4"}),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, datetime.date):
            return [value.day, value.month, value.year]
        return [None, None, None]

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_day" if id_ else ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        labels = [_("Day"), _("Month"), _("Year")]
        autocomplete = (attrs or {}).get("autocomplete") or self.attrs.get("autocomplete")
        base_id = context["widget"]["attrs"].get("id")
        invalid = context["widget"]["attrs"].get("aria-invalid") in {True, "true"}
        subwidgets = context["widget"]["subwidgets"]
        for widget, subwidget, label, part in zip(
            self.widgets, subwidgets, labels, self.parts, strict=True
        ):
            subwidget["label"] = label
            if base_id:
                subwidget["attrs"]["id"] = f"{base_id}_{part}"
            if autocomplete == "bday":
                subwidget["attrs"]["autocomplete"] = f"bday-{part}"
            # GOV.UK classes: the box's own width, and the error border when the date is wrong.
            classes = ["govuk-input", "govuk-date-input__input", str(widget.attrs.get("class", ""))]
            if invalid:
                classes.append("govuk-input--error")
            subwidget["attrs"]["class"] = " ".join(c for c in classes if c)
            subwidget["attrs"].pop("aria-describedby", None)
        return context


class GovukDateField(forms.MultiValueField):
    """A date entered as day, month and year, with GOV.UK's error messages
    ("The date must include a year", "The year must include 4 numbers", "Enter a real date").
    """

    widget = GovukDateWidget

    def __init__(self, **kwargs: Any) -> None:
        # The parts are checked together in compress(), for one clear message.
        fields = (
            forms.CharField(required=False),
            forms.CharField(required=False),
            forms.CharField(required=False),
        )
        kwargs.setdefault("require_all_fields", False)
        super().__init__(fields=fields, **kwargs)

    def compress(self, data_list: list[str]) -> datetime.date | None:
        if not data_list or not any(data_list):
            return None
        day, month, year = (str(part or "").strip() for part in data_list)
        missing = tuple(
            part for part, value in (("day", day), ("month", month), ("year", year)) if not value
        )
        if missing:
            messages = {
                ("day",): _("The date must include a day"),
                ("month",): _("The date must include a month"),
                ("year",): _("The date must include a year"),
                ("day", "month"): _("The date must include a day and a month"),
                ("day", "year"): _("The date must include a day and a year"),
                ("month", "year"): _("The date must include a month and a year"),
            }
            raise forms.ValidationError(messages[missing], code="incomplete")
        if not (day.isdigit() and month.isdigit() and year.isdigit()):
            raise forms.ValidationError(_("Enter a real date"), code="invalid")
        if len(year) != 4:
            raise forms.ValidationError(_("The year must include 4 numbers"), code="invalid_year")
        try:
            return datetime.date(int(year), int(month), int(day))
        except (ValueError, OverflowError):  # OverflowError: a "day" of twenty digits
            raise forms.ValidationError(_("Enter a real date"), code="invalid") from None


class DisplayForm(forms.Form):
    text_size = forms.ChoiceField(
        label=_("Text size"),
        choices=TextSize.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Select a text size")},
    )
    contrast = forms.ChoiceField(
        label=_("Colours"),
        choices=Contrast.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Select the colours you want")},
    )


class SubmissionForm(forms.Form):
    """A form with a one-off key, so that the same submission sent twice (a double click,
    a reload of the POST) is done once: the view remembers the keys it has acted on
    (:func:`submission_remember`) and sends a repeat where the first led
    (:func:`submission_already_done`)."""

    submission = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission", uuid.uuid4().hex)

    def submission_key(self) -> str:
        """The key sent with the form (empty when it was tampered with)."""
        value = str(self.data.get(self.add_prefix("submission"), "") or "")
        return value if len(value) == 32 and value.isalnum() else ""


#: Submissions remembered per session key (the oldest are forgotten first).
SUBMISSIONS_KEPT = 20


def submission_already_done(
    request: HttpRequest, form: SubmissionForm, *, session_key: str
) -> HttpResponse | None:
    """A redirect to where the first of the same submission led, when this one was sent
    again; ``None`` for a new one."""
    key = form.submission_key()
    url = (request.session.get(session_key) or {}).get(key) if key else None
    return redirect(url) if url else None


def submission_remember(
    request: HttpRequest, form: SubmissionForm, url: str, *, session_key: str
) -> None:
    """Remember (in the session, under ``session_key``) that this submission led to
    ``url``, keeping the last :data:`SUBMISSIONS_KEPT`."""
    key = form.submission_key()
    if not key:
        return
    done = dict(request.session.get(session_key) or {})
    done[key] = url
    request.session[session_key] = dict(list(done.items())[-SUBMISSIONS_KEPT:])

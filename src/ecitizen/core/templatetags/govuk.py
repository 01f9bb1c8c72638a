"""Template helpers for GOV.UK Design System markup (loaded as a builtin).

Used by ``govuk/field.html`` (one field as a GOV.UK component), ``govuk/form.html`` and
``base.html`` (the error summary and the "Error: " title prefix).

A form field can ask for more than the default markup with attributes on the field::

    self.fields["name"].page_heading = True          # the label or legend is the page's <h1>
    self.fields["name"].label_size = "l"             # govuk-label--l / govuk-fieldset__legend--l
    self.fields["colour"].choice_hints = {"high": _("White text on black")}  # radios, checkboxes
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms, template
from django.utils.safestring import SafeString

from ecitizen.core.forms import GovukDateWidget, html_text

register = template.Library()

# widget_type (Django's lower-cased widget class name without "widget"/"input") -> the
# GOV.UK component that renders it in govuk/field.html.
_KINDS = {
    "text": "input",
    "email": "input",
    "number": "input",
    "tel": "input",
    "url": "input",
    "search": "input",
    "date": "input",
    "datetime": "input",
    "time": "input",
    "password": "password",
    "textarea": "textarea",
    "select": "select",
    "selectmultiple": "select",
    "nullbooleanselect": "select",
    "radioselect": "radios",
    "checkboxselectmultiple": "checkboxes",
    "checkbox": "checkbox",
    "govukdate": "date",
    "file": "file",
    "clearablefile": "file",
    "multiplefile": "file",
    "hidden": "hidden",
    "multiplehidden": "hidden",
}

_LABEL_SIZES = {"xl", "l", "m", "s"}


@register.filter
def first_input_id(field: forms.BoundField) -> str:
    """The id of the first focusable input of a field: the error summary links there."""
    widget = field.field.widget
    if isinstance(widget, GovukDateWidget):
        return widget.id_for_label(str(field.auto_id))
    if isinstance(widget, forms.MultiWidget | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{field.auto_id}_0"
    return str(field.auto_id)


@register.inclusion_tag("govuk/error_summary.html")
def govuk_error_summary(*forms_with_errors: Any) -> dict[str, Any]:
    """An error summary for one or more forms; renders nothing when they have no errors.

    Each summarised form is marked (``govuk_error_summary_shown``) so that ``govuk/form.html``
    does not repeat its non-field errors inside the form.
    """
    errors: list[dict[str, str]] = []
    for form in forms_with_errors:
        if not isinstance(form, forms.BaseForm) or not form.is_bound or not form.errors:
            continue
        form.govuk_error_summary_shown = True  # type: ignore[attr-defined]
        visible = list(form.visible_fields())
        top_target = f"#{first_input_id(visible[0])}" if visible else ""
        for message in form.non_field_errors():
            errors.append({"text": str(message), "href": top_target})
        for field in form.hidden_fields():
            for message in field.errors:
                errors.append({"text": str(message), "href": top_target})
        for field in visible:
            for message in field.errors:
                errors.append({"text": str(message), "href": f"#{first_input_id(field)}"})
    return {"errors": errors}


@register.simple_tag(takes_context=True)
def page_has_errors(context: template.Context) -> bool:
    """Whether the page's form has errors, for the "Error: " prefix of the page title."""
    form = context.get("form")
    return bool(isinstance(form, forms.BaseForm) and form.is_bound and form.errors)


@register.simple_tag
def govuk_field_parts(field: forms.BoundField) -> dict[str, Any]:
    """What ``govuk/field.html`` needs to know about a field, worked out once."""
    kind = _KINDS.get(field.widget_type, "other")
    if field.is_hidden:
        kind = "hidden"
    field_id = str(field.auto_id or field.html_name)
    hint_id = f"{field_id}-hint" if field.help_text else ""
    error_id = f"{field_id}-error" if field.errors else ""
    size = getattr(field.field, "label_size", "")
    page_heading = bool(getattr(field.field, "page_heading", False))
    if page_heading and not size:
        size = "l"
    choice_hints = getattr(field.field, "choice_hints", None) or {}
    return {
        "kind": kind,
        "id": field_id,
        "hint_id": hint_id,
        "error_id": error_id,
        "describedby": " ".join(part for part in (hint_id, error_id) if part),
        "optional": not field.field.required and kind not in {"checkbox", "hidden"},
        "page_heading": page_heading,
        "label_size": size if size in _LABEL_SIZES else "",
        # Legends of radios, checkboxes and dates are the question: bold unless sized.
        "legend_size": size if size in _LABEL_SIZES else "s",
        "choice_hints": {str(key): value for key, value in choice_hints.items()},
    }


@register.simple_tag
def govuk_widget(
    field: forms.BoundField,
    css_class: str = "",
    error_class: str = "",
    describedby: str = "",
    **extra: Any,
) -> SafeString:
    """Render a field's widget with GOV.UK classes, keeping the widget's own attributes
    (autocomplete, inputmode, spellcheck, width classes...).

    ``extra`` attributes are defaults: the widget's own value wins. Placeholders are dropped
    (GOV.UK: they disappear as people type and are often mistaken for answers).
    """
    own = field.field.widget.attrs
    classes = [css_class, str(own.get("class", "")), error_class if field.errors else ""]
    attrs: dict[str, Any] = {}
    if css_class or error_class:
        attrs["class"] = " ".join(c for c in classes if c)
    if describedby:
        attrs["aria-describedby"] = describedby
    if "placeholder" in own:
        attrs["placeholder"] = False
    for key, value in extra.items():
        name = key.replace("_", "-")
        if name not in own:
            attrs[name] = value
    return field.as_widget(attrs=attrs)


@register.simple_tag
def govuk_option(option: Any, css_class: str, hint_id: str = "") -> SafeString:
    """Render one radio or checkbox input of a multiple-choice field with a GOV.UK class."""
    attrs = dict(option.data.get("attrs", {}))
    attrs["class"] = " ".join(c for c in (css_class, str(attrs.get("class", ""))) if c)
    attrs.pop("placeholder", None)
    if hint_id:
        attrs["aria-describedby"] = hint_id
    else:
        attrs.pop("aria-describedby", None)
    option.data = {**option.data, "attrs": attrs}
    rendered: SafeString = option.tag(wrap_label=False)
    return rendered


@register.filter
def govuk_choice_hint(hints: dict[str, Any], value: Any) -> Any:
    """The hint for one choice of a radios or checkboxes field, if any."""
    if not hints:
        return ""
    return hints.get(str(value), "")


@register.simple_tag
def govuk_choice_items(field: forms.BoundField, parts: dict[str, Any], kind: str) -> SafeString:
    """The items of a ``kind`` ("radios" or "checkboxes") field in ``govuk/field.html``:
    for each option, its input (:func:`govuk_option`), its label and its hint from
    ``parts["choice_hints"]`` (:func:`govuk_field_parts`), as GOV.UK writes them. Written
    here rather than with template tags, which cost three hundred Python calls an option
    (the open-data search's facets have forty)."""
    hints = parts["choice_hints"]
    items = []
    for option in field.subwidgets:
        option_id = str(option.id_for_label)
        hint = govuk_choice_hint(hints, option.data["value"])
        hint_id = f"{option_id}-hint" if hint else ""
        hint_html = (
            f'<div id="{html_text(hint_id)}" class="govuk-hint govuk-{kind}__hint">'
            f"{html_text(hint)}</div>"
            if hint
            else ""
        )
        items.append(
            f'\n      <div class="govuk-{kind}__item">\n        '
            f"{govuk_option(option, f'govuk-{kind}__input', hint_id)}\n        "
            f'<label class="govuk-label govuk-{kind}__label" for="{html_text(option_id)}">'
            f"{html_text(option.choice_label)}</label>\n        {hint_html}\n      </div>\n      "
        )
    return SafeString("".join(items))


@register.simple_tag
def select_options(choices: Iterable[tuple[Any, Any]], selected: Any) -> SafeString:
    """``<option>``s of a ``<select>`` that a template writes itself (a filter of a
    list): one per ``(value, label)`` of ``choices``, in their order, the one whose value
    equals ``selected`` selected. A list of wards or statuses written with template tags
    cost some sixty Python calls an option."""
    return SafeString(
        "".join(
            f'<option value="{html_text(value)}"{" selected" if value == selected else ""}>'
            f"{html_text(label)}</option>"
            for value, label in choices
        )
    )

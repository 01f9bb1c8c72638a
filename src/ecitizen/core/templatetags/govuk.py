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
from typing import Any, cast

from django import forms, template
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_noop

from ecitizen.core.forms import GovukDateWidget, GovukFormRenderer, html_text

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


def _with_govuk_attributes(data: dict[str, Any], css_class: str, hint_id: str) -> dict[str, Any]:
    """An option's ``data`` with its input's attributes as GOV.UK writes them: the class
    ``css_class`` first, no placeholder, described by its hint (``hint_id``) or by
    nothing."""
    attrs = dict(data.get("attrs", {}))
    attrs["class"] = " ".join(c for c in (css_class, str(attrs.get("class", ""))) if c)
    attrs.pop("placeholder", None)
    if hint_id:
        attrs["aria-describedby"] = hint_id
    else:
        attrs.pop("aria-describedby", None)
    return {**data, "attrs": attrs}


@register.simple_tag
def govuk_option(option: Any, css_class: str, hint_id: str = "") -> SafeString:
    """Render one radio or checkbox input of a multiple-choice field with a GOV.UK class."""
    option.data = _with_govuk_attributes(option.data, css_class, hint_id)
    if isinstance(option.renderer, GovukFormRenderer):
        written = option.renderer.option_html({**option.data, "wrap_label": False})
        if written is not None:
            return SafeString(written)
    rendered: SafeString = option.tag(wrap_label=False)
    return rendered


@register.filter
def govuk_choice_hint(hints: dict[str, Any], value: Any) -> Any:
    """The hint for one choice of a radios or checkboxes field, if any."""
    if not hints:
        return ""
    return hints.get(str(value), "")


#: The choice widgets whose options :func:`_plain_options` may work out itself: Django's
#: own, not a subclass (which may make its options otherwise).
_PLAIN_CHOICE_WIDGETS = (forms.RadioSelect, forms.CheckboxSelectMultiple)


def _plain_options(field: forms.BoundField) -> list[dict[str, Any]] | None:
    """The ``data`` of each option of ``field`` as ``field.subwidgets`` makes it (Django's
    ``BoundField.subwidgets`` and ``ChoiceWidget.optgroups``), when the field's widget is
    one of :data:`_PLAIN_CHOICE_WIDGETS` with ungrouped choices, written by a
    :class:`GovukFormRenderer`; else ``None``. Without the bound widgets and the widget's
    context around each option, some sixty Python calls an option (the open-data search's
    facets have forty)."""
    widget = field.field.widget
    renderer = field.form.renderer
    if (
        type(widget) not in _PLAIN_CHOICE_WIDGETS
        or not isinstance(renderer, GovukFormRenderer)
        or not renderer.writes_option(widget.option_template_name)
    ):
        return None
    choices = list(widget.choices)
    if any(isinstance(label, list | tuple) for _value, label in choices):
        return None  # grouped: left to Django
    id_ = widget.attrs.get("id") or field.auto_id
    attrs = {**widget.attrs, **field.build_widget_attrs({"id": id_} if id_ else {})}
    value = widget.format_value(field.value())
    multiple = widget.allow_multiple_selected
    options = []
    has_selected = False
    for index, (choice, label) in enumerate(choices):
        option_value = "" if choice is None else choice
        selected = (not has_selected or multiple) and str(option_value) in value
        has_selected |= selected
        option_attrs = dict(attrs)
        if selected:
            option_attrs.update(widget.checked_attribute)
        if "id" in option_attrs:
            option_attrs["id"] = widget.id_for_label(option_attrs["id"], str(index))
        options.append(
            {
                "name": field.html_name,
                "value": option_value,
                "label": label,
                "attrs": option_attrs,
                "type": widget.input_type,
                "template_name": widget.option_template_name,
            }
        )
    return options


@register.simple_tag
def govuk_choice_items(field: forms.BoundField, parts: dict[str, Any], kind: str) -> SafeString:
    """The items of a ``kind`` ("radios" or "checkboxes") field in ``govuk/field.html``:
    for each option, its input (:func:`govuk_option`), its label and its hint from
    ``parts["choice_hints"]`` (:func:`govuk_field_parts`), as GOV.UK writes them. Written
    here rather than with template tags, which cost three hundred Python calls an option
    (the open-data search's facets have forty); Django's options are made here too when
    they can be (:func:`_plain_options`)."""
    hints = parts["choice_hints"]
    css_class = f"govuk-{kind}__input"
    plain = _plain_options(field)
    options = plain if plain is not None else [option.data for option in field.subwidgets]
    renderer = field.form.renderer
    items = []
    for index, data in enumerate(options):
        option_id = str(data["attrs"].get("id", ""))
        hint = govuk_choice_hint(hints, data["value"])
        hint_id = f"{option_id}-hint" if hint else ""
        hint_html = (
            f'<div id="{html_text(hint_id)}" class="govuk-hint govuk-{kind}__hint">'
            f"{html_text(hint)}</div>"
            if hint
            else ""
        )
        if plain is not None:
            input_html = cast("GovukFormRenderer", renderer).option_html(
                _with_govuk_attributes(data, css_class, hint_id)
            )
        else:
            input_html = govuk_option(field.subwidgets[index], css_class, hint_id)
        items.append(
            f'\n      <div class="govuk-{kind}__item">\n        '
            f"{input_html}\n        "
            f'<label class="govuk-label govuk-{kind}__label" for="{html_text(option_id)}">'
            f"{html_text(data['label'])}</label>\n        {hint_html}\n      </div>\n      "
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


def _error_html(field: forms.BoundField, error_id: str) -> str:
    """A field's inline error message (``govuk-error-message``), or nothing."""
    if not field.errors:
        return ""
    prefix = f'<span class="govuk-visually-hidden">{html_text(gettext("Error:"))}</span> '
    messages = "<br>".join(f"{prefix}{html_text(error)}" for error in field.errors)
    return f'\n<p id="{html_text(error_id)}" class="govuk-error-message">{messages}</p>'


def _hint_html(field: forms.BoundField, parts: dict[str, Any], classes: str = "govuk-hint") -> str:
    """A field's hint (its help text, id ``<id>-hint``), or nothing."""
    if not field.help_text:
        return ""
    return (
        f'\n<div id="{html_text(parts["hint_id"])}" class="{classes}">'
        f"{html_text(field.help_text)}</div>"
    )


def _hint_and_error_html(field: forms.BoundField, parts: dict[str, Any]) -> str:
    """``govuk/_hint_and_error.html``: the hint (help text), then the error message."""
    return _hint_html(field, parts) + _error_html(field, parts["error_id"])


def _question_html(field: forms.BoundField, parts: dict[str, Any]) -> str:
    """A label's or legend's text: the field's label, and "(optional)" when it is."""
    optional = f" {html_text(gettext('(optional)'))}" if parts["optional"] else ""
    return f"{html_text(field.label)}{optional}"


def _label_html(field: forms.BoundField, parts: dict[str, Any]) -> str:
    """``govuk/_label.html``: the field's ``<label>``, in an ``<h1>`` for a page heading."""
    size = f" govuk-label--{parts['label_size']}" if parts["label_size"] else ""
    label = (
        f'<label class="govuk-label{size}" for="{html_text(parts["id"])}">'
        f"{_question_html(field, parts)}</label>"
    )
    if parts["page_heading"]:
        return f'<h1 class="govuk-label-wrapper">{label}</h1>'
    return label


def _group_class(field: forms.BoundField, extra: str = "") -> str:
    """The ``govuk-form-group`` element's classes, with the error state."""
    error = " govuk-form-group--error" if field.errors else ""
    return f"govuk-form-group{extra}{error}"


def _fieldset_html(field: forms.BoundField, parts: dict[str, Any]) -> str:
    """Radios, checkboxes or a date: a ``<fieldset>`` whose ``<legend>`` is the question."""
    kind = parts["kind"]
    role = ' role="group"' if kind == "date" else ""
    describedby = (
        f' aria-describedby="{html_text(parts["describedby"])}"' if parts["describedby"] else ""
    )
    question = _question_html(field, parts)
    if parts["page_heading"]:
        question = f'<h1 class="govuk-fieldset__heading">{question}</h1>'
    if kind == "date":
        inputs = str(govuk_widget(field))
    else:
        items = govuk_choice_items(field, parts, kind)
        inputs = f'<div class="govuk-{kind}" data-module="govuk-{kind}">{items}</div>'
    return (
        f'<div class="{_group_class(field)}">\n'
        f'  <fieldset class="govuk-fieldset"{role}{describedby}>\n'
        f'    <legend class="govuk-fieldset__legend '
        f'govuk-fieldset__legend--{parts["legend_size"]}">\n'
        f"      {question}\n    </legend>"
        f"{_hint_and_error_html(field, parts)}\n"
        f"    {inputs}\n  </fieldset>\n</div>"
    )


def _checkbox_html(field: forms.BoundField, parts: dict[str, Any]) -> str:
    """A single checkbox (a yes/no question): its label beside it, its hint below."""
    hint = _hint_html(field, parts, "govuk-hint govuk-checkboxes__hint")
    return (
        f'<div class="{_group_class(field)}">{_error_html(field, parts["error_id"])}\n'
        '  <div class="govuk-checkboxes" data-module="govuk-checkboxes">\n'
        '    <div class="govuk-checkboxes__item">\n'
        f"      {govuk_widget(field, 'govuk-checkboxes__input', '', parts['describedby'])}\n"
        f'      <label class="govuk-label govuk-checkboxes__label" '
        f'for="{html_text(parts["id"])}">{html_text(field.label)}</label>{hint}\n'
        "    </div>\n  </div>\n</div>"
    )


#: The password input's show/hide button's texts, as the GOV.UK component's
#: ``data-i18n.*`` attributes name them (translated when rendered).
_PASSWORD_TEXTS = (
    ("show-password", gettext_noop("Show")),
    ("hide-password", gettext_noop("Hide")),
    ("show-password-aria-label", gettext_noop("Show password")),
    ("hide-password-aria-label", gettext_noop("Hide password")),
    ("password-shown-announcement", gettext_noop("Your password is visible")),
    ("password-hidden-announcement", gettext_noop("Your password is hidden")),
)


def _password_html(field: forms.BoundField, parts: dict[str, Any]) -> str:
    """The GOV.UK password input: a text box and a button that shows or hides it."""
    texts = "".join(
        f' data-i18n.{name}="{html_text(gettext(text))}"' for name, text in _PASSWORD_TEXTS
    )
    widget = govuk_widget(
        field,
        "govuk-input govuk-password-input__input govuk-js-password-input-input",
        "govuk-input--error",
        parts["describedby"],
        spellcheck="false",
        autocapitalize="none",
        autocomplete="current-password",
    )
    return (
        f'<div class="{_group_class(field, " govuk-password-input")}" '
        f'data-module="govuk-password-input"{texts}>\n'
        f"  {_label_html(field, parts)}{_hint_and_error_html(field, parts)}\n"
        '  <div class="govuk-input__wrapper govuk-password-input__wrapper">\n'
        f"    {widget}\n"
        '    <button type="button" class="govuk-button govuk-button--secondary '
        'govuk-password-input__toggle govuk-js-password-input-toggle" '
        f'data-module="govuk-button" aria-controls="{html_text(parts["id"])}" '
        f'aria-label="{html_text(gettext("Show password"))}" hidden>'
        f"{html_text(gettext('Show'))}</button>\n  </div>\n</div>"
    )


def _single_widget_html(field: forms.BoundField, parts: dict[str, Any]) -> str:
    """A label, the hint and error, and one widget: text inputs, textarea, select, file."""
    kind, describedby = parts["kind"], parts["describedby"]
    if kind == "input" and field.widget_type == "email":
        widget = govuk_widget(
            field,
            "govuk-input",
            "govuk-input--error",
            describedby,
            spellcheck="false",
            autocapitalize="none",
            dir="auto",
        )
    elif kind == "input":
        widget = govuk_widget(field, "govuk-input", "govuk-input--error", describedby, dir="auto")
    elif kind == "textarea":
        widget = govuk_widget(
            field, "govuk-textarea", "govuk-textarea--error", describedby, rows="5", dir="auto"
        )
    elif kind in {"select", "file"}:
        component = "govuk-select" if kind == "select" else "govuk-file-upload"
        widget = govuk_widget(field, component, f"{component}--error", describedby)
    else:
        widget = govuk_widget(field, "", "", describedby)
    return (
        f'<div class="{_group_class(field)}">\n'
        f"  {_label_html(field, parts)}{_hint_and_error_html(field, parts)}\n"
        f"  {widget}\n</div>"
    )


def field_html(field: forms.BoundField) -> SafeString:
    """One form field as a GOV.UK Design System component: what ``govuk/field.html``
    writes (the same elements, attributes, texts and escaping; only the blank space
    between elements differs, which a test compares), dispatching on the widget: text
    inputs, the password input (show/hide), textarea, select, radios, checkboxes, a single
    checkbox, the date input, file upload; hidden fields bare. The hint (help text, id
    ``<id>-hint``) and the inline error (id ``<id>-error``) are in ``aria-describedby``.

    Written in Python because the template cost about a thousand Python calls a field,
    which form pages and search filters repeat; ``GovukFormRenderer`` renders the
    template instead when a deployer overrides it."""
    parts = govuk_field_parts(field)
    kind = parts["kind"]
    if kind == "hidden":
        return SafeString(str(field))
    if kind in {"radios", "checkboxes", "date"}:
        return SafeString(_fieldset_html(field, parts))
    if kind == "checkbox":
        return SafeString(_checkbox_html(field, parts))
    if kind == "password":
        return SafeString(_password_html(field, parts))
    return SafeString(_single_widget_html(field, parts))

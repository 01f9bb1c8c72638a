"""Template helpers for GOV.UK Design System markup (loaded as a builtin)."""

from __future__ import annotations

from typing import Any

from django import forms, template

register = template.Library()


@register.filter
def first_input_id(field: forms.BoundField) -> str:
    """The id of the first focusable input of a field: the error summary links there."""
    widget = field.field.widget
    if isinstance(widget, forms.MultiWidget | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{field.auto_id}_0"
    return str(field.auto_id)


@register.inclusion_tag("govuk/error_summary.html")
def govuk_error_summary(*forms_with_errors: Any) -> dict[str, Any]:
    """An error summary for one or more forms; renders nothing when they have no errors."""
    errors: list[dict[str, str]] = []
    for form in forms_with_errors:
        if not isinstance(form, forms.BaseForm) or not form.is_bound:
            continue
        visible = [f for f in form.visible_fields()]
        for message in form.non_field_errors():
            target = f"#{first_input_id(visible[0])}" if visible else ""
            errors.append({"text": str(message), "href": target})
        for field in visible:
            for message in field.errors:
                errors.append({"text": str(message), "href": f"#{first_input_id(field)}"})
    return {"errors": errors}


@register.simple_tag(takes_context=True)
def page_has_errors(context: template.Context) -> bool:
    """Whether the page's form has errors, for the "Error: " prefix of the page title."""
    form = context.get("form")
    return bool(isinstance(form, forms.BaseForm) and form.is_bound and form.errors)

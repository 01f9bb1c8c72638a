"""``{% panels "slot" %}``: the panels other apps registered for a slot of this page.

A page offers a slot by naming it (``{% load panels %}{% panels "cases.staff_case" %}``);
an app fills it from its ``AppConfig.ready()`` with
``registry.register_panel("cases.staff_case", "reports/staff/_case_panel.html")``. The
page's app never learns which apps add what (``docs/extending.md``).

Each panel's template is rendered with the page's context, plus what the panel's own
``context`` function returns, in a layer of its own: nothing a panel sets leaks into the
page or into the next panel.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from ecitizen.core.registry import registry

register = template.Library()


@register.simple_tag(takes_context=True)
def panels(context: template.Context, slot: str) -> SafeString:
    """The rendered panels of ``slot``, in their order; empty when none is registered.

    The panels' templates are found by the engine that renders the page. A panel's
    template that does not exist raises ``TemplateDoesNotExist``, as ``{% include %}``
    does.
    """
    rendered = SafeString("")
    # Bound to the page's template while it renders (Template.render binds it).
    engine = context.template.engine  # type: ignore[union-attr]
    for panel in registry.panels_for(slot):
        found = engine.get_template(panel.template)
        extra = dict(panel.context(context)) if panel.context is not None else {}
        with context.push(**extra):
            rendered += found.render(context)
    return rendered

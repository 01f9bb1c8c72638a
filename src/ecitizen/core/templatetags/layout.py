"""Tags and filters of the page layout (base.html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.template.base import NodeList, Parser, Token
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, get_language_bidi

from ecitizen.core.context_processors import brand
from ecitizen.core.processcache import Kept, SharedValue

register = template.Library()


@register.filter
def in_navigation_landmark(html: Any, label: Any) -> SafeString | str:
    """``{% filter in_navigation_landmark:label %}{% block before_content %}{% endblock %}
    {% endfilter %}``: what a page puts before ``<main>`` (a back link) inside a
    ``<nav>`` named ``label``, so that no content is outside a landmark (axe's ``region``
    rule); nothing at all when the page puts nothing there (no empty landmark).

    ``html`` is the rendered block: markup the templates wrote, already escaped by them.
    """
    if not str(html).strip():
        return ""
    return format_html(
        '<nav class="app-before-content" aria-label="{}">{}</nav>', label, SafeString(html)
    )


def shared_context(context: template.Context, values: dict[str, SharedValue]) -> template.Context:
    """What a ``{% shared %}`` fragment is rendered with: the brand, the language and the
    session-timeout warning, from settings and the active language alone, and the
    fragment's ``values``. Not the page's context: the request, the person and the CSRF
    token are not in it, so they cannot end up in markup kept for everyone."""
    fragment = template.Context(
        {
            "brand": brand(),
            "LANGUAGE_CODE": get_language(),
            "LANGUAGE_BIDI": get_language_bidi(),
            "timeout_warning_seconds": settings.SESSION_TIMEOUT_WARNING,
            **values,
        },
        autoescape=context.autoescape,
    )
    # As Template.render binds it: the tags inside read the engine from it.
    fragment.template = context.template
    return fragment


class SharedNode(template.Node):
    """``{% shared %}...{% endshared %}``: markup the same for everyone who reads the
    site in a language (the skip link, the logo, the footer), rendered once per language
    and script prefix in a process and then written out as it was.

    ``{% shared navigation %}``: the same, also per the ``shared_key`` of the page's
    ``navigation``, which must be a :class:`~ecitizen.core.processcache.SharedValue`
    (anything else raises ``TypeError``: a value not made to be shared could be personal).

    Its content sees only :func:`shared_context`. It holds no ``{% block %}`` (a page
    could not change what is kept for all): the parser refuses one. It has no child node
    lists for Django to walk either, so ``{% extends %}``, which looks through the parent
    template for its blocks on every render, skips it.
    """

    child_nodelists = ()

    def __init__(self, nodelist: NodeList, names: list[str]) -> None:
        self.nodelist = nodelist
        self.names = names
        self.rendered: Kept[SafeString] = Kept()

    def render(self, context: template.Context) -> SafeString:
        values: dict[str, SharedValue] = {}
        for name in self.names:
            value = context.get(name)
            if not isinstance(value, SharedValue):
                raise TypeError(f"{{% shared {name} %}}: {name} is not a SharedValue")
            values[name] = value
        key = (
            get_language(),
            get_script_prefix(),
            *(value.shared_key for value in values.values()),
        )
        return self.rendered.get_or_make(
            key, lambda: self.nodelist.render(shared_context(context, values))
        )


@register.tag
def shared(parser: Parser, token: Token) -> SharedNode:
    names = token.split_contents()[1:]
    nodelist = parser.parse(("endshared",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError("{% shared %} cannot hold a {% block %}")
    return SharedNode(nodelist, names)

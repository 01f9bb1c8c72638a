"""Django's ``i18n`` tags, with ``{% translate "a literal" %}`` translated once per
language in a process rather than on every render.

The platform's templates load it instead of Django's (``{% load i18n_kept %}``: the same
tags under another name, so that Django's ``i18n`` stays what it is for a deployer's own
templates, and ``check`` finds no two libraries of one name). A literal's translation
(``{% translate "Sign out" %}``, ``... context "navigation"``, ``... as label``) depends
only on the active language: Django builds a lazy translation and turns it into text on
every render, some eighty Python calls, which rows of lists repeat. ``{% translate
variable %}`` and literals with filters are left to Django's node. Every other tag is
Django's own.
"""

from __future__ import annotations

from django.template import Context, Library, Node, Variable
from django.template.base import Parser, Token
from django.templatetags import i18n
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from ecitizen.core.processcache import Kept

register = Library()
register.tags.update(i18n.register.tags)
register.filters.update(i18n.register.filters)


class KeptTranslation(Node):
    """A ``{% translate %}`` of a literal: rendered by Django's node the first time in a
    language (and way of escaping), then the same text again; with ``as``, the text is
    set in the context as Django's node sets it."""

    child_nodelists = ()

    def __init__(self, node: i18n.TranslateNode) -> None:
        self.node = node
        self.kept: Kept[SafeString | str] = Kept()

    def render(self, context: Context) -> SafeString | str:
        text = self.kept.get_or_make(
            (get_language(), context.autoescape), lambda: self._translated(context)
        )
        if self.node.asvar:
            context[self.node.asvar] = text
            return ""
        return text

    def _translated(self, context: Context) -> SafeString | str:
        """Django's node's text (which, with ``as``, it sets in the context)."""
        output = self.node.render(context)
        return context[self.node.asvar] if self.node.asvar else output


def _literal(node: i18n.TranslateNode) -> bool:
    """Whether the node translates a literal, unfiltered, in a literal context (if any)."""
    message = node.filter_expression
    context = node.message_context
    return (
        isinstance(message.var, Variable)
        and isinstance(message.var.literal, str)
        and not message.filters
        # A literal context is read when the tag is parsed: text, not a Variable.
        and (context is None or (isinstance(context.var, str) and not context.filters))
    )


@register.tag("translate")
@register.tag("trans")
def do_translate(parser: Parser, token: Token) -> Node:
    node = i18n.do_translate(parser, token)
    return KeptTranslation(node) if _literal(node) else node

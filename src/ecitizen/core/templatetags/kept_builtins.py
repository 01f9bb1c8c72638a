"""Django's ``date`` filter and ``url`` tag, the same text for less (loaded as a builtin
after Django's own, so that ``{{ value|date:"j F Y" }}`` and ``{% url "name" arg %}`` in
any template are these).

``date``: written by :func:`ecitizen.core.dateformat.formatted` when it can, else by
Django's filter itself: the same text either way (``core.tests.test_dateformat``). Like
Django's, the filter expects local time (the template engine converts an aware
``datetime`` to the current time zone before calling it) and its text is escaped.

``url``: Django's node, with each address it reverses kept, by everything ``reverse``
reads (:class:`KeptURLNode`): a page's header, navigation and lists reverse the same
addresses on every request, some twenty microseconds each (``core.tests.test_kept_urls``).
"""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context, defaultfilters, defaulttags
from django.template.base import Parser, Token
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

from ecitizen.core.dateformat import formatted

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def date(value: Any, arg: Any = None) -> str:
    """``value|date:arg``, as Django's filter writes it."""
    written = formatted(value, arg)
    return written if written is not None else defaultfilters.date(value, arg)


#: The argument types whose value alone says what ``reverse`` writes for them, exactly
#: these (``True`` equals ``1`` but is written "True"; a model instance is written by its
#: ``__str__``, which may change while it stays equal). No value of one equals a value of
#: the other.
_KEYABLE = (str, int)


def _key(values: list[Any]) -> tuple[Any, ...] | None:
    """``values`` as part of a key; ``None`` when one of them cannot be."""
    if any(type(value) not in _KEYABLE for value in values):
        return None
    return tuple(values)


@functools.lru_cache(maxsize=4096)
def _reversed(
    view_name: str,
    args: tuple[Any, ...],
    kwargs: tuple[tuple[str, Any], ...],
    current_app: str | None,
    _urlconf: str | None,
    _script_prefix: str,
    _language: str | None,
) -> str:
    """``reverse``'s address, kept by all it depends on: the name, the arguments, the
    current application, and the URL map, script prefix and language of the moment (the
    last three are what ``reverse`` reads for itself). Raises ``NoReverseMatch`` as
    ``reverse`` does (not kept). Bounded: arguments come from people's data."""
    return reverse(
        view_name,
        args=list(args),
        kwargs=dict(kwargs),
        current_app=current_app,
    )


@receiver(setting_changed)
def _forget_addresses(**kwargs: object) -> None:
    """A change of settings (tests: ``ROOT_URLCONF``) forgets the kept addresses."""
    _reversed.cache_clear()


class KeptURLNode(defaulttags.URLNode):
    """Django's ``{% url %}`` node, its address kept (:func:`_reversed`) when the view's
    name is text and every argument a ``str`` or an ``int``; otherwise Django's node
    renders it. What is written, raised or set (``as var``) is Django's."""

    def render(self, context: Context) -> str:
        view_name = self.view_name.resolve(context)
        args = _key([arg.resolve(context) for arg in self.args])
        kwargs = _key([value.resolve(context) for value in self.kwargs.values()])
        if not isinstance(view_name, str) or args is None or kwargs is None:
            return super().render(context)
        request = getattr(context, "request", None)
        try:
            current_app = request.current_app  # type: ignore[union-attr]
        except AttributeError:
            try:
                current_app = request.resolver_match.namespace  # type: ignore[union-attr]
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = _reversed(
                view_name,
                args,
                tuple(zip(self.kwargs, kwargs, strict=True)),
                current_app,
                get_urlconf(),
                get_script_prefix(),
                get_language(),
            )
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> KeptURLNode:
    """``{% url "name" arg ... [as var] %}``, parsed by Django's tag."""
    node = defaulttags.url(parser, token)
    return KeptURLNode(node.view_name, node.args, node.kwargs, node.asvar)

"""A bill's texts in every language of the site.

A bill is written once, by whoever issues it, and read by each payer in their own
language. So a bill keeps its description, and each of its lines its own, once per
language of ``settings.LANGUAGES`` (``{"en": ..., "fr": ..., "ar": ...}``), beside the
text in the authority's own language (``LANGUAGE_CODE``), which search, the ledger's
memos and the audit trail use. A reader whose language a bill has no text for (a bill
issued before the texts were kept, or by a caller that gave none) reads that text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from django.conf import settings
from django.utils import translation

#: A text per language code of ``settings.LANGUAGES``.
Texts = Mapping[str, str]


def site_languages() -> tuple[str, ...]:
    """The codes of the site's languages (``settings.LANGUAGES``), in their order."""
    return tuple(code for code, _label in settings.LANGUAGES)


def in_every_language(text: Callable[[], object]) -> dict[str, str]:
    """``text()`` once with each site language active (``translation.override``), as
    ``{language: text}``: ``in_every_language(lambda: _("Penalty charge"))``.

    ``text`` must translate when it is called (``gettext``, or ``str()`` of a lazy
    text): a string translated before the call is the same in every language. Numbers
    and dates that ``text`` formats are formatted the way of each language too."""
    texts = {}
    for language in site_languages():
        with translation.override(language):
            texts[language] = str(text())
    return texts


class LocalisedText(NamedTuple):
    """A text for a reader, and ``lang``: ``""`` when it is in the reader's language,
    else the code of the language it is in (for a ``lang`` attribute on the page)."""

    text: str
    lang: str


def text_in(texts: object, fallback: str, language: str | None = None) -> LocalisedText:
    """The text of ``texts`` (``{language: text}``, as stored: anything else counts as
    none) in ``language`` (default: the active one), else ``fallback``, the text in
    the authority's own language (``LANGUAGE_CODE``)."""
    code = language or translation.get_language() or settings.LANGUAGE_CODE
    if isinstance(texts, dict) and texts:
        text = texts.get(code) or texts.get(code.split("-")[0])
        if text:
            return LocalisedText(str(text), "")
    default = settings.LANGUAGE_CODE
    same = code.split("-")[0] == default.split("-")[0]
    return LocalisedText(fallback, "" if same else default)

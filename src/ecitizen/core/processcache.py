"""What the pages work out once per process instead of on every request: addresses
without arguments, translations of literals and markup that is the same for everyone
reading in a language.

Only what follows from the settings, the URL map, the active language and the script
prefix is kept here, never anything read from a request or a person. Tests change settings
(``override_settings``): what was kept before a change is forgotten.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from babel import Locale, UnknownLocaleError
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, reverse
from django.utils import translation

Value = TypeVar("Value")


class _Settings:
    #: Counts the changes of settings (tests).
    generation = 0


@receiver(setting_changed)
def _new_generation(**kwargs: object) -> None:
    _Settings.generation += 1


class Kept(Generic[Value]):
    """Values kept under the settings of the moment, by key; a change of settings forgets
    them all. Two threads may both work out a missing value: each keeps the same one."""

    def __init__(self) -> None:
        self._generation = _Settings.generation
        self._values: dict[Hashable, Value] = {}

    def get_or_make(self, key: Hashable, make: Callable[[], Value]) -> Value:
        """The value kept under ``key``; the first time (under these settings), the one
        ``make()`` returns, kept."""
        if self._generation != _Settings.generation:
            self._values = {}
            self._generation = _Settings.generation
        try:
            return self._values[key]
        except KeyError:
            value = self._values[key] = make()
            return value


_reversed: Kept[str] = Kept()


def reverse_once(url_name: str) -> str:
    """``reverse(url_name)`` for a URL without arguments, worked out once per script
    prefix (a deployment under a path serves it from the request's ``SCRIPT_NAME``).
    Raises ``NoReverseMatch`` as ``reverse`` does."""
    return _reversed.get_or_make((get_script_prefix(), url_name), lambda: reverse(url_name))


_locales: Kept[Locale] = Kept()


def babel_locale(language: str | None = None) -> Locale:
    """Babel's locale of ``language`` (default: the active language, else the site's),
    English when Babel has none; read once per language (a list writes a number or an
    amount per cell)."""
    code = language or translation.get_language() or settings.LANGUAGE_CODE
    return _locales.get_or_make(code, lambda: _parsed_locale(code))


def _parsed_locale(code: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


class SharedValue(ABC):
    """A value that markup kept for everyone may depend on besides the language (base.html's
    navigation: ``{% shared navigation %}``): ``shared_key`` names all of it that the
    markup reads, so that one rendering serves every page with the same key. A key must
    say nothing about a person (which sections, not whose)."""

    @property
    @abstractmethod
    def shared_key(self) -> Hashable: ...

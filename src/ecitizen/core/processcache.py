"""What the pages work out once per process instead of on every request: addresses
without arguments and markup that is the same for everyone reading in a language.

Only what follows from the settings, the URL map, the active language and the script
prefix is kept here, never anything read from a request or a person. Tests change settings
(``override_settings``): each change starts a new generation, and nothing kept under an
earlier one is used again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, reverse

_reversed: dict[tuple[str, str], str] = {}


class _Settings:
    generation = 0


def generation() -> int:
    """A number that changes whenever a setting does (tests): part of every key of what
    is kept per process, outside this module too (``core.templatetags.layout``)."""
    return _Settings.generation


@receiver(setting_changed)
def _new_generation(**kwargs: object) -> None:
    _Settings.generation += 1
    _reversed.clear()


def reverse_once(url_name: str) -> str:
    """``reverse(url_name)`` for a URL without arguments, worked out once per script
    prefix (a deployment under a path serves it from the request's ``SCRIPT_NAME``).
    Raises ``NoReverseMatch`` as ``reverse`` does."""
    key = (get_script_prefix(), url_name)
    url = _reversed.get(key)
    if url is None:
        url = _reversed[key] = reverse(url_name)
    return url


class SharedValue(ABC):
    """A value that markup kept for everyone may depend on besides the language (base.html's
    navigation: ``{% shared navigation %}``): ``shared_key`` names all of it that the
    markup reads, so that one rendering serves every page with the same key. A key must
    say nothing about a person (which sections, not whose)."""

    @property
    @abstractmethod
    def shared_key(self) -> Hashable: ...

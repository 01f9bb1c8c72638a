"""The deploying authority's names in the reader's language (settings
``AUTHORITY_NAMES`` and ``AUTHORITY_SERVICE_NAMES``, one entry per language of
``LANGUAGES``, from ``AUTHORITY_NAME_FR`` and the like)."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def _in(names: dict[str, str] | None, fallback: str, language: str | None) -> str:
    code = (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return (names or {}).get(code) or fallback


def authority_name(language: str | None = None) -> str:
    """The authority's name in ``language`` (default: the active one), else
    ``AUTHORITY_NAME``: "City of Riverton", "Ville de Riverton", "مدينة ريفرتون"."""
    return _in(getattr(settings, "AUTHORITY_NAMES", None), settings.AUTHORITY_NAME, language)


def service_name(language: str | None = None) -> str:
    """The site's name in ``language`` (default: the active one), else
    ``AUTHORITY_SERVICE_NAME``: "Riverton online services"."""
    return _in(
        getattr(settings, "AUTHORITY_SERVICE_NAMES", None),
        settings.AUTHORITY_SERVICE_NAME,
        language,
    )


def localised_name(name: str, names: dict[str, str] | None, language: str | None = None) -> str:
    """A name the authority configured (a department's, a ward's) in ``language``
    (default: the active one): ``names`` holds it per language (``{"fr": ..., "ar":
    ...}``); ``name`` is the authority's own language's and the fallback."""
    return _in(names if isinstance(names, dict) else None, name, language)

"""Texts an official writes in the authority's language, with their translations.

An abstract model (no table of its own) that apps mix into theirs: ``translations``
holds ``{"fr": {"title": ...}, "ar": {...}}`` and :meth:`Translatable.tr` gives the
reader's language, else the original.
"""

from __future__ import annotations

from django.db import models
from django.utils import translation


class Translatable(models.Model):
    """Official-written texts with their translations (``translations[lang][field]``)."""

    translations = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    def tr(self, field: str) -> str:
        """``field`` in the active language when translated, else the original."""
        language = (translation.get_language() or "").split("-")[0]
        text = (self.translations.get(language) or {}).get(field)
        return text if isinstance(text, str) and text.strip() else getattr(self, field)

    def translated_list(self, field: str) -> list[str]:
        """A list field (answers) in the active language, item by item where translated;
        the original when the translation is missing or has another length."""
        original = list(getattr(self, field))
        language = (translation.get_language() or "").split("-")[0]
        translated = (self.translations.get(language) or {}).get(field)
        if not isinstance(translated, list) or len(translated) != len(original):
            return original
        return [
            str(mine) if str(mine).strip() else theirs
            for mine, theirs in zip(translated, original, strict=True)
        ]

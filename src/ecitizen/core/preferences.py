"""Display preferences every page honours (text size and contrast). They are stored on
the person's account by the identity app, and read here by the middleware and forms of
``core``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TextSize(models.TextChoices):
    STANDARD = "standard", _("Standard")
    LARGE = "large", _("Large")
    LARGER = "larger", _("Larger")


class Contrast(models.TextChoices):
    STANDARD = "standard", _("Standard")
    HIGH = "high", _("High contrast")

"""Password rules after NIST SP 800-63B: long enough, not common, not about the person."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class MaximumLengthValidator:
    """Allow long passphrases (NIST asks for at least 64 characters) while refusing
    megabyte-sized inputs that would only waste hashing time."""

    def __init__(self, max_length: int = 256) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                _("Password must be %(max)d characters or fewer") % {"max": self.max_length},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("Your password can be up to %(max)d characters long.") % {"max": self.max_length}


class PersonalInformationValidator:
    """Refuse a password that contains the person's name or their email address (or its
    part before the @), ignoring case. Parts shorter than three characters are ignored so
    that an initial does not block ordinary words."""

    min_part_length = 3

    def _parts(self, user: Any) -> list[str]:
        parts: list[str] = []
        email = str(getattr(user, "email", "") or "").lower()
        if email:
            parts.append(email)
            parts.extend(re.split(r"[._+\-]", email.split("@")[0]))
            parts.append(email.split("@")[0])
        name = str(getattr(user, "full_name", "") or "").lower()
        parts.extend(re.split(r"[\s'\-]+", name))
        return [part for part in parts if len(part) >= self.min_part_length]

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        lowered = password.lower()
        if any(part in lowered for part in self._parts(user)):
            raise ValidationError(
                _("Your password must not contain your name or email address"),
                code="password_contains_personal_information",
            )

    def get_help_text(self) -> str:
        return _("Your password must not contain your name or email address.")

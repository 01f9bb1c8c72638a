"""Password rules after NIST SP 800-63B: long enough, not common, not about the person."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.auth.password_validation import (
    CommonPasswordValidator as DjangoCommonPasswordValidator,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: Passwords known from breaches (source and licence in the file's header).
BREACHED_PASSWORDS_FILE = Path(__file__).resolve().parent / "breached_passwords.txt"


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


class NotBlankValidator:
    """Refuse a password that is only spaces or invisible characters ("        " passes a
    length check of 8 but is no secret at all)."""

    def validate(self, password: str, user: Any = None) -> None:
        visible = [
            char
            for char in password
            if not char.isspace() and unicodedata.category(char) not in {"Cc", "Cf", "Zs"}
        ]
        if not visible:
            raise ValidationError(
                _("Your password must include letters, numbers or symbols, not only spaces"),
                code="password_blank",
            )

    def get_help_text(self) -> str:
        return _("Your password must not be only spaces.")


@cache
def _known_passwords() -> frozenset[str]:
    """Django's 20,000 common passwords and the breached passwords we ship, lower case."""
    django_list: frozenset[str] = frozenset(DjangoCommonPasswordValidator().passwords)
    with BREACHED_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        breached = {
            line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")
        }
    return django_list | frozenset(breached)


class CommonPasswordValidator:
    """Refuse a password found in a list of common passwords or of passwords exposed in
    breaches (NIST SP 800-63B 5.1.1.2): Django's list and ``breached_passwords.txt``.

    The comparison ignores case, spaces at either end and spaces inside, so that
    ``" Password 123 "`` is refused like ``password123``.
    """

    def validate(self, password: str, user: Any = None) -> None:
        known = _known_passwords()
        lowered = unicodedata.normalize("NFC", password).lower()
        variants = {lowered, lowered.strip(), "".join(lowered.split())}
        if variants & known:
            raise ValidationError(
                _(
                    "This password is too easy to guess: it is a common password or has "
                    "been exposed in a data breach. Choose a different password"
                ),
                code="password_too_common",
            )

    def get_help_text(self) -> str:
        return _("Your password must not be a common password or one exposed in a data breach.")

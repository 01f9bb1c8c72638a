"""Personal details taken out of what residents write before officials read it.

Comments on the satisfaction form and compliments or suggestions are read by officials
who need the opinion, not the person. People still type their email address, phone
number, card number or national insurance number into free text ("call me on ..."), so
every such text is screened here and only the redacted text is stored: what was removed
is never written anywhere.

Each kind of detail is replaced by a marker in square brackets (``[email]``,
``[phone]``…), so officials see that something was there. Markers are the same in every
language: they are stored, and a stored text has no reader's language.

The patterns, in the order they are applied (longer digit runs first, so that a card
number is not taken for a phone number):

- email addresses;
- payment card numbers: 13 to 19 digits, possibly grouped by spaces or hyphens, that pass
  the Luhn check (a long reference number that fails it is kept);
- national insurance-like identity numbers: two letters then six to eight digits,
  possibly grouped, with an optional final letter (``QQ 12 34 56 C``, ``RV12345678``);
- phone numbers: a ``+``, ``00`` or ``0`` then 9 to 15 digits in all, possibly grouped by
  spaces, hyphens, dots or brackets;
- postcodes in the British format (``RV1 4AB``, ``SW1A 1AA``).

Names and street addresses cannot be recognised reliably and are not removed: the forms
ask people not to write them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

EMAIL = "[email]"
CARD = "[card number]"
ID_NUMBER = "[ID number]"
PHONE = "[phone]"
POSTCODE = "[postcode]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Digits grouped by single spaces or hyphens; checked for length and Luhn afterwards.
_CARD = re.compile(r"(?<![\w])\d(?:[ -]?\d){12,18}(?![\w])")
_ID_NUMBER = re.compile(
    r"(?<![\w])[A-Z]{2}[ -]?\d{2}(?:[ -]?\d{2}){2,3}(?:[ -]?[A-Z])?(?![\w])", re.I
)
# A leading + or 0, then digits and the separators people put between them.
_PHONE = re.compile(r"(?<![\w+])(?:\+|0)[\d(][\d ().-]{6,20}\d(?![\w])")
_POSTCODE = re.compile(r"(?<![\w])[A-Z]{1,2}\d[A-Z\d]?\s*\d[ABD-HJLNP-UW-Z]{2}(?![\w])", re.I)

PHONE_MIN_DIGITS = 9
PHONE_MAX_DIGITS = 15


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD if _luhn_valid(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        return PHONE
    return match.group(0)


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, lambda _match: EMAIL),
    (_CARD, _card),
    (_ID_NUMBER, lambda _match: ID_NUMBER),
    (_PHONE, _phone),
    (_POSTCODE, lambda _match: POSTCODE),
)


@dataclass(frozen=True)
class Redacted:
    """A text with its personal details replaced, and how many were replaced."""

    text: str
    removed: int


def redact(text: str) -> Redacted:
    """``text`` with email addresses, card numbers, identity numbers, phone numbers and
    postcodes replaced by markers (see the module's documentation). Pure: no side
    effects; the same text always gives the same result."""
    removed = 0
    for pattern, replace in _RULES:

        def counted(match: re.Match[str], replace: Callable[[re.Match[str]], str] = replace) -> str:
            nonlocal removed
            replacement = replace(match)
            if replacement != match.group(0):
                removed += 1
            return replacement

        text = pattern.sub(counted, text)
    return Redacted(text, removed)

"""Personal data in text people publish (comments, proposals): found before anyone sees it.

A comment is public the moment it is posted, so a phone number or an email address typed
into one ("call me on 07700 900123") is published to everyone, and a national identity
number or a bank card number is worse. The screening finds four kinds of details and the
text is refused, with what was found, so the author can take it out:

- **email addresses**, also written ``alex [at] example [dot] com``;
- **phone numbers**: UK numbers (``07700 900123``, ``020 7946 0018``, ``(01632) 960123``),
  international ones with ``+`` or ``00`` (``+44 (0)20 7946 0018``, ``+33 6 12 34 56 78``,
  ``0033 612 345 678``) and North American ones (``(555) 123-4567``);
- **national identity numbers** in Riverton's format (two letters and eight digits,
  :mod:`ecitizen.accounts.identity`: ``RV12345678``, ``RV 1234 5678``);
- **bank card numbers**: 13 to 19 digits that pass the Luhn check.

Ordinary numbers are not personal data, and a false alarm makes people give up: "15 trees",
"£20,000", "1 200 000", "2026-05-12", "0.25 of the budget", a year, a decimal number or
a list of plot numbers pass. So a phone number needs a phone number's shape: a leading
``+``, ``00`` or ``0`` and the right number of digits, in groups, or the North American
``(555) 123-4567``.

Digits of every script count (Arabic-Indic digits are digits), and the full-width at and
plus signs (U+FF20, U+FF0B) are ``@`` and ``+``: the text is mapped character for
character before matching, so what was found is shown as the author typed it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

from ecitizen.accounts.identity import validate_national_id

EMAIL = "email"
PHONE = "phone"
NATIONAL_ID = "national_id"
CARD = "card"

_KIND_LABELS = {
    EMAIL: gettext_lazy("an email address"),
    PHONE: gettext_lazy("a phone number"),
    NATIONAL_ID: gettext_lazy("a national identity number"),
    CARD: gettext_lazy("a bank card number"),
}

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.%+-]+\s*@\s*[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])", re.UNICODE
)
# "alex [at] example [dot] com", "alex(at)example.com": the usual ways to dodge a filter.
_EMAIL_SPELT = re.compile(
    r"(?<![\w.+-])[\w.+-]+\s*[\[(]\s*at\s*[\])]\s*[\w-]+"
    r"(?:\s*(?:\.|[\[(]\s*dot\s*[\])])\s*[\w-]+)+",
    re.IGNORECASE | re.UNICODE,
)
# A group of digits, possibly in brackets ("(0)", "(01632)"). Groups separated by at most
# one space, hyphen or dot (or nothing, next to a bracket) make one run; commas and
# slashes never join groups (they write amounts and dates).
_GROUP = re.compile(r"\(?[0-9]+\)?")
_JOINERS = frozenset({"", " ", "-", "."})
#: The most groups a phone or card number is written in ("00 33 6 12 34 56 78"): longer
#: stretches are not tried (a run of a thousand numbers stays quick to screen).
_MAX_GROUPS = 8
# North American numbers, written with hyphens, dots or brackets ("555 123 4567", spaces
# only, reads like three amounts).
_NORTH_AMERICAN = re.compile(r"^(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[.-])[0-9]{3}[.-][0-9]{4}$")
# Two letters and eight digits, spaces or hyphens allowed between them. Lower-case letters
# count only when written against the digits ("rv12345678"): "up to 12345678" is a number.
_NATIONAL_ID = re.compile(
    r"(?<![\w])(?:[A-Z]{2}[ -]?|[A-Za-z]{2})[0-9]{2}(?:[ -]?[0-9]){6}(?![\w])"
)


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in a text: its ``kind`` (:data:`EMAIL`, :data:`PHONE`,
    :data:`NATIONAL_ID`, :data:`CARD`) and the ``text`` found, as typed."""

    kind: str
    text: str

    def describe(self) -> str:
        """For the author: "a phone number (07700 900123)"; a card number is shown by its
        last four digits only."""
        label = str(_KIND_LABELS[self.kind])
        if self.kind == CARD:
            digits = re.sub(r"[^0-9]", "", _ascii(self.text))
            return gettext("%(kind)s ending %(last)s") % {"kind": label, "last": digits[-4:]}
        return gettext("%(kind)s (%(text)s)") % {"kind": label, "text": self.text}


# Compatibility forms of the symbols that write emails and phone numbers (full-width,
# small forms), dashes, and the spaces that group digits.
_SYMBOLS = str.maketrans(
    {
        "\uff20": "@",
        "\ufe6b": "@",
        "\uff0b": "+",
        "\ufe62": "+",
        "\uff08": "(",
        "\uff09": ")",
        "\uff0e": ".",
        "\uff0d": "-",
        "\ufe63": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2007": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)
_DIGIT = re.compile(r"\d")  # every script's decimal digits (Unicode category Nd)


def _ascii(text: str) -> str:
    """``text`` with other scripts' digits and compatibility symbols as ASCII, one
    character for one (positions are kept)."""
    return _DIGIT.sub(
        lambda match: str(unicodedata.decimal(match.group())), text.translate(_SYMBOLS)
    )


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True)
class _Run:
    """Digit groups that follow one another (see :data:`_GROUP`): each group's span in
    the text, and whether a ``+`` comes just before the first."""

    spans: tuple[tuple[int, int], ...]
    plus: bool


def _runs(folded: str) -> list[_Run]:
    """The runs of digit groups of a (folded) text; a group touching a letter ("15km",
    "RV12345678", "A1") is no part of a number someone could dial."""
    runs: list[_Run] = []
    spans: list[tuple[int, int]] = []
    plus = False

    def close() -> None:
        if spans:
            runs.append(_Run(tuple(spans), plus))

    for match in _GROUP.finditer(folded):
        start, end = match.span()
        glued = (start > 0 and folded[start - 1].isalpha()) or (
            end < len(folded) and (folded[end].isalpha() or folded[end] == "_")
        )
        if glued:
            close()
            spans, plus = [], False
            continue
        if spans and folded[spans[-1][1] : start] in _JOINERS:
            spans.append((start, end))
            continue
        close()
        spans = [(start, end)]
        before = folded[max(0, start - 2) : start]
        plus = before.endswith("+") or before == "+ "
    close()
    return runs


def _balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """``start``/``end`` moved inside a bracket that opens or closes outside them."""
    piece = text[start:end]
    if piece.startswith("(") and piece.count("(") > piece.count(")"):
        start += 1
    piece = text[start:end]
    if piece.endswith(")") and piece.count(")") > piece.count("("):
        end -= 1
    return start, end


def _is_card(candidate: str) -> bool:
    """13 to 19 digits (in groups joined by spaces or hyphens) that pass the Luhn check
    and are not one digit repeated."""
    if re.search(r"[^0-9 -]", candidate):
        return False
    digits = candidate.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and digits[0] != "0" and len(set(digits)) > 1 and _luhn(digits)


def _is_phone(candidate: str, *, plus: bool) -> bool:
    """Whether digit groups have a phone number's shape (see the module)."""
    digits = re.sub(r"[^0-9]", "", candidate)
    if "." in candidate and re.search(r"[ ()-]", candidate):
        return False  # "0.25 0.5 0.75": decimal numbers, not one number
    groups = [group for group in re.split(r"[ .()-]+", candidate) if group]
    if sum(1 for group in groups if len(group) == 1 and group != "0") > 2:
        return False  # "0 1 2 3 4 5 6 7 8 9": a list
    if plus:
        return 10 <= len(digits) <= 15 and digits[0] != "0"
    if digits.startswith("00"):
        return 12 <= len(digits) <= 17 and digits[2] != "0"
    if digits.startswith("0"):
        # A UK number opens with a dialling code of 3 digits or more ("020", "07700",
        # "(01632)"); a French-style one is five pairs ("06 12 34 56 78").
        first = groups[0]
        pairs = len(groups) == 5 and all(len(group) == 2 for group in groups)
        return len(digits) in {10, 11} and digits[1] != "0" and (len(first) >= 3 or pairs)
    return bool(_NORTH_AMERICAN.match(candidate))


def _numbers_in(run: _Run, folded: str) -> list[tuple[int, int, str]]:
    """The card and phone numbers of a run of digit groups: the longest stretch of groups
    from each group on ("Call 07700 900123 2 times" holds a phone number although the
    whole run "07700 900123 2" is none)."""
    found = []
    first = 0
    while first < len(run.spans):
        for last in range(min(len(run.spans), first + _MAX_GROUPS), first, -1):
            start, end = _balanced(folded, run.spans[first][0], run.spans[last - 1][1])
            candidate = folded[start:end]
            plus = run.plus and first == 0
            if not plus and _is_card(candidate):
                found.append((start, end, CARD))
            elif _is_phone(candidate, plus=plus):
                found.append((folded.rindex("+", 0, start) if plus else start, end, PHONE))
            else:
                continue
            first = last - 1
            break
        first += 1
    return found


def personal_data_find(text: str) -> list[Finding]:
    """The personal data in ``text``, in the order it appears (each piece once).

    Pure: no side effects, no database. A piece of text is reported as one kind only (a
    card number is not also a phone number, an email address's digits are no phone)."""
    folded = _ascii(text)
    candidates: list[tuple[int, int, str]] = []
    for pattern in (_EMAIL, _EMAIL_SPELT):
        candidates += [(*match.span(), EMAIL) for match in pattern.finditer(folded)]
    for match in _NATIONAL_ID.finditer(folded):
        try:
            validate_national_id(match.group())
        except ValidationError:
            continue
        candidates.append((*match.span(), NATIONAL_ID))
    for run in _runs(folded):
        candidates += _numbers_in(run, folded)
    # The first kind to claim a stretch of text keeps it.
    found: list[tuple[int, int, str]] = []
    for start, end, kind in candidates:
        if not any(start < other_end and other_start < end for other_start, other_end, _ in found):
            found.append((start, end, kind))
    seen: set[tuple[str, str]] = set()
    findings = []
    for start, end, kind in sorted(found):
        piece = (kind, text[start:end].strip())
        if piece not in seen:
            seen.add(piece)
            findings.append(Finding(kind=kind, text=piece[1]))
    return findings


def personal_data_message(findings: list[Finding]) -> str:
    """The message that refuses a text with personal data: what was found, and what to
    do. Precondition: ``findings`` is not empty."""
    return gettext(
        "Your text includes personal details that would be public: %(found)s. Remove them, "
        "then try again."
    ) % {"found": "; ".join(finding.describe() for finding in findings)}

"""Text people type, made safe to show to others: one rule for names, one for free text.

Names and messages typed by one person reach another person's screen (staff pages,
emails, the resident's own pages). Invisible Unicode characters can make that text lie:
a right-to-left override (U+202E) turns ``invoice_gpj.exe`` into ``invoice_exe.jpg`` on
screen, zero-width characters make two different names look the same, and control
characters break emails and exports. The rules, decided once here:

- Everything is normalised to Unicode NFC (one encoding for one visible text).
- **Names** (a person's name, the name on a card) must not contain control or format
  characters at all; such a name is **refused** with a message, because a name is an
  identity and silently changing it could hide a spoofing attempt. Every kind of space
  becomes an ordinary space, runs of spaces become one, and the ends are trimmed.
- **Free text** (messages, notes, reasons, answers) keeps its line breaks and tabs; the
  characters that can only spoof are **removed**: other control characters, explicit
  bidirectional embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069), zero-
  width spaces, word joiners, soft hyphens, byte-order marks, invisible operators, tag
  characters (except in flag emoji), and any other format character not listed below.
- **Kept, because real writing needs them:**
  - ZERO WIDTH NON-JOINER (U+200C) and ZERO WIDTH JOINER (U+200D) **between two letters
    of a script that joins or forms conjuncts** (Arabic, Syriac, Thaana, N'Ko and the
    Indic scripts): Persian writes many words and surnames (Hosseinzadeh) with a ZWNJ
    between their parts. In free text, a ZWJ between emoji (a family emoji) is kept
    too. Anywhere else (``pay<ZWJ>pal``) they only hide a difference, and are refused in
    names and removed from free text.
  - In free text only: the directional *marks* LRM, RLM and ARABIC LETTER MARK
    (U+200E, U+200F, U+061C), which people use to place punctuation and numbers
    correctly in mixed Arabic and English text. They cannot reverse a run of characters
    the way overrides can. Arabic number signs and the end-of-ayah mark (U+0600 to U+0605,
    U+06DD, U+08E2) and the Syriac abbreviation mark (U+070F) are kept as well.

Forms use :class:`NameField` and :class:`FreeTextField`; code that receives text by other
means calls :func:`normalise_name` or :func:`clean_free_text`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ZWNJ = "\u200c"
ZWJ = "\u200d"
#: Directional marks kept in free text (they do not reorder runs the way overrides do).
_DIRECTIONAL_MARKS = frozenset("\u200e\u200f\u061c")
#: Format characters that belong to the writing of a language (number signs, marks).
_SCRIPT_FORMAT_CHARACTERS = frozenset(
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u08e2\U000110bd\U000110cd"
)
#: Scripts that join letters or form conjuncts, where ZWNJ and ZWJ change the spelling.
_JOINING_SCRIPT_RANGES = (
    (0x0600, 0x06FF),  # Arabic
    (0x0700, 0x074F),  # Syriac
    (0x0750, 0x077F),  # Arabic Supplement
    (0x0780, 0x07BF),  # Thaana
    (0x07C0, 0x07FF),  # N'Ko
    (0x0860, 0x086F),  # Syriac Supplement
    (0x0870, 0x08FF),  # Arabic Extended-B and -A
    (0x0900, 0x0DFF),  # Devanagari to Sinhala
    (0x10D00, 0x10D3F),  # Hanifi Rohingya
    (0xFB50, 0xFDFF),  # Arabic Presentation Forms-A
    (0xFE70, 0xFEFF),  # Arabic Presentation Forms-B (U+FEFF itself is never a letter)
)
_TAG_CHARACTERS = range(0xE0020, 0xE0080)
_BLACK_FLAG = "\U0001f3f4"  # starts the tag sequences of subdivision flags (Scotland...)
_LINE_BREAKS = re.compile("\r\n|\r|\u2028|\u2029|\x85")


def _in_joining_script(char: str) -> bool:
    point = ord(char)
    return unicodedata.category(char)[0] in {"L", "M"} and any(
        low <= point <= high for low, high in _JOINING_SCRIPT_RANGES
    )


def _is_emoji_like(char: str) -> bool:
    # Emoji are symbols (So) or, for the skin-tone and hair modifiers, modifier symbols.
    return unicodedata.category(char) in {"So", "Sk"} or char == "\ufe0f"


def _joiner_allowed(text: str, index: int, *, emoji: bool) -> bool:
    """ZWNJ/ZWJ at ``index`` is part of real writing (see the module's rules)."""
    if index == 0 or index == len(text) - 1:
        return False
    before, after = text[index - 1], text[index + 1]
    if _in_joining_script(before) and _in_joining_script(after):
        return True
    return emoji and text[index] == ZWJ and _is_emoji_like(before) and _is_emoji_like(after)


def _in_flag_tag_sequence(text: str, index: int) -> bool:
    start = index
    while start > 0 and ord(text[start - 1]) in _TAG_CHARACTERS:
        start -= 1
    return start > 0 and text[start - 1] == _BLACK_FLAG


def _unsafe_positions(text: str, *, free_text: bool) -> list[int]:
    """Indexes of the characters the rules do not allow in ``text`` (already NFC)."""
    unsafe = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cc":
            if free_text and char in "\n\t":
                continue
            unsafe.append(index)
        elif category in {"Cf", "Zl", "Zp", "Cs"}:
            if char in {ZWNJ, ZWJ} and _joiner_allowed(text, index, emoji=free_text):
                continue
            if free_text and (
                char in _DIRECTIONAL_MARKS
                or char in _SCRIPT_FORMAT_CHARACTERS
                or (ord(char) in _TAG_CHARACTERS and _in_flag_tag_sequence(text, index))
            ):
                continue
            unsafe.append(index)
    return unsafe


def clean_free_text(value: str) -> str:
    """Free text in NFC with ``\\n`` line breaks and the spoofing characters removed
    (see the module's rules). Never raises; the result may be shorter than the input."""
    text = unicodedata.normalize("NFC", _LINE_BREAKS.sub("\n", str(value)))
    unsafe = set(_unsafe_positions(text, free_text=True))
    if not unsafe:
        return text
    return "".join(char for index, char in enumerate(text) if index not in unsafe)


class UnsafeCharacters(ValueError):
    """A name holds control or format characters; ``characters`` lists their code points
    (``U+202E``) for logs and tests."""

    def __init__(self, characters: list[str]) -> None:
        super().__init__(", ".join(characters))
        self.characters = characters


def normalise_name(value: str) -> str:
    """A name in NFC, spaces made ordinary and single, ends trimmed.

    Raises :class:`UnsafeCharacters` when it contains a control or format character
    (line breaks, bidirectional controls, zero-width characters...), except a ZWNJ or ZWJ
    between two letters of a joining script (a Persian surname like Hosseinzadeh).
    """
    text = unicodedata.normalize("NFC", str(value))
    unsafe = _unsafe_positions(text, free_text=False)
    if unsafe:
        raise UnsafeCharacters([f"U+{ord(text[i]):04X}" for i in unsafe])
    text = "".join(" " if unicodedata.category(char) == "Zs" else char for char in text)
    return re.sub(" {2,}", " ", text).strip()


class NameField(forms.CharField):
    """A person's name: normalised, refused with a clear message if it holds invisible or
    control characters (:func:`normalise_name`)."""

    default_error_messages = {
        "unsafe_characters": _(
            "Name must only include letters, spaces and punctuation you can see, "
            "not invisible or control characters"
        ),
    }

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        if not text:
            return text
        try:
            return normalise_name(text)
        except UnsafeCharacters:
            raise ValidationError(
                self.error_messages["unsafe_characters"], code="unsafe_characters"
            ) from None


class FreeTextField(forms.CharField):
    """Text a person writes to someone else (a message, a note, a reason, an answer):
    normalised, with spoofing characters removed (:func:`clean_free_text`). Lengths and
    "required" are checked on the cleaned text."""

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        if not text:
            return text
        cleaned = clean_free_text(text)
        # Removing characters can leave only spaces: strip again, as CharField does.
        return cleaned.strip() if self.strip else cleaned

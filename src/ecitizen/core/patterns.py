"""Answer patterns: the regular expressions a definition's author writes to check an
answer (a service's question, a consultation's).

They are matched with RE2 (google-re2), whose matching takes time linear in the answer:
a pattern written carelessly or on purpose, like ``(a+)+$``, cannot hold a web process
for minutes on a long answer, as Python's backtracking ``re`` would. RE2 has no
back-references or look-arounds; a pattern that uses them is refused when the definition
is checked (:func:`pattern_problem`), not when a resident answers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

#: Longest pattern accepted (a pattern is a rule on one answer, not a program).
MAX_PATTERN_LENGTH = 500


class PatternError(ValueError):
    """The pattern cannot be used; the message says why, in RE2's words."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the error is raised to the caller, not printed
    return options


@lru_cache(maxsize=512)
def answer_pattern(pattern: str) -> Any:
    """``pattern`` compiled with RE2 (an object with ``search`` and ``pattern``, as
    Django's ``RegexValidator`` expects). Raises :class:`PatternError` when it is too
    long, not valid, or uses what RE2 does not have."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as error:
        reason = error.args[0] if error.args else "not valid"
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise PatternError(str(reason)) from None


def pattern_problem(pattern: Any) -> str | None:
    """Why ``pattern`` cannot check answers (RE2's words, in English), or ``None`` when it
    can."""
    if not isinstance(pattern, str):
        return "not text"
    try:
        answer_pattern(pattern)
    except PatternError as error:
        return str(error)
    return None

"""Answer patterns are matched by RE2: no pattern can make matching an answer slow, and
those RE2 cannot match are refused with the reason."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from ecitizen.core.patterns import MAX_PATTERN_LENGTH, PatternError, answer_pattern, pattern_problem


def test_a_pattern_checks_answers_as_django_validators_do():
    validator = RegexValidator(answer_pattern(r"^[A-Z]{2}[0-9]{8}$"), "Wrong format")
    validator("RV12345678")
    with pytest.raises(ValidationError, match="Wrong format"):
        validator("RV1234567")
    assert answer_pattern("é+").search("café")


def test_a_catastrophic_pattern_answers_at_once():
    """``(a+)+$`` on 30 a's then "!" backtracks 2**30 times in Python's ``re``; RE2 answers
    in one pass (the test would time out otherwise)."""
    assert answer_pattern(r"(a+)+$").search("a" * 30 + "!") is None
    assert answer_pattern(r"^(a+)+$").search("a" * 30_000 + "!") is None


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence"),
        (r"(?<=a)b", "invalid perl operator"),
        ("[a-", "missing ]"),
        ("a" * (MAX_PATTERN_LENGTH + 1), "longer than"),
        (42, "not text"),
    ],
)
def test_a_pattern_re2_cannot_match_is_refused_with_the_reason(pattern, reason):
    problem = pattern_problem(pattern)
    assert problem is not None
    assert reason in problem
    if isinstance(pattern, str):
        with pytest.raises(PatternError):
            answer_pattern(pattern)
    assert pattern_problem(r"^\d{4}$") is None

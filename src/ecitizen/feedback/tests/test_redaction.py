"""Personal details are taken out of what residents write before it is stored."""

from __future__ import annotations

import pytest

from ecitizen.feedback.redaction import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to jo.bloggs+council@example.co.uk please", "Write to [email] please"),
        ("Call me on 07700 900123.", "Call me on [phone]."),
        ("Or +44 (0)20 7946 0958 after six", "Or [phone] after six"),
        (
            "My card 4242 4242 4242 4242 was charged twice",
            "My card [card number] was charged twice",
        ),
        ("Card 4242-4242-4242-4242", "Card [card number]"),
        ("NI number QQ 12 34 56 C", "NI number [ID number]"),
        ("my id RV12345678 was refused", "my id [ID number] was refused"),
        ("I live at RV1 4AB near the park", "I live at [postcode] near the park"),
        ("sw1a 1aa", "[postcode]"),
    ],
)
def test_each_kind_of_personal_detail_is_replaced_by_a_marker(text, expected):
    result = redact(text)
    assert result.text == expected
    assert result.removed == expected.count("[")


@pytest.mark.parametrize(
    "text",
    [
        "Reference RIV-BP-2026-000123 paid £35.00 on 01/02/2026.",
        "It took 10 minutes and 3 pages.",
        # 13 digits failing the Luhn check: a long reference, not a card.
        "Order 1234567890123 arrived",
        # Too few digits for a phone number.
        "Room 0123 on floor 2",
    ],
)
def test_what_is_not_personal_is_kept_as_written(text):
    assert redact(text).text == text
    assert redact(text).removed == 0


def test_several_details_in_one_comment_are_all_removed_and_counted():
    result = redact("Email a@b.org or call 01632 960001, postcode RV3 5WR.")
    assert result.text == "Email [email] or call [phone], postcode [postcode]."
    assert result.removed == 3

"""The personal-data screening of published text: what it must find (emails, phone numbers
in UK and international forms, Riverton identity numbers, card numbers), what it must
let through (the numbers people write about budgets, dates, trees and plots), and what
it tells the author."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecitizen.participation.screening import (
    CARD,
    EMAIL,
    NATIONAL_ID,
    PHONE,
    personal_data_find,
    personal_data_message,
)


def arabic_digits(text: str) -> str:
    """``text`` with its digits written in Arabic-Indic digits."""
    return text.translate({ord(str(digit)): chr(0x0660 + digit) for digit in range(10)})


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("write to alex@example.com", EMAIL, "alex@example.com"),
        ("Alex.Morgan+plan@mail.example.co.uk.", EMAIL, "Alex.Morgan+plan@mail.example.co.uk"),
        ("alex [at] example [dot] com", EMAIL, "alex [at] example [dot] com"),
        ("alex(at)example.com", EMAIL, "alex(at)example.com"),
        ("alex\uff20example.com", EMAIL, "alex\uff20example.com"),  # full-width at sign
        ("call me on 07700 900123", PHONE, "07700 900123"),
        ("07700900123", PHONE, "07700900123"),
        ("the office: 020 7946 0018.", PHONE, "020 7946 0018"),
        ("(01632) 960123", PHONE, "(01632) 960123"),
        ("0161 496 0000", PHONE, "0161 496 0000"),
        ("+44 7700 900123", PHONE, "+44 7700 900123"),
        ("+44 (0)20 7946 0018", PHONE, "+44 (0)20 7946 0018"),
        ("+33 6 12 34 56 78", PHONE, "+33 6 12 34 56 78"),
        ("0033 612 345 678", PHONE, "0033 612 345 678"),
        ("06 12 34 56 78", PHONE, "06 12 34 56 78"),
        ("06.12.34.56.78", PHONE, "06.12.34.56.78"),
        ("+1 (555) 123-4567", PHONE, "+1 (555) 123-4567"),
        ("(555) 123-4567", PHONE, "(555) 123-4567"),
        ("555-123-4567", PHONE, "555-123-4567"),
        ("+971 50 123 4567", PHONE, "+971 50 123 4567"),
        ("اتصل بي " + arabic_digits("07700 900123"), PHONE, arabic_digits("07700 900123")),
        ("Call 07700 900123 2 times", PHONE, "07700 900123"),
        ("(ring 07700 900123)", PHONE, "07700 900123"),
        ("my number is RV12345678", NATIONAL_ID, "RV12345678"),
        ("RV 1234 5678", NATIONAL_ID, "RV 1234 5678"),
        ("RV-1234-5678", NATIONAL_ID, "RV-1234-5678"),
        ("rv12345678", NATIONAL_ID, "rv12345678"),
        ("4111 1111 1111 1111", CARD, "4111 1111 1111 1111"),
        ("4111-1111-1111-1111", CARD, "4111-1111-1111-1111"),
        ("card 5555555555554444 exp 12/29", CARD, "5555555555554444"),
        ("4111 1111 1111 1111 123", CARD, "4111 1111 1111 1111"),
    ],
)
def test_personal_data_is_found(text, kind, found):
    assert [(finding.kind, finding.text) for finding in personal_data_find(text)] == [(kind, found)]


@pytest.mark.parametrize(
    "text",
    [
        "Plant 15 trees along the towpath",
        "It would cost £20,000 at most",
        "£1,200,000 over 3 years, or €1.2M",
        "A budget of 1 200 000 for 24 projects",
        "Finish by 2026-05-12 or 12/05/2026",
        "from 10.30-12.00 on Saturdays",
        "Only 0.25 0.5 0.75 of the plots",
        "Plots 1 2 3 4 5 6 7 8 9 10 are empty",
        "0 1 2 3 4 5 6 7 8 9",
        "Up to 12345678 visitors a year",
        "+20% more buses, +12 500 000 journeys",
        "Case RIV-ABC-2026-000123 is still open",
        "bus 15km away, route 7A",
        "52.190100, -2.220400",
        "1234 5678 9012 3456",  # 16 digits failing the Luhn check
        "1111 1111 1111 1111",
        "555 123 4567 apples",
        "We met at the park. Com on!",
        "reference RV1234567",
        "Pi is 3.141592653589793",
        "",
    ],
)
def test_ordinary_numbers_and_text_pass(text):
    assert personal_data_find(text) == []


def test_several_details_are_each_listed_once_in_order():
    text = "Email alex@example.com or call 07700 900123; again: alex@example.com"
    assert [finding.kind for finding in personal_data_find(text)] == [EMAIL, PHONE]


def test_the_message_says_what_was_found_and_masks_a_card():
    findings = personal_data_find("alex@example.com, 07700 900123, 4111 1111 1111 1111")
    message = personal_data_message(findings)
    assert "an email address (alex@example.com)" in message
    assert "a phone number (07700 900123)" in message
    assert "a bank card number ending 1111" in message
    assert "4111 1111 1111 1111" not in message
    assert "Remove them" in message


def test_a_long_run_of_numbers_is_no_phone_number():
    assert personal_data_find(" ".join(["1"] * 1000)) == []
    assert personal_data_find(" ".join(["12"] * 1000)) == []


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=500))
def test_amounts_and_counts_never_look_personal(amount, count):
    text = f"{count} trees for £{amount:,} or {amount} pence"
    assert personal_data_find(text) == []

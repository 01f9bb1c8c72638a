"""Passwords that are no secret: only spaces, common, or exposed in a breach."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from ecitizen.accounts.models import User
from ecitizen.accounts.validators import (
    BREACHED_PASSWORDS_FILE,
    CommonPasswordValidator,
    NotBlankValidator,
)


@pytest.fixture
def person():
    return User(email="maria.lopez@example.test", full_name="Maria Lopez")


@pytest.mark.parametrize(
    "password", [" " * 8, " " * 40, "\u00a0" * 10, "\t \u3000" * 4, "\u200b" * 9]
)
def test_a_password_of_only_spaces_is_refused(person, password):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, person)
    assert "password_blank" in {error.code for error in refused.value.error_list}


@pytest.mark.parametrize(
    "password",
    [
        "password123",  # Django's common list
        "liverpoo",  # breached list only (truncated by the site it leaked from)
        "usuckballz1",  # breached list only
        "LiverPoo",  # case does not help
        " Password 123 ",  # nor spaces at the ends or inside
    ],
)
def test_common_and_breached_passwords_are_refused(person, password):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, person)
    codes = {error.code for error in refused.value.error_list}
    assert "password_too_common" in codes
    assert "easy to guess" in " ".join(refused.value.messages)


def test_the_breached_list_is_not_in_django_already():
    """The shipped list adds to Django's: these come only from it."""
    from django.contrib.auth.password_validation import (
        CommonPasswordValidator as DjangoCommonPasswordValidator,
    )

    django_list = DjangoCommonPasswordValidator().passwords
    assert "liverpoo" not in django_list
    assert "usuckballz1" not in django_list
    lines = BREACHED_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if line and not line.startswith("#")]
    assert len(entries) > 10_000
    assert all(len(entry) >= 8 and entry == entry.lower() for entry in entries)
    assert "MIT" in "\n".join(lines[:12])


@pytest.mark.parametrize(
    "password", ["tangerine kettle", "correct horse battery staple", "Zq7!  w9#kL"]
)
def test_ordinary_passphrases_are_accepted(person, password):
    NotBlankValidator().validate(password, person)
    CommonPasswordValidator().validate(password, person)


@pytest.mark.django_db
def test_sign_up_says_why_a_breached_password_is_refused(client):
    response = client.post(
        reverse("account_signup"),
        {"full_name": "Sam Taylor", "email": "sam@example.test", "password1": "usuckballz1"},
    )
    assert response.status_code == 200
    assert "exposed in a data breach" in response.content.decode()
    assert not User.objects.filter(email="sam@example.test").exists()


@pytest.mark.django_db
def test_sign_up_refuses_eight_spaces(client):
    response = client.post(
        reverse("account_signup"),
        {"full_name": "Sam Taylor", "email": "sam@example.test", "password1": " " * 8},
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="sam@example.test").exists()
    assert "not only spaces" in response.content.decode()

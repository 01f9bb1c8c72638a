import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from ecitizen.accounts.models import User


@pytest.fixture
def person():
    return User(email="maria.lopez@example.test", full_name="Maria Lopez")


@pytest.mark.parametrize(
    "password",
    [
        "short",  # under 8 characters
        "password123",  # on the common-passwords list
        "my name is Lopez ok",  # contains the surname
        "MARIA.LOPEZ-rules!",  # contains the email's local part
        "x" * 257,  # beyond the maximum
    ],
)
def test_refused(person, password):
    with pytest.raises(ValidationError):
        validate_password(password, person)


@pytest.mark.parametrize(
    "password",
    [
        "tangerine kettle",  # no composition rules: lower case and a space are fine
        "a" * 3 + "7Zq!" + "b" * 57,  # 64 characters are allowed
        "correct horse battery staple",
    ],
)
def test_accepted(person, password):
    validate_password(password, person)

"""Passwords are hashed with Argon2id at the cost the settings give (ADR 0025), and a hash
made at another cost is made again when its owner signs in."""

from __future__ import annotations

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password
from django.urls import reverse

from tests.factories import PASSWORD

PRODUCTION_HASHERS = [
    "ecitizen.accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def _parameters(encoded: str) -> argon2.Parameters:
    algorithm, rest = encoded.split("$", 1)
    assert algorithm == "argon2"
    return argon2.extract_parameters("$" + rest)


def test_passwords_are_hashed_with_argon2id_at_the_configured_cost(settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    settings.PASSWORD_ARGON2_MEMORY_KIB = 19456
    settings.PASSWORD_ARGON2_ITERATIONS = 2
    settings.PASSWORD_ARGON2_LANES = 1
    encoded = make_password("a long passphrase")
    parameters = _parameters(encoded)
    assert parameters.type is argon2.Type.ID
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (19456, 2, 1)
    assert check_password("a long passphrase", encoded)
    assert not check_password("a long passphrasE", encoded)
    # A change of the cost alone is seen too (the hashers are made again).
    settings.PASSWORD_ARGON2_MEMORY_KIB = 47104
    assert _parameters(make_password("a long passphrase")).memory_cost == 47104


def test_the_default_cost_is_owasps_first_configuration():
    from django.conf import settings

    # Read from the settings module itself: the tests' own settings replace the hashers.
    assert (
        settings.PASSWORD_ARGON2_MEMORY_KIB,
        settings.PASSWORD_ARGON2_ITERATIONS,
        settings.PASSWORD_ARGON2_LANES,
    ) == (47104, 1, 1)


@pytest.mark.django_db
def test_a_hash_of_another_cost_is_made_again_at_sign_in(client, settings, resident):
    """A password stored under Django's own Argon2 parameters (100 MiB, 2 passes, 8 lanes:
    the hashes of every account made before this setting) still signs in, and is then
    stored again at the configured cost."""
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    old = Argon2PasswordHasher()
    before = old.encode(PASSWORD, old.salt())
    type(resident).objects.filter(pk=resident.pk).update(password=before)

    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(resident.pk)
    resident.refresh_from_db()
    assert resident.password != before
    parameters = _parameters(resident.password)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        settings.PASSWORD_ARGON2_MEMORY_KIB,
        settings.PASSWORD_ARGON2_ITERATIONS,
        settings.PASSWORD_ARGON2_LANES,
    )
    assert check_password(PASSWORD, resident.password)

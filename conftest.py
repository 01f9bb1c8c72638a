"""Fixtures shared by every test: personas and fast password hashing."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.personas"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is deliberately slow; the hashing algorithm is not what these tests test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

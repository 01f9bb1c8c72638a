"""How passwords are hashed: Argon2id at a cost the settings give (ADR 0025)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (Argon2id, the ``argon2$`` encoding: every hash stored
    before keeps verifying) with its memory, passes and lanes from
    ``PASSWORD_ARGON2_MEMORY_KIB``, ``PASSWORD_ARGON2_ITERATIONS`` and
    ``PASSWORD_ARGON2_LANES``, read when Django makes its hashers (at first use, and again
    when a test changes the settings). A hash made with other parameters is made again at
    the person's next sign-in (Django's ``must_update``)."""

    def __init__(self) -> None:
        self.memory_cost = settings.PASSWORD_ARGON2_MEMORY_KIB
        self.time_cost = settings.PASSWORD_ARGON2_ITERATIONS
        self.parallelism = settings.PASSWORD_ARGON2_LANES

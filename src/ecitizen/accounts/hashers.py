"""How passwords are hashed: Argon2id at a cost the settings give (ADR 0025)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    get_hashers,
    get_hashers_by_algorithm,
)
from django.core.signals import setting_changed
from django.dispatch import receiver


class Argon2idHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (Argon2id, the ``argon2$`` encoding: every hash stored
    before keeps verifying) with its memory, passes and lanes from
    ``PASSWORD_ARGON2_MEMORY_KIB``, ``PASSWORD_ARGON2_ITERATIONS`` and
    ``PASSWORD_ARGON2_LANES``, read when Django makes its hashers (at first use, and again
    when a test changes one of these settings or ``PASSWORD_HASHERS``). A hash made with
    other parameters is made again at the person's next sign-in (Django's
    ``must_update``)."""

    def __init__(self) -> None:
        self.memory_cost = settings.PASSWORD_ARGON2_MEMORY_KIB
        self.time_cost = settings.PASSWORD_ARGON2_ITERATIONS
        self.parallelism = settings.PASSWORD_ARGON2_LANES


@receiver(setting_changed)
def _forget_hashers(*, setting: str, **kwargs: Any) -> None:
    """Make the hashers again when a test changes their cost (Django does so itself only
    for ``PASSWORD_HASHERS``)."""
    if setting.startswith("PASSWORD_ARGON2_"):
        # functools.lru_cache'd in Django (the stubs do not say so).
        get_hashers.cache_clear()  # type: ignore[attr-defined]
        get_hashers_by_algorithm.cache_clear()  # type: ignore[attr-defined]

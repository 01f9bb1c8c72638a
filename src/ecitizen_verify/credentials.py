"""Voters' credentials (specification §4.8).

A private credential is 15 Base58 characters, shown as XXX-XXX-XXX-XXX-XXX: 14 random
ones and a check character. Its secret exponent is PBKDF2-HMAC-SHA256 of the credential
as printed (with its dashes), salted with the election's uuid, 1000 iterations, read as a
big-endian number modulo q; the public credential is g to that power. Only public
credentials are ever given to the server.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence

from gmpy2 import mpz

from .group import Group
from .serial import BASE58

LENGTH = 15


def _checksum(first14: str) -> str:
    value = 0
    for character in first14:
        value = value * 58 + BASE58.index(character)
    return BASE58[(53 - value) % 53]


def new_credential(choice: Callable[[Sequence[str]], str] = secrets.choice) -> str:
    """A fresh private credential in its printed form XXX-XXX-XXX-XXX-XXX. ``choice``
    picks each character: the operating system's generator unless a caller (the demo)
    needs reproducible ones."""
    body = "".join(choice(BASE58) for _ in range(LENGTH - 1))
    raw = body + _checksum(body)
    return "-".join(raw[i : i + 3] for i in range(0, LENGTH, 3))


def normalise(credential: str) -> str | None:
    """The printed form of a credential a voter typed (spaces trimmed, dashes optional),
    or None when it is not a credential (wrong length, a character outside Base58, or a
    check character that does not match: a typing mistake)."""
    raw = credential.strip().replace("-", "")
    if len(raw) != LENGTH or any(character not in BASE58 for character in raw):
        return None
    if _checksum(raw[:-1]) != raw[-1]:
        return None
    return "-".join(raw[i : i + 3] for i in range(0, LENGTH, 3))


def secret_exponent(group: Group, uuid: str, credential: str) -> mpz:
    """secret(c): PBKDF2 of the credential as printed, salted with the election uuid."""
    derived = hashlib.pbkdf2_hmac("sha256", credential.encode(), uuid.encode(), 1000, 32)
    return mpz(int.from_bytes(derived, "big")) % group.q


def public_credential(group: Group, uuid: str, credential: str) -> mpz:
    """public(c) = g^secret(c), what the server stores and ballots carry."""
    return group.g_power(secret_exponent(group, uuid, credential))


def new_uuid() -> str:
    """An election identifier as `belenios-tool setup generate-token` makes them: 14 Base58
    characters (about 82 bits)."""
    return "".join(secrets.choice(BASE58) for _ in range(14))

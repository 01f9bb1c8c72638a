"""How Belenios writes its messages: compact JSON, fingerprints and Base58.

Every message is compact JSON (no spaces, no trailing newline) with its members in the
order the specification lists them; numbers that are group elements or exponents are
written as base-10 strings. Hashes are taken over these exact bytes, so a message must be
written once and its bytes kept: re-serialising a parsed message is how canonical form is
checked, never how a stored message is reproduced.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from .errors import Invalid

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\Z")


def dumps(value: Any) -> bytes:
    """Compact JSON in UTF-8, members in the order the dicts hold them."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes, what: str) -> Any:
    """Parse JSON, raising Invalid (naming `what`) on anything that is not JSON."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Invalid(f"{what} is not valid JSON ({error})") from error
    except RecursionError:
        raise Invalid(f"{what} is nested too deeply to be a Belenios message") from None


def fingerprint(data: bytes) -> str:
    """HJSON in the specification: SHA-256, Base64 without padding. The election's
    fingerprint and the smart ballot tracker are this, over the exact bytes."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def sha256_hex(data: bytes) -> str:
    """The archive's name for a member: SHA-256 in lowercase hexadecimal."""
    return hashlib.sha256(data).hexdigest()


def number(value: Any, what: str) -> int:
    """A base-10 string without leading zeros, as every group element and exponent is
    written; raises Invalid for any other value."""
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise Invalid(f"{what} is not a number written in base 10")
    return int(value)


def members(value: Any, names: tuple[str, ...], what: str, optional: tuple[str, ...] = ()) -> dict:
    """Check that `value` is an object whose members are exactly `names` in that order
    (members listed in `optional` may be absent) and return it."""
    if not isinstance(value, dict):
        raise Invalid(f"{what} is not a JSON object")
    expected = [name for name in names if name in value or name not in optional]
    if list(value) != expected:
        raise Invalid(f"{what} must have the members {', '.join(expected)}, in that order")
    return value


def array(value: Any, what: str, length: int | None = None) -> list:
    """Check that `value` is a JSON array (of `length` items when given)."""
    if not isinstance(value, list):
        raise Invalid(f"{what} is not a JSON array")
    if length is not None and len(value) != length:
        raise Invalid(f"{what} must have {length} items, not {len(value)}")
    return value

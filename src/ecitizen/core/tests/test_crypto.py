import base64
import os

import pytest

from ecitizen.core import crypto


def test_round_trip_and_fresh_ciphertext_each_time():
    first = crypto.encrypt("RV12345678", context="t.field")
    second = crypto.encrypt("RV12345678", context="t.field")
    assert first != second  # a fresh data key and nonce per value
    assert "RV12345678" not in first
    assert crypto.decrypt(first, context="t.field") == "RV12345678"
    assert crypto.token_key_id(first) == crypto.active_key_id()


def test_ciphertext_is_bound_to_its_context():
    token = crypto.encrypt("secret", context="accounts.residentprofile.phone")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, context="accounts.residentprofile.national_id")


def test_tampering_is_detected():
    token = crypto.encrypt("secret", context="c")
    prefix, kid, wrapped, body = token.split(":")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(":".join([prefix, kid, wrapped, flipped]), context="c")


def test_unknown_key_id_is_refused(settings):
    token = crypto.encrypt("secret", context="c")
    settings.FIELD_ENCRYPTION_KEYS = {"other": os.urandom(32)}
    settings.FIELD_ENCRYPTION_ACTIVE_KEY = "other"
    with pytest.raises(crypto.DecryptionError, match="not configured"):
        crypto.decrypt(token, context="c")


def test_blind_index_is_keyed_and_deterministic(settings):
    one = crypto.blind_index("RV12345678", context="c")
    assert one == crypto.blind_index("RV12345678", context="c")
    assert one != crypto.blind_index("RV12345679", context="c")
    settings.BLIND_INDEX_KEY = base64.b64decode(crypto.generate_key())
    assert one != crypto.blind_index("RV12345678", context="c")

"""Binary envelope encryption in ecitizen.core.crypto (for uploads and issued PDFs)."""

import os

import pytest

from ecitizen.core import crypto

PAYLOAD = b"%PDF-1.7\n" + os.urandom(2048) + b"MARKER-12345"


def test_round_trip_fresh_each_time_and_names_its_key():
    first = crypto.encrypt_bytes(PAYLOAD, context="documents.upload:1")
    second = crypto.encrypt_bytes(PAYLOAD, context="documents.upload:1")
    assert first != second  # a fresh data key and nonces per payload
    assert b"MARKER-12345" not in first
    assert b"%PDF" not in first
    assert first.startswith(crypto.BLOB_MAGIC)
    assert crypto.blob_key_id(first) == crypto.active_key_id()
    assert crypto.decrypt_bytes(first, context="documents.upload:1") == PAYLOAD


def test_empty_payload_round_trips():
    blob = crypto.encrypt_bytes(b"", context="c")
    assert crypto.decrypt_bytes(blob, context="c") == b""


def test_blob_is_bound_to_its_context():
    blob = crypto.encrypt_bytes(PAYLOAD, context="documents.upload:aaa")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(blob, context="documents.upload:bbb")


@pytest.mark.parametrize("position", [10, 40, 80, -20, -1])
def test_any_changed_byte_is_detected(position):
    blob = bytearray(crypto.encrypt_bytes(PAYLOAD, context="c"))
    blob[position] ^= 0x01
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(bytes(blob), context="c")


@pytest.mark.parametrize("blob", [b"", b"ECB1", b"not encrypted at all", b"ECB1\x02t1" + b"x" * 20])
def test_garbage_and_truncation_are_refused(blob):
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(blob, context="c")


def test_truncated_ciphertext_is_refused():
    blob = crypto.encrypt_bytes(PAYLOAD, context="c")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(blob[:-5], context="c")


def test_rotation_keeps_old_blobs_readable_and_new_ones_use_the_active_key(settings):
    old = crypto.encrypt_bytes(PAYLOAD, context="c")
    old_id = crypto.active_key_id()
    settings.FIELD_ENCRYPTION_KEYS = {**settings.FIELD_ENCRYPTION_KEYS, "k2": os.urandom(32)}
    settings.FIELD_ENCRYPTION_ACTIVE_KEY = "k2"
    new = crypto.encrypt_bytes(PAYLOAD, context="c")
    assert crypto.blob_key_id(old) == old_id
    assert crypto.blob_key_id(new) == "k2"
    assert crypto.decrypt_bytes(old, context="c") == PAYLOAD
    assert crypto.decrypt_bytes(new, context="c") == PAYLOAD


def test_unknown_key_id_is_refused(settings):
    blob = crypto.encrypt_bytes(PAYLOAD, context="c")
    settings.FIELD_ENCRYPTION_KEYS = {"other": os.urandom(32)}
    settings.FIELD_ENCRYPTION_ACTIVE_KEY = "other"
    with pytest.raises(crypto.DecryptionError, match="not configured"):
        crypto.decrypt_bytes(blob, context="c")

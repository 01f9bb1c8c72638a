"""Envelope encryption of personal data with AES-256-GCM, and blind indexes.

Each value gets its own random 256-bit data key. The value is encrypted with the data key
(AES-256-GCM); the data key is wrapped (AES-256-GCM) with a key-encryption key (KEK) that
comes from the settings, never from the database. The stored token names the KEK by its id,
so several KEKs can be live at once while ``ecitizen keys rotate`` moves every value to the
active one::

    enc1:<kek id>:<base64url(wrap nonce | wrapped data key)>:<base64url(nonce | ciphertext)>

Both AES-GCM operations authenticate a *context* string (for a model field, its
``app_label.model.field``), so a ciphertext copied into another column does not decrypt.

Blind indexes are HMAC-SHA256 of a normalised value under ``BLIND_INDEX_KEY``: equal inputs
give equal indexes, so a row can be found by an exact value without decrypting all rows,
while the index alone reveals nothing without the key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import unicodedata

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

TOKEN_PREFIX = "enc1"  # noqa: S105 - the format marker of our ciphertexts, not a secret
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored token cannot be decrypted: unknown key id, tampering, or wrong context."""

    code = "decryption_failed"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def active_key_id() -> str:
    """The id of the KEK that new ciphertexts are wrapped with."""
    return str(settings.FIELD_ENCRYPTION_ACTIVE_KEY)


def _kek(key_id: str) -> bytes:
    keys: dict[str, bytes] = settings.FIELD_ENCRYPTION_KEYS
    try:
        return keys[key_id]
    except KeyError:
        raise DecryptionError(
            f"key id {key_id!r} is not configured in FIELD_ENCRYPTION_KEYS"
        ) from None


def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt ``plaintext`` under a fresh data key wrapped by the active KEK."""
    key_id = active_key_id()
    data_key = AESGCM.generate_key(bit_length=256)
    aad = context.encode("utf-8")
    wrap_nonce = os.urandom(_NONCE_BYTES)
    wrapped = AESGCM(_kek(key_id)).encrypt(wrap_nonce, data_key, aad)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext.encode("utf-8"), aad)
    return f"{TOKEN_PREFIX}:{key_id}:{_b64(wrap_nonce + wrapped)}:{_b64(nonce + ciphertext)}"


def token_key_id(token: str) -> str:
    """The KEK id a token was wrapped with (without decrypting it)."""
    parts = token.split(":")
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
        raise DecryptionError("not an ecitizen ciphertext")
    return parts[1]


def decrypt(token: str, *, context: str) -> str:
    """Decrypt a token made by :func:`encrypt` with the same ``context``."""
    key_id = token_key_id(token)
    _, _, wrapped_part, body_part = token.split(":")
    aad = context.encode("utf-8")
    try:
        wrapped = _unb64(wrapped_part)
        body = _unb64(body_part)
        data_key = AESGCM(_kek(key_id)).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], aad)
        plaintext = AESGCM(data_key).decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("ciphertext failed authentication") from exc
    return plaintext.decode("utf-8")


# --- Binary payloads (uploaded files, issued PDFs) ----------------------------------------
#
# The same scheme as the text tokens, as bytes, for payloads too large for base64 text:
#
#     ECB1 | len(kid) (1 byte) | kid | wrap nonce | wrapped data key | nonce | ciphertext

BLOB_MAGIC = b"ECB1"
_WRAPPED_KEY_BYTES = 32 + 16  # the 256-bit data key and its GCM tag


def encrypt_bytes(data: bytes, *, context: str) -> bytes:
    """Encrypt ``data`` under a fresh data key wrapped by the active KEK (as :func:`encrypt`).

    ``context`` is authenticated: the result decrypts only with the same context.
    """
    key_id = active_key_id()
    kid = key_id.encode("ascii")
    data_key = AESGCM.generate_key(bit_length=256)
    aad = context.encode("utf-8")
    wrap_nonce = os.urandom(_NONCE_BYTES)
    wrapped = AESGCM(_kek(key_id)).encrypt(wrap_nonce, data_key, aad)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, bytes(data), aad)
    return b"".join([BLOB_MAGIC, bytes([len(kid)]), kid, wrap_nonce, wrapped, nonce, ciphertext])


def _blob_parts(blob: bytes) -> tuple[str, bytes, bytes]:
    """The key id, the wrapped-key part and the body part of a blob."""
    if len(blob) < len(BLOB_MAGIC) + 1 or not blob.startswith(BLOB_MAGIC):
        raise DecryptionError("not an ecitizen encrypted blob")
    kid_length = blob[len(BLOB_MAGIC)]
    start = len(BLOB_MAGIC) + 1
    wrapped_end = start + kid_length + _NONCE_BYTES + _WRAPPED_KEY_BYTES
    if len(blob) < wrapped_end + _NONCE_BYTES + 16:
        raise DecryptionError("encrypted blob is truncated")
    try:
        key_id = blob[start : start + kid_length].decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecryptionError("encrypted blob has a malformed key id") from exc
    return key_id, blob[start + kid_length : wrapped_end], blob[wrapped_end:]


def blob_key_id(blob: bytes) -> str:
    """The KEK id a blob made by :func:`encrypt_bytes` was wrapped with."""
    return _blob_parts(blob)[0]


def decrypt_bytes(blob: bytes, *, context: str) -> bytes:
    """Decrypt a blob made by :func:`encrypt_bytes` with the same ``context``.

    Raises :class:`DecryptionError` for an unknown key id, a wrong context, or any change
    to the blob (truncation, a flipped byte).
    """
    key_id, wrapped, body = _blob_parts(blob)
    aad = context.encode("utf-8")
    try:
        data_key = AESGCM(_kek(key_id)).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], aad)
        return AESGCM(data_key).decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("ciphertext failed authentication") from exc


def blind_index(value: str, *, context: str) -> str:
    """HMAC-SHA256 of ``value`` (already normalised by the caller) within ``context``."""
    message = context.encode("utf-8") + b"\x00" + value.encode("utf-8")
    key: bytes = settings.BLIND_INDEX_KEY
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- Searching encrypted text by word prefixes -------------------------------------------
#
# An encrypted name cannot be searched with LIKE. Instead, each word of the value, once
# normalised, gives the blind indexes of its prefixes ("maria" gives "mar", "mari" and
# "maria"), kept in a side table next to the row (the CipherSweet approach). A search
# for "mar" computes the index of "mar" and finds the rows that have it.

#: Shortest prefix that is indexed: shorter ones would match a large part of the table
#: and tell a reader of the index table more about the names.
PREFIX_MIN_LENGTH = 3
#: Longest prefix that is indexed; longer words are indexed (and searched) up to this
#: length, and the caller confirms the match on the decrypted value.
PREFIX_MAX_LENGTH = 24
#: Characters that join the parts of a word rather than separate words ("O'Brien").
_WORD_JOINERS = {"'", "\u2019", "\u02bc"}


def search_words(text: str) -> list[str]:
    """The words of ``text`` as searches compare them: compatibility-normalised, accents
    and other combining marks removed, case folded, apostrophes dropped, split at every
    other character that is not a letter or a digit. Arabic and other scripts keep their
    letters (only their combining marks, such as short vowels, go)."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    kept = "".join(
        ch
        for ch in decomposed
        if ch not in _WORD_JOINERS and unicodedata.category(ch) not in {"Mn", "Me", "Cf"}
    ).casefold()
    return [word for word in re.split(r"[^\w]+|_", kept) if word]


def collation_key(text: str) -> tuple[str, str]:
    """A key that sorts decrypted values (names) the way people expect, whatever their
    accents and case: "Chloé" between "Chloe" and "Chloë", all after "Charles"."""
    return (" ".join(search_words(text)), str(text or ""))


def prefix_indexes(text: str, *, context: str) -> set[str]:
    """The blind indexes of the prefixes (from :data:`PREFIX_MIN_LENGTH` to
    :data:`PREFIX_MAX_LENGTH` characters) of every word of ``text``."""
    indexes = set()
    for word in search_words(text):
        for length in range(PREFIX_MIN_LENGTH, min(len(word), PREFIX_MAX_LENGTH) + 1):
            indexes.add(blind_index(word[:length], context=context))
    return indexes


def query_indexes(query: str, *, context: str) -> set[str]:
    """The blind indexes a search for ``query`` must all find: one per word of at least
    :data:`PREFIX_MIN_LENGTH` characters (cut to :data:`PREFIX_MAX_LENGTH`). Empty when
    no word is long enough."""
    return {
        blind_index(word[:PREFIX_MAX_LENGTH], context=context)
        for word in search_words(query)
        if len(word) >= PREFIX_MIN_LENGTH
    }


def words_match(query: str, text: str) -> bool:
    """Whether every word of ``query`` starts a word of ``text`` (the check made on the
    decrypted value after an index search, which covers words longer than the indexed
    prefixes and words too short to be indexed)."""
    words = search_words(text)
    return all(any(word.startswith(part) for word in words) for part in search_words(query))


def generate_key() -> str:
    """A new random 256-bit key, base64-encoded as the settings expect it."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


# --- Signing the audit chain (Ed25519) ------------------------------------------------------
#
# Checkpoints of the audit chain head are signed with an Ed25519 key from
# ``AUDIT_SIGNING_KEYS`` (``kid:base64`` of the 32-byte private key), never stored in the
# database. The public keys, derived from the private ones, can be published so that anyone
# can check a checkpoint (ADR 0013).


class SigningKeyError(Exception):
    """A signing or verifying key is not configured, or a key text is malformed."""

    code = "signing_key_error"


def generate_signing_key() -> str:
    """A new Ed25519 private key: standard base64 of its 32 raw bytes, as
    ``AUDIT_SIGNING_KEYS`` expects it."""
    return base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode("ascii")


@functools.lru_cache(maxsize=16)
def _ed25519_private(raw: bytes) -> Ed25519PrivateKey:
    # Loading a key costs about as much as a signature: load each configured key once.
    return Ed25519PrivateKey.from_private_bytes(raw)


def audit_signing_key_id() -> str | None:
    """The id of the key new audit checkpoints are signed with, or ``None`` when no audit
    signing key is configured (development only: production refuses to start)."""
    return str(settings.AUDIT_SIGNING_ACTIVE_KEY) or None


def audit_sign(message: bytes, *, key_id: str) -> str:
    """The Ed25519 signature of ``message`` with audit signing key ``key_id``, in standard
    base64. Raises :class:`SigningKeyError` if that key is not configured."""
    keys: dict[str, bytes] = settings.AUDIT_SIGNING_KEYS
    try:
        raw = keys[key_id]
    except KeyError:
        raise SigningKeyError(
            f"key id {key_id!r} is not configured in AUDIT_SIGNING_KEYS"
        ) from None
    return base64.b64encode(_ed25519_private(raw).sign(message)).decode("ascii")


def audit_public_keys() -> dict[str, bytes]:
    """The trusted raw 32-byte public keys by key id: those of the configured audit signing
    keys (``AUDIT_SIGNING_KEYS``), then the retired ones (``AUDIT_VERIFY_KEYS``)."""
    keys: dict[str, bytes] = settings.AUDIT_SIGNING_KEYS
    retired: dict[str, bytes] = settings.AUDIT_VERIFY_KEYS
    derived = {
        key_id: _ed25519_private(raw).public_key().public_bytes_raw()
        for key_id, raw in keys.items()
    }
    return {**derived, **{k: v for k, v in retired.items() if k not in derived}}


def public_key_text(public_key: bytes) -> str:
    """A raw public key as standard base64 (how it is published and read back)."""
    return base64.b64encode(public_key).decode("ascii")


def parse_public_key(text: str) -> bytes:
    """The raw public key from its base64 text; :class:`SigningKeyError` if malformed."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyError("a public key is not valid base64") from exc
    if len(raw) != 32:
        raise SigningKeyError(f"a public key must be 32 bytes once decoded, not {len(raw)}")
    return raw


def parse_public_keys(text: str) -> dict[str, bytes]:
    """Public keys from lines of ``kid:base64`` (as ``ecitizen keys public`` prints them);
    blank lines and lines starting with ``#`` are skipped. :class:`SigningKeyError` on a
    malformed line or a key id given twice."""
    found: dict[str, bytes] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key_id, sep, material = line.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", key_id):
            raise SigningKeyError(f"line {number}: expected 'keyid:base64 public key'")
        if key_id in found:
            raise SigningKeyError(f"line {number}: key id {key_id!r} appears twice")
        try:
            found[key_id] = parse_public_key(material)
        except SigningKeyError as exc:
            raise SigningKeyError(f"line {number}: {exc}") from None
    return found


def signature_valid(message: bytes, signature: str, *, public_key: bytes) -> bool:
    """Whether ``signature`` (standard base64) is an Ed25519 signature of ``message`` by
    the holder of ``public_key``. Malformed input is simply not valid."""
    try:
        raw_signature = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw_signature, message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True

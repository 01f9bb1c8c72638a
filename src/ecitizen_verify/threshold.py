"""Threshold key generation between trustees (specification §4.6), as
`belenios-tool setup generate-trustee-key-threshold` runs it in six steps.

Each trustee keeps a secret *seed*; everything else goes through the administrator, who
only routes messages: trustees sign what they send and encrypt what is meant for one of
them. At the end each trustee holds, encrypted for themselves, a decryption key S_j such
that any `threshold` of them can decrypt together; the public `threshold_parameters`
prove every step. Steps 1, 3 and 5 are the trustee's (in their browser in ecitizen), steps
2, 4 and 6 the administrator's (the server's).

Messages between trustees are encrypted with ElGamal and AES-CCM (`cryptography`); the
details the specification leaves open were read from the tool's messages: the AES key is
all 32 bytes of SHA-256("key|" g^s), the nonce the first 13 bytes of SHA-256("iv|" alpha),
and the tag 8 bytes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from gmpy2 import mpz

from . import proofs as zk
from .errors import Invalid
from .group import Group
from .serial import BASE58, dumps
from .trustees import (
    certificate_keys,
    key_from_private,
    parse_trustees,
    trustees_bytes,
    verify_signed,
)

SEED_LENGTH = 22


def new_seed() -> str:
    """A trustee's secret: 22 Base58 characters (the tool's `.key` file holds it)."""
    return "".join(secrets.choice(BASE58) for _ in range(SEED_LENGTH))


def _key(group: Group, prefix: str, seed: str) -> mpz:
    digest = hashlib.sha256(f"{prefix}|{seed}".encode()).digest()
    return mpz(int.from_bytes(digest, "big")) % group.q


@dataclass(frozen=True)
class Keys:
    """The four keys a seed gives (§4.6.1)."""

    signing: mpz
    verification: mpz
    decryption: mpz
    encryption: mpz


def keys_from_seed(group: Group, seed: str) -> Keys:
    sk, dk = _key(group, "sk", seed), _key(group, "dk", seed)
    return Keys(sk, group.g_power(sk), dk, group.g_power(dk))


def sign(group: Group, signing_key: int, message: str) -> dict[str, object]:
    """A signed_msg: the message and a Schnorr signature whose challenge is
    SHA-256(sigmsg|M|A) reduced mod q."""
    proof = zk.prove_knowledge(group, signing_key, f"sigmsg|{message}|")
    return {"message": message, "signature": zk.proof_json(proof)}


def _aes(group: Group, shared: int, alpha: int) -> tuple[AESCCM, bytes]:
    key = hashlib.sha256(f"key|{shared}".encode()).digest()
    nonce = hashlib.sha256(f"iv|{alpha}".encode()).digest()[:13]
    return AESCCM(key, tag_length=8), nonce


def encrypt(group: Group, encryption_key: int, message: str) -> str:
    """An encrypted_msg for the holder of `encryption_key`, serialised."""
    r, s = group.random_exponent(), group.random_exponent()
    alpha = group.g_power(r)
    shared = group.g_power(s)
    beta = group.multiply(group.power(encryption_key, r), shared)
    cipher, nonce = _aes(group, shared, alpha)
    data = cipher.encrypt(nonce, message.encode(), None).hex()
    return dumps({"alpha": str(alpha), "beta": str(beta), "data": data}).decode()


def decrypt(group: Group, decryption_key: int, encrypted: str) -> str:
    """The message of an encrypted_msg; raises Invalid if it was not for this key."""
    try:
        value = json.loads(encrypted)
        alpha, beta = mpz(int(value["alpha"])), mpz(int(value["beta"]))
        data = bytes.fromhex(value["data"])
    except (ValueError, KeyError, TypeError):
        raise Invalid("the encrypted message is unreadable") from None
    shared = group.divide(beta, group.power(alpha, decryption_key))
    cipher, nonce = _aes(group, shared, alpha)
    try:
        return cipher.decrypt(nonce, data, None).decode()
    except (InvalidTag, UnicodeDecodeError):
        raise Invalid("the encrypted message was not meant for this key, or was altered") from None


def send(group: Group, keys: Keys, recipient: int, message: str) -> str:
    """send(sk, recipient, M) (§4.6.3): a channel message, signed, then encrypted."""
    channel = dumps({"recipient": str(recipient), "message": message}).decode()
    return encrypt(group, recipient, dumps(sign(group, keys.signing, channel)).decode())


def receive(group: Group, keys: Keys, sender_verification: int, encrypted: str) -> str:
    """Open a message sent to us: decrypt, check the sender's signature and that we are
    the recipient; return the inner message."""
    signed = json.loads(decrypt(group, keys.decryption, encrypted))
    channel = json.loads(verify_signed(group, sender_verification, signed, "a trustee message"))
    if channel.get("recipient") != str(keys.encryption):
        raise Invalid("a trustee message was addressed to someone else")
    return str(channel["message"])


# --- The trustee's steps (1, 3, 5) and the administrator's (2, 4, 6) ------------------------


def step1_certificate(group: Group, seed: str) -> str:
    """Step 1 (trustee): the certificate of the keys derived from the seed."""
    keys = keys_from_seed(group, seed)
    message = dumps(
        {"verification": str(keys.verification), "encryption": str(keys.encryption)}
    ).decode()
    return dumps(sign(group, keys.signing, message)).decode()


def step2_check_certificates(group: Group, certificates: list[str]) -> list[tuple[mpz, mpz]]:
    """Step 2 (administrator): every certificate is self-signed and they are distinct."""
    keys = [
        certificate_keys(group, json.loads(c), f"certificate {i}")
        for i, c in enumerate(certificates, 1)
    ]
    if len(set(keys)) != len(keys):
        raise Invalid("two trustees sent the same certificate")
    return keys


def _my_position(group: Group, seed: str, certificates: list[str]) -> tuple[Keys, int]:
    keys = keys_from_seed(group, seed)
    all_keys = step2_check_certificates(group, certificates)
    try:
        return keys, [k[0] for k in all_keys].index(keys.verification)
    except ValueError:
        raise Invalid("this key file is not one of this election's trustees") from None


def step3_polynomial(group: Group, seed: str, certificates: list[str], threshold: int) -> str:
    """Step 3 (trustee): a random polynomial of degree threshold − 1, its values for each
    trustee encrypted to them, and the signed commitments to its coefficients."""
    keys, _ = _my_position(group, seed, certificates)
    coefficients = [group.random_exponent() for _ in range(threshold)]
    recipients = step2_check_certificates(group, certificates)
    secrets_ = []
    for j, (_, encryption) in enumerate(recipients, 1):
        value = sum(a * j**k for k, a in enumerate(coefficients)) % group.q
        secrets_.append(send(group, keys, encryption, dumps({"secret": str(value)}).decode()))
    raw_polynomial = dumps({"polynomial": [str(a) for a in coefficients]}).decode()
    coefexps = dumps({"coefexps": [str(group.g_power(a)) for a in coefficients]}).decode()
    return dumps(
        {
            "polynomial": send(group, keys, keys.encryption, raw_polynomial),
            "secrets": secrets_,
            "coefexps": sign(group, keys.signing, coefexps),
        }
    ).decode()


def step4_vinputs(group: Group, certificates: list[str], polynomials: list[str]) -> list[str]:
    """Step 4 (administrator): route to each trustee j their own polynomial, the values
    every trustee computed for j, and everybody's commitments."""
    parsed = [json.loads(p) for p in polynomials]
    if len(parsed) != len(certificates):
        raise Invalid("every trustee must send their polynomial")
    return [
        dumps(
            {
                "polynomial": own["polynomial"],
                "secrets": [p["secrets"][j] for p in parsed],
                "coefexps": [p["coefexps"] for p in parsed],
            }
        ).decode()
        for j, own in enumerate(parsed)
    ]


def step5_voutput(group: Group, seed: str, certificates: list[str], vinput: str) -> str:
    """Step 5 (trustee): check what the others sent against their commitments, then give
    the administrator the decryption key S_j (encrypted to ourselves) and its public key."""
    keys, position = _my_position(group, seed, certificates)
    j = position + 1
    value = json.loads(vinput)
    verification_keys = [k[0] for k in step2_check_certificates(group, certificates)]
    total = mpz(0)
    for i, (encrypted, signed) in enumerate(zip(value["secrets"], value["coefexps"], strict=True)):
        secret = mpz(
            int(json.loads(receive(group, keys, verification_keys[i], encrypted))["secret"])
        )
        commitments = json.loads(verify_signed(group, verification_keys[i], signed, "coefficients"))
        expected = group.multiply(
            *(group.power(int(a), j**k) for k, a in enumerate(commitments["coefexps"]))
        )
        if group.g_power(secret) != expected:
            raise Invalid(f"trustee {i + 1} sent a value that does not match their commitments")
        total += secret
    private = send(group, keys, keys.encryption, dumps({"decryption_key": str(total)}).decode())
    return dumps(
        {"private_key": private, "public_key": key_from_private(group, total).to_json()}
    ).decode()


def step6_parameters(
    group: Group,
    certificates: list[str],
    polynomials: list[str],
    voutputs: list[str],
    threshold: int,
) -> tuple[dict[str, object], list[str]]:
    """Step 6 (administrator): the public threshold_parameters and, per trustee, the
    encrypted decryption key they will need at tally (the tool's `.dkey`). Raises Invalid
    if a trustee's public key does not follow from everyone's commitments."""
    outputs = [json.loads(v) for v in voutputs]
    parameters: dict[str, object] = {
        "threshold": threshold,
        "certs": [json.loads(c) for c in certificates],
        "coefexps": [json.loads(p)["coefexps"] for p in polynomials],
        "verification_keys": [o["public_key"] for o in outputs],
    }
    parse_trustees(group, trustees_bytes([("Pedersen", parameters)]))
    return parameters, [o["private_key"] for o in outputs]


def decryption_key(group: Group, seed: str, encrypted_key: str, certificates: list[str]) -> mpz:
    """The trustee's S_j from their seed and the `.dkey` message, reduced mod q."""
    keys, _ = _my_position(group, seed, certificates)
    value = json.loads(receive(group, keys, keys.verification, encrypted_key))
    return mpz(int(value["decryption_key"])) % group.q

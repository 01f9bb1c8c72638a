"""Trustees (specification §3.1.1, §4.5–4.7): who holds the election's decryption key.

The `trustees` message is a list of items. A `Single` item is one key that must take part
in the decryption; a `Pedersen` item is a set of µ keys of which any `threshold` suffice
(made by the distributed key generation in `threshold.py`). The election public key is the
product of every item's sub-key. Partial decryptions name their author by `owner`: the
1-based position in the list of all keys, Single items counting one and Pedersen items
counting their µ keys in the order of their certificates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gmpy2 import mpz

from . import proofs as zk
from .errors import Invalid
from .group import Group
from .serial import array, dumps, members


@dataclass(frozen=True)
class TrusteeKey:
    """A verification key: X = g^x, with the proof that its maker knows x."""

    public_key: mpz
    pok: zk.Proof

    def to_json(self) -> dict[str, object]:
        return {"pok": zk.proof_json(self.pok), "public_key": str(self.public_key)}


@dataclass(frozen=True)
class Single:
    key: TrusteeKey

    @property
    def keys(self) -> tuple[TrusteeKey, ...]:
        return (self.key,)

    @property
    def sub_key(self) -> mpz:
        return self.key.public_key


@dataclass(frozen=True)
class Pedersen:
    """A threshold item: `threshold` of `len(verification_keys)` trustees decrypt. `raw`
    keeps the parameters as received (certificates and coefficients are signed strings)."""

    threshold: int
    verification_keys: tuple[TrusteeKey, ...]
    sub_key: mpz  # Π over trustees of A_z0, the commitment to each polynomial's constant term
    raw: dict

    @property
    def keys(self) -> tuple[TrusteeKey, ...]:
        return self.verification_keys


Item = Single | Pedersen


def new_trustee_key(group: Group) -> tuple[mpz, TrusteeKey]:
    """A fresh private key x and its public trustee key (as `setup generate-trustee-key`)."""
    x = group.random_exponent()
    public = group.g_power(x)
    return x, TrusteeKey(public, zk.prove_knowledge(group, x, zk.pok_prefix(group, public)))


def key_from_private(group: Group, x: int) -> TrusteeKey:
    public = group.g_power(x)
    return TrusteeKey(public, zk.prove_knowledge(group, x, zk.pok_prefix(group, public)))


def parse_trustee_key(group: Group, value: object, what: str) -> TrusteeKey:
    members(value, ("pok", "public_key"), what)
    assert isinstance(value, dict)
    public = zk.parse_element(group, value["public_key"], f"{what}'s public key")
    pok = zk.parse_proof(group, value["pok"], f"{what}'s proof of knowledge")
    if not zk.verify_knowledge(group, public, pok, zk.pok_prefix(group, public)):
        raise Invalid(f"{what}: the proof that its owner knows the private key does not verify")
    return TrusteeKey(public, pok)


def verify_signed(group: Group, verification_key: int, signed: object, what: str) -> str:
    """Check a signed_msg (§4.6.1) with `verification_key`; return its message."""
    members(signed, ("message", "signature"), what)
    assert isinstance(signed, dict)
    message = signed["message"]
    if not isinstance(message, str):
        raise Invalid(f"{what}'s message is not text")
    proof = zk.parse_proof(group, signed["signature"], f"{what}'s signature")
    if not zk.verify_knowledge(group, verification_key, proof, f"sigmsg|{message}|"):
        raise Invalid(f"{what}: the signature does not verify")
    return message


def certificate_keys(group: Group, cert: object, what: str) -> tuple[mpz, mpz]:
    """A certificate's (verification, encryption) keys, its self-signature checked."""
    members(cert, ("message", "signature"), what)
    assert isinstance(cert, dict)
    try:
        keys = json.loads(cert["message"])
    except (TypeError, ValueError):
        raise Invalid(f"{what} does not hold keys") from None
    members(keys, ("verification", "encryption"), what)
    verification = zk.parse_element(group, keys["verification"], f"{what}'s verification key")
    encryption = zk.parse_element(group, keys["encryption"], f"{what}'s encryption key")
    verify_signed(group, verification, cert, what)
    return verification, encryption


def _parse_pedersen(group: Group, value: object, position: int) -> Pedersen:
    what = f"trustee group {position}"
    members(value, ("threshold", "certs", "coefexps", "verification_keys"), what)
    assert isinstance(value, dict)
    certs = array(value["certs"], f"{what}'s certificates")
    count = len(certs)
    threshold = value["threshold"]
    if not isinstance(threshold, int) or not 1 <= threshold <= count:
        raise Invalid(f"{what}: the threshold must be between 1 and the number of trustees")
    signed_coefexps = array(value["coefexps"], f"{what}'s coefficients", count)
    raw_keys = array(value["verification_keys"], f"{what}'s verification keys", count)
    commitments: list[tuple[mpz, ...]] = []
    for z, (cert, signed) in enumerate(zip(certs, signed_coefexps, strict=True), 1):
        verification, _ = certificate_keys(group, cert, f"{what}, trustee {z}'s certificate")
        message = verify_signed(group, verification, signed, f"{what}, trustee {z}'s coefficients")
        try:
            raw = json.loads(message)
        except ValueError:
            raise Invalid(f"{what}, trustee {z}'s coefficients are not JSON") from None
        members(raw, ("coefexps",), f"{what}, trustee {z}'s coefficients")
        values = array(raw["coefexps"], f"{what}, trustee {z}'s coefficients", threshold)
        commitments.append(
            tuple(zk.parse_element(group, v, f"{what}, trustee {z}'s coefficient") for v in values)
        )
    keys = []
    for j, raw_key in enumerate(raw_keys, 1):
        key = parse_trustee_key(group, raw_key, f"{what}, trustee {j}'s verification key")
        expected = mpz(1)
        for row in commitments:
            for k, commitment in enumerate(row):
                expected = group.multiply(expected, group.power(commitment, j**k))
        if key.public_key != expected:
            raise Invalid(
                f"{what}, trustee {j}'s verification key does not match the others' coefficients"
            )
        keys.append(key)
    sub_key = group.multiply(*(row[0] for row in commitments))
    return Pedersen(threshold, tuple(keys), sub_key, value)


def parse_trustees(group: Group, raw: bytes) -> tuple[Item, ...]:
    """Parse and check the trustees message: every proof, signature and key relation."""
    try:
        value = json.loads(raw)
    except ValueError:
        raise Invalid("the trustees message is not JSON") from None
    items: list[Item] = []
    for position, item in enumerate(array(value, "the trustees"), 1):
        kind, body = array(item, f"trustee item {position}", 2)
        if kind == "Single":
            items.append(Single(parse_trustee_key(group, body, f"trustee {position}")))
        elif kind == "Pedersen":
            items.append(_parse_pedersen(group, body, position))
        else:
            raise Invalid(f"trustee item {position} is of an unknown kind {kind!r}")
    if not items:
        raise Invalid("the election has no trustee")
    return tuple(items)


def trustees_bytes(items: list[tuple[str, dict]]) -> bytes:
    """The trustees message from (kind, body) pairs, bodies already in message order."""
    return dumps([[kind, body] for kind, body in items])


def election_public_key(group: Group, items: tuple[Item, ...]) -> mpz:
    """y: the product of every item's sub-key."""
    return group.multiply(*(item.sub_key for item in items))


def owners(items: tuple[Item, ...]) -> list[tuple[int, Item, int]]:
    """(owner number, item, index within the item from 1) for every key, in order."""
    out: list[tuple[int, Item, int]] = []
    for item in items:
        for index in range(1, len(item.keys) + 1):
            out.append((len(out) + 1, item, index))
    return out

"""The data members each step of an election adds to its archive, in the order Belenios
writes them (specification §4.4). Each function returns the members of one event, the
payload last; `ArchiveWriter.add(type, *members)` appends them with their event."""

from __future__ import annotations

from .serial import dumps, sha256_hex
from .tally import sized_tally_json


def setup_members(election: bytes, trustees: bytes, credentials: bytes) -> list[bytes]:
    """Setup: the election, its trustees, the public credentials, and setup_data naming them."""
    setup_data = dumps(
        {
            "election": sha256_hex(election),
            "trustees": sha256_hex(trustees),
            "credentials": sha256_hex(credentials),
        }
    )
    return [election, trustees, credentials, setup_data]


def credentials_bytes(public_credentials: list[int]) -> bytes:
    """The public credentials, sorted by value so that their order says nothing about the
    order of the voter list."""
    return dumps([str(c) for c in sorted(public_credentials)])


def tally_members(tally: bytes, num_tallied: int) -> list[bytes]:
    """EncryptedTally: the tally and its sized envelope (unweighted: the weight is the count)."""
    return [tally, sized_tally_json(num_tallied, num_tallied, sha256_hex(tally))]


def partial_members(owner: int, partial_decryption: bytes) -> list[bytes]:
    """PartialDecryption: the factors and proofs, then who made them."""
    return [partial_decryption, dumps({"owner": owner, "payload": sha256_hex(partial_decryption)})]

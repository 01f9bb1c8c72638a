"""Counting (specification §4.15–4.19): the ballots that count, the encrypted tally,
partial decryptions by trustees, and the result that combines them.

Nothing here decrypts a ballot: the tally multiplies the ciphertexts of the ballots that
count, so only per-answer totals are ever decrypted, and only when enough trustees take
part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import gmpy2
from gmpy2 import mpz

from . import proofs as zk
from .ballot import Ballot
from .election import Election
from .errors import Invalid
from .serial import array, dumps, members
from .trustees import Item, Pedersen, Single, owners

Tally = tuple[tuple[zk.Ciphertext, ...], ...]  # per question, per ciphertext of an answer


def last_ballots(ballots: Iterable[Ballot]) -> list[Ballot]:
    """last(B) (§4.15): one ballot per credential, the latest, in the order of casting
    of those latest ballots."""
    latest: dict[int, Ballot] = {}
    for ballot in ballots:
        latest.pop(int(ballot.credential), None)
        latest[int(ballot.credential)] = ballot
    return list(latest.values())


def encrypted_tally(election: Election, ballots: Sequence[Ballot]) -> Tally:
    """The pointwise product of the counted ballots' ciphertexts (unweighted)."""
    group = election.group
    tally = []
    for position, question in enumerate(election.questions):
        column = []
        for index in range(question.width):
            column.append(zk.product(group, [b.choices[position][index] for b in ballots]))
        tally.append(tuple(column))
    return tuple(tally)


def tally_json(tally: Tally) -> bytes:
    return dumps([[zk.ciphertext_json(ct) for ct in row] for row in tally])


def sized_tally_json(num_tallied: int, total_weight: int, tally_name: str) -> bytes:
    """The EncryptedTally event's payload; weights at or above 2^30 are written as strings,
    as the tool writes them."""
    return dumps(
        {
            "num_tallied": num_tallied,
            "total_weight": total_weight if total_weight < 2**30 else str(total_weight),
            "encrypted_tally": tally_name,
        }
    )


def parse_tally(election: Election, value: object) -> Tally:
    rows = array(value, "the encrypted tally", len(election.questions))
    return tuple(
        tuple(
            zk.parse_ciphertext(election.group, ct, f"the tally of question {i}")
            for ct in array(row, f"the tally of question {i}", question.width)
        )
        for i, (question, row) in enumerate(zip(election.questions, rows, strict=True), 1)
    )


@dataclass(frozen=True)
class PartialDecryption:
    factors: tuple[tuple[mpz, ...], ...]
    proofs: tuple[tuple[zk.Proof, ...], ...]


def partial_decryption(election: Election, tally: Tally, private_key: int) -> bytes:
    """A trustee's decryption factors alpha^x for every tally ciphertext, each with its
    proof, bound to the election's fingerprint."""
    group = election.group
    public = group.g_power(private_key)
    factors, proofs = [], []
    for row in tally:
        factors.append([str(group.power(alpha, private_key)) for alpha, _ in row])
        proofs.append(
            [
                zk.proof_json(
                    zk.decryption_prove(group, election.fingerprint, private_key, public, alpha)
                )
                for alpha, _ in row
            ]
        )
    return dumps({"decryption_factors": factors, "decryption_proofs": proofs})


def check_partial_decryption(
    election: Election, tally: Tally, public_key: int, value: object, who: str
) -> PartialDecryption:
    """Parse and check a partial decryption against the trustee's public key; raises
    Invalid naming the trustee and the first factor whose proof fails."""
    group = election.group
    members(value, ("decryption_factors", "decryption_proofs"), f"{who}'s partial decryption")
    assert isinstance(value, dict)
    raw_factors = array(value["decryption_factors"], f"{who}'s factors", len(tally))
    raw_proofs = array(value["decryption_proofs"], f"{who}'s proofs", len(tally))
    factors, proofs = [], []
    for i, (row, factor_row, proof_row) in enumerate(
        zip(tally, raw_factors, raw_proofs, strict=True), 1
    ):
        given_factors = array(factor_row, f"{who}'s factors", len(row))
        given_proofs = array(proof_row, f"{who}'s proofs", len(row))
        parsed_f, parsed_p = [], []
        for j, ((alpha, _), f, p) in enumerate(
            zip(row, given_factors, given_proofs, strict=True), 1
        ):
            factor = zk.parse_element(group, f, f"{who}'s factor {i}.{j}")
            proof = zk.parse_proof(group, p, f"{who}'s proof {i}.{j}")
            if not zk.decryption_verify(
                group, election.fingerprint, public_key, alpha, factor, proof
            ):
                raise Invalid(
                    f"{who}'s partial decryption of question {i}, answer {j} does not match "
                    "their public key: it was not made with their key, or it was altered"
                )
            parsed_f.append(factor)
            parsed_p.append(proof)
        factors.append(tuple(parsed_f))
        proofs.append(tuple(parsed_p))
    return PartialDecryption(tuple(factors), tuple(proofs))


def lagrange(indexes: Sequence[int], index: int, q: int) -> mpz:
    """λ_δ^I = Π_{k ∈ I \\ {δ}} k / (k − δ) mod q."""
    numerator, denominator = mpz(1), mpz(1)
    for k in indexes:
        if k != index:
            numerator = numerator * k % q
            denominator = denominator * (k - index) % q
    return numerator * gmpy2.invert(denominator, q) % q


def combine(
    election: Election,
    items: tuple[Item, ...],
    tally: Tally,
    partials: Mapping[int, PartialDecryption],
) -> list[list[mpz]]:
    """The synthetic factors F = Π over items of each item's sub-factor (§4.19). `partials`
    maps owner numbers to checked partial decryptions. Raises Invalid when a Single
    trustee's share is missing or fewer than `threshold` of a Pedersen item's are given."""
    group = election.group
    combined = [[mpz(1)] * len(row) for row in tally]
    by_item: dict[int, list[tuple[int, PartialDecryption]]] = {}
    for owner, item, index in owners(items):
        if owner in partials:
            by_item.setdefault(id(item), []).append((index, partials[owner]))
    for position, item in enumerate(items, 1):
        supplied = by_item.get(id(item), [])
        if isinstance(item, Single):
            if not supplied:
                raise Invalid(f"the partial decryption of trustee {position} is missing")
            weights = [(supplied[0][1], mpz(1))]
        else:
            assert isinstance(item, Pedersen)
            if len(supplied) < item.threshold:
                raise Invalid(
                    f"only {len(supplied)} of the {item.threshold} partial decryptions needed "
                    f"from trustee group {position} were given"
                )
            chosen = supplied[: item.threshold]
            indexes = [index for index, _ in chosen]
            weights = [(pd, lagrange(indexes, index, group.q)) for index, pd in chosen]
        for i, row in enumerate(tally):
            for j in range(len(row)):
                for pd, weight in weights:
                    combined[i][j] = group.multiply(
                        combined[i][j], group.power(pd.factors[i][j], weight)
                    )
    return combined


def result(
    election: Election, tally: Tally, combined: list[list[mpz]], bound: int
) -> list[list[int]]:
    """The per-answer counts: log_g(beta / F) for every tally ciphertext, each known to be
    at most `bound` (the number of ballots counted), found in a table of g^0 … g^bound.
    Raises Invalid when one is not in the table: the decryption is wrong."""
    group = election.group
    table: dict[mpz, int] = {}
    power = mpz(1)
    for count in range(bound + 1):
        table[power] = count
        power = group.multiply(power, group.g)
    counts = []
    for row, factors in zip(tally, combined, strict=True):
        line = []
        for (_, beta), factor in zip(row, factors, strict=True):
            total = table.get(group.divide(beta, factor))
            if total is None:
                raise Invalid(
                    "a decrypted total is not a count of the ballots: the decryption is wrong"
                )
            line.append(total)
        counts.append(line)
    return counts


def result_json(counts: list[list[int]]) -> bytes:
    return dumps({"result": counts})

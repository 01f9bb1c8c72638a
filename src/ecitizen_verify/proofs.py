"""The zero-knowledge proofs of Belenios 2.0 (specification §4.5, §4.11–4.14, §4.18).

Every proof is a list of (challenge, response) pairs. A prover commits with random
exponents, hashes the statement and the commitments into a challenge (Fiat–Shamir), and
answers response = w − secret × challenge mod q. A verifier recomputes the commitments as
g^response × X^challenge and checks the hash. The hash inputs below are character for
character the specification's; `belenios-tool` checks them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from gmpy2 import mpz

from .errors import Invalid
from .group import Group
from .serial import members, number

Proof = tuple[mpz, mpz]  # (challenge, response)
Ciphertext = tuple[mpz, mpz]  # (alpha, beta)


def proof_json(proof: Proof) -> dict[str, str]:
    return {"challenge": str(proof[0]), "response": str(proof[1])}


def ciphertext_json(ciphertext: Ciphertext) -> dict[str, str]:
    return {"alpha": str(ciphertext[0]), "beta": str(ciphertext[1])}


def parse_proof(group: Group, value: object, what: str) -> Proof:
    members(value, ("challenge", "response"), what)
    assert isinstance(value, dict)
    challenge = number(value["challenge"], f"{what}'s challenge")
    response = number(value["response"], f"{what}'s response")
    if challenge >= group.q or response >= group.q:
        raise Invalid(f"{what} has a challenge or response that is not a number modulo q")
    return mpz(challenge), mpz(response)


def parse_element(group: Group, value: object, what: str) -> mpz:
    element = number(value, what)
    if not group.is_element(element):
        raise Invalid(f"{what} is not an element of the group")
    return mpz(element)


def parse_ciphertext(group: Group, value: object, what: str) -> Ciphertext:
    members(value, ("alpha", "beta"), what)
    assert isinstance(value, dict)
    return (
        parse_element(group, value["alpha"], f"{what}'s alpha"),
        parse_element(group, value["beta"], f"{what}'s beta"),
    )


def commitment(group: Group, base: int, response: int, element: int, challenge: int) -> mpz:
    """base^response × element^challenge: a commitment recomputed by a verifier."""
    return group.multiply(group.power(base, response), group.power(element, challenge))


def product(group: Group, ciphertexts: Sequence[Ciphertext]) -> Ciphertext:
    """The homomorphic sum of encrypted values: the pointwise product of ciphertexts."""
    return (
        group.multiply(*(alpha for alpha, _ in ciphertexts)),
        group.multiply(*(beta for _, beta in ciphertexts)),
    )


def _numbers(*values: int) -> str:
    return ",".join(str(value) for value in values)


# --- Schnorr proofs of knowledge (trustee keys, signatures) -------------------------------


def prove_knowledge(group: Group, secret: int, prefix: str) -> Proof:
    """A proof of knowledge of `secret` whose challenge is H(prefix + A) mod q."""
    w = group.random_exponent()
    challenge = group.hash_to_exponent(prefix + str(group.g_power(w)))
    return challenge, (w - secret * challenge) % group.q


def verify_knowledge(group: Group, public: int, proof: Proof, prefix: str) -> bool:
    challenge, response = proof
    a = commitment(group, group.g, response, public, challenge)
    return group.hash_to_exponent(prefix + str(a)) == challenge


def pok_prefix(group: Group, public: int) -> str:
    """Hpok (§4.5): pok|G|X|A with G the group's name."""
    return f"pok|{group.name}|{public}|"


def signature_prefix(ballot_hash: str) -> str:
    """Hsignature (§4.14): sig|H|A."""
    return f"sig|{ballot_hash}|"


# --- Interval membership (§4.12) ------------------------------------------------------------


def _interval_commitments(
    group: Group, y: int, ciphertext: Ciphertext, values: Sequence[int], proofs: Sequence[Proof]
) -> list[int]:
    alpha, beta = ciphertext
    out: list[int] = []
    for value, (challenge, response) in zip(values, proofs, strict=True):
        out.append(commitment(group, group.g, response, alpha, challenge))
        shifted = group.divide(beta, group.g_power(value))
        out.append(commitment(group, y, response, shifted, challenge))
    return out


def _iprove_hash(group: Group, statement: str, ciphertext: Ciphertext, commits: list[int]) -> mpz:
    alpha, beta = ciphertext
    return group.hash_to_exponent(f"prove|{statement}|{alpha},{beta}|{_numbers(*commits)}")


def interval_prove(
    group: Group,
    y: int,
    statement: str,
    ciphertext: Ciphertext,
    r: int,
    index: int,
    values: Sequence[int],
) -> list[Proof]:
    """iprove(S, r, i, M0…Mk): the ciphertext (g^r, y^r g^Mi) encrypts one of `values`."""
    q = group.q
    proofs: list[Proof] = [(group.random_exponent(), group.random_exponent()) for _ in values]
    w = group.random_exponent()
    commits = _interval_commitments(group, y, ciphertext, values, proofs)
    commits[2 * index] = group.g_power(w)
    commits[2 * index + 1] = group.power(y, w)
    total = _iprove_hash(group, statement, ciphertext, commits)
    others = sum(c for j, (c, _) in enumerate(proofs) if j != index)
    challenge = (total - others) % q
    proofs[index] = (challenge, (w - r * challenge) % q)
    return proofs


def interval_verify(
    group: Group,
    y: int,
    statement: str,
    ciphertext: Ciphertext,
    proofs: Sequence[Proof],
    values: Sequence[int],
) -> bool:
    if len(proofs) != len(values):
        return False
    commits = _interval_commitments(group, y, ciphertext, values, proofs)
    total = sum(challenge for challenge, _ in proofs) % group.q
    return _iprove_hash(group, statement, ciphertext, commits) == total


# --- Possibly-blank votes (§4.13) -----------------------------------------------------------


def _pair_commitments(group: Group, y: int, ciphertext: Ciphertext, proof: Proof, shift: int):
    alpha, beta = ciphertext
    challenge, response = proof
    a = commitment(group, group.g, response, alpha, challenge)
    b = commitment(group, y, response, group.divide(beta, group.g_power(shift)), challenge)
    return a, b


def blank_prove(
    group: Group,
    y: int,
    statement: str,
    blank: Ciphertext,
    total: Ciphertext,
    r_blank: int,
    r_total: int,
    is_blank: bool,
) -> list[Proof]:
    """blank_proof: m0 = 0 ∨ mΣ = 0, proven for the case that holds (§4.13.1, §4.13.2).
    The pair is (π0, πΣ) in that order whichever is real."""
    q = group.q
    simulated: Proof = (group.random_exponent(), group.random_exponent())
    w = group.random_exponent()
    real_commits = (group.g_power(w), group.power(y, w))
    if is_blank:  # mΣ = 0 is true: πΣ is real, π0 simulated
        a0, b0 = _pair_commitments(group, y, blank, simulated, 0)
        a_s, b_s = real_commits
        secret = r_total
    else:  # m0 = 0 is true: π0 is real, πΣ simulated
        a_s, b_s = _pair_commitments(group, y, total, simulated, 0)
        a0, b0 = real_commits
        secret = r_blank
    digest = group.hash_to_exponent(f"bproof0|{statement}|{_numbers(a0, b0, a_s, b_s)}")
    challenge = (digest - simulated[0]) % q
    real: Proof = (challenge, (w - secret * challenge) % q)
    return [simulated, real] if is_blank else [real, simulated]


def blank_verify(
    group: Group, y: int, statement: str, blank: Ciphertext, total: Ciphertext, proofs
) -> bool:
    if len(proofs) != 2:
        return False
    a0, b0 = _pair_commitments(group, y, blank, proofs[0], 0)
    a_s, b_s = _pair_commitments(group, y, total, proofs[1], 0)
    digest = group.hash_to_exponent(f"bproof0|{statement}|{_numbers(a0, b0, a_s, b_s)}")
    return digest == (proofs[0][0] + proofs[1][0]) % group.q


def _overall_blank_commitments(group, y, blank, total, values, proofs) -> list[int]:
    commits = list(_pair_commitments(group, y, blank, proofs[0], 1))
    for value, proof in zip(values, proofs[1:], strict=True):
        commits.extend(_pair_commitments(group, y, total, proof, value))
    return commits


def overall_blank_prove(
    group: Group,
    y: int,
    statement: str,
    blank: Ciphertext,
    total: Ciphertext,
    r_blank: int,
    r_total: int,
    is_blank: bool,
    count: int,
    values: Sequence[int],
) -> list[Proof]:
    """overall_proof when blank is allowed: m0 = 1 ∨ mΣ ∈ [min…max] (§4.13). Position 0
    is the blank case; position i ≥ 1 is mΣ = values[i−1]."""
    q = group.q
    proofs: list[Proof] = [
        (group.random_exponent(), group.random_exponent()) for _ in range(len(values) + 1)
    ]
    index = 0 if is_blank else values.index(count) + 1
    w = group.random_exponent()
    commits = _overall_blank_commitments(group, y, blank, total, values, proofs)
    commits[2 * index] = group.g_power(w)
    commits[2 * index + 1] = group.power(y, w)
    digest = group.hash_to_exponent(f"bproof1|{statement}|{_numbers(*commits)}")
    challenge = (digest - sum(c for j, (c, _) in enumerate(proofs) if j != index)) % q
    secret = r_blank if is_blank else r_total
    proofs[index] = (challenge, (w - secret * challenge) % q)
    return proofs


def overall_blank_verify(group, y, statement, blank, total, proofs, values) -> bool:
    if len(proofs) != len(values) + 1:
        return False
    commits = _overall_blank_commitments(group, y, blank, total, values, proofs)
    digest = group.hash_to_exponent(f"bproof1|{statement}|{_numbers(*commits)}")
    return digest == sum(c for c, _ in proofs) % group.q


# --- Partial decryptions (§4.18) -------------------------------------------------------------


def decryption_prove(group: Group, fingerprint: str, x: int, public: int, alpha: int) -> Proof:
    """Proof that log_g(X) = log_alpha(alpha^x), bound to the election's fingerprint."""
    w = group.random_exponent()
    a, b = group.g_power(w), group.power(alpha, w)
    challenge = group.hash_to_exponent(f"decrypt|{fingerprint}|{public}|{a},{b}")
    return challenge, (w - x * challenge) % group.q


def decryption_verify(
    group: Group, fingerprint: str, public: int, alpha: int, factor: int, proof: Proof
) -> bool:
    challenge, response = proof
    a = commitment(group, group.g, response, public, challenge)
    b = commitment(group, alpha, response, factor, challenge)
    return group.hash_to_exponent(f"decrypt|{fingerprint}|{public}|{a},{b}") == challenge

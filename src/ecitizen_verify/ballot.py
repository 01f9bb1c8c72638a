"""Ballots (specification §4.11, §4.14, §4.15): making one from a credential and choices,
and checking one received — its form, its proofs and its signature.

A ballot's *smart ballot tracker* is the fingerprint of its exact bytes; the voter keeps
it and finds it later on the public ballot box.
"""

from __future__ import annotations

from dataclasses import dataclass

from gmpy2 import mpz

from . import proofs as zk
from .credentials import secret_exponent
from .election import Election, Question
from .errors import Invalid
from .serial import array, dumps, fingerprint, loads, members

BALLOT_MEMBERS = ("election_uuid", "election_hash", "credential", "answers", "signature")
ANSWER_MEMBERS = ("choices", "individual_proofs", "overall_proof", "blank_proof")


@dataclass(frozen=True)
class Ballot:
    """A checked ballot: its bytes, its tracker, its public credential and, per question,
    the ciphertexts of its choices (what the tally multiplies)."""

    raw: bytes
    credential: mpz
    choices: tuple[tuple[zk.Ciphertext, ...], ...]

    @property
    def tracker(self) -> str:
        return fingerprint(self.raw)


@dataclass(frozen=True)
class MadeBallot:
    """A ballot just made, with the random exponents that encrypted each choice. The
    randomness is what a Benaloh challenge reveals: with it anyone can re-encrypt the
    choices and compare; a ballot whose randomness was shown must never be cast."""

    raw: bytes
    randomness: tuple[tuple[int, ...], ...]

    @property
    def tracker(self) -> str:
        return fingerprint(self.raw)


def _statement(prefix: str, ciphertexts: list[zk.Ciphertext]) -> str:
    return prefix + "|" + ",".join(f"{alpha},{beta}" for alpha, beta in ciphertexts)


def _answer(election: Election, question: Question, prefix: str, plain: list[int]):
    group, y = election.group, election.public_key
    randomness = [group.random_exponent() for _ in plain]
    ciphertexts = [
        (group.g_power(r), group.multiply(group.power(y, r), group.g_power(m)))
        for r, m in zip(randomness, plain, strict=True)
    ]
    individual = [
        zk.interval_prove(group, y, prefix, ct, r, m, (0, 1))
        for ct, r, m in zip(ciphertexts, randomness, plain, strict=True)
    ]
    statement = _statement(prefix, ciphertexts)
    values = list(range(question.min, question.max + 1))
    answer: dict[str, object] = {
        "choices": [zk.ciphertext_json(ct) for ct in ciphertexts],
        "individual_proofs": [[zk.proof_json(p) for p in pair] for pair in individual],
    }
    if not question.blank:
        total = zk.product(group, ciphertexts)
        overall = zk.interval_prove(
            group, y, statement, total, sum(randomness) % group.q, sum(plain) - question.min, values
        )
        answer["overall_proof"] = [zk.proof_json(p) for p in overall]
    else:
        blank, total = ciphertexts[0], zk.product(group, ciphertexts[1:])
        r_blank, r_total = randomness[0], sum(randomness[1:]) % group.q
        is_blank = plain[0] == 1
        overall = zk.overall_blank_prove(
            group, y, statement, blank, total, r_blank, r_total, is_blank, sum(plain[1:]), values
        )
        blank_proof = zk.blank_prove(group, y, statement, blank, total, r_blank, r_total, is_blank)
        answer["overall_proof"] = [zk.proof_json(p) for p in overall]
        answer["blank_proof"] = [zk.proof_json(p) for p in blank_proof]
    return answer, tuple(int(r) for r in randomness)


def make_ballot(election: Election, credential: str, plaintexts: list[list[int]]) -> MadeBallot:
    """Encrypt `plaintexts` (per question, 0/1 per answer with the blank flag first when
    blank is allowed, as `belenios-tool election generate-ballot` takes them) and sign the
    ballot with the private credential. Raises Invalid for choices a question refuses."""
    if len(plaintexts) != len(election.questions):
        raise Invalid(f"the ballot needs {len(election.questions)} answers")
    for question, plain in zip(election.questions, plaintexts, strict=True):
        question.check_plaintext(plain)
    group = election.group
    secret = secret_exponent(group, election.uuid, credential)
    public = group.g_power(secret)
    prefix = f"{election.fingerprint}|{public}"
    answers, randomness = [], []
    for question, plain in zip(election.questions, plaintexts, strict=True):
        answer, r = _answer(election, question, prefix, plain)
        answers.append(answer)
        randomness.append(r)
    unsigned: dict[str, object] = {
        "election_uuid": election.uuid,
        "election_hash": election.fingerprint,
        "credential": str(public),
        "answers": answers,
    }
    ballot_hash = fingerprint(dumps(unsigned))
    proof = zk.prove_knowledge(group, secret, zk.signature_prefix(ballot_hash))
    unsigned["signature"] = {"hash": ballot_hash, "proof": zk.proof_json(proof)}
    return MadeBallot(dumps(unsigned), tuple(randomness))


def _check_answer(election: Election, question: Question, number_: int, prefix: str, value):
    group, y = election.group, election.public_key
    what = f"the answer to question {number_}"
    members(value, ANSWER_MEMBERS, what, optional=("blank_proof",))
    if ("blank_proof" in value) != question.blank:
        raise Invalid(f"{what} {'lacks' if question.blank else 'has'} a blank proof")
    raw_choices = array(value["choices"], f"{what}'s choices", question.width)
    ciphertexts = [
        zk.parse_ciphertext(group, ct, f"{what}'s choice {i}")
        for i, ct in enumerate(raw_choices, 1)
    ]
    raw_individual = array(value["individual_proofs"], f"{what}'s proofs", question.width)
    for i, (ct, pair) in enumerate(zip(ciphertexts, raw_individual, strict=True), 1):
        parsed = [zk.parse_proof(group, p, f"{what}'s proof {i}") for p in array(pair, what, 2)]
        if not zk.interval_verify(group, y, prefix, ct, parsed, (0, 1)):
            raise Invalid(f"{what}: the proof that choice {i} is 0 or 1 does not verify")
    statement = _statement(prefix, ciphertexts)
    values = list(range(question.min, question.max + 1))
    overall = [
        zk.parse_proof(group, p, f"{what}'s overall proof")
        for p in array(value["overall_proof"], what)
    ]
    if not question.blank:
        ok = zk.interval_verify(
            group, y, statement, zk.product(group, ciphertexts), overall, values
        )
    else:
        blank, total = ciphertexts[0], zk.product(group, ciphertexts[1:])
        blank_proof = [
            zk.parse_proof(group, p, f"{what}'s blank proof")
            for p in array(value["blank_proof"], what, 2)
        ]
        if not zk.blank_verify(group, y, statement, blank, total, blank_proof):
            raise Invalid(f"{what}: the proof that it is either blank or not does not verify")
        ok = zk.overall_blank_verify(group, y, statement, blank, total, overall, values)
    if not ok:
        raise Invalid(
            f"{what}: the proof that it selects between {question.min} and {question.max} "
            "answers does not verify"
        )
    return tuple(ciphertexts)


def check_ballot(election: Election, raw: bytes) -> Ballot:
    """Check a received ballot completely: canonical form, election, every proof and the
    signature. Raises Invalid saying what is wrong. Whether its credential is on the
    voter list, and whether voting is open, is the caller's to check."""
    value = loads(raw, "the ballot")
    members(value, BALLOT_MEMBERS, "the ballot")
    if dumps(value) != raw:
        raise Invalid("the ballot is not in canonical form (compact JSON, as Belenios writes it)")
    if value["election_uuid"] != election.uuid:
        raise Invalid("the ballot is for another election")
    if value["election_hash"] != election.fingerprint:
        raise Invalid("the ballot was made for a different version of this election")
    group = election.group
    credential = zk.parse_element(group, value["credential"], "the ballot's credential")
    answers = array(value["answers"], "the ballot's answers", len(election.questions))
    prefix = f"{election.fingerprint}|{credential}"
    choices = tuple(
        _check_answer(election, question, i, prefix, answer)
        for i, (question, answer) in enumerate(zip(election.questions, answers, strict=True), 1)
    )
    signature = members(value["signature"], ("hash", "proof"), "the ballot's signature")
    unsigned = {key: value[key] for key in BALLOT_MEMBERS[:-1]}
    if signature["hash"] != fingerprint(dumps(unsigned)):
        raise Invalid("the ballot's signature is over different contents")
    proof = zk.parse_proof(group, signature["proof"], "the ballot's signature")
    if not zk.verify_knowledge(group, credential, proof, zk.signature_prefix(signature["hash"])):
        raise Invalid("the ballot's signature does not verify with its credential")
    return Ballot(raw, mpz(credential), choices)


def reencrypt_matches(
    election: Election, ballot: Ballot, plaintexts: list[list[int]], randomness
) -> bool:
    """The Benaloh check: True when encrypting `plaintexts` with the revealed `randomness`
    gives exactly the ballot's ciphertexts, i.e. the ballot says what the voter chose."""
    group, y = election.group, election.public_key
    for cts, plain, rs in zip(ballot.choices, plaintexts, randomness, strict=True):
        for (alpha, beta), m, r in zip(cts, plain, rs, strict=True):
            if alpha != group.g_power(r) or beta != group.multiply(
                group.power(y, r), group.g_power(m)
            ):
                return False
    return True

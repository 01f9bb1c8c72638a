"""The voting protocol in the browser (frontend/js/voting/) against the Python package
ecitizen_verify, and both against Debian's belenios-tool 2.0: ballots made in JavaScript
pass the Python checks and the tool's verifier, ballots made in Python pass the JavaScript
checks, trustees who run the JavaScript steps take part in a key generation with trustees
who run the Python ones, and the JavaScript verifier says what the Python one says.

Node runs frontend/js/voting/test/run.mjs, which reads operations as JSON on stdin and
answers with their results; frontend/node_modules must be installed (`npm ci`).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from ecitizen_verify import threshold as dkg
from ecitizen_verify.ballot import check_ballot, make_ballot, reencrypt_matches
from ecitizen_verify.credentials import new_credential, normalise, public_credential
from ecitizen_verify.election import election_bytes, parse_election
from ecitizen_verify.errors import Invalid
from ecitizen_verify.group import BELENIOS_2048 as GROUP
from ecitizen_verify.record import (
    credentials_bytes,
    partial_members,
    setup_members,
    tally_members,
)
from ecitizen_verify.serial import dumps, fingerprint
from ecitizen_verify.tally import (
    check_partial_decryption,
    combine,
    encrypted_tally,
    last_ballots,
    partial_decryption,
    result,
    result_json,
    tally_json,
)
from ecitizen_verify.tests.builders import QUESTIONS, count, new_story, tool_verifies
from ecitizen_verify.trustees import key_from_private, parse_trustees, trustees_bytes
from ecitizen_verify.verify import verify_archive

ROOT = Path(__file__).resolve().parents[1]
VOTING = ROOT / "frontend" / "js" / "voting"
DRIVER = VOTING / "test" / "run.mjs"

# Per question: 0/1 per answer, the blank flag first on question 2 (blank allowed, 1 to 2
# answers); question 3 is an approval question (0 to 3 answers).
JS_VOTES = [
    [[1, 0], [0, 1, 1, 0], [1, 0, 1]],
    [[0, 1], [1, 0, 0, 0], [0, 0, 0]],  # blank on question 2, nothing approved on question 3
    [[1, 0], [0, 0, 0, 1], [1, 1, 1]],
]


def node_executable() -> str:
    executable = shutil.which("node")
    if executable is None:
        pytest.fail("Node.js 20 is needed (scripts/test installs the front end)")
    if not (ROOT / "frontend" / "node_modules" / "@noble" / "hashes").is_dir():
        pytest.fail("frontend/node_modules is missing: run `npm ci` in frontend/")
    return executable


def node(*operations: dict) -> list[dict]:
    """Run the operations in one Node process; each result is {"ok": …} or {"error": …}."""
    done = subprocess.run(
        [node_executable(), str(DRIVER)],
        input=json.dumps({"ops": list(operations)}).encode(),
        capture_output=True,
        check=False,
        cwd=ROOT / "frontend",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def ok(answer: dict):
    assert "error" not in answer, answer["error"]
    return answer["ok"]


def error(answer: dict) -> str:
    assert "error" in answer, f"JavaScript accepted it: {answer['ok']!r}"[:300]
    return answer["error"]


def python_error(function, *arguments) -> str:
    with pytest.raises(Invalid) as raised:
        function(*arguments)
    return str(raised.value)


@pytest.fixture(scope="module")
def js_election():
    """An election whose first three voters voted in JavaScript and whose fourth voted in
    Python, with a re-vote in JavaScript; counted by the server key and trustees 1 and 2."""
    story = new_story(voters=4)
    election = story.election.raw.decode()
    made = node(
        *(
            {
                "op": "makeBallot",
                "election": election,
                "credential": story.credentials[voter],
                "plaintexts": choices,
            }
            for voter, choices in enumerate(JS_VOTES)
        ),
        {
            "op": "makeBallot",
            "election": election,
            "credential": story.credentials[0],
            "plaintexts": [[0, 1], [0, 0, 1, 0], [0, 1, 0]],
        },
    )
    ballots = [ok(answer) for answer in made]
    for ballot in ballots[:3]:
        story.steps.append(("Ballot", [ballot["ballot"].encode()]))
    story.cast(3, [[1, 0], [0, 1, 0, 0], [0, 0, 1]])
    story.steps.append(("Ballot", [ballots[3]["ballot"].encode()]))
    counts = count(story, pedersen=[1, 2])
    return story, ballots, counts


# --- (a) JavaScript ballots pass the Python checks and belenios-tool ----------------------------


def test_a_javascript_ballot_passes_the_python_checks(js_election):
    story, ballots, _ = js_election
    for made, choices in zip(ballots, [*JS_VOTES, [[0, 1], [0, 0, 1, 0], [0, 1, 0]]], strict=True):
        raw = made["ballot"].encode()
        ballot = check_ballot(story.election, raw)
        assert made["tracker"] == ballot.tracker == fingerprint(raw)
        assert dumps(json.loads(raw)) == raw  # canonical, byte for byte as Python writes it
        value = json.loads(raw)
        assert list(value) == [
            "election_uuid",
            "election_hash",
            "credential",
            "answers",
            "signature",
        ]
        assert list(value["answers"][1]) == [
            "choices",
            "individual_proofs",
            "overall_proof",
            "blank_proof",
        ]
        assert list(value["answers"][0]) == ["choices", "individual_proofs", "overall_proof"]
        # The revealed randomness is what Python's Benaloh check needs, too.
        randomness = [[int(r) for r in row] for row in made["randomness"]]
        assert reencrypt_matches(story.election, ballot, choices, randomness)


def test_an_archive_of_javascript_ballots_passes_belenios_tool(js_election, tmp_path):
    story, _, counts = js_election
    assert counts == [[2, 2], [1, 1, 1, 1], [1, 2, 2]]
    checked = tool_verifies(story.archive(), tmp_path)
    assert checked.returncode == 0, checked.stderr.decode()
    assert b"all checks passed" in checked.stderr
    report = verify_archive(story.archive(), workers=1)
    assert report.result == counts
    assert (report.ballots_cast, report.ballots_counted) == (5, 4)


def test_choices_a_question_refuses_are_refused_as_in_python():
    story = new_story(voters=1, trustees=2)
    election = story.election.raw.decode()
    refused = [
        [[1, 1], [0, 1, 0, 0], [0, 0, 0]],
        [[1, 0], [1, 1, 0, 0], [0, 0, 0]],
        [[1, 0], [0, 2, 0, 0], [0, 0, 0]],
        [[1, 0]],
        [[1, 0], [0, 1, 1, 1], [0, 0, 0]],
    ]
    answers = node(
        *(
            {
                "op": "makeBallot",
                "election": election,
                "credential": story.credentials[0],
                "plaintexts": p,
            }
            for p in refused
        )
    )
    for plaintexts, answer in zip(refused, answers, strict=True):
        expected = python_error(make_ballot, story.election, story.credentials[0], plaintexts)
        assert error(answer) == expected


# --- (b) Python ballots pass the JavaScript checks; altered ones do not ---------------------------


def _altered(raw: bytes, change) -> str:
    value = json.loads(raw)
    change(value)
    return dumps(value).decode()


def test_a_python_ballot_passes_the_javascript_checks_and_altered_ones_do_not():
    story = new_story(voters=2, trustees=2)
    made = make_ballot(story.election, story.credentials[0], [[0, 1], [1, 0, 0, 0], [1, 1, 0]])
    raw = made.raw
    q, p, g = GROUP.q, GROUP.p, GROUP.g

    def alpha(value):
        choice = value["answers"][0]["choices"][0]
        choice["alpha"] = str(GROUP.multiply(int(choice["alpha"]), g))

    def overall(value):
        proof = value["answers"][1]["overall_proof"][0]
        proof["response"] = str((int(proof["response"]) + 1) % q)

    def blank(value):
        proof = value["answers"][1]["blank_proof"][1]
        proof["challenge"] = str((int(proof["challenge"]) + 1) % q)

    def signature(value):
        proof = value["signature"]["proof"]
        proof["challenge"] = str((int(proof["challenge"]) + 1) % q)

    def outside(value):
        value["answers"][2]["choices"][1]["beta"] = str(p - 1)

    def leading_zero(value):
        value["credential"] = "0" + value["credential"]

    def no_blank_proof(value):
        del value["answers"][1]["blank_proof"]

    variants = {
        "alpha": _altered(raw, alpha),
        "overall": _altered(raw, overall),
        "blank": _altered(raw, blank),
        "signature": _altered(raw, signature),
        "outside": _altered(raw, outside),
        "leading zero": _altered(raw, leading_zero),
        "no blank proof": _altered(raw, no_blank_proof),
        "spaces": json.dumps(json.loads(raw)),
        "newline": raw.decode() + "\n",
        "not JSON": "{",
    }
    other = new_story(voters=1, trustees=2)
    election = story.election.raw.decode()
    answers = node(
        {"op": "checkBallot", "election": election, "ballot": raw.decode()},
        {"op": "checkBallot", "election": other.election.raw.decode(), "ballot": raw.decode()},
        *(
            {"op": "checkBallot", "election": election, "ballot": text}
            for text in variants.values()
        ),
    )
    assert ok(answers[0]) == {"tracker": made.tracker, "credential": json.loads(raw)["credential"]}
    assert error(answers[1]) == "the ballot is for another election"
    messages = dict(zip(variants, (error(a) for a in answers[2:]), strict=True))
    for name, text in variants.items():
        # Python words these two differently (its base-10 check lets a leading zero through).
        if name in ("leading zero", "not JSON"):
            continue
        assert messages[name] == python_error(check_ballot, story.election, text.encode()), name
    assert messages["alpha"] == (
        "the answer to question 1: the proof that choice 1 is 0 or 1 does not verify"
    )
    assert "selects between 1 and 2 answers does not verify" in messages["overall"]
    assert "either blank or not" in messages["blank"]
    assert messages["signature"] == "the ballot's signature does not verify with its credential"
    assert messages["outside"] == (
        "the answer to question 3's choice 2's beta is not an element of the group"
    )
    assert messages["leading zero"] == "the ballot's credential is not a number written in base 10"
    assert messages["not JSON"].startswith("the ballot is not valid JSON")


# --- (c) The Benaloh check ----------------------------------------------------------------------


def test_the_benaloh_check_in_javascript(js_election):
    story, ballots, _ = js_election
    election = story.election.raw.decode()
    made = ballots[0]
    wrong_randomness = [list(row) for row in made["randomness"]]
    wrong_randomness[2][0] = str(int(wrong_randomness[2][0]) + 1)
    python_made = make_ballot(story.election, story.credentials[3], JS_VOTES[1])

    def check(ballot, plaintexts, randomness):
        return {
            "op": "reencryptMatches",
            "election": election,
            "ballot": ballot,
            "plaintexts": plaintexts,
            "randomness": randomness,
        }

    answers = node(
        check(made["ballot"], JS_VOTES[0], made["randomness"]),
        check(made["ballot"], [[0, 1], *JS_VOTES[0][1:]], made["randomness"]),
        check(made["ballot"], [JS_VOTES[0][0], [1, 0, 0, 0], JS_VOTES[0][2]], made["randomness"]),
        check(made["ballot"], JS_VOTES[0], wrong_randomness),
        check(made["ballot"], JS_VOTES[0][:2], made["randomness"][:2]),
        check(
            python_made.raw.decode(),
            JS_VOTES[1],
            [[str(r) for r in row] for row in python_made.randomness],
        ),
    )
    assert [ok(a) for a in answers] == [True, False, False, False, False, True]


# --- (d) Credentials ------------------------------------------------------------------------------


def test_credentials_are_derived_and_normalised_as_in_python():
    story = new_story(voters=1, trustees=2)
    credentials = [new_credential() for _ in range(3)]
    typed = [
        credentials[0],
        f"  {credentials[1].replace('-', '')} ",
        credentials[2][:4] + ("2" if credentials[2][4] != "2" else "3") + credentials[2][5:],
        "0OI-lll-lll-lll-lll",
        "abc",
        "",
    ]
    answers = node(
        *({"op": "publicCredential", "uuid": story.uuid, "credential": c} for c in credentials),
        *({"op": "normaliseCredential", "text": t} for t in typed),
        {"op": "newCredential"},
        {"op": "fingerprint", "text": story.election.raw.decode()},
    )
    publics = [ok(a) for a in answers[:3]]
    assert publics == [str(public_credential(GROUP, story.uuid, c)) for c in credentials]
    normalised = [ok(a) for a in answers[3:9]]
    assert normalised == [normalise(t) for t in typed]
    assert normalised[:2] == credentials[:2]
    js_credential = ok(answers[9])
    assert normalise(js_credential) == js_credential
    assert ok(answers[10]) == story.election.fingerprint


def test_json_and_fingerprints_are_written_as_python_writes_them():
    value = {
        "name": 'Élection — تصويت "quoted" \\ back/slash',
        "controls": "\n\t\r\b\f\u0001\u001f\u007f\u2028",
        "numbers": [0, 1, -5, 1073741824],
        "flags": [True, False, None],
        "nested": {"z": [], "a": {}},
    }
    text = value["name"] + "\n" + value["controls"]
    answers = node({"op": "dumps", "value": value}, {"op": "fingerprint", "text": text})
    assert ok(answers[0]).encode() == dumps(value)
    assert ok(answers[1]) == fingerprint(text.encode())


def test_exponentiation_gives_the_numbers_python_does():
    """powMod's fast paths against Python's pow: the table of g and of a parsed election's
    key (4-bit digits, then 8-bit ones after 256 powers), the kept powers of a recurring
    base (also once there are more bases than it keeps), the sliding window for other
    exponents and moduli, and bigint-mod-arith for negative exponents; at each one's edges."""
    rng = random.Random(20260)
    p, q, g = int(GROUP.p), int(GROUP.q), int(GROUP.g)
    y = pow(g, rng.randrange(1, q), p)
    election = election_bytes(
        uuid="AbCdEfGhJkLmNo",
        name="Powers",
        description="",
        group=GROUP,
        public_key=y,
        questions=QUESTIONS,
    ).decode()
    edges = [0, 1, 2, 15, 16, 17, 255, 256, 257, q - 1, q, q + 1, 2**128 - 1, 2**128]
    edges += [2**255, 2**256 - 1, 2**256, 2**256 + 1, 2**300 + 12345, p - 1, p, -1, -(q - 1)]
    element = pow(g, rng.randrange(q), p)
    cases = [(base, e) for base in (g, y, element) for e in edges]
    # Past 256 powers, g's and y's tables are rebuilt with 8-bit digits.
    cases += [(base, rng.randrange(q)) for _ in range(300) for base in (g, y)]
    cases += [(base, e) for base in (g, y, element) for e in edges]
    # More recurring bases than are kept, each raised again after the others.
    bases = [pow(g, rng.randrange(q), p) for _ in range(140)]
    cases += [(base, rng.randrange(q)) for base in bases]
    cases += [(base, e) for base in bases for e in (rng.randrange(q), rng.randrange(2**64), 3)]
    # Bases outside the group or not reduced, small exponents, other moduli.
    others = [0, 1, 2, p - 1, p, p + 5, 2**2100 + 7, rng.randrange(p), -3]
    cases += [(base, e) for base in others for e in (0, 1, 5, rng.randrange(2**40), q, 2**256 + 3)]
    moduli = [q, 2**61 - 1, 2**64, 3**1000, 2, 1]
    tail = [
        (base, e, m) for m in moduli for base in (g, 7, -5, 0) for e in (0, 1, 99, q - 1, 2**257)
    ]
    tail += [(g, -1, q), (7, -(2**200), 2**61 - 1)]
    membership = [1, g, y, element, 0, 2, p - 1, p, p + 1, *bases[:3]]
    answers = node(
        {
            "op": "powMod",
            "election": election,
            "cases": [[str(b), str(e)] for b, e in cases] + [[str(x) for x in c] for c in tail],
        },
        {"op": "isElement", "values": [str(v) for v in membership]},
    )
    expected = [pow(b, e, p) for b, e in cases] + [pow(b, e, m) for b, e, m in tail]
    assert [int(x) for x in ok(answers[0])] == expected
    assert ok(answers[1]) == [GROUP.is_element(v) for v in membership]
    assert ok(answers[1])[:4] == [True] * 4


# --- (e) Threshold key generation with trustees in both languages, and their decryption --------


def test_trustees_in_javascript_and_python_make_a_key_and_decrypt(tmp_path):
    """Trustees 1 and 3 run the JavaScript steps, trustee 2 the Python ones; the server
    does steps 2, 4 and 6 in Python. Trustees 1 and 3 then decrypt in JavaScript."""
    seeds = [ok(a) for a in node({"op": "newSeed"}, {"op": "newSeed"})]
    assert all(len(s) == 22 for s in seeds)
    seeds = [seeds[0], dkg.new_seed(), seeds[1]]
    js = (0, 2)

    answers = node(
        *({"op": "step1Certificate", "seed": seeds[i]} for i in js),
        {"op": "keysFromSeed", "seed": seeds[0]},
    )
    certificates = [ok(answers[0]), dkg.step1_certificate(GROUP, seeds[1]), ok(answers[1])]
    dkg.step2_check_certificates(GROUP, certificates)
    python_keys = dkg.keys_from_seed(GROUP, seeds[0])
    assert ok(answers[2]) == {
        "signing": str(python_keys.signing),
        "verification": str(python_keys.verification),
        "decryption": str(python_keys.decryption),
        "encryption": str(python_keys.encryption),
    }
    python_certificate = dkg.step1_certificate(GROUP, seeds[0])
    assert json.loads(certificates[0])["message"] == json.loads(python_certificate)["message"]

    answers = node(
        *(
            {
                "op": "step3Polynomial",
                "seed": seeds[i],
                "certificates": certificates,
                "threshold": 2,
            }
            for i in js
        )
    )
    polynomials = [
        ok(answers[0]),
        dkg.step3_polynomial(GROUP, seeds[1], certificates, 2),
        ok(answers[1]),
    ]
    vinputs = dkg.step4_vinputs(GROUP, certificates, polynomials)

    swapped = json.loads(vinputs[0])
    swapped["secrets"][0], swapped["secrets"][1] = swapped["secrets"][1], swapped["secrets"][0]
    answers = node(
        *(
            {
                "op": "step5Voutput",
                "seed": seeds[i],
                "certificates": certificates,
                "vinput": vinputs[i],
            }
            for i in js
        ),
        {
            "op": "step5Voutput",
            "seed": seeds[0],
            "certificates": certificates,
            "vinput": json.dumps(swapped),
        },
        {
            "op": "step3Polynomial",
            "seed": dkg.new_seed(),
            "certificates": certificates,
            "threshold": 2,
        },
    )
    assert error(answers[2]) == "a trustee message: the signature does not verify"
    assert error(answers[3]) == "this key file is not one of this election's trustees"
    voutputs = [
        ok(answers[0]),
        dkg.step5_voutput(GROUP, seeds[1], certificates, vinputs[1]),
        ok(answers[1]),
    ]
    parameters, encrypted_keys = dkg.step6_parameters(GROUP, certificates, polynomials, voutputs, 2)

    # An election on these trustees (and the server's own key, owner 1).
    story = new_story(voters=3, trustees=2)
    server_public = key_from_private(GROUP, story.server_key)
    trustees_raw = trustees_bytes([("Single", server_public.to_json()), ("Pedersen", parameters)])
    items = parse_trustees(GROUP, trustees_raw)
    election_raw = election_bytes(
        uuid=story.uuid,
        name="Mixed trustees",
        description="",
        group=GROUP,
        public_key=GROUP.multiply(*(item.sub_key for item in items)),
        questions=QUESTIONS,
    )
    story.election = parse_election(election_raw)
    story.seeds, story.certificates, story.encrypted_keys = seeds, certificates, encrypted_keys
    publics = [int(public_credential(GROUP, story.uuid, c)) for c in story.credentials]
    story.steps = [("Setup", setup_members(election_raw, trustees_raw, credentials_bytes(publics)))]
    story.cast(0, [[1, 0], [0, 1, 0, 0], [1, 1, 0]])
    story.cast(1, [[0, 1], [1, 0, 0, 0], [0, 0, 1]])
    story.cast(2, [[1, 0], [0, 1, 1, 0], [0, 1, 1]])
    story.steps.append(("EndBallots", []))
    counted = last_ballots(story.ballots())
    tally = encrypted_tally(story.election, counted)
    story.steps.append(("EncryptedTally", tally_members(tally_json(tally), len(counted))))

    server_partial = partial_decryption(story.election, tally, story.server_key)
    story.steps.append(("PartialDecryption", partial_members(1, server_partial)))
    election = election_raw.decode()
    bad_tally = json.loads(tally_json(tally))
    bad_tally[0][0]["alpha"] = str(GROUP.p - 1)
    answers = node(
        *(
            {
                "op": "decryptionKey",
                "seed": seeds[i],
                "encryptedKey": encrypted_keys[i],
                "certificates": certificates,
            }
            for i in js
        ),
        {
            "op": "decryptionKey",
            "seed": seeds[0],
            "encryptedKey": encrypted_keys[2],
            "certificates": certificates,
        },
    )
    keys = [int(ok(answers[0])), int(ok(answers[1]))]
    assert keys == [story.trustee_key(1), story.trustee_key(3)]
    assert error(answers[2]).startswith("the encrypted message was not meant for this key")
    answers = node(
        *(
            {
                "op": "partialDecryption",
                "election": election,
                "tally": tally_json(tally).decode(),
                "privateKey": str(key),
            }
            for key in keys
        ),
        {
            "op": "partialDecryption",
            "election": election,
            "tally": json.dumps(bad_tally),
            "privateKey": str(keys[0]),
        },
    )
    assert error(answers[2]) == "the tally of question 1's alpha is not an element of the group"
    partials = {
        1: check_partial_decryption(
            story.election, tally, items[0].keys[0].public_key, json.loads(server_partial), "server"
        )
    }
    for owner, index, answer in ((2, 0, answers[0]), (4, 2, answers[1])):
        raw = ok(answer).encode()
        assert dumps(json.loads(raw)) == raw
        partials[owner] = check_partial_decryption(
            story.election, tally, items[1].keys[index].public_key, json.loads(raw), "js"
        )
        story.steps.append(("PartialDecryption", partial_members(owner, raw)))
    counts = result(story.election, tally, combine(story.election, items, tally, partials), 3)
    assert counts == [[2, 1], [1, 2, 1, 0], [1, 2, 2]]
    story.steps.append(("Result", [result_json(counts)]))
    checked = tool_verifies(story.archive(), tmp_path)
    assert checked.returncode == 0, checked.stderr.decode()
    assert verify_archive(story.archive(), workers=1).result == counts


def test_aes_ccm_is_pythons():
    """The trustees' channel cipher, composed from @noble/ciphers' CBC and CTR modes,
    against `cryptography`'s AESCCM in both directions, with and without associated data
    (the channel itself uses AES-256, a 13-byte nonce and an 8-byte tag, and no data)."""
    shapes = [  # key, nonce, tag, message and associated data sizes in bytes
        (32, 13, 8, 0, 0),
        (32, 13, 8, 1, 0),
        (32, 13, 8, 16, 0),
        (32, 13, 8, 333, 0),
        (16, 7, 4, 17, 5),
        (24, 12, 16, 64, 30),
        (16, 11, 10, 15, 0xFF00 + 3),  # the longer encoding of the data's length
    ]
    operations, expected = [], []
    for key_size, nonce_size, tag, size, aad_size in shapes:
        key, nonce = os.urandom(key_size), os.urandom(nonce_size)
        data, aad = os.urandom(size), os.urandom(aad_size)
        sealed = AESCCM(key, tag_length=tag).encrypt(nonce, data, aad or None)
        tampered = bytearray(sealed)
        tampered[-1] ^= 1
        common = {"key": key.hex(), "nonce": nonce.hex(), "tagLength": tag, "aad": aad.hex()}
        operations += [
            {"op": "ccmEncrypt", "data": data.hex(), **common},
            {"op": "ccmDecrypt", "data": sealed.hex(), **common},
            {"op": "ccmDecrypt", "data": tampered.hex(), **common},
        ]
        expected.append((sealed, data))
    answers = node(*operations)
    for (sealed, data), start in zip(expected, range(0, len(answers), 3), strict=True):
        assert bytes.fromhex(ok(answers[start])) == sealed
        assert bytes.fromhex(ok(answers[start + 1])) == data
        assert "tag does not match" in error(answers[start + 2])


# --- (f) The JavaScript verifier ------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_election():
    """An election made and counted in Python: three voters, one re-vote, the server key
    and trustees 1 and 3 of the 2-of-3 group decrypt."""
    story = new_story(voters=4)
    story.cast(0, [[1, 0], [0, 1, 0, 0], [1, 1, 0]])
    story.cast(1, [[0, 1], [1, 0, 0, 0], [0, 0, 0]])
    story.cast(2, [[1, 0], [0, 0, 1, 1], [1, 1, 1]])
    story.cast(1, [[1, 0], [0, 0, 0, 1], [0, 0, 1]])
    counts = count(story, pedersen=[1, 3])
    return story, counts


def _replace(steps, kind: str, position: int, change) -> list:
    copy = [(k, list(m)) for k, m in steps]
    members = [s for s in copy if s[0] == kind][position][1]
    members[-1] = change(members[-1])
    return copy


def test_the_javascript_verifier_says_what_the_python_one_says(python_election, tmp_path):
    story, counts = python_election
    path = tmp_path / "election.bel"
    path.write_bytes(story.archive())
    report = ok(node({"op": "verifyArchive", "path": str(path)})[0])
    python = verify_archive(story.archive(), workers=1)
    assert report["result"] == python.result == counts == [[3, 0], [0, 1, 1, 2], [2, 2, 2]]
    assert report["lines"] == python.lines
    assert (report["ballotsCast"], report["ballotsCounted"]) == (4, 3)
    assert report["progress"] == [[1, 4], [2, 4], [3, 4], [4, 4]]


def test_the_javascript_verifier_refuses_altered_archives_as_python_does(python_election, tmp_path):
    story, _ = python_election
    q = GROUP.q

    def ballot_alpha(raw: bytes) -> bytes:
        value = json.loads(raw)
        choice = value["answers"][0]["choices"][0]
        choice["alpha"] = str(GROUP.multiply(int(choice["alpha"]), GROUP.g))
        return dumps(value)

    def ballot_signature(raw: bytes) -> bytes:
        value = json.loads(raw)
        proof = value["signature"]["proof"]
        proof["challenge"] = str((int(proof["challenge"]) + 1) % q)
        return dumps(value)

    end = [k for k, _ in story.steps].index("EndBallots")
    late = make_ballot(story.election, story.credentials[3], [[1, 0], [0, 1, 0, 0], [0, 0, 0]])
    archives = {
        "ballot": story.archive(_replace(story.steps, "Ballot", 0, ballot_alpha)),
        "signature": story.archive(_replace(story.steps, "Ballot", 1, ballot_signature)),
        "late ballot": story.archive(
            [*story.steps[: end + 1], ("Ballot", [late.raw]), *story.steps[end + 1 :]]
        ),
        "result": story.archive(
            _replace(story.steps, "Result", 0, lambda raw: raw.replace(b"[3,0]", b"[2,1]"))
        ),
        "cut short": story.archive()[:-600],
        "end blocks": story.archive() + b"\0" * 1024,
    }
    changed_time = bytearray(story.archive())
    changed_time[136:147] = b"%011o" % 12345
    archives["timestamp"] = bytes(changed_time)
    for name, archive in archives.items():
        (tmp_path / f"{name}.bel").write_bytes(archive)
    answers = node(
        *({"op": "verifyArchive", "path": str(tmp_path / f"{name}.bel")} for name in archives)
    )
    for (name, archive), answer in zip(archives.items(), answers, strict=True):
        expected = python_error(lambda a: verify_archive(a, workers=1), archive)
        assert error(answer) == expected, name
    assert error(answers[0]).startswith("ballot 1 (event at height 1): the answer to question 1")
    assert error(answers[3]) == "the published result is not what the partial decryptions give"


def test_the_web_worker_reports_progress_and_its_bundle_works(tmp_path):
    """verify-worker.js as written and as `npm run build` bundles it (esbuild, minified
    ES module for browsers), with a stand-in for the worker's global `self`."""
    story = new_story(voters=2, trustees=2)
    story.cast(0, [[1, 0], [1, 0, 0, 0], [0, 0, 0]])
    story.cast(1, [[0, 1], [0, 1, 0, 0], [0, 1, 0]])
    path = tmp_path / "open.bel"
    path.write_bytes(story.archive())
    (tmp_path / "broken.bel").write_bytes(story.archive()[:-600])
    bundle = tmp_path / "verify-worker.mjs"  # .mjs: an ES module wherever it is
    built = subprocess.run(
        [
            node_executable(),
            str(VOTING / "test" / "bundle.mjs"),
            str(VOTING / "verify-worker.js"),
            str(bundle),
        ],
        capture_output=True,
        check=False,
        cwd=ROOT / "frontend",
    )
    assert built.returncode == 0, built.stderr.decode()
    answers = node(
        {"op": "worker", "path": str(path)},
        {"op": "worker", "path": str(path), "module": bundle.as_uri()},
        {"op": "worker", "path": str(tmp_path / "broken.bel"), "module": bundle.as_uri()},
    )
    python = verify_archive(story.archive(), workers=1)
    for answer in answers[:2]:
        messages = ok(answer)
        assert messages[:2] == [
            {"type": "progress", "done": 1, "total": 2},
            {"type": "progress", "done": 2, "total": 2},
        ]
        assert messages[2] == {
            "type": "done",
            "lines": python.lines,
            "result": None,
            "ballotsCast": 2,
            "ballotsCounted": 2,
        }
    expected = python_error(lambda a: verify_archive(a, workers=1), story.archive()[:-600])
    assert ok(answers[2]) == [{"type": "failed", "message": expected}]

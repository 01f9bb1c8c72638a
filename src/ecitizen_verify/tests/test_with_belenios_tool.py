"""Interoperability with Debian's `belenios-tool` 2.0, both ways: our archives pass its
verifier, its ballots, keys and partial decryptions pass ours, and every alteration is
refused by both."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from ecitizen_verify.ballot import check_ballot, make_ballot
from ecitizen_verify.credentials import public_credential
from ecitizen_verify.election import election_bytes, parse_election
from ecitizen_verify.errors import Invalid
from ecitizen_verify.group import BELENIOS_2048 as GROUP
from ecitizen_verify.record import (
    credentials_bytes,
    partial_members,
    setup_members,
    tally_members,
)
from ecitizen_verify.serial import dumps, fingerprint, sha256_hex
from ecitizen_verify.tally import (
    check_partial_decryption,
    encrypted_tally,
    last_ballots,
    parse_tally,
    partial_decryption,
    tally_json,
)
from ecitizen_verify.trustees import parse_trustees
from ecitizen_verify.verify import verify_archive

from .builders import QUESTIONS, Story, count, new_story, run_tool, tool_verifies

VOTES = [
    [[1, 0], [0, 1, 0, 0], [1, 1, 0]],
    [[0, 1], [0, 1, 1, 0], [0, 0, 0]],
    [[1, 0], [1, 0, 0, 0], [0, 1, 1]],  # blank on question 2
    [[1, 0], [0, 0, 0, 1], [1, 1, 1]],
]


@pytest.fixture(scope="module")
def counted():
    """An election with four voters, one re-vote, counted by the server key and trustees
    1 and 3 of the 2-of-3 group: trustee 2 is missing and k of n still decrypts."""
    story = new_story(voters=5)
    for voter, choices in enumerate(VOTES):
        story.cast(voter, choices)
    story.cast(1, [[1, 0], [0, 0, 1, 0], [0, 0, 1]])  # voter 2 changes their mind
    counts = count(story, pedersen=[1, 3])
    return story, counts


def both_refuse(story: Story, steps, tmp_path, expected: str) -> None:
    """The archive rebuilt from `steps` is refused by belenios-tool and by us."""
    archive = story.archive(steps)
    checked = tool_verifies(archive, tmp_path / "tool")
    assert checked.returncode != 0, "belenios-tool accepted an altered archive"
    with pytest.raises(Invalid, match=expected):
        verify_archive(archive, workers=1)


def replace_member(steps, kind: str, position: int, change) -> list:
    """A copy of `steps` where the last data member of the `position`-th event of `kind`
    is replaced by change(old bytes)."""
    copy = [(k, list(m)) for k, m in steps]
    matching = [s for s in copy if s[0] == kind]
    members = matching[position][1]
    members[-1] = change(members[-1])
    return copy


def test_our_counted_election_passes_both_verifiers(counted, tmp_path):
    story, counts = counted
    archive = story.archive()
    assert counts == [[4, 0], [1, 1, 1, 1], [2, 3, 3]]

    checked = tool_verifies(archive, tmp_path)
    assert checked.returncode == 0, checked.stderr.decode()
    assert b"all checks passed" in checked.stderr

    report = verify_archive(archive, workers=1)
    assert report.result == counts
    assert (report.ballots_cast, report.ballots_counted) == (5, 4)


def test_the_tool_rebuilds_our_archive_byte_for_byte(counted, tmp_path):
    story, _ = counted
    archive = story.archive()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
    made = run_tool("archive", "make", "--dir", str(tmp_path / "extracted"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr.decode()
    assert made.stdout == archive


def test_our_public_credential_is_the_tools(counted, tmp_path):
    story, _ = counted
    derived = run_tool(
        "setup",
        "generate-credentials",
        "--uuid",
        story.uuid,
        "--group",
        "BELENIOS-2048",
        "--derive",
        story.credentials[0],
        cwd=tmp_path,
    )
    assert derived.returncode == 0, derived.stderr.decode()
    ours = public_credential(GROUP, story.uuid, story.credentials[0])
    assert derived.stdout.decode().strip() == str(ours)


def test_a_ballot_made_by_the_tool_is_accepted_and_tracked_alike(tmp_path):
    story = new_story(voters=2)
    (tmp_path / "election.bel").write_bytes(story.archive())
    (tmp_path / "credential").write_text(story.credentials[0] + "\n")
    (tmp_path / "choices.json").write_text("[[0,1],[0,1,0,1],[0,0,1]]")
    made = run_tool(
        "election",
        "generate-ballot",
        "--dir",
        str(tmp_path),
        "--privcred",
        "credential",
        "--ballot",
        "choices.json",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr.decode()
    raw = made.stdout.rstrip(b"\n")

    ballot = check_ballot(story.election, raw)
    assert ballot.tracker == fingerprint(raw)
    story.steps.append(("Ballot", [raw]))
    story.cast(1, [[1, 0], [1, 0, 0, 0], [0, 0, 0]])
    assert count(story, pedersen=[2, 3]) == [[1, 1], [1, 1, 0, 1], [0, 0, 1]]
    assert tool_verifies(story.archive(), tmp_path / "check").returncode == 0
    assert verify_archive(story.archive(), workers=1).result == [[1, 1], [1, 1, 0, 1], [0, 0, 1]]


def test_keys_and_partial_decryptions_made_by_the_tool_work_in_our_election(tmp_path):
    """Trustees who ran `generate-trustee-key-threshold` and `generate-trustee-key`
    themselves: we build the election on their public parameters; their partial
    decryptions, made by the tool, are checked and combined by us."""

    def tool(*arguments, stdin=b""):
        done = run_tool(*arguments, cwd=tmp_path, stdin=stdin)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout

    group = ("--group", "BELENIOS-2048")
    for _ in range(3):
        tool("setup", "generate-trustee-key-threshold", *group, "--step", "1")
    keys = sorted(tmp_path.glob("*.key"))
    certs = b"".join(path.with_suffix(".cert").read_bytes() for path in keys)
    (tmp_path / "certs.jsons").write_bytes(certs)
    common = (*group, "--certs", "certs.jsons")
    polynomials = b"".join(
        tool(
            "setup",
            "generate-trustee-key-threshold",
            *common,
            "--key",
            key.name,
            "--step",
            "3",
            "--threshold",
            "2",
        )
        for key in keys
    )
    (tmp_path / "polynomials.jsons").write_bytes(polynomials)
    tool(
        "setup",
        "generate-trustee-key-threshold",
        *common,
        "--step",
        "4",
        "--polynomials",
        "polynomials.jsons",
    )
    voutputs = b"".join(
        tool(
            "setup",
            "generate-trustee-key-threshold",
            *common,
            "--key",
            key.name,
            "--step",
            "5",
            stdin=key.with_suffix(".vinput").read_bytes(),
        )
        for key in keys
    )
    threshold = tool(
        "setup",
        "generate-trustee-key-threshold",
        *common,
        "--step",
        "6",
        "--polynomials",
        "polynomials.jsons",
        stdin=voutputs,
    )
    tool("setup", "generate-trustee-key", *group)
    server_public = json.loads(next(tmp_path.glob("*.pubkey")).read_bytes())
    trustees_raw = dumps([["Single", server_public], ["Pedersen", json.loads(threshold)]])

    story = new_story(voters=3)
    items = parse_trustees(GROUP, trustees_raw)
    election_raw = election_bytes(
        uuid=story.uuid,
        name="Tool trustees",
        description="",
        group=GROUP,
        public_key=GROUP.multiply(*(item.sub_key for item in items)),
        questions=QUESTIONS,
    )
    story.election = parse_election(election_raw)
    publics = [int(public_credential(GROUP, story.uuid, c)) for c in story.credentials]
    story.steps = [("Setup", setup_members(election_raw, trustees_raw, credentials_bytes(publics)))]
    story.cast(0, VOTES[0])
    story.cast(1, VOTES[1])
    story.cast(2, VOTES[2])
    story.steps.append(("EndBallots", []))
    counted_ballots = last_ballots(story.ballots())
    tally = encrypted_tally(story.election, counted_ballots)
    story.steps.append(("EncryptedTally", tally_members(tally_json(tally), 3)))
    (tmp_path / "election.bel").write_bytes(story.archive())

    privkey = next(tmp_path.glob("*.privkey")).name
    lines = tool("election", "decrypt", "--dir", ".", "--privkey", privkey, "--trustee-id", "1")
    shares = [lines.splitlines()[0]]
    story.steps.append(("PartialDecryption", lines.splitlines()))
    # Trustees 1 and 3 of the threshold group (owners 2 and 4) decrypt; trustee 2 is missing.
    for owner, key in ((2, keys[0]), (4, keys[2])):
        (tmp_path / "election.bel").write_bytes(story.archive())
        lines = tool(
            "election",
            "decrypt-threshold",
            "--dir",
            ".",
            "--key",
            key.name,
            "--decryption-key",
            key.with_suffix(".dkey").name,
            "--trustee-id",
            str(owner),
        )
        story.steps.append(("PartialDecryption", lines.splitlines()))
        shares.append(lines.splitlines()[0])

    owners_keys = [items[0].keys[0], items[1].keys[0], items[1].keys[2]]
    for raw_share, key in zip(shares, owners_keys, strict=True):
        check_partial_decryption(story.election, tally, key.public_key, json.loads(raw_share), "t")
    (tmp_path / "election.bel").write_bytes(story.archive())
    result = tool("election", "compute-result", "--dir", ".").rstrip(b"\n")
    story.steps.append(("Result", [result]))
    report = verify_archive(story.archive(), workers=1)
    assert report.result == json.loads(result)["result"] == [[2, 1], [1, 2, 1, 0], [1, 2, 1]]
    assert tool_verifies(story.archive(), tmp_path / "check").returncode == 0
    # Our own partial decryption of that tally, with the tool's server key, checks too.
    server_x = int(json.loads(next(tmp_path.glob("*.privkey")).read_bytes()))
    ours = json.loads(partial_decryption(story.election, tally, server_x))
    check_partial_decryption(story.election, tally, items[0].keys[0].public_key, ours, "us")


# --- Alterations: each is refused by both verifiers -------------------------------------------


def _flip_last_digit(text: str) -> str:
    return text[:-1] + ("1" if text[-1] != "1" else "2")


def test_an_altered_ballot_is_refused(counted, tmp_path):
    story, _ = counted

    def alter(raw: bytes) -> bytes:
        ballot = json.loads(raw)
        choice = ballot["answers"][0]["choices"][0]
        choice["alpha"] = str(GROUP.multiply(int(choice["alpha"]), GROUP.g))
        return dumps(ballot)

    steps = replace_member(story.steps, "Ballot", 0, alter)
    both_refuse(story, steps, tmp_path, "ballot 1")


def test_an_altered_proof_is_refused(counted, tmp_path):
    story, _ = counted

    def alter(raw: bytes) -> bytes:
        ballot = json.loads(raw)
        proof = ballot["answers"][1]["overall_proof"][0]
        proof["response"] = str((int(proof["response"]) + 1) % GROUP.q)
        return dumps(ballot)

    steps = replace_member(story.steps, "Ballot", 2, alter)
    both_refuse(story, steps, tmp_path, "ballot 3.*question 2")


def test_a_ballot_with_a_bad_signature_is_refused(counted, tmp_path):
    story, _ = counted

    def alter(raw: bytes) -> bytes:
        ballot = json.loads(raw)
        signature = ballot["signature"]["proof"]
        signature["challenge"] = str((int(signature["challenge"]) + 1) % GROUP.q)
        return dumps(ballot)

    steps = replace_member(story.steps, "Ballot", 1, alter)
    both_refuse(story, steps, tmp_path, "signature does not verify")


def test_a_credential_listed_twice_is_refused(counted, tmp_path):
    story, _ = counted
    setup = list(story.steps[0][1])
    credentials = json.loads(setup[2])
    setup[2] = dumps([*credentials, credentials[0]])
    setup[3] = dumps(
        {
            "election": sha256_hex(setup[0]),
            "trustees": sha256_hex(setup[1]),
            "credentials": sha256_hex(setup[2]),
        }
    )
    steps = [("Setup", setup), *story.steps[1:]]
    both_refuse(story, steps, tmp_path, "appears twice")


def test_a_ballot_after_the_close_is_refused(counted, tmp_path):
    story, _ = counted
    late = make_ballot(story.election, story.credentials[4], VOTES[0]).raw
    end = [k for k, _ in story.steps].index("EndBallots")
    steps = [*story.steps[: end + 1], ("Ballot", [late]), *story.steps[end + 1 :]]
    both_refuse(story, steps, tmp_path, "after the end of voting")


def test_a_wrong_partial_decryption_is_refused(counted, tmp_path):
    """Trustee 3 of the group (owner 4) publishes factors made with another key."""
    story, _ = counted
    tally_step = next(m for k, m in story.steps if k == "EncryptedTally")
    tally = parse_tally(story.election, json.loads(tally_step[0]))
    wrong = partial_decryption(story.election, tally, story.trustee_key(2))
    steps = [(k, list(m)) for k, m in story.steps]
    position = [i for i, (k, m) in enumerate(steps) if k == "PartialDecryption"][-1]
    steps[position] = ("PartialDecryption", partial_members(4, wrong))
    both_refuse(story, steps, tmp_path, "trustee 4's partial decryption")


def test_an_altered_result_is_refused(counted, tmp_path):
    story, _ = counted
    steps = replace_member(story.steps, "Result", 0, lambda raw: raw.replace(b"[4,0]", b"[3,1]"))
    both_refuse(story, steps, tmp_path, "published result")

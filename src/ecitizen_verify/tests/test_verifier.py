"""The verifier package on its own: credentials, ballots, the Benaloh check, archives and
the command line, without belenios-tool and without Django."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecitizen_verify.__main__ import main
from ecitizen_verify.archive import read_archive
from ecitizen_verify.ballot import check_ballot, make_ballot, reencrypt_matches
from ecitizen_verify.credentials import new_credential, normalise
from ecitizen_verify.errors import Invalid
from ecitizen_verify.serial import BASE58, dumps

from .builders import count, new_story

BALLOT_KEYS = [
    "election_uuid",
    "election_hash",
    "credential",
    "answers",
    "signature",
    "choices",
    "individual_proofs",
    "overall_proof",
    "blank_proof",
    "alpha",
    "beta",
    "challenge",
    "response",
    "hash",
    "proof",
]


@pytest.fixture(scope="module")
def story():
    return new_story(voters=3)


def test_a_credential_has_a_check_character_that_catches_typing_mistakes():
    credential = new_credential()
    assert len(credential) == 19
    assert credential.count("-") == 4
    assert normalise(credential) == credential
    assert normalise(f"  {credential.replace('-', '')} ") == credential
    # A character mistyped as its neighbour in the alphabet. The check character (the
    # value mod 53, as Belenios's) catches every change of one character but by 53 places
    # (a "2" typed for a "w"): a fixed "2" typed instead failed one credential in 58.
    typed = BASE58[(BASE58.index(credential[4]) + 1) % len(BASE58)]
    typo = credential[:4] + typed + credential[5:]
    assert normalise(typo) is None
    assert normalise("0OI-lll-lll-lll-lll") is None  # characters outside Base58
    assert normalise("abc") is None


def test_choices_a_question_refuses_are_refused_before_encryption(story):
    with pytest.raises(Invalid, match="between 1 and 1"):
        make_ballot(story.election, story.credentials[0], [[1, 1], [0, 1, 0, 0], [0, 0, 0]])
    with pytest.raises(Invalid, match="blank vote"):
        make_ballot(story.election, story.credentials[0], [[1, 0], [1, 1, 0, 0], [0, 0, 0]])
    with pytest.raises(Invalid, match="zeros or ones"):
        make_ballot(story.election, story.credentials[0], [[1, 0], [0, 2, 0, 0], [0, 0, 0]])
    with pytest.raises(Invalid, match="needs 3 answers"):
        make_ballot(story.election, story.credentials[0], [[1, 0]])


def test_the_benaloh_check_shows_the_ballot_says_what_was_chosen(story):
    choices = [[0, 1], [0, 0, 1, 1], [1, 0, 1]]
    made = make_ballot(story.election, story.credentials[0], choices)
    ballot = check_ballot(story.election, made.raw)
    assert reencrypt_matches(story.election, ballot, choices, made.randomness)
    other = [[1, 0], [0, 0, 1, 1], [1, 0, 1]]
    assert not reencrypt_matches(story.election, ballot, other, made.randomness)


def test_a_ballot_not_in_canonical_form_or_for_another_election_is_refused(story):
    raw = make_ballot(story.election, story.credentials[0], [[1, 0], [1, 0, 0, 0], [0, 0, 0]]).raw
    with pytest.raises(Invalid, match="canonical form"):
        check_ballot(story.election, raw + b"\n")
    with pytest.raises(Invalid, match="canonical form"):
        check_ballot(story.election, json.dumps(json.loads(raw)).encode())
    other = new_story(voters=1)
    with pytest.raises(Invalid, match="another election"):
        check_ballot(other.election, raw)
    with pytest.raises(Invalid, match="not valid JSON"):
        check_ballot(story.election, b"{")
    reordered = json.loads(raw)
    reordered = {"credential": reordered.pop("credential"), **reordered}
    with pytest.raises(Invalid, match="in that order"):
        check_ballot(story.election, dumps(reordered))


def test_an_element_outside_the_group_is_refused(story):
    raw = make_ballot(story.election, story.credentials[0], [[1, 0], [1, 0, 0, 0], [0, 0, 0]]).raw
    ballot = json.loads(raw)
    # p − 1 has order 2: it is not in the subgroup of order q.
    ballot["answers"][0]["choices"][0]["alpha"] = str(story.election.group.p - 1)
    with pytest.raises(Invalid, match="not an element of the group"):
        check_ballot(story.election, dumps(ballot))


def test_a_threshold_group_short_of_trustees_cannot_decrypt():
    story = new_story(voters=2)
    story.cast(0, [[1, 0], [1, 0, 0, 0], [0, 0, 0]])
    with pytest.raises(Invalid, match="only 1 of the 2 partial decryptions"):
        count(story, pedersen=[2])


def test_archives_that_are_not_what_belenios_writes_are_refused(story):
    archive = story.archive()
    assert read_archive(archive).events[0].type == "Setup"
    with pytest.raises(Invalid, match="end-of-archive"):
        read_archive(archive + b"\0" * 1024)
    with pytest.raises(Invalid, match="BELENIOS header"):
        read_archive(archive[512 + 512 :])
    changed_time = bytearray(archive)
    changed_time[136:147] = b"%011o" % 12345
    with pytest.raises(Invalid):
        read_archive(bytes(changed_time))


def test_the_command_line_says_what_it_checked(tmp_path, capsys):
    story = new_story(voters=2)
    story.cast(0, [[1, 0], [1, 0, 0, 0], [0, 0, 0]])
    story.cast(1, [[0, 1], [0, 0, 1, 0], [1, 0, 0]])
    count(story, pedersen=[1, 2])
    (tmp_path / "e.bel").write_bytes(story.archive())
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 ballots" in out
    assert "the result [[1, 1], [1, 0, 1, 0], [1, 0, 0]]" in out
    assert out.endswith("all checks passed\n")

    (tmp_path / "e.bel").write_bytes(story.archive()[:-600])
    assert main([str(tmp_path / "e.bel")]) == 1
    assert capsys.readouterr().err.startswith("FAILED: ")


def test_the_package_does_not_import_django():
    code = (
        "import sys, ecitizen_verify.verify, ecitizen_verify.threshold, "
        "ecitizen_verify.__main__; "
        "sys.exit(any(m == 'django' or m.startswith(('django.', 'ecitizen.')) "
        "for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False)  # noqa: S603
    assert done.returncode == 0


def test_numbers_must_be_written_as_belenios_writes_them():
    from ecitizen_verify.serial import number

    assert number("0", "x") == 0
    assert number("120", "x") == 120
    for wrong in ("0123", "0abc", "0x12", "-1", "1.0", "", 12):
        with pytest.raises(Invalid, match="base 10"):
            number(wrong, "x")


@settings(max_examples=60, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.sampled_from(BALLOT_KEYS), children, max_size=5)
        ),
        max_leaves=30,
    )
)
def test_any_json_is_refused_with_invalid_never_another_error(story, value):
    """Whatever a client posts as a ballot, the check answers Invalid (a clear message),
    never another exception (a server error)."""
    with pytest.raises(Invalid):
        check_ballot(story.election, json.dumps(value, separators=(",", ":")).encode())


def test_a_ballot_nested_too_deeply_is_refused(story):
    with pytest.raises(Invalid, match="nested too deeply"):
        check_ballot(story.election, b"[" * 100_000 + b"]" * 100_000)

"""Elections made end to end with this package, and `belenios-tool` run on them.

The test set-up installs Debian's `belenios-tool` 2.0 (scripts/lib/setup.sh); these
helpers fail, rather than skip, when it is missing, since it is what proves the archives
are Belenios archives.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ecitizen_verify import threshold as dkg
from ecitizen_verify.archive import ArchiveWriter, write_archive
from ecitizen_verify.ballot import check_ballot, make_ballot
from ecitizen_verify.credentials import new_credential, new_uuid, public_credential
from ecitizen_verify.election import Election, Question, election_bytes, parse_election
from ecitizen_verify.group import BELENIOS_2048 as GROUP
from ecitizen_verify.record import credentials_bytes, partial_members, setup_members, tally_members
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
from ecitizen_verify.trustees import (
    new_trustee_key,
    parse_trustees,
    trustees_bytes,
)

TIMESTAMP = 1796330893
QUESTIONS = [
    Question("Car-free Sundays on the High Street?", ("Yes", "No"), 1, 1, False),
    Question("Which streets first?", ("High Street", "Mill Lane", "Quay"), 1, 2, True),
    Question("Which days could you help?", ("Saturday", "Sunday", "Monday"), 0, 3, False),
]


def belenios_tool() -> str:
    path = shutil.which("belenios-tool")
    if path is None:
        pytest.fail("belenios-tool is needed (Debian's package; scripts/test installs it)")
    return path


def run_tool(*arguments: str, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Run belenios-tool; the result's returncode, stdout and stderr are for the test."""
    return subprocess.run(  # noqa: S603 - the Debian tool, with arguments the tests chose
        [belenios_tool(), *arguments],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
        env={"BELENIOS_USE_URANDOM": "1", "PATH": "/usr/bin:/bin"},
    )


def tool_verifies(archive: bytes, folder: Path) -> subprocess.CompletedProcess:
    """`belenios-tool election verify --dir` on the archive, alone in a fresh folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.bel"):
        old.unlink()
    (folder / "election.bel").write_bytes(archive)
    return run_tool("election", "verify", "--dir", str(folder), cwd=folder)


@dataclass
class Story:
    """An election in the making: the steps of its archive (event type and data members),
    from which variants are rebuilt with something altered."""

    uuid: str
    election: Election
    credentials: list[str]
    server_key: int
    seeds: list[str]
    certificates: list[str]
    encrypted_keys: list[str]
    steps: list[tuple[str, list[bytes]]] = field(default_factory=list)

    def archive(self, steps: list[tuple[str, list[bytes]]] | None = None) -> bytes:
        writer = ArchiveWriter()
        for kind, members in steps if steps is not None else self.steps:
            writer.add(kind, *members)
        return write_archive(TIMESTAMP, writer.members)

    def cast(self, voter: int, choices: list[list[int]]) -> bytes:
        raw = make_ballot(self.election, self.credentials[voter], choices).raw
        self.steps.append(("Ballot", [raw]))
        return raw

    def ballots(self):
        return [check_ballot(self.election, m[0]) for kind, m in self.steps if kind == "Ballot"]

    def trustee_key(self, index: int) -> int:
        """Pedersen trustee `index` (from 1)'s decryption key, from their seed and file."""
        return int(
            dkg.decryption_key(
                GROUP, self.seeds[index - 1], self.encrypted_keys[index - 1], self.certificates
            )
        )


def new_story(*, voters: int = 6, trustees: int = 3, threshold: int = 2) -> Story:
    """An election whose trustees are the server's key (owner 1) and a threshold group
    (owners 2…) made by this package's key generation; voting still open."""
    uuid = new_uuid()
    server_key, server_public = new_trustee_key(GROUP)
    seeds = [dkg.new_seed() for _ in range(trustees)]
    certificates = [dkg.step1_certificate(GROUP, seed) for seed in seeds]
    polynomials = [dkg.step3_polynomial(GROUP, s, certificates, threshold) for s in seeds]
    vinputs = dkg.step4_vinputs(GROUP, certificates, polynomials)
    voutputs = [
        dkg.step5_voutput(GROUP, s, certificates, v) for s, v in zip(seeds, vinputs, strict=True)
    ]
    parameters, encrypted_keys = dkg.step6_parameters(
        GROUP, certificates, polynomials, voutputs, threshold
    )
    trustees_raw = trustees_bytes([("Single", server_public.to_json()), ("Pedersen", parameters)])
    items = parse_trustees(GROUP, trustees_raw)
    public_key = GROUP.multiply(*(item.sub_key for item in items))
    election_raw = election_bytes(
        uuid=uuid,
        name="Car-free Sundays",
        description="A referendum of Riverton.",
        group=GROUP,
        public_key=public_key,
        questions=QUESTIONS,
        administrator="Riverton Electoral Office",
        credential_authority="Riverton Returning Officer",
    )
    credentials = [new_credential() for _ in range(voters)]
    publics = [int(public_credential(GROUP, uuid, c)) for c in credentials]
    story = Story(
        uuid,
        parse_election(election_raw),
        credentials,
        int(server_key),
        seeds,
        certificates,
        encrypted_keys,
    )
    story.steps.append(
        ("Setup", setup_members(election_raw, trustees_raw, credentials_bytes(publics)))
    )
    return story


def count(story: Story, pedersen: list[int]) -> list[list[int]]:
    """Close voting, tally, decrypt with the server key and the given Pedersen trustees
    (numbers from 1), and publish the result; return it."""
    election = story.election
    counted = last_ballots(story.ballots())
    tally = encrypted_tally(election, counted)
    story.steps.append(("EndBallots", []))
    story.steps.append(("EncryptedTally", tally_members(tally_json(tally), len(counted))))
    items = parse_trustees(GROUP, story.steps[0][1][1])
    partials = {}
    shares = [(1, story.server_key)] + [(1 + i, story.trustee_key(i)) for i in pedersen]
    for owner, key in shares:
        raw = partial_decryption(election, tally, key)
        story.steps.append(("PartialDecryption", partial_members(owner, raw)))
        partials[owner] = check_partial_decryption(
            election, tally, GROUP.g_power(key), json.loads(raw), f"trustee {owner}"
        )
    counts = result(election, tally, combine(election, items, tally, partials), len(counted))
    story.steps.append(("Result", [result_json(counts)]))
    return counts

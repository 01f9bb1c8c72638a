"""Trustees who use belenios-tool instead of the browser: their key ceremony steps
(``setup generate-trustee-key-threshold`` steps 1, 3 and 5) go through the platform's
ceremony services, and their partial decryptions (``election decrypt-threshold``) through
its tally service; the election's archive then passes the tool's verifier."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from ecitizen.voting.models import Voter
from ecitizen.voting.services import ceremony, counting, credentials, elections
from ecitizen.voting.services.record import archive_write
from ecitizen_verify.tests.builders import run_tool

from .world import make_world

pytestmark = pytest.mark.django_db
GROUP = ("--group", "BELENIOS-2048")


def _tool(folder: Path, *arguments: str, stdin: bytes = b"") -> bytes:
    done = run_tool(*arguments, cwd=folder, stdin=stdin)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_trustees_with_belenios_tool_make_the_key_and_decrypt(
    election_administrator, credential_authority, department, tmp_path
):
    world = make_world(election_administrator, credential_authority, department, open_now=False)
    election = world.election
    elections.election_freeze(election=election, actor=election_administrator)
    trustees = list(election.trustees.order_by("position"))
    homes = []
    for trustee in trustees:  # step 1, each on their own computer
        home = tmp_path / f"trustee{trustee.position}"
        home.mkdir()
        _tool(home, "setup", "generate-trustee-key-threshold", *GROUP, "--step", "1")
        ceremony.trustee_certificate_submit(
            trustee=trustee,
            certificate=next(home.glob("*.cert")).read_text().strip(),
            actor=trustee.user,
        )
        homes.append(home)
    certs = "".join(f"{c}\n" for c in ceremony.certificates_of(election))
    for trustee, home in zip(trustees, homes, strict=True):  # step 3
        (home / "certs.jsons").write_text(certs)
        key = next(home.glob("*.key")).name
        polynomial = _tool(
            home,
            "setup",
            "generate-trustee-key-threshold",
            *GROUP,
            "--certs",
            "certs.jsons",
            "--key",
            key,
            "--step",
            "3",
            "--threshold",
            str(election.threshold),
        )
        ceremony.trustee_polynomial_submit(
            trustee=trustee, polynomial=polynomial.decode().strip(), actor=trustee.user
        )
    for trustee, home in zip(trustees, homes, strict=True):  # step 5
        trustee.refresh_from_db()
        key = next(home.glob("*.key")).name
        voutput = _tool(
            home,
            "setup",
            "generate-trustee-key-threshold",
            *GROUP,
            "--certs",
            "certs.jsons",
            "--key",
            key,
            "--step",
            "5",
            stdin=trustee.vinput.encode(),
        )
        ceremony.trustee_voutput_submit(
            trustee=trustee, voutput=voutput.decode().strip(), actor=trustee.user
        )
    election.refresh_from_db()
    assert election.threshold_parameters

    issued: list[str] = []

    def keep() -> str:
        issued.append(credentials.reproducible_credentials(f"tool:{len(issued)}")())
        return issued[-1]

    credentials.credentials_issue(election=election, actor=credential_authority, make=keep)
    voters = Voter.objects.filter(election=election).order_by("pk")
    world.keys = {voter.email: credential for voter, credential in zip(voters, issued, strict=True)}
    elections.election_open(election=election, actor=election_administrator)
    world.refresh()
    world.cast(world.voters[0], [[0, 1, 0], [1, 0, 1]])
    world.cast(world.voters[1], [[0, 0, 1], [0, 1, 0]])
    with time_machine.travel(election.closes_at + timedelta(minutes=1)):
        counting.election_close(election=election, actor=election_administrator)

    # Trustees 1 and 3 decrypt with the tool, on the archive as it stands.
    for position in (1, 3):
        trustee = next(t for t in trustees if t.position == position)
        trustee.refresh_from_db()
        home = homes[position - 1]
        for old in home.glob("*.bel"):
            old.unlink()
        archive_write(slug=election.slug, folder=home)
        (home / "mine.dkey").write_text(trustee.encrypted_key)
        lines = (
            _tool(
                home,
                "election",
                "decrypt-threshold",
                "--dir",
                str(home),
                "--key",
                next(home.glob("*.key")).name,
                "--decryption-key",
                "mine.dkey",
                "--trustee-id",
                str(trustee.owner),
            )
            .decode()
            .splitlines()
        )
        counting.trustee_decryption_submit(trustee=trustee, partial=lines[0], actor=trustee.user)
    counting.result_publish(election=election, actor=election_administrator)
    election = world.refresh()
    assert election.result == [[0, 1, 1], [1, 1, 1]]
    check = tmp_path / "check"
    archive_write(slug=election.slug, folder=check)
    verified = run_tool("election", "verify", "--dir", str(check), cwd=check)
    assert verified.returncode == 0, verified.stderr.decode()

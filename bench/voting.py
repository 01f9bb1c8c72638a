"""How fast is a verifiable election: N ballots (default 10,000) cast through the service,
the ballot box closed and decrypted, and the whole archive verified by ecitizen-verify
and by belenios-tool (Debian's 2.0) on the same archive, in the same run.

An election of two questions (yes / no; two of three streets, blank allowed: five
ciphertexts per ballot, the shape docs/adr/0020 measured belenios-tool on) is made through
the voting services on a throwaway database, with three trustees (two needed) whose key
ceremony runs in Python as their browsers would. Then:

1. **the floor**: one exponentiation g^x mod p (256-bit x, GMP) as every proof check needs
   several, timed N times: the ratio of each figure to it compares between machines;
2. **making** N ballots as voters' browsers would (in Python, on every core: not the
   platform's work, not compared);
3. **casting** them one by one through ``services.ballots.ballot_cast`` (each checked in
   full: canonical form, every proof, the signature, the credential; then appended to the
   archive in its own transaction), as voters' requests do: ballots per second;
4. **closing** (the encrypted tally of the counted ballots and the server's partial
   decryption), two trustees' partial decryptions checked by the service, and the result;
5. **verifying** the archive written by ``ecitizen voting archive``: ``ecitizen-verify``
   on every core and ``belenios-tool election verify`` (single-threaded), and their ratio.
   The goal is a ratio below 1: ecitizen faster than the tool.

Wall-clock and CPU seconds are printed with the load average; nothing here asserts.

    python bench/voting.py [--ballots 10000] [--workers 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/voting.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench.open311 import run_in_throwaway_database
from bench.timing import Clock, load_average, say

QUESTIONS = [
    ("Car-free Sundays on the High Street?", ["Yes", "No"], 1, 1, False),
    ("Which streets first?", ["High Street", "Mill Lane", "Quay"], 1, 2, True),
]
CHOICES = [
    [[1, 0], [0, 1, 0, 0]],
    [[0, 1], [0, 1, 1, 0]],
    [[1, 0], [1, 0, 0, 0]],
    [[1, 0], [0, 0, 1, 1]],
]

_election = None


def _start(election_raw: bytes) -> None:
    global _election  # noqa: PLW0603 - one parsed election per worker process
    from ecitizen_verify.election import parse_election

    _election = parse_election(election_raw)


def _make(job: tuple[int, str]) -> bytes:
    from ecitizen_verify.ballot import make_ballot

    number, credential = job
    return make_ballot(_election, credential, CHOICES[number % len(CHOICES)]).raw


def floor(count: int) -> Clock:
    import gmpy2

    from ecitizen_verify.group import BELENIOS_2048

    group = BELENIOS_2048

    exponents = [group.random_exponent() for _ in range(count)]
    base = group.multiply(group.g, group.g)  # not g: g's powers come from a table
    with Clock() as clock:
        for exponent in exponents:
            gmpy2.powmod(base, exponent, group.p)
    return clock


def _prepared(n: int):
    """The election set up through the services, its key made, its credentials issued
    (kept, as voters' emails would hold them) and opened; with its trustees' seeds."""
    from django.utils import timezone

    from ecitizen.accounts.models import Department, RoleAssignment, User
    from ecitizen.voting.models import Election
    from ecitizen.voting.services import ceremony, credentials, elections
    from ecitizen.voting.services.common import GROUP
    from ecitizen_verify import threshold as dkg

    department = Department.objects.create(slug="bench", name="Bench")
    administrator = User.objects.create_user(email="admin@bench.test", password=None)
    authority = User.objects.create_user(email="authority@bench.test", password=None)
    for user, role in (
        (administrator, "election_administrator"),
        (authority, "credential_authority"),
    ):
        RoleAssignment.objects.create(user=user, role=role, department=department)
    keepers = [
        User.objects.create_user(email=f"trustee{i}@bench.test", password=None) for i in range(3)
    ]
    now = timezone.now()
    election = elections.election_create(
        actor=administrator,
        slug="bench",
        title="Bench referendum",
        description="",
        department_id=department.pk,
        ward_id=None,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        threshold=2,
        voters_from=Election.Voters.LIST,
        process_id=None,
        credentials=Election.Credentials.PLATFORM,
        credential_authority=authority,
        translations={},
    )
    questions = [elections.QuestionInput(t, a, lo, hi, b, {}) for t, a, lo, hi, b in QUESTIONS]
    elections.questions_set(election=election, questions=questions, actor=administrator)
    emails = [f"voter{i}@bench.test" for i in range(n)]
    elections.voters_upload(election=election, emails=emails, actor=administrator)
    named = [(f"Trustee {i}", user) for i, user in enumerate(keepers, 1)]
    elections.trustees_set(election=election, trustees=named, actor=administrator)
    elections.election_freeze(election=election, actor=administrator)
    trustees = list(election.trustees.order_by("position"))
    seeds = [dkg.new_seed() for _ in trustees]
    for trustee, seed in zip(trustees, seeds, strict=True):
        certificate = dkg.step1_certificate(GROUP, seed)
        ceremony.trustee_certificate_submit(trustee=trustee, certificate=certificate, actor=None)
    certificates = ceremony.certificates_of(election)
    for trustee, seed in zip(trustees, seeds, strict=True):
        polynomial = dkg.step3_polynomial(GROUP, seed, certificates, 2)
        ceremony.trustee_polynomial_submit(trustee=trustee, polynomial=polynomial, actor=None)
    for trustee, seed in zip(trustees, seeds, strict=True):
        trustee.refresh_from_db()
        voutput = dkg.step5_voutput(GROUP, seed, certificates, trustee.vinput)
        ceremony.trustee_voutput_submit(trustee=trustee, voutput=voutput, actor=None)
    issued: list[str] = []

    def keep() -> str:
        issued.append(credentials.new_credential())
        return issued[-1]

    with Clock() as clock:
        credentials.credentials_issue(election=election, actor=authority, make=keep)
    say(f"credentials: {n:,} issued in {clock.wall:.1f} s")
    elections.election_open(election=election, actor=administrator)
    election.refresh_from_db()
    return election, issued, seeds


def _count(election, seeds: list[str]) -> None:
    """Close, two trustees decrypt (checked by the service), publish."""
    import json

    from django.utils import timezone

    from ecitizen.voting.models import Election
    from ecitizen.voting.services import ceremony, counting
    from ecitizen.voting.services.common import GROUP, election_bytes_of
    from ecitizen_verify import threshold as dkg
    from ecitizen_verify.election import parse_election
    from ecitizen_verify.tally import parse_tally, partial_decryption

    Election.objects.filter(pk=election.pk).update(closes_at=timezone.now())
    election.refresh_from_db()
    with Clock() as closing:
        counting.election_close(election=election, actor=election.administrator)
    say(f"closing (the tally and the server's partial decryption): {closing.wall:.1f} s")
    protocol = parse_election(election_bytes_of(election))
    tally = parse_tally(protocol, json.loads(counting.tally_of(election)))
    certificates = ceremony.certificates_of(election)
    with Clock() as decrypting:
        for trustee in list(election.trustees.order_by("position"))[:2]:
            seed = seeds[trustee.position - 1]
            key = dkg.decryption_key(GROUP, seed, trustee.encrypted_key, certificates)
            partial = partial_decryption(protocol, tally, int(key)).decode()
            counting.trustee_decryption_submit(trustee=trustee, partial=partial, actor=None)
        counting.result_publish(election=election, actor=election.administrator)
    election.refresh_from_db()
    say(
        f"two trustees' decryptions checked and the result published: "
        f"{decrypting.wall:.2f} s; result {election.result}"
    )


def _verify(election, n: int, base: Clock, workers: int) -> None:
    """ecitizen-verify and belenios-tool on the archive ``ecitizen voting archive`` writes."""
    from ecitizen.voting.services.record import archive_write
    from ecitizen_verify.verify import verify_archive

    folder = Path(tempfile.mkdtemp(prefix="ecitizen-bench-archive-"))
    try:
        path, size = archive_write(slug=election.slug, folder=folder)
        say(f"archive: {size / 1e6:,.1f} MB")
        with Clock() as ours:
            report = verify_archive(path.read_bytes(), workers=workers)
        say(
            f"ecitizen-verify ({workers} processes): {ours.wall:.1f} s "
            f"({ours.wall / n * 1000:.2f} ms a ballot, {ours.wall / base.wall:,.1f} x the floor);"
            f" result {report.result}; {load_average()}"
        )
        tool = shutil.which("belenios-tool")
        if tool is None:
            say("belenios-tool: not installed (scripts/test installs it): no ratio")
            return
        with Clock() as theirs:
            done = subprocess.run(  # noqa: S603 - Debian's tool on our own archive
                [tool, "election", "verify", "--dir", str(folder)],
                capture_output=True,
                check=False,
            )
        verdict = "passed" if done.returncode == 0 else f"FAILED: {done.stderr.decode().strip()}"
        say(
            f"belenios-tool election verify: {theirs.wall:.1f} s ({theirs.wall / n * 1000:.2f} "
            f"ms a ballot, {theirs.wall / base.wall:,.1f} x the floor), {verdict}; "
            f"{load_average()}"
        )
        say(
            f"ecitizen-verify / belenios-tool = {ours.wall / theirs.wall:.3f} by the clock "
            f"(below 1: ecitizen is faster), {ours.cpu / max(theirs.cpu, 1e-9):.3f} by CPU"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(options: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ecitizen.voting.models import Voter
    from ecitizen.voting.services import ballots
    from ecitizen.voting.services.common import election_bytes_of

    call_command("migrate", verbosity=0)
    n = options.ballots
    say(f"voting bench: {n:,} ballots on {connection.vendor}; {load_average()}")
    base = floor(n)
    say(f"floor: {n:,} exponentiations in {base.wall:.2f} s ({base.wall / n * 1000:.3f} ms each)")
    election, issued, seeds = _prepared(n)
    with (
        Clock() as made,
        ProcessPoolExecutor(
            options.workers, initializer=_start, initargs=(election_bytes_of(election),)
        ) as pool,
    ):
        raws = list(pool.map(_make, enumerate(issued), chunksize=64))
    say(
        f"making {n:,} ballots (voters' browsers' work, {options.workers} processes): "
        f"{made.wall:.1f} s"
    )
    voters = list(Voter.objects.filter(election=election).order_by("pk"))
    with Clock() as cast:
        for voter, raw in zip(voters, raws, strict=True):
            ballots.ballot_cast(election=election, voter=voter, raw=raw)
    say(
        f"casting through ballot_cast: {cast.wall:.1f} s, {n / cast.wall:,.1f} ballots/s "
        f"({cast.wall / n * 1000:.1f} ms a ballot, {cast.wall / base.wall:,.1f} x the floor; "
        f"CPU {cast.cpu:.1f} s); {load_average()}"
    )
    _count(election, seeds)
    _verify(election, n, base, options.workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    options = parser.parse_args()
    if options.ballots < 1 or options.workers < 1:
        sys.exit("--ballots and --workers must be 1 or more")
    postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ["EMAIL_DELIVERY_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    run_in_throwaway_database(lambda: run(options), sqlite=not postgres)


if __name__ == "__main__":
    main()

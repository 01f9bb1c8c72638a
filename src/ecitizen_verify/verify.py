"""Verify a whole election from its public archive, as an observer would: trust nothing
but the archive and the group, re-check every proof and recompute every total.

`verify_archive` returns what it checked, line by line, or raises Invalid with the first
thing that fails. Ballot proofs, the bulk of the work, are checked on every core.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from .archive import Event, Record, read_archive
from .ballot import Ballot, check_ballot
from .election import Election, parse_election
from .errors import Invalid
from .proofs import parse_element
from .serial import loads, members
from .tally import (
    check_partial_decryption,
    combine,
    encrypted_tally,
    last_ballots,
    parse_tally,
    result,
    tally_json,
)
from .trustees import Pedersen, Single, owners, parse_trustees

# Below this many ballots, starting worker processes costs more than it saves.
PARALLEL_FROM = 64


@dataclass
class Verification:
    """What was checked: `lines` in words, and the figures an observer compares."""

    lines: list[str] = field(default_factory=list)
    ballots_cast: int = 0
    ballots_counted: int = 0
    result: list[list[int]] | None = None

    def say(self, line: str) -> None:
        self.lines.append(line)


_worker_election: Election | None = None


def _start_worker(election_raw: bytes) -> None:
    global _worker_election  # noqa: PLW0603 - one parsed election per worker process
    _worker_election = parse_election(election_raw)


def _check_in_worker(raw: bytes) -> Ballot | str:
    assert _worker_election is not None
    try:
        return check_ballot(_worker_election, raw)
    except Invalid as error:
        return str(error)


def _check_all(election: Election, raws: list[bytes], workers: int) -> Iterator[Ballot | str]:
    if workers <= 1 or len(raws) < PARALLEL_FROM:
        for raw in raws:
            try:
                yield check_ballot(election, raw)
            except Invalid as error:
                yield str(error)
        return
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(election.raw,)) as pool:
        yield from pool.map(_check_in_worker, raws, chunksize=max(1, len(raws) // (workers * 8)))


def _setup(record: Record, report: Verification):
    if not record.events or record.events[0].type != "Setup":
        raise Invalid("the archive does not begin with the election's Setup event")
    setup = members(
        loads(record.events[0].payload or b"", "the setup data"),
        ("election", "trustees", "credentials"),
        "the setup data",
    )
    election = parse_election(record.datum(setup["election"], "the setup data"))
    group = election.group
    items = parse_trustees(group, record.datum(setup["trustees"], "the setup data"))
    if group.multiply(*(item.sub_key for item in items)) != election.public_key:
        raise Invalid("the election public key is not the product of the trustees' keys")
    singles = sum(isinstance(item, Single) for item in items)
    groups = [f"{i.threshold} of {len(i.keys)}" for i in items if isinstance(i, Pedersen)]
    report.say(
        f"election {election.uuid} ({election.name}): version 1, group {group.name}, "
        f"fingerprint {election.fingerprint}, {len(election.questions)} question(s)"
    )
    report.say(
        f"trustees: {singles} key(s) that must all decrypt"
        + (f", and threshold group(s) where any {', '.join(groups)} decrypt" if groups else "")
        + "; every proof of key knowledge, certificate and coefficient checked, and the "
        "election key is their product"
    )
    credentials = loads(record.datum(setup["credentials"], "the setup data"), "the credentials")
    if not isinstance(credentials, list):
        raise Invalid("the public credentials are not a list")
    weights: dict[int, int] = {}
    for position, entry in enumerate(credentials, 1):
        if not isinstance(entry, str):
            raise Invalid(f"public credential {position} is not text")
        text, _, weight = entry.partition(",")
        if weight not in ("", "1"):
            raise Invalid(
                f"public credential {position} has a weight; weighted votes are not supported"
            )
        credential = int(parse_element(group, text, f"public credential {position}"))
        if credential in weights:
            raise Invalid(f"public credential {position} appears twice")
        weights[credential] = 1
    report.say(f"{len(weights)} public credentials, all group elements and all distinct")
    return election, items, weights


def verify_archive(
    archive: bytes,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Verification:
    """Check an archive completely; raises Invalid with the first failure. `progress`, when
    given, is called with (ballots checked, ballots in all) as ballots are checked."""
    report = Verification()
    record = read_archive(archive)
    report.say(
        f"archive: {len(record.events)} events in one hash chain, every member named by its "
        "SHA-256, framed exactly as Belenios writes it"
    )
    election, items, credentials = _setup(record, report)
    phases = [event.type for event in record.events[1:]]
    ballot_events = [event for event in record.events[1:] if event.type == "Ballot"]
    end = phases.index("EndBallots") if "EndBallots" in phases else len(phases)
    if any(p == "Ballot" for p in phases[end:]):
        raise Invalid("a ballot was added after the end of voting")
    raws = [event.payload or b"" for event in ballot_events]
    ballots: list[Ballot] = []
    for position, (event, outcome) in enumerate(
        zip(ballot_events, _check_all(election, raws, workers or os.cpu_count() or 1), strict=True),
        1,
    ):
        if isinstance(outcome, str):
            raise Invalid(f"ballot {position} (event at height {event.height}): {outcome}")
        if int(outcome.credential) not in credentials:
            raise Invalid(
                f"ballot {position} (event at height {event.height}) has a credential "
                "not on the list"
            )
        ballots.append(outcome)
        if progress:
            progress(position, len(ballot_events))
    counted = last_ballots(ballots)
    report.ballots_cast, report.ballots_counted = len(ballots), len(counted)
    report.say(
        f"{len(ballots)} ballots: canonical, every proof and signature valid, every credential "
        f"on the list; {len(counted)} counted (a later ballot replaces an earlier one)"
    )
    tally_events = list(record.of_type("EncryptedTally"))
    if not tally_events:
        report.say("voting has not been counted yet: no tally to check")
        return report
    _check_tally(record, tally_events[0], election, counted)
    report.say(f"the encrypted tally is the product of the {len(counted)} counted ballots")
    tally = parse_tally(
        election, json.loads(record.datum(_tally_name(tally_events[0]), "the tally"))
    )
    keys = {owner: item.keys[index - 1].public_key for owner, item, index in owners(items)}
    partials = {}
    for event in record.of_type("PartialDecryption"):
        owned = members(
            loads(event.payload or b"", "a partial decryption"),
            ("owner", "payload"),
            "a partial decryption",
        )
        owner = owned["owner"]
        if owner not in keys:
            raise Invalid(
                f"a partial decryption claims to be from trustee {owner}, who does not exist"
            )
        if owner in partials:
            raise Invalid(f"trustee {owner} gave two partial decryptions")
        value = loads(
            record.datum(owned["payload"], "a partial decryption"), "a partial decryption"
        )
        partials[owner] = check_partial_decryption(
            election, tally, keys[owner], value, f"trustee {owner}"
        )
    if partials:
        report.say(
            f"partial decryptions from trustees {', '.join(map(str, sorted(partials)))}: every "
            "proof checked against the trustee's public key"
        )
    result_events = list(record.of_type("Result"))
    if not result_events:
        report.say("no result has been published yet")
        return report
    published = members(
        loads(result_events[0].payload or b"", "the result"), ("result",), "the result"
    )
    counts = result(election, tally, combine(election, items, tally, partials), len(counted))
    if published["result"] != counts:
        raise Invalid("the published result is not what the partial decryptions give")
    report.result = counts
    report.say(f"the result {counts} is what the trustees' partial decryptions give")
    return report


def _tally_name(event: Event) -> str:
    sized = members(
        loads(event.payload or b"", "the sized tally"),
        ("num_tallied", "total_weight", "encrypted_tally"),
        "the sized tally",
    )
    return str(sized["encrypted_tally"])


def _check_tally(record: Record, event: Event, election: Election, counted: list[Ballot]) -> None:
    sized = json.loads(event.payload or b"")
    if sized["num_tallied"] != len(counted) or int(sized["total_weight"]) != len(counted):
        raise Invalid("the tally does not count the number of ballots it should")
    stored = json.loads(record.datum(_tally_name(event), "the tally"))
    if stored != json.loads(tally_json(encrypted_tally(election, counted))):
        raise Invalid("the encrypted tally is not the product of the counted ballots")


def read_path(path: str) -> bytes:
    """The archive at `path`, or the one `.bel` file in the folder `path`."""
    if os.path.isdir(path):
        found = sorted(name for name in os.listdir(path) if name.endswith(".bel"))
        if len(found) != 1:
            raise Invalid(f"{path} must hold exactly one .bel archive, not {len(found)}")
        path = os.path.join(path, found[0])
    with open(path, "rb") as handle:
        return handle.read()

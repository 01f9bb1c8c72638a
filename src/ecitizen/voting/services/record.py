"""Appending to an election's public archive.

Precondition of every function here: the caller holds the election row's lock
(``select_for_update``) inside its transaction, so members are numbered and events chained
in one order; a rollback removes what was appended with the change that caused it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ecitizen.voting.models import Election, RecordMember
from ecitizen_verify.archive import event_bytes, header_bytes, member_name, tar_member
from ecitizen_verify.serial import sha256_hex


def record_append(election: Election, event: str, *data: bytes) -> None:
    """Append the data members, then an event of type ``event`` whose payload is the last
    of them (none when no data is given). Updates the election's record head, height and
    length (saved here)."""
    rows = []
    for member in data:
        election.record_length += 1
        rows.append(RecordMember(election=election, position=election.record_length, data=member))
    raw_event = event_bytes(
        parent=election.record_head or None,
        height=election.record_height,
        type=event,
        payload=sha256_hex(data[-1]) if data else None,
    )
    election.record_length += 1
    rows.append(
        RecordMember(
            election=election, position=election.record_length, data=raw_event, event=event
        )
    )
    RecordMember.objects.bulk_create(rows)
    election.record_head = sha256_hex(raw_event)
    election.record_height += 1
    election.save(update_fields=["record_head", "record_height", "record_length"])


def archive_chunks(election: Election) -> Iterator[bytes]:
    """The archive's bytes, member by member (for a streamed download or a file): the
    BELENIOS header, then every stored member with the election's timestamp."""
    timestamp = int(election.archive_timestamp or 0)
    yield tar_member("BELENIOS", header_bytes(timestamp), timestamp)
    rows = (
        RecordMember.objects.filter(election=election)
        .order_by("position")
        .values_list("data", flat=True)
    )
    for data in rows.iterator(chunk_size=500):
        raw = bytes(data)
        yield tar_member(member_name(raw), raw, timestamp)


def archive_write(*, slug: str, folder: Path) -> tuple[Path, int]:
    """Write the archive of the election ``slug`` to ``folder/<uuid>.bel`` (the folder is
    created; an older archive of the same election there is replaced). Returns the path
    and its size. Raises LookupError for an unknown election or one not yet opened."""
    election = Election.objects.filter(slug=slug).first()
    if election is None:
        raise LookupError(f"no election is called {slug!r}")
    if election.record_length == 0:
        raise LookupError(f"the election {slug!r} has not been opened: it has no archive yet")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{election.uuid}.bel"
    size = 0
    partial = path.with_suffix(".bel.partial")
    with partial.open("wb") as handle:
        for chunk in archive_chunks(election):
            handle.write(chunk)
            size += len(chunk)
    partial.replace(path)
    return path, size


def event_members(election: Election, event: str) -> list[list[bytes]]:
    """For each event of type ``event``, in order, the data members appended with it
    (the payload last): for a PartialDecryption, the partial decryption and its owner."""
    found = []
    events = RecordMember.objects.filter(election=election).exclude(event="")
    for row in events.filter(event=event).order_by("position"):
        previous = (
            events.filter(position__lt=row.position)
            .order_by("-position")
            .values("position")
            .first()
        )
        start = previous["position"] if previous else 0
        data = RecordMember.objects.filter(
            election=election, position__gt=start, position__lt=row.position
        ).order_by("position")
        found.append([bytes(member) for member in data.values_list("data", flat=True)])
    return found

"""The election's public record: a Belenios archive (`<uuid>.bel`, specification §4.4).

The archive is an old-style (pre-POSIX, "v7") tar file that only ever grows: a `BELENIOS`
header member, then data members and event members, each named by the SHA-256 of its
bytes. Events form a hash chain (`parent` is the previous event's name) and refer to the
data they announce by its name (`payload`). `belenios-tool election verify` rebuilds the
archive from its members and refuses it unless the bytes are identical, so the framing
below is exact: no ustar magic, no user names, every member's mtime equal to the header's
timestamp, and no end-of-archive blocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import Invalid
from .serial import dumps, sha256_hex

BLOCK = 512
EVENT_TYPES = (
    "Setup",
    "Ballot",
    "EndBallots",
    "EncryptedTally",
    "Shuffle",
    "EndShuffles",
    "PartialDecryption",
    "Result",
)


def tar_member(name: str, data: bytes, timestamp: int) -> bytes:
    """One member as belenios-tool writes it: a v7 header block, then the data padded
    with NULs to a whole number of blocks."""
    header = bytearray(BLOCK)
    encoded = name.encode()
    header[0 : len(encoded)] = encoded
    header[100:108] = b"0000644\0"
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % len(data)
    header[136:148] = b"%011o\0" % timestamp
    header[148:156] = b" " * 8
    header[156:157] = b"0"
    header[148:156] = b"%06o\0 " % sum(header)
    padding = (-len(data)) % BLOCK
    return bytes(header) + data + b"\0" * padding


def header_bytes(timestamp: int) -> bytes:
    """The `BELENIOS` member's content; the timestamp is a JSON string of Unix seconds."""
    return dumps({"version": 1, "timestamp": str(timestamp)})


def event_bytes(*, parent: str | None, height: int, type: str, payload: str | None) -> bytes:
    """An event, members in the order the tool writes them (absent ones left out)."""
    event: dict[str, object] = {}
    if parent is not None:
        event["parent"] = parent
    event["height"] = height
    event["type"] = type
    if payload is not None:
        event["payload"] = payload
    return dumps(event)


@dataclass
class Event:
    """One event of the chain, with the bytes of the data member it announces."""

    name: str
    height: int
    type: str
    payload_name: str | None
    payload: bytes | None


@dataclass
class Record:
    """An archive read back: its timestamp and its events in order. `data` maps every
    data member's name to its bytes (payloads refer to these, and some payloads refer
    to others, such as setup_data to the election)."""

    timestamp: int
    events: list[Event]
    data: dict[str, bytes] = field(repr=False)

    def of_type(self, type: str) -> Iterator[Event]:
        return (event for event in self.events if event.type == type)

    def datum(self, name: str, what: str) -> bytes:
        try:
            return self.data[name]
        except KeyError:
            raise Invalid(f"{what} refers to {name}, which is not in the archive") from None


def write_archive(timestamp: int, members: list[bytes]) -> bytes:
    """The archive's bytes from its members' bytes in order (header excluded)."""
    parts = [tar_member("BELENIOS", header_bytes(timestamp), timestamp)]
    parts.extend(tar_member(member_name(member), member, timestamp) for member in members)
    return b"".join(parts)


def member_name(data: bytes) -> str:
    """A member's file name: `<sha256>.event.json` for events, `<sha256>.data.json` else."""
    kind = "event" if _looks_like_event(data) else "data"
    return f"{sha256_hex(data)}.{kind}.json"


def _looks_like_event(data: bytes) -> bool:
    return data.startswith(b'{"parent":"') or data.startswith(b'{"height":0,')


def read_members(archive: bytes) -> tuple[int, list[tuple[str, bytes]]]:
    """Split an archive into its header timestamp and its (name, bytes) members, checking
    the framing: names are the SHA-256 of the content and every header is well formed."""
    members: list[tuple[str, bytes]] = []
    offset = 0
    while offset < len(archive):
        block = archive[offset : offset + BLOCK]
        if len(block) < BLOCK:
            raise Invalid("the archive ends in the middle of a member's header")
        if block == b"\0" * BLOCK:
            raise Invalid("the archive has end-of-archive blocks, which Belenios does not write")
        name = block[0:100].rstrip(b"\0").decode("ascii", "replace")
        try:
            size = int(block[124:135], 8)
        except ValueError:
            raise Invalid(f"member {name!r} has an unreadable size") from None
        checked = bytearray(block)
        checked[148:156] = b" " * 8
        if block[148:156] != b"%06o\0 " % sum(checked):
            raise Invalid(f"member {name!r} has a wrong header checksum")
        data = archive[offset + BLOCK : offset + BLOCK + size]
        if len(data) < size:
            raise Invalid(f"member {name!r} is cut short")
        members.append((name, data))
        offset += BLOCK + size + (-size) % BLOCK
    if not members or members[0][0] != "BELENIOS":
        raise Invalid("the archive does not start with its BELENIOS header")
    try:
        header = json.loads(members[0][1])
        timestamp = int(header["timestamp"])
    except (ValueError, KeyError, TypeError):
        raise Invalid("the archive's BELENIOS header is unreadable") from None
    if header.get("version") != 1 or not isinstance(header["timestamp"], str):
        raise Invalid("the archive's BELENIOS header is not version 1 with a string timestamp")
    if write_archive(timestamp, [data for _, data in members[1:]]) != archive:
        raise Invalid(
            "the archive is not byte for byte what Belenios writes for its members "
            "(framing, member names or timestamps differ)"
        )
    return timestamp, members[1:]


def read_archive(archive: bytes) -> Record:
    """Read an archive into its chain of events, checking the chain: heights count from 0,
    each event names its predecessor, and each payload precedes its event."""
    timestamp, members = read_members(archive)
    data: dict[str, bytes] = {}
    events: list[Event] = []
    parent: str | None = None
    for name, content in members:
        digest, _, kind = name.partition(".")
        if kind == "data.json":
            data[digest] = content
            continue
        if kind != "event.json":
            raise Invalid(f"member {name!r} is neither data nor an event")
        try:
            event = json.loads(content)
        except ValueError:
            raise Invalid(f"event {digest} is not JSON") from None
        height = len(events)
        expected = event_bytes(
            parent=parent,
            height=height,
            type=event.get("type", ""),
            payload=event.get("payload"),
        )
        if event.get("type") not in EVENT_TYPES or content != expected:
            raise Invalid(f"event at height {height} does not follow the previous event")
        payload_name = event.get("payload")
        payload = None
        if payload_name is not None:
            if payload_name not in data:
                raise Invalid(f"event at height {height} announces data that does not precede it")
            payload = data[payload_name]
        events.append(Event(digest, height, event["type"], payload_name, payload))
        parent = digest
    return Record(timestamp, events, data)


class ArchiveWriter:
    """Builds an archive's members in order, as the election goes: data then the event
    that announces it. `members` is what to store; `write_archive` frames it."""

    def __init__(self, members: list[bytes] | None = None) -> None:
        self.members: list[bytes] = []
        self.parent: str | None = None
        self.height = 0
        for member in members or []:
            self._append(member)

    def _append(self, member: bytes) -> None:
        self.members.append(member)
        if member_name(member).endswith(".event.json"):
            self.parent = sha256_hex(member)
            self.height += 1

    def add(self, type: str, *data: bytes) -> list[bytes]:
        """Append data members and then an event of `type` whose payload is the last of
        them (no payload when no data is given); return the members appended."""
        added = list(data)
        event = event_bytes(
            parent=self.parent,
            height=self.height,
            type=type,
            payload=sha256_hex(data[-1]) if data else None,
        )
        added.append(event)
        for member in added:
            self._append(member)
        return added

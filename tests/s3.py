"""S3-compatible storage for the tests: moto's S3 server on 127.0.0.1, spoken to over HTTP by
boto3, and new empty buckets on it (a pytest plugin of the root ``conftest.py``).

The storage is configured by the function the settings module uses
(:func:`ecitizen.core.storage_settings.media_storage`), so a test exercises the very
configuration ``MEDIA_STORAGE=s3`` builds: a real protocol exchange, not a mock of our
code. Objects are read straight from the bucket with boto3, as an operator (or an intruder
with the bucket's keys) would see them.

- ``s3_endpoint``: the server's address, one server per test process, started on first use;
- ``s3_bucket``: a new, empty bucket on it (the platform's storage is not changed);
- ``s3_media``: a new bucket that is also ``STORAGES["default"]`` for the test;
- ``s3_link``: a relay to that bucket (:class:`Link`) that can break what the network or
  the bucket's policy would break: a transfer cut mid-way, a deletion refused.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import pytest

from ecitizen.core.storage_settings import media_storage
from tests.processes import free_port

REGION = "eu-west-2"
ACCESS_KEY_ID = "ecitizen-test-access-key"
SECRET_ACCESS_KEY = "ecitizen-test-secret-key-not-for-any-deployment"
#: The folder of the bucket the platform is given (``S3_PREFIX``).
PREFIX = "ecitizen/media"


@dataclass(frozen=True)
class Bucket:
    """A bucket of moto's server, and a boto3 client of that server."""

    name: str
    endpoint: str
    client: Any

    def storage(self) -> dict[str, Any]:
        """``STORAGES["default"]`` on this bucket, as ``MEDIA_STORAGE=s3`` builds it."""
        return media_storage(
            kind="s3",
            bucket=self.name,
            endpoint_url=self.endpoint,
            region=REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            prefix=f"/{PREFIX}/",
            server_side_encryption="AES256",
        )

    def environment(self) -> dict[str, str]:
        """The variables that give a process started by a test this bucket as its storage."""
        return {
            "MEDIA_STORAGE": "s3",
            "S3_BUCKET": self.name,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "S3_PREFIX": PREFIX,
            "S3_SERVER_SIDE_ENCRYPTION": "AES256",
        }

    def objects(self) -> dict[str, bytes]:
        """Every object of the bucket, by key, with its content, read with boto3."""
        listing = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return {
            item["Key"]: self.client.get_object(Bucket=self.name, Key=item["Key"])["Body"].read()
            for item in listing
        }

    def stored(self) -> dict[str, str]:
        """The SHA-256 of every object under :data:`PREFIX`, by its name in the storage."""
        return {
            key.removeprefix(f"{PREFIX}/"): hashlib.sha256(content).hexdigest()
            for key, content in self.objects().items()
            if key.startswith(f"{PREFIX}/")
        }

    def delete(self) -> None:
        """Empty the bucket and delete it: from now on every request about it is refused
        (``NoSuchBucket``), as when a bucket is removed or its keys lose their rights."""
        for key in self.objects():
            self.client.delete_object(Bucket=self.name, Key=key)
        self.client.delete_bucket(Bucket=self.name)


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on a free port of 127.0.0.1, for every test of this process that
    needs it; stopped at the end of the session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint) -> Bucket:
    """A new, empty bucket of its own for the test (left on the server afterwards: every
    test gets a new name)."""
    import boto3

    name = f"riverton-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return Bucket(name=name, endpoint=s3_endpoint, client=client)


@pytest.fixture
def s3_media(s3_bucket, settings) -> Bucket:
    """A new bucket, and ``STORAGES["default"]`` on it for the test (the settings change
    resets Django's storages, ``default_storage`` included)."""
    settings.STORAGES = {**settings.STORAGES, "default": s3_bucket.storage()}
    return s3_bucket


#: S3's answer to a request the keys' policy does not allow.
_ACCESS_DENIED_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)
_ACCESS_DENIED = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
    b"Content-Length: %d\r\n\r\n" % len(_ACCESS_DENIED_BODY)
) + _ACCESS_DENIED_BODY


def _head(stream: BinaryIO) -> bytes:
    """The next request or answer line and headers of ``stream``, blank line included;
    ``b""`` once the other end has closed."""
    lines = []
    while (line := stream.readline()) not in (b"", b"\r\n"):
        lines.append(line)
    return b"".join(lines) + line if lines else b""


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _colon, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
        if name.strip().lower() == b"transfer-encoding":
            raise ValueError("the relay reads bodies of a known length only")
    return 0


class Link:
    """A relay between the platform and moto's server for one bucket, on a free port of
    127.0.0.1: :meth:`storage` is ``STORAGES["default"]`` on the bucket through it. It
    passes every request and answer, except what a test breaks:

    - after :meth:`cut_bodies`, every answer's body is cut halfway and its connection
      closed, as when the network drops in the middle of a transfer (every attempt);
    - the deletions of the names given to :meth:`refuse_deletes` are answered
      ``403 AccessDenied`` without reaching the server, as S3 answers keys whose policy
      does not allow deleting.

    It relays the exchanges of each connection one after the other (HTTP/1.1, no
    pipelining), and only requests without a body (reads, listings, deletions): a request
    with a body gets its connection closed. Write through the bucket itself first.
    """

    def __init__(self, bucket: Bucket) -> None:
        server = urlsplit(bucket.endpoint)
        self._server = (server.hostname or "127.0.0.1", server.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._bucket = replace(
            bucket, endpoint=f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        )
        self._cut = False
        self._refused: set[str] = set()
        threading.Thread(target=self._accept, name="s3-link", daemon=True).start()

    def storage(self) -> dict[str, Any]:
        """``STORAGES["default"]`` on the bucket, through this relay."""
        return self._bucket.storage()

    def cut_bodies(self) -> None:
        self._cut = True

    def refuse_deletes(self, *names: str) -> None:
        """Refuse the deletions of these storage names (under :data:`PREFIX`)."""
        self._refused.update(f"/{self._bucket.name}/{PREFIX}/{name}" for name in names)

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with (
            suppress(OSError),
            client,
            socket.create_connection(self._server) as server,
            client.makefile("rb") as requests,
            server.makefile("rb") as answers,
        ):
            while request := _head(requests):
                method, target, _version = request.split(b" ", 2)
                if _content_length(request):
                    return
                key = unquote(urlsplit(target.decode()).path)
                if method == b"DELETE" and key in self._refused:
                    client.sendall(_ACCESS_DENIED)
                    continue
                server.sendall(request)
                answer = _head(answers)
                length = 0 if method == b"HEAD" else _content_length(answer)
                body = answers.read(length)
                if self._cut and length:
                    client.sendall(answer + body[: length // 2])
                    return
                client.sendall(answer + body)


@pytest.fixture
def s3_link(s3_media) -> Iterator[Link]:
    """A :class:`Link` to the test's bucket (``s3_media``), which stays the storage until
    the test gives it ``link.storage()``; closed at the end."""
    link = Link(s3_media)
    try:
        yield link
    finally:
        link.close()

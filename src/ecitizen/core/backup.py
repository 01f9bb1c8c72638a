"""Encrypted backups of the platform, and their restore into an empty installation.

``ecitizen backup DIR`` and ``ecitizen restore DIR --identity FILE`` (docs/backup.md). A
backup is a folder of parts, each encrypted with age (https://age-encryption.org/v1) to the
public keys of ``BACKUP_AGE_RECIPIENTS``, and a manifest::

    manifest.json                the parts with the SHA-256 and size of their plaintext and
                                 of their ciphertext, the migrations applied, the database
                                 vendor, the platform version; signed with the active audit
                                 signing key when one is configured
    database.pgdump.age          PostgreSQL: ``pg_dump --format=custom``
    database.sqlite3.age         SQLite: a copy made with SQLite's online backup API
    storage-<alias>.tar.age      every file of each storage of ``STORAGES`` except
                                 ``staticfiles`` (``collectstatic`` rebuilds those)
    datastore.tar.age            the DataStore's tables (``DATASTORE_DIR``)
    signing-certificate.pem.age  the document-signing certificate: public, unlike its key

Keys are never in a backup: not ``SECRET_KEY``, ``FIELD_ENCRYPTION_KEYS``,
``BLIND_INDEX_KEY``, ``AUDIT_SIGNING_KEYS``, the document-signing key, nor any other secret
setting. They live in the secrets store, and a restored installation is configured with them
again. Any part can also be decrypted by hand with the standard ``age`` tool.

Plaintext never reaches the backup folder: each part is streamed through the encryption
(SQLite's copy is made first in a temporary folder beside the database, as protected as the
database itself). The backup is written under a temporary name and renamed once complete, so
a folder with the backup's name is always a whole backup.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

import pyrage
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import DatabaseError
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.client import DatabaseClient as PostgresClient
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from ecitizen.core import crypto
from ecitizen.core.errors import DomainError
from ecitizen.core.services import audit_record
from ecitizen.core.stored_files import STORAGE_ERRORS, files_under

FORMAT = "ecitizen-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_PART = "database"
CERTIFICATE_PART = "signing-certificate"
DATASTORE_PART = "datastore"
#: What the manifest's signature covers, ahead of its canonical JSON: a context of its own,
#: so that a signature made with the audit key can never pass for a checkpoint's (whose
#: signed bytes are a JSON object, starting with "{").
SIGNATURE_CONTEXT = b"ecitizen-backup-manifest-v1\n"
_CHUNK = 1024 * 1024
#: A restored file up to this size is held in memory on its way to storage; larger ones in
#: a private temporary file.
_SPOOL_BYTES = 16 * 1024 * 1024


class BackupError(DomainError):
    """A backup or a restore refused or failed; the message says what to do."""

    code = "backup_error"


@dataclass(frozen=True)
class Part:
    """One encrypted file of a backup, as the manifest lists it. ``size`` and ``sha256``
    are the plaintext's; for a ``files`` part, the tar stream's, holding ``files`` files of
    ``file_bytes`` bytes in all. ``fingerprint``: the certificate's SHA-256."""

    name: str
    file: str
    kind: str  # postgresql, sqlite, files or certificate
    size: int
    sha256: str
    encrypted_size: int
    encrypted_sha256: str
    files: int = 0
    file_bytes: int = 0
    fingerprint: str = ""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds (``manifest.json``). ``signed_by``: the audit key id that signed
    it, or "" when unsigned; ``sha256``: of the manifest file as stored."""

    id: str
    created_at: str
    platform_version: str
    vendor: str
    migrations: dict[str, list[str]]
    recipients: list[str]
    parts: list[Part]
    signed_by: str
    sha256: str

    def part(self, name: str) -> Part | None:
        return next((part for part in self.parts if part.name == name), None)


@dataclass(frozen=True)
class Restored:
    """The outcome of a restore: the backup's manifest, the number of files written, the
    migrations of this code the restored database lacks (``ecitizen migrate`` applies
    them), whether the restore is in the audit trail, and a sentence about the
    document-signing certificate."""

    manifest: Manifest
    files: int
    pending_migrations: list[str]
    audited: bool
    certificate: str


# --- Streams --------------------------------------------------------------------------------


class _Counting:
    """Counts and hashes the bytes passing through: read from ``stream``, or written to it
    (``None`` discards what is written, to check a part without keeping it)."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = cast(IO[bytes], self._stream).read(size)
        self._digest.update(data)
        self.size += len(data)
        return data

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        if self._stream is not None:
            self._stream.write(data)
        return len(data)

    def flush(self) -> None:
        if self._stream is not None:
            self._stream.flush()

    def drain(self) -> None:
        """Read the rest of the stream, so that its size and digest cover all of it."""
        while self.read(_CHUNK):
            pass

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


@contextmanager
def _piped(fill: Callable[[IO[bytes]], None]) -> Iterator[IO[bytes]]:
    """The readable end of a pipe that ``fill(writable)`` writes from a thread of its own,
    for the streams that pyrage and tarfile each want to drive (one reads, one writes).

    The caller reads to the end. A failure of ``fill`` is raised here, ahead of the caller's:
    a truncated tar is the symptom, a failed decryption the cause. A failure of ``fill``
    that comes after the caller stopped reading (a broken pipe) is only the echo of the
    caller's own, and is dropped.
    """
    read_fd, write_fd = os.pipe()
    # (exception, whether the reader had already gone when it happened)
    failures: list[tuple[BaseException, bool]] = []
    reader_gone = threading.Event()

    def run() -> None:
        # Closing the write end (leaving the with) is what the reader sees as the end: a
        # failure is recorded before that, so the reader's error can never come first.
        with suppress(BrokenPipeError), open(write_fd, "wb") as writable:
            try:
                fill(writable)
            except BaseException as exc:
                failures.append((exc, reader_gone.is_set()))

    thread = threading.Thread(target=run, name="ecitizen-backup-pipe", daemon=True)
    thread.start()
    readable = open(read_fd, "rb")  # noqa: SIM115 - closed below, before the thread is joined

    def finish() -> BaseException | None:
        reader_gone.set()
        readable.close()  # a fill still writing now stops with a broken pipe
        thread.join()
        return next((exc for exc, after_reader in failures if not after_reader), None)

    try:
        yield readable
    except BaseException:
        cause = finish()
        if cause is not None:
            raise cause from None
        raise
    cause = finish()
    if cause is not None:
        raise cause


def _fsync_folder(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _encrypt(
    source: IO[bytes], path: Path, recipients: Sequence[Any]
) -> tuple[_Counting, _Counting]:
    """Encrypt ``source`` to ``recipients`` into a new file at ``path``, synced to disk.
    Returns the plaintext's and the ciphertext's counters."""
    plain = _Counting(source)
    with path.open("xb") as sink:
        cipher = _Counting(sink)
        try:
            pyrage.encrypt_io(plain, cipher, list(recipients))
        except pyrage.EncryptError as exc:
            raise BackupError(
                f"Could not encrypt into {path.name}: {exc}", code="write_failed"
            ) from exc
        sink.flush()
        os.fsync(sink.fileno())
    return plain, cipher


def _decrypt(path: Path, sink: _Counting, identities: Sequence[Any]) -> None:
    with path.open("rb") as source:
        pyrage.decrypt_io(source, sink, list(identities))


def _sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


# --- Where things are -----------------------------------------------------------------------


@dataclass(frozen=True)
class _FileStore:
    """A set of files a backup holds: a storage of ``STORAGES`` or a local folder."""

    part: str
    label: str
    storage: Storage
    # The DataStore builds each table under a dot name (".tmp-...") and renames it when
    # complete: a dot file is one being written, never a table.
    skip_hidden: bool = False


def _store(part: str, label: str, storage: Storage, *, skip_hidden: bool = False) -> _FileStore:
    if isinstance(storage, FileSystemStorage):
        label = f"{label} ({storage.location})"
    return _FileStore(part, label, storage, skip_hidden)


def _file_stores() -> list[_FileStore]:
    """Every storage of ``STORAGES`` (except ``staticfiles``, built from the code: uploads,
    issued documents and data exports are in ``default``) and ``DATASTORE_DIR``."""
    stores = [
        _store(f"storage-{alias}", f"the file storage {alias!r}", storages[alias])
        for alias in settings.STORAGES
        if alias != "staticfiles"
    ]
    datastore = getattr(settings, "DATASTORE_DIR", None)
    if datastore:
        storage = FileSystemStorage(location=datastore)
        stores.append(_store(DATASTORE_PART, "DATASTORE_DIR", storage, skip_hidden=True))
    return stores


def _stored_files(store: _FileStore) -> Iterator[str]:
    """The names of the files of ``store``, depth first, through the storage API (so that
    object storage works as well as a local folder). Raises :class:`BackupError` when the
    storage cannot be listed (a bucket that does not exist, an endpoint down)."""
    try:
        yield from files_under(store.storage, skip_hidden=store.skip_hidden)
    except STORAGE_ERRORS as exc:
        raise BackupError(f"Could not list {store.label}: {exc}", code="storage_failed") from exc


def _secret_files() -> list[Path]:
    """Files that hold secrets: the document-signing key (configured, or the demo's that
    the documents app makes under ``VAR_DIR/signing``), the env file, and every
    ``NAME_FILE`` of a key, secret, password, token or URL (docs/configuration.md)."""
    names = [
        str(getattr(settings, "DOCUMENT_SIGNING_KEY_FILE", "") or ""),
        str(Path(settings.VAR_DIR) / "signing" / "demo-signing-key.pem"),
        os.environ.get("ECITIZEN_ENV_FILE") or ".env",
        *(
            value
            for variable, value in os.environ.items()
            if variable.endswith(
                ("KEY_FILE", "KEYS_FILE", "SECRET_FILE", "PASSWORD_FILE", "TOKEN_FILE", "URL_FILE")
            )
        ),
    ]
    return [Path(name).absolute() for name in names if name]


def _refuse_secrets_inside(stores: Sequence[_FileStore]) -> None:
    """A local folder that is backed up must not hold a file of secrets: keys are never in
    a backup (a misconfigured ``DATASTORE_DIR=/run/secrets`` would otherwise take them)."""
    secrets = _secret_files()
    for store in stores:
        if not isinstance(store.storage, FileSystemStorage):
            continue
        folder = Path(store.storage.location).absolute()
        for secret in secrets:
            if secret.is_relative_to(folder) and secret.exists():
                raise BackupError(
                    f"{store.label} holds {secret}, a file of secrets, and backups never hold "
                    "keys: keep secrets outside the folders that are backed up.",
                    code="secrets_inside",
                )


def _certificate_file() -> Path | None:
    """The document-signing certificate: the configured one, else the demo certificate the
    documents app makes under ``VAR_DIR/signing`` on first use (documents/signing.py), if
    it was made."""
    configured = str(getattr(settings, "DOCUMENT_SIGNING_CERT_FILE", "") or "")
    if configured:
        return Path(configured)
    demo = Path(settings.VAR_DIR) / "signing" / "demo-signing-cert.pem"
    return demo if demo.is_file() else None


def certificate_fingerprint(pem: bytes, *, source: str) -> str:
    """The SHA-256 fingerprint (hex) of the first certificate of a PEM file."""
    try:
        certificate = x509.load_pem_x509_certificates(pem)[0]
    except ValueError as exc:
        raise BackupError(
            f"{source} is not a PEM certificate: {exc}", code="bad_certificate"
        ) from exc
    return certificate.fingerprint(hashes.SHA256()).hex()


def _platform_version() -> str:
    try:
        return metadata.version("ecitizen")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _applied_migrations(connection: BaseDatabaseWrapper) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    try:
        recorded = MigrationRecorder(connection).applied_migrations()
    except DatabaseError as exc:
        raise BackupError(
            f"Cannot read the database named by DATABASE_URL: {exc}", code="no_database"
        ) from exc
    for app, name in recorded:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _libpq(connection: BaseDatabaseWrapper) -> tuple[list[str], dict[str, str]]:
    """Connection options for PostgreSQL's client programs, and their environment: the
    password and TLS settings go there (Django's own rules for ``dbshell``), never on the
    command line, which other users of the machine can read."""
    settings_dict = connection.settings_dict
    _args, environment = PostgresClient.settings_to_cmd_args_env(settings_dict, [])
    options = settings_dict.get("OPTIONS") or {}
    values = {
        "--host": settings_dict.get("HOST"),
        "--port": settings_dict.get("PORT"),
        "--username": settings_dict.get("USER") or options.get("user"),
        "--dbname": settings_dict.get("NAME") or options.get("dbname"),
    }
    arguments = [f"{flag}={value}" for flag, value in values.items() if value]
    extra = {name: str(value) for name, value in (environment or {}).items() if value}
    return arguments, {**os.environ, **extra}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH: install PostgreSQL's client programs, of the "
            "server's major version or newer (Debian: apt-get install postgresql-client-15).",
            code="tool_missing",
        )
    return path


# --- Making a backup --------------------------------------------------------------------


def backup_recipients() -> list[Any]:
    """The age recipients of ``BACKUP_AGE_RECIPIENTS`` (checked at start-up by the
    settings). Raises :class:`BackupError` when there are none."""
    names = list(getattr(settings, "BACKUP_AGE_RECIPIENTS", []))
    if not names:
        raise BackupError(
            "No backup recipient is configured: set BACKUP_AGE_RECIPIENTS to the age public "
            "key(s) that backups are encrypted to (docs/backup.md). Nothing was written.",
            code="no_recipient",
        )
    return [pyrage.x25519.Recipient.from_str(name) for name in names]


def _backup_folder(directory: Path) -> Path:
    target = directory.absolute()
    if not target.parent.is_dir():
        raise BackupError(
            f"The folder {target.parent} does not exist: create it first (each backup is a "
            "new folder inside it). Nothing was written.",
            code="no_folder",
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(
            f"{target} already exists and is not an empty folder: give each backup a new "
            "folder (a dated name, say). Nothing was written.",
            code="target_exists",
        )
    return target


def _database_part(connection: BaseDatabaseWrapper, folder: Path, recipients: list[Any]) -> Part:
    if connection.vendor == "postgresql":
        file = "database.pgdump.age"
        plain, cipher = _postgresql_dump(connection, folder / file, recipients)
    elif connection.vendor == "sqlite":
        file = "database.sqlite3.age"
        plain, cipher = _sqlite_copy(connection, folder / file, recipients)
    else:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {connection.vendor}.")
    return Part(
        name=DATABASE_PART,
        file=file,
        kind=connection.vendor,
        size=plain.size,
        sha256=plain.sha256,
        encrypted_size=cipher.size,
        encrypted_sha256=cipher.sha256,
    )


def _postgresql_dump(
    connection: BaseDatabaseWrapper, path: Path, recipients: list[Any]
) -> tuple[_Counting, _Counting]:
    """``pg_dump --format=custom`` (one consistent snapshot, compressed), streamed into
    the encryption."""
    arguments, environment = _libpq(connection)
    command = [_tool("pg_dump"), "--format=custom", "--no-password", *arguments]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - our arguments, no shell
            command, stdout=subprocess.PIPE, stderr=errors, env=environment
        )
        output = cast(IO[bytes], process.stdout)
        try:
            plain, cipher = _encrypt(output, path, recipients)
        finally:
            output.close()  # a pg_dump still writing (the encryption failed) stops here
            status = process.wait()
        if status != 0:
            errors.seek(0)
            message = errors.read().decode("utf-8", errors="replace").strip()
            raise BackupError(
                f"pg_dump failed (exit status {status}): {message}", code="dump_failed"
            )
    return plain, cipher


def _sqlite_copy(
    connection: BaseDatabaseWrapper, path: Path, recipients: list[Any]
) -> tuple[_Counting, _Counting]:
    """A consistent copy by SQLite's online backup API, then encrypted. The copy is made in
    a temporary folder beside the database (as protected as the database itself), never in
    the backup folder, and removed."""
    if connection.in_atomic_block:
        # SQLite's backup would wait forever for the write lock this very connection holds.
        raise BackupError("A backup cannot be made inside a database transaction.")
    wrapper = cast(Any, connection)
    wrapper.ensure_connection()
    folder = None if wrapper.is_in_memory_db() else Path(connection.settings_dict["NAME"]).parent
    with tempfile.TemporaryDirectory(dir=folder, prefix=".ecitizen-backup-") as scratch:
        copy_path = Path(scratch) / "copy.sqlite3"
        copy = sqlite3.connect(copy_path)
        try:
            wrapper.connection.backup(copy)
        finally:
            copy.close()
        with copy_path.open("rb") as copied:
            return _encrypt(copied, path, recipients)


@dataclass
class _Tally:
    files: int = 0
    bytes: int = 0
    vanished: list[str] = field(default_factory=list)


def _files_part(
    store: _FileStore, folder: Path, recipients: list[Any], *, stamp: int
) -> tuple[Part, _Tally]:
    """Every file of ``store`` in one tar stream (PAX), encrypted as it is written."""
    tally = _Tally()

    def fill(writable: IO[bytes]) -> None:
        with tarfile.open(fileobj=writable, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name in _stored_files(store):
                try:
                    size = store.storage.size(name)
                    handle = store.storage.open(name, "rb")
                except FileNotFoundError:
                    # Deleted since it was listed (an expired draft's file, say): the
                    # backup is of the moment each file is read.
                    tally.vanished.append(name)
                    continue
                except STORAGE_ERRORS as exc:
                    raise BackupError(
                        f"Could not read {name} from {store.label}: {exc}", code="read_failed"
                    ) from exc
                with handle:
                    info = tarfile.TarInfo(name)
                    info.size, info.mode, info.mtime = size, 0o600, stamp
                    try:
                        tar.addfile(info, handle)
                    except STORAGE_ERRORS as exc:
                        raise BackupError(
                            f"Could not read {name} from {store.label}: {exc}", code="read_failed"
                        ) from exc
                    if handle.read(1):
                        raise BackupError(
                            f"{name} in {store.label} grew while it was being backed up: "
                            "run the backup again.",
                            code="read_failed",
                        )
                tally.files += 1
                tally.bytes += size

    file = f"{store.part}.tar.age"
    with _piped(fill) as readable:
        plain, cipher = _encrypt(readable, folder / file, recipients)
    part = Part(
        name=store.part,
        file=file,
        kind="files",
        size=plain.size,
        sha256=plain.sha256,
        encrypted_size=cipher.size,
        encrypted_sha256=cipher.sha256,
        files=tally.files,
        file_bytes=tally.bytes,
    )
    return part, tally


def _certificate_read() -> bytes | None:
    """The document-signing certificate to back up (PEM), if there is one. Refuses a file
    that also holds the private key: keys are never in a backup."""
    source = _certificate_file()
    if source is None:
        return None
    try:
        pem = source.read_bytes()
    except OSError as exc:
        raise BackupError(
            f"Cannot read the document-signing certificate {source}: {exc}", code="read_failed"
        ) from exc
    if b"PRIVATE KEY" in pem:
        raise BackupError(
            f"{source} holds a private key as well as the certificate, and backups never hold "
            "keys: keep the key in a file of its own (DOCUMENT_SIGNING_KEY_FILE). "
            "Nothing was written.",
            code="secrets_inside",
        )
    certificate_fingerprint(pem, source=str(source))
    return pem


def _certificate_part(pem: bytes, folder: Path, recipients: list[Any]) -> Part:
    file = "signing-certificate.pem.age"
    plain, cipher = _encrypt(io.BytesIO(pem), folder / file, recipients)
    return Part(
        name=CERTIFICATE_PART,
        file=file,
        kind="certificate",
        size=plain.size,
        sha256=plain.sha256,
        encrypted_size=cipher.size,
        encrypted_sha256=cipher.sha256,
        fingerprint=certificate_fingerprint(pem, source="the certificate"),
    )


def _signed_bytes(body: dict[str, Any]) -> bytes:
    return SIGNATURE_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def manifest_sign(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with a ``signature`` by the active audit signing key, when one is
    configured (production always has one), else ``body`` unchanged."""
    key_id = crypto.audit_signing_key_id()
    if key_id is None:
        return body
    value = crypto.audit_sign(_signed_bytes(body), key_id=key_id)
    return {**body, "signature": {"key_id": key_id, "value": value}}


@dataclass(frozen=True)
class Made:
    """A backup just written: its manifest, and the files that were deleted while it ran
    (so are not in it)."""

    manifest: Manifest
    vanished: list[str]


def backup_make(*, directory: Path) -> Made:
    """Write a backup of the platform into ``directory``, a new (or empty) folder.

    Preconditions: ``BACKUP_AGE_RECIPIENTS`` names at least one age public key; the folder's
    parent exists; with PostgreSQL, ``pg_dump`` (of the server's major version or newer) is
    on PATH; not inside a database transaction.

    Side effects: the parts are written into ``.<name>.partial-*`` beside ``directory``,
    renamed to ``directory`` once complete and synced to disk; on any failure that folder is
    removed, and nothing else was written. SQLite's copy is made in a temporary folder
    beside the database and removed. Appends ``backup.made`` to the audit trail (after the
    snapshot, so the event is not in the backup itself). Raises :class:`BackupError`,
    whose message says what to do.
    """
    recipients = backup_recipients()
    target = _backup_folder(directory)
    stores = _file_stores()
    _refuse_secrets_inside(stores)
    certificate = _certificate_read()
    connection = default_connection
    created_at = timezone.now()
    migrations = _applied_migrations(connection)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    vanished: list[str] = []
    try:
        # The database first: a file deleted after its snapshot is missing from the backup
        # the way it is missing from the database, while a file added after it is only an
        # unreferenced extra.
        parts = [_database_part(connection, folder, recipients)]
        for store in stores:
            stamp = int(created_at.timestamp())
            part, tally = _files_part(store, folder, recipients, stamp=stamp)
            parts.append(part)
            vanished += [f"{store.part}:{name}" for name in tally.vanished]
        if certificate is not None:
            parts.append(_certificate_part(certificate, folder, recipients))
        body = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "id": uuid.uuid4().hex,
            "created_at": created_at.isoformat(),
            "platform_version": _platform_version(),
            "database": {"vendor": connection.vendor},
            "migrations": migrations,
            "recipients": [str(recipient) for recipient in recipients],
            "parts": [asdict(part) for part in parts],
        }
        content = (json.dumps(manifest_sign(body), indent=2, sort_keys=True) + "\n").encode()
        with (folder / MANIFEST).open("xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_folder(folder)
        # rename(2) replaces an empty folder, and is atomic: the name appears complete.
        folder.rename(target)
        _fsync_folder(target.parent)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    manifest = manifest_read(target)
    audit_record(
        action="backup.made",
        object_type="core.backup",
        object_id=manifest.id,
        changes={
            "folder": {"before": None, "after": str(target)},
            "manifest_sha256": {"before": None, "after": manifest.sha256},
        },
    )
    return Made(manifest=manifest, vanished=vanished)


# --- Reading and checking a backup ------------------------------------------------------------


def identities_read(path: Path) -> list[Any]:
    """The age identities in the file at ``path``: ``AGE-SECRET-KEY-1...`` lines, as
    ``age-keygen`` writes them (``#`` lines are comments). Raises :class:`BackupError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(
            f"Cannot read the identity file {path}: {exc}", code="bad_identity"
        ) from exc
    identities = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("age1"):
            raise BackupError(
                f"{path}, line {number}, is an age public key: decrypting needs the secret "
                "key (AGE-SECRET-KEY-1...) that goes with it.",
                code="bad_identity",
            )
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            # The line is not repeated: it may be a secret key with a typo.
            raise BackupError(
                f"{path}, line {number}, is not an age identity (AGE-SECRET-KEY-1...).",
                code="bad_identity",
            ) from None
    if not identities:
        raise BackupError(
            f"{path} holds no age identity (a line AGE-SECRET-KEY-1..., as age-keygen writes).",
            code="bad_identity",
        )
    return identities


def _signature_check(body: dict[str, Any], signature: Any) -> str:
    """The key id that signed the manifest, or "" for an unsigned one where that is
    acceptable (no audit signing key here, as in development)."""
    public_keys = crypto.audit_public_keys()
    if signature is None:
        if public_keys:
            raise BackupError(
                "The manifest is not signed, yet this installation has audit signing keys: "
                "ecitizen signs every backup it makes with them, so this manifest was altered "
                "or made elsewhere. Refusing it.",
                code="unsigned",
            )
        return ""
    key_id, value = str(signature["key_id"]), str(signature["value"])
    if key_id not in public_keys:
        raise BackupError(
            f"The manifest is signed with audit key {key_id!r}, which is not configured here: "
            "add its public key to AUDIT_VERIFY_KEYS (`ecitizen keys public` prints it where "
            "the key is configured).",
            code="unknown_signer",
        )
    if not crypto.signature_valid(_signed_bytes(body), value, public_key=public_keys[key_id]):
        raise BackupError(
            "The manifest's signature does not match its content: it was changed after the "
            "backup was made. Refusing it.",
            code="bad_signature",
        )
    return key_id


def manifest_read(directory: Path) -> Manifest:
    """The manifest of the backup in ``directory``, its signature checked. Raises
    :class:`BackupError` for a folder that is not a backup, a manifest that is malformed,
    of an unknown format version, unsigned where signatures are expected, or altered."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise BackupError(f"{directory} is not a folder.", code="no_backup")
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise BackupError(
            f"{directory} holds no {MANIFEST}: it is not an ecitizen backup, or an unfinished one.",
            code="no_backup",
        ) from None
    try:
        body = json.loads(content)
        if body.get("format") != FORMAT:
            raise ValueError("it is not an ecitizen backup manifest")
        if body.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"format version {body.get('version')!r} is not the one this ecitizen reads "
                f"({FORMAT_VERSION}): restore it with the version that made it"
            )
        signed_by = _signature_check(body, body.pop("signature", None))
        parts = [Part(**part) for part in body["parts"]]
        for part in parts:
            if part.file != Path(part.file).name or part.file.startswith("."):
                raise ValueError(f"part {part.name!r} names the file {part.file!r}")
        return Manifest(
            id=str(body["id"]),
            created_at=str(body["created_at"]),
            platform_version=str(body["platform_version"]),
            vendor=str(body["database"]["vendor"]),
            migrations={str(app): list(names) for app, names in body["migrations"].items()},
            recipients=[str(recipient) for recipient in body["recipients"]],
            parts=parts,
            signed_by=signed_by,
            sha256=hashlib.sha256(content).hexdigest(),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(
            f"{path} is not a valid backup manifest: {exc}", code="bad_manifest"
        ) from exc


def _compatibility_check(manifest: Manifest, connection: BaseDatabaseWrapper) -> None:
    """The backup's database can go into this installation: same vendor, and no migration
    this code does not have (a backup made by a newer version)."""
    if manifest.vendor != connection.vendor:
        raise BackupError(
            f"The backup holds a {manifest.vendor} database and DATABASE_URL names a "
            f"{connection.vendor} one: restore it into {manifest.vendor}.",
            code="wrong_vendor",
        )
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)  # squashed since: the backup names the originals
    unknown = sorted(
        f"{app}.{name}"
        for app, names in manifest.migrations.items()
        for name in names
        if (app, name) not in known
    )
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if unknown[5:] else "")
        raise BackupError(
            f"The backup was made by a newer ecitizen ({manifest.platform_version}; this is "
            f"{_platform_version()}): its database has migrations this code does not know "
            f"({shown}). Restore it with ecitizen {manifest.platform_version} or later.",
            code="newer_migrations",
        )


def _identity_check(manifest: Manifest, identities: Sequence[Any]) -> None:
    offered = sorted({str(identity.to_public()) for identity in identities})
    if not set(offered) & set(manifest.recipients):
        raise BackupError(
            f"This identity cannot decrypt the backup: its public key is {', '.join(offered)}, "
            f"and the backup was encrypted to {', '.join(manifest.recipients)}.",
            code="wrong_identity",
        )


def _part_check(directory: Path, part: Part, identities: Sequence[Any]) -> None:
    """One pass over a part: the ciphertext's size and SHA-256, then the plaintext's, by
    decrypting into nothing."""
    path = directory / part.file
    if not path.is_file():
        raise BackupError(f"{part.file} is missing from the backup.", code="part_missing")
    altered = BackupError(
        f"{part.file} does not match the manifest's checksum: it was damaged or changed. "
        "Restore another backup.",
        code="checksum_mismatch",
    )
    if path.stat().st_size != part.encrypted_size:
        raise altered
    plain = _Counting(None)
    with path.open("rb") as handle:
        cipher = _Counting(handle)
        try:
            pyrage.decrypt_io(cipher, plain, list(identities))
        except (pyrage.DecryptError, OSError) as exc:
            cipher.drain()
            if cipher.sha256 != part.encrypted_sha256:
                raise altered from exc
            raise BackupError(
                f"{part.file} cannot be decrypted: {exc}", code="undecryptable"
            ) from exc
        cipher.drain()
    if cipher.sha256 != part.encrypted_sha256 or (plain.size, plain.sha256) != (
        part.size,
        part.sha256,
    ):
        raise altered


def backup_check(*, directory: Path, identities: Sequence[Any]) -> Manifest:
    """Check the backup in ``directory`` without writing anything: its manifest and
    signature, that this code can restore it, that ``identities`` can decrypt it, and the
    checksums of every part, ciphertext and plaintext (each part is decrypted, into
    nothing). Raises :class:`BackupError` naming the first problem."""
    directory = directory.absolute()
    manifest = manifest_read(directory)
    _compatibility_check(manifest, default_connection)
    _identity_check(manifest, identities)
    for part in manifest.parts:
        _part_check(directory, part, identities)
    return manifest


# --- Restoring ----------------------------------------------------------------------------


def _database_empty_check(connection: BaseDatabaseWrapper) -> None:
    try:
        tables = connection.introspection.table_names(include_views=True)
    except DatabaseError as exc:
        raise BackupError(
            f"Cannot connect to the database named by DATABASE_URL: {exc}. Create it, empty, "
            "first (PostgreSQL: createdb -O OWNER NAME).",
            code="no_database",
        ) from exc
    if tables:
        raise BackupError(
            f"The database {connection.settings_dict.get('NAME')} already has {len(tables)} "
            f"tables ({', '.join(tables[:3])}...): a backup is restored into an empty database "
            "only. Create a new, empty database and point DATABASE_URL at it (docs/backup.md).",
            code="database_not_empty",
        )
    if connection.vendor == "sqlite" and cast(Any, connection).is_in_memory_db():
        raise BackupError(
            "DATABASE_URL names an in-memory SQLite database: restore into a file.",
            code="database_not_empty",
        )


def _store_empty_check(store: _FileStore) -> None:
    first = next(_stored_files(store), None)
    if first is not None:
        raise BackupError(
            f"{store.label} already holds files ({first}, ...): a backup is restored into "
            "empty storage only. Empty it (or point the setting at an empty place) and "
            "run the restore again.",
            code="storage_not_empty",
        )


def _store_empty(store: _FileStore) -> None:
    """Delete every file of ``store``: undoing a restore into a store that was empty."""
    for name in list(_stored_files(store)):
        store.storage.delete(name)


def _restore_targets(manifest: Manifest) -> dict[str, _FileStore]:
    """Where each files part of the backup goes here, by part name."""
    stores = {store.part: store for store in _file_stores()}
    targets: dict[str, _FileStore] = {}
    for part in manifest.parts:
        if part.kind != "files":
            continue
        if part.name not in stores:
            raise BackupError(
                f"The backup holds {part.name} ({part.files} files), which has no place in "
                "this installation: configure that storage in STORAGES first.",
                code="no_storage",
            )
        targets[part.name] = stores[part.name]
    return targets


def _member_name(part: Part, member: tarfile.TarInfo) -> str:
    path = PurePosixPath(member.name)
    if not member.isfile() or path.is_absolute() or ".." in path.parts:
        raise BackupError(
            f"{part.file} holds {member.name!r}, which is not a file a backup writes.",
            code="checksum_mismatch",
        )
    return member.name


def _file_restore(store: _FileStore, name: str, source: IO[bytes], scratch: str) -> None:
    """Write one file into ``store`` under ``name``, then read it back and compare. Raises
    :class:`BackupError` when the storage refuses it (full, a bucket that refuses the PUT,
    an endpoint down) or gives back something else."""

    def failed(exc: Exception) -> BackupError:
        return BackupError(f"Could not write {name} to {store.label}: {exc}", code="write_failed")

    digest = hashlib.sha256()
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES, dir=scratch) as spool:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
            spool.write(chunk)
        spool.seek(0)
        try:
            saved = store.storage.save(name, File(spool, name=name))
        except STORAGE_ERRORS as exc:
            raise failed(exc) from exc
    if saved != name:
        raise BackupError(
            f"{store.label} stored {name} as {saved}: it must keep the names it is given.",
            code="write_failed",
        )
    try:
        with store.storage.open(name, "rb") as stored:
            written = _sha256_of(stored)
    except STORAGE_ERRORS as exc:
        raise failed(exc) from exc
    if written != digest.hexdigest():
        raise BackupError(
            f"{name} reads back from {store.label} different from what was written.",
            code="write_failed",
        )


def _files_restore(
    directory: Path, part: Part, store: _FileStore, identities: Sequence[Any]
) -> int:
    """Write every file of a files part into ``store``; returns how many."""
    counted: list[_Counting] = []  # what the tar reader receives, counted and hashed
    written = 0

    def fill(writable: IO[bytes]) -> None:
        counted.append(_Counting(writable))
        _decrypt(directory / part.file, counted[0], identities)

    with (
        tempfile.TemporaryDirectory(prefix="ecitizen-restore-") as scratch,
        _piped(fill) as readable,
        tarfile.open(fileobj=readable, mode="r|") as tar,
    ):
        for member in tar:
            name = _member_name(part, member)
            _file_restore(store, name, cast(IO[bytes], tar.extractfile(member)), scratch)
            written += 1
        # The tar's end-of-archive blocks leave padding: read it, so that the whole part
        # went through the digest.
        while readable.read(_CHUNK):
            pass
    plain = counted[0]
    if (plain.size, plain.sha256) != (part.size, part.sha256) or written != part.files:
        raise BackupError(
            f"{part.file} changed since it was checked. Restore another backup.",
            code="checksum_mismatch",
        )
    return written


def _postgresql_restore(
    connection: BaseDatabaseWrapper, path: Path, part: Part, identities: Sequence[Any]
) -> None:
    """``pg_restore`` from the decrypted stream, in one transaction: it restores all or
    nothing. Without owners or grants: the roles of the restored installation are not the
    old one's."""
    arguments, environment = _libpq(connection)
    command = [
        _tool("pg_restore"),
        "--no-password",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        *arguments,
    ]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - our arguments, no shell
            command, stdin=subprocess.PIPE, stdout=errors, stderr=errors, env=environment
        )
        feed = cast(IO[bytes], process.stdin)
        plain = _Counting(feed)
        broken: Exception | None = None
        try:
            _decrypt(path, plain, identities)
        except (pyrage.DecryptError, OSError) as exc:
            broken = exc  # pg_restore failing first breaks the pipe: its message says why
        finally:
            with suppress(BrokenPipeError):
                feed.close()
            status = process.wait()
        if status != 0:
            errors.seek(0)
            message = errors.read().decode("utf-8", errors="replace").strip()
            raise BackupError(
                f"pg_restore failed (exit status {status}), and the database is left empty "
                f"(the restore is one transaction): {message}",
                code="restore_failed",
            )
    if broken is not None or (plain.size, plain.sha256) != (part.size, part.sha256):
        raise BackupError(
            f"{part.file} changed since it was checked, and the database may hold part of it: "
            "drop the database, create it again empty and restore another backup.",
            code="checksum_mismatch",
        )


def _sqlite_restore(
    connection: BaseDatabaseWrapper, path: Path, part: Part, identities: Sequence[Any]
) -> None:
    """Decrypt beside the database file, check the copy, then rename it into place."""
    target = Path(connection.settings_dict["NAME"])
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.restore-")
    temporary = Path(name)  # mode 0600, as the database file then stays
    try:
        with os.fdopen(descriptor, "wb") as handle:
            plain = _Counting(handle)
            _decrypt(path, plain, identities)
            handle.flush()
            os.fsync(handle.fileno())
        if (plain.size, plain.sha256) != (part.size, part.sha256):
            raise BackupError(
                f"{part.file} changed since it was checked. Restore another backup.",
                code="checksum_mismatch",
            )
        check = sqlite3.connect(temporary)
        try:
            (verdict,) = check.execute("PRAGMA integrity_check").fetchone()
        finally:
            check.close()
        if verdict != "ok":
            raise BackupError(
                f"The restored database fails SQLite's integrity check: {verdict}",
                code="restore_failed",
            )
        connection.close()
        # The empty database's own journal must not be applied to the restored one.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _pending_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def certificate_report(manifest: Manifest) -> str:
    """A sentence comparing the backup's document-signing certificate with this
    installation's."""
    part = manifest.part(CERTIFICATE_PART)
    if part is None:
        return "The backup holds no document-signing certificate (none had been made)."
    configured = _certificate_file()
    if configured is None or not configured.is_file():
        return (
            "No document-signing certificate is configured here. Documents issued before the "
            f"backup were signed with the one in the backup (SHA-256 {part.fingerprint}): "
            "decrypt it with age and configure it with its key (docs/backup.md)."
        )
    fingerprint = certificate_fingerprint(configured.read_bytes(), source=str(configured))
    if fingerprint == part.fingerprint:
        return "The document-signing certificate configured here is the one in the backup."
    return (
        f"The document-signing certificate configured here (SHA-256 {fingerprint}) is not the "
        f"one in the backup ({part.fingerprint}): new documents are signed with this one, and "
        "documents issued before still carry the old one in their signatures."
    )


def backup_restore(*, directory: Path, identities: Sequence[Any]) -> Restored:
    """Restore the backup in ``directory`` into this installation's database and storage.

    Preconditions: the platform is stopped (no web, worker or scheduler process runs);
    ``DATABASE_URL`` names an empty database (no tables) and every file storage and
    ``DATASTORE_DIR`` is empty; the code has every migration the backup's database has;
    ``identities`` include one the backup was encrypted to; with PostgreSQL, ``pg_restore``
    is on PATH. The keys (``FIELD_ENCRYPTION_KEYS``, ``BLIND_INDEX_KEY``,
    ``AUDIT_SIGNING_KEYS``...) are the backed-up installation's, from the secrets store.

    Everything is checked before anything is written: what :func:`backup_check` checks,
    and that the targets are empty. Side effects: the files, each read back and compared,
    then the database (in one transaction on PostgreSQL; on SQLite a checked copy renamed
    into place); if any of it fails, the files written are deleted again, so the
    installation is left as empty as it was. Then, when the restored database has this
    code's audit tables (no migration of ``core`` pending), appends ``backup.restored`` to
    the restored audit trail. Raises
    :class:`BackupError`.
    """
    directory = directory.absolute()
    connection = default_connection
    manifest = manifest_read(directory)
    _compatibility_check(manifest, connection)
    targets = _restore_targets(manifest)
    _database_empty_check(connection)
    for store in targets.values():
        _store_empty_check(store)
    _identity_check(manifest, identities)
    for part in manifest.parts:
        _part_check(directory, part, identities)
    database = manifest.part(DATABASE_PART)
    if database is None:
        raise BackupError("The manifest lists no database part.", code="bad_manifest")
    if database.kind == "postgresql":
        _tool("pg_restore")  # missing, it is said before any file is written

    written: list[_FileStore] = []
    files = 0
    try:
        for part in manifest.parts:
            if part.kind == "files":
                written.append(targets[part.name])
                files += _files_restore(directory, part, targets[part.name], identities)
        if database.kind == "postgresql":
            _postgresql_restore(connection, directory / database.file, database, identities)
        else:
            _sqlite_restore(connection, directory / database.file, database, identities)
    except BaseException:
        for store in written:
            _store_empty(store)
        raise
    connection.close()  # nothing cached from the empty database survives
    pending = _pending_migrations(connection)
    audited = not any(name.startswith("core.") for name in pending)
    if audited:
        audit_record(
            action="backup.restored",
            object_type="core.backup",
            object_id=manifest.id,
            changes={
                "created_at": {"before": None, "after": manifest.created_at},
                "manifest_sha256": {"before": None, "after": manifest.sha256},
            },
        )
    return Restored(
        manifest=manifest,
        files=files,
        pending_migrations=pending,
        audited=audited,
        certificate=certificate_report(manifest),
    )

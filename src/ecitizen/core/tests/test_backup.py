"""``ecitizen backup`` and ``ecitizen restore`` (docs/backup.md): parts encrypted to an age
key with a signed manifest of checksums, no key material in them, every refusal with its
message and nothing written, and the round trip (in-process backup, restore in a fresh
process into an empty database and storage, then ``audit verify``, ``ledger check`` and a
signed document that still verifies).

Database-specific: the parts are what is stored (a SQLite file, a PostgreSQL dump), and
each database has its own round trip.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pyrage
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from ecitizen.core.backup import _SPOOL_BYTES, BackupError, _piped, manifest_sign
from ecitizen.core.models import AuditEvent
from ecitizen.core.tests.test_settings import _run
from ecitizen.documents.services import upload_store
from ecitizen.documents.tests.factories import issue
from ecitizen.documents.tests.signing_fixtures import make_signing_pair, signature_status
from tests.factories import UserFactory
from tests.processes import run_ecitizen

pytestmark = [pytest.mark.db_specific, pytest.mark.usefixtures("own_files_folder")]

#: Python code run by ``ecitizen shell -c`` against a restored installation: the checks an
#: operator runs after a restore, and the document's PDF written out for its signature.
AFTER_RESTORE = """
import hashlib, json, os
from django.core.management import call_command
from ecitizen.documents.selectors import document_for_verification, document_pdf, document_status
call_command("audit", "verify")
call_command("ledger", "check")
document = document_for_verification(code=os.environ["CHECK_DOCUMENT"])
pdf = document_pdf(document=document)
with open(os.environ["CHECK_PDF_OUT"], "wb") as out:
    out.write(pdf)
print(json.dumps({"status": document_status(document),
                  "digest_matches": hashlib.sha256(pdf).hexdigest() == document.pdf_sha256}))
"""


@pytest.fixture
def age_key(tmp_path, settings):
    """An age identity in a file, as ``age-keygen`` writes it, and its public key as the
    configured recipient."""
    identity = pyrage.x25519.Identity.generate()
    path = tmp_path / "backup-identity.txt"
    path.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    settings.BACKUP_AGE_RECIPIENTS = [str(identity.to_public())]
    return SimpleNamespace(identity=identity, path=path, public=str(identity.to_public()))


def _backup(folder: Path) -> dict:
    out = io.StringIO()
    call_command("backup", str(folder), stdout=out, stderr=io.StringIO())
    return json.loads((folder / "manifest.json").read_text())


def _restore(folder: Path, identity: Path, *extra: str) -> str:
    out = io.StringIO()
    call_command("restore", str(folder), "--identity", str(identity), *extra, stdout=out)
    return out.getvalue()


def _plaintext(folder: Path, part: dict, identity) -> bytes:
    return pyrage.decrypt((folder / part["file"]).read_bytes(), [identity])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root`` (dot files aside: the DataStore's temporaries) by relative
    path, with its SHA-256."""
    return {
        str(path.relative_to(root)): _sha256(path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts)
    }


def _some_data():
    """A resident, a signed document (its PDF encrypted in the media storage) and a DataStore
    table file beside one still being written (a dot file, never backed up)."""
    resident = UserFactory(email="backup.resident@example.test", full_name="Rowan Backup")
    document = issue(resident)
    table = Path(settings.DATASTORE_DIR) / "resource-1"
    table.mkdir(parents=True)
    (table / "v1.duckdb").write_bytes(b"a DataStore table " * 100)
    (table / ".tmp-v2.duckdb").write_bytes(b"half written")
    return SimpleNamespace(resident=resident, document=document)


# --- Refusals before anything is written --------------------------------------------------


def test_backup_refuses_without_a_recipient_and_writes_nothing(tmp_path, settings):
    settings.BACKUP_AGE_RECIPIENTS = []
    with pytest.raises(CommandError, match="No backup recipient is configured"):
        call_command("backup", str(tmp_path / "b"))
    assert list(tmp_path.iterdir()) == []


def test_backup_refuses_a_folder_in_use_or_a_missing_parent(tmp_path, age_key):
    used = tmp_path / "used"
    used.mkdir()
    (used / "old-backup.txt").write_text("x")
    with pytest.raises(CommandError, match="already exists and is not an empty folder"):
        call_command("backup", str(used))
    with pytest.raises(CommandError, match=r"does not exist: create it first"):
        call_command("backup", str(tmp_path / "missing" / "b"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup-identity.txt", "used"]


def test_backup_refuses_a_certificate_file_that_holds_the_key(tmp_path, age_key, settings):
    key_path, cert_path = make_signing_pair(tmp_path)
    both = tmp_path / "key-and-cert.pem"
    both.write_bytes(cert_path.read_bytes() + key_path.read_bytes())
    settings.DOCUMENT_SIGNING_CERT_FILE = str(both)
    with pytest.raises(CommandError, match="holds a private key as well as the certificate"):
        call_command("backup", str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_backup_refuses_a_backed_up_folder_that_holds_secrets(tmp_path, age_key, settings):
    settings.DOCUMENT_SIGNING_KEY_FILE = str(Path(settings.DATASTORE_DIR) / "signing-key.pem")
    Path(settings.DATASTORE_DIR).mkdir(parents=True)
    Path(settings.DOCUMENT_SIGNING_KEY_FILE).write_text("-----BEGIN PRIVATE KEY-----")
    with pytest.raises(CommandError, match="a file of secrets, and backups never hold keys"):
        call_command("backup", str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()


@pytest.mark.django_db
def test_a_backup_that_fails_half_way_leaves_nothing(tmp_path, age_key, monkeypatch):
    stored = Path(settings.MEDIA_ROOT) / "documents" / "ab" / "upload.bin"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"ciphertext")

    def unreadable(self, name, mode="rb"):
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(FileSystemStorage, "_open", unreadable)
    # SQLite stops at the database (this test runs in a transaction, which its backup API
    # would wait on forever); PostgreSQL's dump is written, then the file cannot be read.
    with pytest.raises(
        CommandError,
        match=r"inside a database transaction|Could not read documents/ab/upload\.bin",
    ):
        call_command("backup", str(tmp_path / "b"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup-identity.txt", "media"]


def _read_then_fail(fill, failure: Exception, *, size: int = -1) -> None:
    with _piped(fill) as readable:
        readable.read(size)
        raise failure


def test_a_stream_failure_is_reported_as_the_cause_and_never_masks_the_reader_own():
    def truncated(writable):
        writable.write(b"x" * 100_000)
        raise BackupError("decryption failed")

    # The reader's "unexpected end of data" is only the symptom of the writer's failure.
    with pytest.raises(BackupError, match="decryption failed"):
        _read_then_fail(truncated, ValueError("unexpected end of data"))

    def endless(writable):
        while True:
            writable.write(b"y" * 65_536)

    # The writer's broken pipe is only the echo of the reader's failure.
    with pytest.raises(ValueError, match="storage refused"):
        _read_then_fail(endless, ValueError("storage refused"), size=10)


# --- What a backup holds --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_manifest_lists_every_part_with_its_checksums_and_nothing_holds_a_key(
    tmp_path, age_key, settings
):
    data = _some_data()
    folder = tmp_path / "backup"
    manifest = _backup(folder)

    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["recipients"] == [age_key.public]
    assert manifest["signature"]["key_id"] == settings.AUDIT_SIGNING_ACTIVE_KEY
    assert "0001_initial" in manifest["migrations"]["core"]
    parts = {part["name"]: part for part in manifest["parts"]}
    assert set(parts) == {"database", "storage-default", "datastore", "signing-certificate"}
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["manifest.json", *(part["file"] for part in parts.values())]
    )
    plaintexts = {}
    for name, part in parts.items():
        ciphertext = (folder / part["file"]).read_bytes()
        assert (len(ciphertext), _sha256(ciphertext)) == (
            part["encrypted_size"],
            part["encrypted_sha256"],
        )
        plaintexts[name] = _plaintext(folder, part, age_key.identity)
        assert (len(plaintexts[name]), _sha256(plaintexts[name])) == (part["size"], part["sha256"])

    # Every file with its content, and not the one still being written.
    archived = {}
    for name, root in (
        ("storage-default", Path(settings.MEDIA_ROOT)),
        ("datastore", Path(settings.DATASTORE_DIR)),
    ):
        with tarfile.open(fileobj=io.BytesIO(plaintexts[name])) as tar:
            archived[name] = {m.name: _sha256(tar.extractfile(m).read()) for m in tar}
        assert archived[name] == _files(root)
        assert parts[name]["files"] == len(archived[name])
    assert data.document.pdf.storage_name in archived["storage-default"]
    assert set(archived["datastore"]) == {"resource-1/v1.duckdb"}
    assert (
        Path(settings.DOCUMENT_SIGNING_CERT_FILE).read_bytes() == plaintexts["signing-certificate"]
    )

    # No key material in any part; the resident's email address, stored in clear, is found,
    # so a key stored the same way would have been.
    database = plaintexts["database"]
    if connection.vendor == "postgresql":
        dump = tmp_path / "dump"
        dump.write_bytes(database)
        database = subprocess.run(  # noqa: S603 - PostgreSQL's own tool, as SQL text
            [shutil.which("pg_restore"), "--file=-", str(dump)], capture_output=True, check=True
        ).stdout
    assert data.resident.email.encode() in database
    signing_key = Path(settings.DOCUMENT_SIGNING_KEY_FILE).read_bytes()
    secrets = [
        settings.SECRET_KEY.encode(),
        *settings.FIELD_ENCRYPTION_KEYS.values(),
        settings.BLIND_INDEX_KEY,
        *settings.AUDIT_SIGNING_KEYS.values(),
        signing_key.splitlines()[1],  # the first line of the key's base64
        b"PRIVATE KEY",
    ]
    secrets += [base64.b64encode(s) for s in secrets if len(s) == 32]
    for name, plaintext in {**plaintexts, "database": database}.items():
        for secret in secrets:
            assert secret not in plaintext, f"{name} holds {secret!r}"

    made = AuditEvent.objects.get(action="backup.made")
    assert made.object_id == manifest["id"]
    assert made.changes["manifest_sha256"]["after"] == _sha256(
        (folder / "manifest.json").read_bytes()
    )


# --- Refusals of a restore --------------------------------------------------------------------


@pytest.fixture
def backup(tmp_path, age_key, transactional_db):
    _some_data()
    folder = tmp_path / "backup"
    _backup(folder)
    return folder


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_restore_checks_an_intact_backup_and_refuses_a_damaged_one_or_a_full_database(
    backup, age_key
):
    before = {p: p.stat().st_mtime_ns for p in backup.iterdir()}
    output = _restore(backup, age_key.path, "--check")
    assert "every part's checksums match" in output
    assert "Nothing was written (--check)." in output
    assert before == {p: p.stat().st_mtime_ns for p in backup.iterdir()}

    # This test's database has tables: a restore into it is refused, and writes nothing.
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=r"already has \d+ tables.*empty database only"):
        _restore(backup, age_key.path)
    assert AuditEvent.objects.count() == events

    part = backup / "storage-default.tar.age"
    original = part.read_bytes()
    _flip_a_byte(part)
    with pytest.raises(
        CommandError, match=r"storage-default\.tar\.age does not match the manifest"
    ):
        _restore(backup, age_key.path, "--check")
    part.write_bytes(original[:-100])
    with pytest.raises(
        CommandError, match=r"storage-default\.tar\.age does not match the manifest"
    ):
        _restore(backup, age_key.path, "--check")
    part.unlink()
    with pytest.raises(CommandError, match=r"storage-default\.tar\.age is missing"):
        _restore(backup, age_key.path, "--check")


def test_restore_refuses_a_manifest_from_newer_code_altered_or_unsigned(backup, age_key):
    path = backup / "manifest.json"
    manifest = json.loads(path.read_text())
    newer = {k: v for k, v in manifest.items() if k != "signature"}
    newer["migrations"] = {**manifest["migrations"], "core": ["9999_from_the_future"]}
    path.write_text(json.dumps(manifest_sign(newer)))  # signed as ecitizen would
    with pytest.raises(CommandError, match=r"made by a newer ecitizen.*core\.9999_from_the_future"):
        _restore(backup, age_key.path, "--check")

    altered = {**manifest, "parts": [{**p, "sha256": "0" * 64} for p in manifest["parts"]]}
    path.write_text(json.dumps(altered))
    with pytest.raises(CommandError, match="signature does not match its content"):
        _restore(backup, age_key.path, "--check")
    path.write_text(json.dumps({k: v for k, v in manifest.items() if k != "signature"}))
    with pytest.raises(CommandError, match="The manifest is not signed"):
        _restore(backup, age_key.path, "--check")
    path.write_text("{not json")
    with pytest.raises(CommandError, match="is not a valid backup manifest"):
        _restore(backup, age_key.path, "--check")
    path.unlink()
    with pytest.raises(CommandError, match=r"holds no manifest\.json"):
        _restore(backup, age_key.path, "--check")


def test_restore_refuses_a_wrong_identity_and_says_which_keys(backup, age_key, tmp_path):
    other = pyrage.x25519.Identity.generate()
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"{other}\n")
    with pytest.raises(CommandError) as refused:
        _restore(backup, wrong, "--check")
    message = str(refused.value)
    assert "This identity cannot decrypt the backup" in message
    assert str(other.to_public()) in message
    assert age_key.public in message

    wrong.write_text(f"{age_key.public}\n")
    with pytest.raises(CommandError, match="is an age public key: decrypting needs the secret"):
        _restore(backup, wrong, "--check")
    wrong.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    with pytest.raises(CommandError, match=r"line 1, is not an age identity") as refused:
        _restore(backup, wrong, "--check")
    assert "NOTAKEY" not in str(refused.value)  # a mistyped secret is not repeated
    with pytest.raises(CommandError, match="Cannot read the identity file"):
        _restore(backup, tmp_path / "missing.txt", "--check")


# --- The round trip -------------------------------------------------------------------------


def _installation(var_dir: Path, database_url: str) -> dict[str, str]:
    """The environment of a restored installation: its own database and folders, the same
    keys (from the secrets store, in life) and the same document-signing pair."""
    env = {
        **os.environ,
        "ECITIZEN_ENV_FILE": os.devnull,
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url,
        "DOCUMENT_SIGNING_KEY_FILE": str(settings.DOCUMENT_SIGNING_KEY_FILE),
        "DOCUMENT_SIGNING_CERT_FILE": str(settings.DOCUMENT_SIGNING_CERT_FILE),
    }
    for name in ("DATASTORE_DIR", "INSIGHTS_DIR"):
        env.pop(name, None)
    return env


def _row_counts(cursor, tables) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - introspected names
        counts[table] = cursor.fetchone()[0]
    return counts


@contextmanager
def _empty_database(tmp_path: Path) -> Iterator[tuple[str, Callable[[list[str]], dict[str, int]]]]:
    """A new, empty database of this test's vendor to restore into: its ``DATABASE_URL``
    and a function counting the rows of tables in it. On PostgreSQL a database of the
    test's server, dropped afterwards; on SQLite a file under ``tmp_path/restored``."""
    if connection.vendor == "sqlite":
        import sqlite3

        target = tmp_path / "restored" / "ecitizen.sqlite3"
        target.parent.mkdir(parents=True, exist_ok=True)

        def sqlite_counts(tables: list[str]) -> dict[str, int]:
            with sqlite3.connect(target) as restored:
                return _row_counts(restored.cursor(), tables)

        yield f"sqlite:///{target}", sqlite_counts
        return
    import psycopg

    source = connection.settings_dict
    server = {
        "host": source["HOST"] or "127.0.0.1",
        "port": source["PORT"] or 5432,
        "user": source["USER"],
        "password": source["PASSWORD"] or None,
    }
    name = f"{source['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    credentials = quote(source["USER"], safe="")
    if source["PASSWORD"]:
        credentials += ":" + quote(source["PASSWORD"], safe="")
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def postgresql_counts(tables: list[str]) -> dict[str, int]:
        with psycopg.connect(dbname=name, **server) as restored:
            return _row_counts(restored.cursor(), tables)

    try:
        yield (
            f"postgres://{credentials}@{server['host']}:{server['port']}/{name}",
            postgresql_counts,
        )
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _round_trip(*, tmp_path, age_key, database_url, restored_counts, document) -> None:
    """Back up this test's database and files, restore them into ``database_url`` and a new
    VAR_DIR in a fresh process, and compare: row counts of every table, every file, the
    audit trail and the ledger, and the signed document."""
    tables = connection.introspection.table_names()
    with connection.cursor() as cursor:
        before = _row_counts(cursor, tables)
    media, datastore = Path(settings.MEDIA_ROOT), Path(settings.DATASTORE_DIR)
    files_before = {"media": _files(media), "datastore": _files(datastore)}
    assert files_before["media"]
    assert files_before["datastore"]

    folder = tmp_path / "backup"
    manifest = _backup(folder)
    var_dir = tmp_path / "restored"
    env = _installation(var_dir, database_url)

    # Storage that is not empty is refused before anything is written.
    (var_dir / "media").mkdir(parents=True)
    (var_dir / "media" / "left-over.bin").write_bytes(b"x")
    refused = run_ecitizen("restore", str(folder), "--identity", str(age_key.path), env=env)
    assert refused.returncode == 1
    assert "already holds files (left-over.bin, ...)" in refused.stderr
    (var_dir / "media" / "left-over.bin").unlink()

    restored = run_ecitizen("restore", str(folder), "--identity", str(age_key.path), env=env)
    assert restored.returncode == 0, restored.stderr
    assert "The document-signing certificate configured here is the one in the backup" in (
        restored.stdout
    )

    # Every table has the rows it had, but for the restore itself in the audit trail.
    expected = {**before}
    expected["core_auditevent"] += 1
    expected["core_auditcheckpoint"] += 1
    assert restored_counts(tables) == expected
    assert {"media": _files(var_dir / "media"), "datastore": _files(var_dir / "datastore")} == (
        files_before
    )

    pdf_out = tmp_path / "restored.pdf"
    checked = run_ecitizen(
        "shell",
        "-c",
        AFTER_RESTORE,
        env={**env, "CHECK_DOCUMENT": document.code, "CHECK_PDF_OUT": str(pdf_out)},
    )
    assert checked.returncode == 0, checked.stderr
    assert "Audit chain intact" in checked.stdout
    assert "The ledger is consistent" in checked.stdout
    assert json.loads(checked.stdout.strip().splitlines()[-1]) == {
        "status": "genuine",
        "digest_matches": True,
    }
    _assert_signed_by(pdf_out.read_bytes(), folder, manifest, age_key.identity)


def _assert_signed_by(pdf: bytes, folder: Path, manifest: dict, identity) -> None:
    """The PDF's signature is intact and made by the certificate in the backup."""
    (part,) = [p for p in manifest["parts"] if p["name"] == "signing-certificate"]
    certificate = folder.parent / "certificate-from-backup.pem"
    certificate.write_bytes(_plaintext(folder, part, identity))
    assert signature_status(pdf, certificate).bottom_line


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's round trip")
@pytest.mark.django_db(transaction=True)
def test_sqlite_round_trip(tmp_path, age_key):
    data = _some_data()
    with _empty_database(tmp_path) as (url, restored_counts):
        _round_trip(
            tmp_path=tmp_path,
            age_key=age_key,
            database_url=url,
            restored_counts=restored_counts,
            document=data.document,
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's round trip")
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(600)
def test_postgresql_round_trip_of_the_demo(tmp_path, age_key):
    """A real part of the Riverton demo: its people (staff with their second factors,
    residents with encrypted profiles) and its parking fines, some paid, with their ledger
    postings and signed receipts."""
    from ecitizen.accounts.demo import demo_people_load
    from ecitizen.demo.services import riverton_context
    from ecitizen.documents.models import IssuedDocument
    from ecitizen.payments.demo import demo_fines_load

    context = riverton_context(seed=2026)
    with transaction.atomic():  # receipts are issued by the tasks its commit runs
        demo_people_load(context)
        demo_fines_load(context)
    receipt = IssuedDocument.objects.filter(template="receipt").order_by("pk").first()
    assert receipt is not None
    table = Path(settings.DATASTORE_DIR) / "resource-1"
    table.mkdir(parents=True)
    (table / "v1.duckdb").write_bytes(b"a DataStore table " * 100)

    with _empty_database(tmp_path) as (url, restored_counts):
        _round_trip(
            tmp_path=tmp_path,
            age_key=age_key,
            database_url=url,
            restored_counts=restored_counts,
            document=receipt,
        )


#: Run by ``ecitizen shell -c`` on an installation restored into S3: an upload and an
#: issued document read back through the platform (from the bucket, decrypted and checked
#: against their recorded digests).
READ_BACK = """
import hashlib, json, os
from ecitizen.documents.models import Upload
from ecitizen.documents.selectors import document_for_verification, document_pdf
from ecitizen.documents.services import upload_read
upload = Upload.objects.get(pk=os.environ["CHECK_UPLOAD"])
document = document_for_verification(code=os.environ["CHECK_DOCUMENT"])
print(json.dumps({"upload": hashlib.sha256(upload_read(upload=upload)).hexdigest(),
                  "document": hashlib.sha256(document_pdf(document=document)).hexdigest()}))
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(600)
def test_a_backup_restored_into_an_empty_s3_bucket(tmp_path, age_key, s3_bucket):
    """The files of a folder backed up, then restored by ``ecitizen restore`` into an
    installation whose media storage is an empty S3 bucket: every file in the bucket with
    its checksum, and the files still decrypt through the platform."""
    data = _some_data()
    plans = b"%PDF-1.4\n% the plans of a shed\n%%EOF\n"
    upload = upload_store(
        owner=data.resident,
        file=SimpleUploadedFile("plans.pdf", plans, content_type="application/pdf"),
        allowed_types=["application/pdf"],
        max_bytes=1024 * 1024,
        actor=data.resident,
    )
    # A file past S3's multipart threshold and the restore's memory spool (a large table).
    large = default_storage.save(
        "opendata/resources/large/table.csv", ContentFile(os.urandom(_SPOOL_BYTES + 1))
    )
    files = _files(Path(settings.MEDIA_ROOT))
    assert set(files) == {upload.storage_name, data.document.pdf.storage_name, large}
    folder = tmp_path / "backup"
    _backup(folder)

    with _empty_database(tmp_path) as (url, _counts):
        env = {**_installation(tmp_path / "restored", url), **s3_bucket.environment()}
        # A bucket that does not exist (a typing mistake in S3_BUCKET): said, nothing written.
        refused = run_ecitizen(
            "restore",
            str(folder),
            "--identity",
            str(age_key.path),
            env={**env, "S3_BUCKET": f"{s3_bucket.name}-missing"},
        )
        assert refused.returncode == 1
        assert "Could not list the file storage 'default'" in refused.stderr
        assert "NoSuchBucket" in refused.stderr

        restored = run_ecitizen("restore", str(folder), "--identity", str(age_key.path), env=env)
        assert restored.returncode == 0, restored.stderr
        assert "Restored the" in restored.stdout
        assert s3_bucket.stored() == files

        read = run_ecitizen(
            "shell",
            "-c",
            READ_BACK,
            env={**env, "CHECK_UPLOAD": str(upload.pk), "CHECK_DOCUMENT": data.document.code},
        )
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout.strip().splitlines()[-1]) == {
        "upload": _sha256(plans),
        "document": data.document.pdf_sha256,
    }


# --- The setting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("age1notakey", "is not an age public key", id="malformed"),
        pytest.param(None, "holds an age secret key: give its public key", id="secret-key"),
    ],
)
def test_bad_recipients_stop_the_process(value, message):
    value = value or str(pyrage.x25519.Identity.generate())  # a secret key pasted by mistake
    result = _run({"BACKUP_AGE_RECIPIENTS": value})
    assert result.returncode != 0
    assert message in result.stderr
    assert value.startswith("age1") or value not in result.stderr  # a secret is not repeated


def test_recipients_are_a_list_of_public_keys():
    keys = [str(pyrage.x25519.Identity.generate().to_public()) for _ in range(2)]
    result = _run(
        {"BACKUP_AGE_RECIPIENTS": f" {keys[0]} , {keys[1]}"},
        "import django; django.setup(); from django.conf import settings; "
        "print(','.join(settings.BACKUP_AGE_RECIPIENTS))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ",".join(keys)

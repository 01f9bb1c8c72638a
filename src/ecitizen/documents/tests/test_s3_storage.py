"""Uploads, issued documents and the backup of their files on S3-compatible storage: moto's
S3 server spoken to over HTTP (``tests/s3.py``), the objects then read straight from the
bucket with boto3.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pyrage
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from storages.backends.s3 import S3Storage

from ecitizen.core import backup, crypto
from ecitizen.documents import selectors, services
from ecitizen.documents.http import upload_response
from ecitizen.documents.tests.factories import issue
from tests.s3 import PREFIX

MARKER = b"SECRET-MARKER-passport-number-RV12345678"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n% " + MARKER + b"\n%%EOF\n"


def upload_pdf(owner):
    return services.upload_store(
        owner=owner,
        file=SimpleUploadedFile("passport.pdf", PDF_BYTES, content_type="application/pdf"),
        allowed_types=["application/pdf"],
        max_bytes=1024 * 1024,
        actor=owner,
    )


def test_the_default_storage_is_a_private_bucket_that_never_overwrites(s3_media):
    storage = storages["default"]
    assert isinstance(storage, S3Storage)
    assert (storage.bucket_name, storage.location) == (s3_media.name, PREFIX)
    assert storage.default_acl is None
    assert storage.file_overwrite is False
    assert storage.querystring_expire == 300

    first = default_storage.save("documents/ab/same.bin", ContentFile(b"first"))
    second = default_storage.save("documents/ab/same.bin", ContentFile(b"second"))
    assert first == "documents/ab/same.bin"
    assert second != first
    # documents.storage goes through default_storage, which follows STORAGES.
    assert isinstance(default_storage._wrapped, S3Storage)
    stored = s3_media.objects()
    assert stored == {f"{PREFIX}/{first}": b"first", f"{PREFIX}/{second}": b"second"}
    head = s3_media.client.head_object(Bucket=s3_media.name, Key=f"{PREFIX}/{first}")
    assert head["ServerSideEncryption"] == "AES256"


@pytest.mark.django_db
def test_an_upload_is_only_ciphertext_in_the_bucket_and_reads_back_identical(s3_media, resident):
    upload = upload_pdf(resident)

    stored = s3_media.objects()
    assert list(stored) == [f"{PREFIX}/{upload.storage_name}"]
    ciphertext = stored[f"{PREFIX}/{upload.storage_name}"]
    assert MARKER not in ciphertext
    assert not ciphertext.startswith(b"%PDF")
    assert len(ciphertext) > len(PDF_BYTES)  # nonce and tag around it

    assert services.upload_read(upload=upload) == PDF_BYTES
    response = upload_response(upload)
    assert response.content == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"

    # An object changed in the bucket is refused, not served.
    changed = bytearray(ciphertext)
    changed[len(changed) // 2] ^= 0x01
    s3_media.client.put_object(
        Bucket=s3_media.name, Key=f"{PREFIX}/{upload.storage_name}", Body=bytes(changed)
    )
    with pytest.raises(crypto.DecryptionError):
        services.upload_read(upload=upload)


@pytest.mark.django_db
def test_deleting_an_upload_removes_its_object(
    s3_media, resident, django_capture_on_commit_callbacks
):
    kept, removed = upload_pdf(resident), upload_pdf(resident)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.upload_delete(upload=removed, actor=resident)
    assert list(s3_media.objects()) == [f"{PREFIX}/{kept.storage_name}"]
    assert services.upload_read(upload=kept) == PDF_BYTES


@pytest.mark.django_db
def test_an_issued_document_is_kept_encrypted_in_the_bucket(s3_media, resident):
    document = issue(resident)

    key = f"{PREFIX}/{document.pdf.storage_name}"
    ciphertext = s3_media.objects()[key]
    assert not ciphertext.startswith(b"%PDF")
    assert b"Building permit" not in ciphertext
    pdf = selectors.document_pdf(document=document)
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == document.pdf_sha256
    assert pdf not in ciphertext


@pytest.mark.django_db(transaction=True)
def test_backup_holds_every_object_under_the_prefix_and_nothing_else(
    s3_media, resident, settings, own_files_folder, tmp_path
):
    identity = pyrage.x25519.Identity.generate()
    settings.BACKUP_AGE_RECIPIENTS = [str(identity.to_public())]
    document = issue(resident)
    upload = upload_pdf(resident)
    # Another application's object in the same bucket, outside S3_PREFIX.
    s3_media.client.put_object(Bucket=s3_media.name, Key="other-app/report.csv", Body=b"a,b\n")

    folder = tmp_path / "backup"
    call_command("backup", str(folder), stdout=io.StringIO(), stderr=io.StringIO())

    manifest = json.loads((folder / "manifest.json").read_text())
    (part,) = [part for part in manifest["parts"] if part["name"] == "storage-default"]
    plaintext = pyrage.decrypt((folder / part["file"]).read_bytes(), [identity])
    with tarfile.open(fileobj=io.BytesIO(plaintext)) as tar:
        archived = {member.name: tar.extractfile(member).read() for member in tar}
    in_bucket = {
        key.removeprefix(f"{PREFIX}/"): content
        for key, content in s3_media.objects().items()
        if key.startswith(f"{PREFIX}/")
    }
    assert archived == in_bucket
    assert set(archived) == {document.pdf.storage_name, upload.storage_name}
    assert part["files"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_backup_of_a_bucket_that_is_gone_stops_with_a_message_and_writes_nothing(
    s3_media, settings, own_files_folder, tmp_path
):
    settings.BACKUP_AGE_RECIPIENTS = [str(pyrage.x25519.Identity.generate().to_public())]
    s3_media.delete()

    with pytest.raises(
        CommandError, match=r"Could not list the file storage 'default'.*NoSuchBucket"
    ):
        call_command("backup", str(tmp_path / "backup"), stdout=io.StringIO())
    assert not (tmp_path / "backup").exists()


def test_a_restore_the_bucket_refuses_says_which_file_and_where(s3_media, tmp_path):
    store = backup._store("storage-default", "the file storage 'default'", storages["default"])
    s3_media.delete()  # the bucket is gone: S3 refuses the PUT (NoSuchBucket)

    with pytest.raises(
        backup.BackupError,
        match=r"Could not write documents/ab/x\.bin to the file storage 'default'.*NoSuchBucket",
    ) as refused:
        backup._file_restore(store, "documents/ab/x.bin", io.BytesIO(b"ciphertext"), str(tmp_path))
    assert refused.value.code == "write_failed"

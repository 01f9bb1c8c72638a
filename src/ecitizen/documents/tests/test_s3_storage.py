"""Uploads, issued documents and the backup of their files on S3-compatible storage.

The storage is configured by the function the settings module uses
(:func:`ecitizen.core.storage_settings.media_storage`) and speaks S3 over HTTP, through
boto3, to moto's S3 server on 127.0.0.1: a real protocol exchange, not a mock of our code.
The objects are then read straight from the bucket with boto3, as an operator (or an
intruder with the bucket's keys) would see them.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import uuid
from types import SimpleNamespace

import boto3
import pyrage
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from moto.server import ThreadedMotoServer
from storages.backends.s3 import S3Storage

from ecitizen.core import crypto
from ecitizen.core.storage_settings import media_storage
from ecitizen.documents import selectors, services
from ecitizen.documents.http import upload_response
from ecitizen.documents.tests.factories import issue

REGION = "eu-west-2"
ACCESS_KEY_ID = "ecitizen-test-access-key"
SECRET_ACCESS_KEY = "ecitizen-test-secret-key-not-for-any-deployment"
PREFIX = "ecitizen/media"
MARKER = b"SECRET-MARKER-passport-number-RV12345678"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n% " + MARKER + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on a free port of 127.0.0.1, for the tests of this module."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings):
    """A new, empty bucket, and STORAGES["default"] on it as MEDIA_STORAGE=s3 builds it
    (the settings change resets Django's storages, ``default_storage`` included)."""
    name = f"riverton-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    settings.STORAGES = {
        **settings.STORAGES,
        "default": media_storage(
            kind="s3",
            bucket=name,
            endpoint_url=s3_endpoint,
            region=REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            prefix=f"/{PREFIX}/",
            server_side_encryption="AES256",
        ),
    }
    return SimpleNamespace(name=name, client=client)


def objects(bucket) -> dict[str, bytes]:
    """Every object of the bucket, by key, with its content, read with boto3."""
    listing = bucket.client.list_objects_v2(Bucket=bucket.name).get("Contents", [])
    return {
        item["Key"]: bucket.client.get_object(Bucket=bucket.name, Key=item["Key"])["Body"].read()
        for item in listing
    }


def upload_pdf(owner):
    return services.upload_store(
        owner=owner,
        file=SimpleUploadedFile("passport.pdf", PDF_BYTES, content_type="application/pdf"),
        allowed_types=["application/pdf"],
        max_bytes=1024 * 1024,
        actor=owner,
    )


def test_the_default_storage_is_a_private_bucket_that_never_overwrites(bucket):
    storage = storages["default"]
    assert isinstance(storage, S3Storage)
    assert (storage.bucket_name, storage.location) == (bucket.name, PREFIX)
    assert storage.default_acl is None
    assert storage.file_overwrite is False
    assert storage.querystring_expire == 300

    first = default_storage.save("documents/ab/same.bin", ContentFile(b"first"))
    second = default_storage.save("documents/ab/same.bin", ContentFile(b"second"))
    assert first == "documents/ab/same.bin"
    assert second != first
    # documents.storage goes through default_storage, which follows STORAGES.
    assert isinstance(default_storage._wrapped, S3Storage)
    stored = objects(bucket)
    assert stored == {f"{PREFIX}/{first}": b"first", f"{PREFIX}/{second}": b"second"}
    head = bucket.client.head_object(Bucket=bucket.name, Key=f"{PREFIX}/{first}")
    assert head["ServerSideEncryption"] == "AES256"


@pytest.mark.django_db
def test_an_upload_is_only_ciphertext_in_the_bucket_and_reads_back_identical(bucket, resident):
    upload = upload_pdf(resident)

    stored = objects(bucket)
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
    bucket.client.put_object(
        Bucket=bucket.name, Key=f"{PREFIX}/{upload.storage_name}", Body=bytes(changed)
    )
    with pytest.raises(crypto.DecryptionError):
        services.upload_read(upload=upload)


@pytest.mark.django_db
def test_deleting_an_upload_removes_its_object(
    bucket, resident, django_capture_on_commit_callbacks
):
    kept, removed = upload_pdf(resident), upload_pdf(resident)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.upload_delete(upload=removed, actor=resident)
    assert list(objects(bucket)) == [f"{PREFIX}/{kept.storage_name}"]
    assert services.upload_read(upload=kept) == PDF_BYTES


@pytest.mark.django_db
def test_an_issued_document_is_kept_encrypted_in_the_bucket(bucket, resident):
    document = issue(resident)

    key = f"{PREFIX}/{document.pdf.storage_name}"
    ciphertext = objects(bucket)[key]
    assert not ciphertext.startswith(b"%PDF")
    assert b"Building permit" not in ciphertext
    pdf = selectors.document_pdf(document=document)
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == document.pdf_sha256
    assert pdf not in ciphertext


@pytest.mark.django_db(transaction=True)
def test_backup_holds_every_object_under_the_prefix_and_nothing_else(
    bucket, resident, settings, own_files_folder, tmp_path
):
    identity = pyrage.x25519.Identity.generate()
    settings.BACKUP_AGE_RECIPIENTS = [str(identity.to_public())]
    document = issue(resident)
    upload = upload_pdf(resident)
    # Another application's object in the same bucket, outside S3_PREFIX.
    bucket.client.put_object(Bucket=bucket.name, Key="other-app/report.csv", Body=b"a,b\n")

    folder = tmp_path / "backup"
    call_command("backup", str(folder), stdout=io.StringIO(), stderr=io.StringIO())

    manifest = json.loads((folder / "manifest.json").read_text())
    (part,) = [part for part in manifest["parts"] if part["name"] == "storage-default"]
    plaintext = pyrage.decrypt((folder / part["file"]).read_bytes(), [identity])
    with tarfile.open(fileobj=io.BytesIO(plaintext)) as tar:
        archived = {member.name: tar.extractfile(member).read() for member in tar}
    in_bucket = {
        key.removeprefix(f"{PREFIX}/"): content
        for key, content in objects(bucket).items()
        if key.startswith(f"{PREFIX}/")
    }
    assert archived == in_bucket
    assert set(archived) == {document.pdf.storage_name, upload.storage_name}
    assert part["files"] == 2

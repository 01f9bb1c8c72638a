"""MEDIA_STORAGE and the S3_* settings: what each builds, and every combination refused
with a message naming the variable (docs/configuration.md#media-storage)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from ecitizen.core.storage_settings import media_storage
from ecitizen.core.tests.test_settings import _run

PRINT_MEDIA = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps({'media_root': str(settings.MEDIA_ROOT), "
    "'default': settings.STORAGES['default']}))"
)


def test_filesystem_is_the_default_and_follows_media_root():
    assert media_storage(kind="filesystem") == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }


def test_s3_builds_a_private_never_overwriting_bucket_storage():
    built = media_storage(
        kind="s3",
        bucket="riverton-media",
        endpoint_url="https://minio.internal:9000",
        access_key_id="AKIAEXAMPLE",
        secret_access_key="secret",
        prefix="/ecitizen/media/",
        server_side_encryption="aws:kms",
        kms_key_id="alias/ecitizen",
    )
    assert built["BACKEND"] == "storages.backends.s3.S3Storage"
    assert built["OPTIONS"] == {
        "bucket_name": "riverton-media",
        "location": "ecitizen/media",
        "endpoint_url": "https://minio.internal:9000",
        "region_name": None,
        "addressing_style": "path",
        "signature_version": "s3v4",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 300,
        "file_overwrite": False,
        "object_parameters": {
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": "alias/ecitizen",
        },
        "access_key": "AKIAEXAMPLE",
        "secret_key": "secret",
    }


def test_s3_without_keys_leaves_credentials_to_boto3_and_uses_virtual_hosts_on_aws():
    options = media_storage(kind="s3", bucket="riverton-media", region="eu-west-2")["OPTIONS"]
    assert "access_key" not in options
    assert "secret_key" not in options
    assert options["addressing_style"] == "virtual"
    assert options["region_name"] == "eu-west-2"
    assert options["object_parameters"] == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kind": "azure"}, "MEDIA_STORAGE must be filesystem or s3, not 'azure'"),
        ({"kind": "filesystem", "bucket": "riverton-media"}, "S3_BUCKET set but MEDIA_STORAGE"),
        ({"kind": "s3"}, "S3_BUCKET is required when MEDIA_STORAGE is s3"),
        ({"kind": "s3", "bucket": "b", "media_root": "/srv/media"}, "MEDIA_ROOT is set but"),
        ({"kind": "s3", "bucket": "s3://riverton-media"}, "S3_BUCKET must be a bucket name"),
        ({"kind": "s3", "bucket": "riverton/media"}, "S3_BUCKET must be a bucket name"),
        ({"kind": "s3", "bucket": "b"}, "S3_BUCKET must be a bucket name"),
        (
            {"kind": "s3", "bucket": "media", "endpoint_url": "minio.internal:9000"},
            "S3_ENDPOINT_URL must be an http(s) address",
        ),
        (
            {"kind": "s3", "bucket": "media", "endpoint_url": "https://key:secret@minio"},
            "S3_ENDPOINT_URL must not hold credentials",
        ),
        (
            {"kind": "s3", "bucket": "media", "access_key_id": "AKIAEXAMPLE"},
            "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together",
        ),
        (
            {"kind": "s3", "bucket": "media", "secret_access_key": "secret"},
            "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together",
        ),
        ({"kind": "s3", "bucket": "media", "prefix": "a/../b"}, "S3_PREFIX must be a folder"),
        ({"kind": "s3", "bucket": "media", "prefix": "a//b"}, "S3_PREFIX must be a folder"),
        (
            {"kind": "s3", "bucket": "media", "addressing_style": "dns"},
            "S3_ADDRESSING_STYLE must be path or virtual",
        ),
        (
            {"kind": "s3", "bucket": "media", "server_side_encryption": "yes"},
            "S3_SERVER_SIDE_ENCRYPTION must be AES256 or aws:kms",
        ),
        (
            {"kind": "s3", "bucket": "media", "kms_key_id": "alias/x"},
            "S3_KMS_KEY_ID needs S3_SERVER_SIDE_ENCRYPTION=aws:kms",
        ),
    ],
)
def test_bad_values_and_combinations_are_refused(values, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        media_storage(**values)


# --- The settings module, in a fresh interpreter as a deployment starts -------------------


def test_the_settings_read_s3_values_and_a_secret_key_from_a_file(tmp_path):
    secret = tmp_path / "s3-secret"
    secret.write_text("from-a-file-secret\n")
    result = _run(
        {
            "MEDIA_STORAGE": "S3",
            "S3_BUCKET": "riverton-media",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "minio-user",
            "S3_SECRET_ACCESS_KEY_FILE": str(secret),
            "S3_PREFIX": "ecitizen",
            "S3_ADDRESSING_STYLE": "virtual",
        },
        PRINT_MEDIA,
    )
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)["default"]["OPTIONS"]
    assert options["bucket_name"] == "riverton-media"
    assert options["secret_key"] == "from-a-file-secret"
    assert options["access_key"] == "minio-user"
    assert options["location"] == "ecitizen"
    assert options["addressing_style"] == "virtual"


def test_the_settings_put_filesystem_media_under_media_root(tmp_path):
    result = _run({"MEDIA_ROOT": str(tmp_path / "shared")}, PRINT_MEDIA)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["media_root"] == str((tmp_path / "shared").resolve())
    assert printed["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"MEDIA_STORAGE": "s3"}, "S3_BUCKET is required when MEDIA_STORAGE is s3"),
        ({"S3_BUCKET": "riverton-media"}, "S3_BUCKET set but MEDIA_STORAGE is filesystem"),
    ],
)
def test_the_settings_stop_the_process_on_a_bad_combination(extra, message):
    result = _run(extra)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr

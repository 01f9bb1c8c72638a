"""Where uploads, issued documents and data exports are kept: ``STORAGES["default"]`` built
from the ``MEDIA_STORAGE`` and ``S3_*`` settings (docs/configuration.md#media-storage).

A pure function, shared by ``ecitizen.settings`` and the tests that run the storage against
a real S3 server, so that both use exactly the same configuration. It needs no Django
settings and imports no app, so that the settings module can call it before Django is set
up. Bad values raise ``ImproperlyConfigured`` with the variable's name.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

FILESYSTEM_BACKEND = "django.core.files.storage.FileSystemStorage"
S3_BACKEND = "storages.backends.s3.S3Storage"
#: Seconds a signed URL of an object stays valid. ecitizen never hands one out (files are
#: decrypted and served by its own views), so a leaked one should expire quickly.
S3_QUERYSTRING_EXPIRE = 300
# S3's rules, plus the capitals and underscores of old us-east-1 buckets.
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")
_SERVER_SIDE_ENCRYPTION = ("AES256", "aws:kms")
_ADDRESSING_STYLES = ("path", "virtual")


def media_storage(
    *,
    kind: str,
    media_root: str = "",
    bucket: str = "",
    endpoint_url: str = "",
    region: str = "",
    access_key_id: str = "",
    secret_access_key: str = "",
    prefix: str = "",
    addressing_style: str = "",
    server_side_encryption: str = "",
    kms_key_id: str = "",
) -> dict[str, Any]:
    """``STORAGES["default"]`` for ``MEDIA_STORAGE=kind``; each argument is the raw value
    of the setting of the same name (``media_root`` is ``MEDIA_ROOT``, ``kind`` is
    ``MEDIA_STORAGE``), empty when unset.

    ``filesystem`` is Django's ``FileSystemStorage`` with no options, so that it follows
    ``MEDIA_ROOT`` (set by the caller). ``s3`` is django-storages' ``S3Storage`` on a
    private bucket: no ACL is sent (the bucket's own, private, applies), names are never
    overwritten, signed URLs are short-lived. Without keys, boto3 finds credentials itself
    (``AWS_*`` variables, an instance or pod role). Raises ``ImproperlyConfigured`` for a
    value that is wrong or that the other values make meaningless.
    """
    s3_values = {
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint_url,
        "S3_REGION": region,
        "S3_ACCESS_KEY_ID": access_key_id,
        "S3_SECRET_ACCESS_KEY": secret_access_key,
        "S3_PREFIX": prefix,
        "S3_ADDRESSING_STYLE": addressing_style,
        "S3_SERVER_SIDE_ENCRYPTION": server_side_encryption,
        "S3_KMS_KEY_ID": kms_key_id,
    }
    if kind == "filesystem":
        given = [name for name, value in s3_values.items() if value]
        if given:
            # A forgotten MEDIA_STORAGE=s3 would otherwise keep files on one machine's disk.
            raise ImproperlyConfigured(
                f"{', '.join(given)} set but MEDIA_STORAGE is filesystem: set MEDIA_STORAGE=s3 "
                "to keep files in object storage, or remove the S3_ settings"
            )
        return {"BACKEND": FILESYSTEM_BACKEND}
    if kind != "s3":
        raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, not {kind!r}")
    if media_root:
        raise ImproperlyConfigured(
            "MEDIA_ROOT is set but MEDIA_STORAGE is s3: files go to S3_BUCKET; remove MEDIA_ROOT"
        )
    if not bucket:
        raise ImproperlyConfigured("S3_BUCKET is required when MEDIA_STORAGE is s3")
    if "://" in bucket or "/" in bucket or not _BUCKET.fullmatch(bucket):
        raise ImproperlyConfigured(
            f"S3_BUCKET must be a bucket name such as riverton-media (no s3:// and no folder: "
            f"use S3_PREFIX for that), not {bucket!r}"
        )
    _endpoint_check(endpoint_url)
    if bool(access_key_id) != bool(secret_access_key):
        raise ImproperlyConfigured(
            "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together, or neither (boto3 "
            "then finds credentials itself: AWS_* variables, an instance or pod role)"
        )
    location = prefix.strip("/")
    if location and any(part in {"", ".", ".."} for part in location.split("/")):
        raise ImproperlyConfigured(
            f"S3_PREFIX must be a folder such as ecitizen/media, not {prefix!r}"
        )
    # MinIO and most self-hosted stores have no wildcard DNS for bucket host names.
    style = addressing_style or ("path" if endpoint_url else "virtual")
    if style not in _ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"S3_ADDRESSING_STYLE must be path or virtual, not {addressing_style!r}"
        )
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": location,
        "endpoint_url": endpoint_url or None,
        "region_name": region or None,
        "addressing_style": style,
        "signature_version": "s3v4",
        # No ACL header: the bucket's own (private) applies, and buckets with ACLs disabled
        # (S3's default since 2023) refuse any other.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": S3_QUERYSTRING_EXPIRE,
        # A name in use gets a new one instead of replacing another file's object.
        "file_overwrite": False,
        "object_parameters": _object_parameters(server_side_encryption, kms_key_id),
    }
    if access_key_id:
        options["access_key"] = access_key_id
        options["secret_key"] = secret_access_key
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def _endpoint_check(endpoint_url: str) -> None:
    if not endpoint_url:
        return
    parts = urlsplit(endpoint_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(
            "S3_ENDPOINT_URL must be an http(s) address such as https://minio.internal:9000, "
            f"not {endpoint_url!r}"
        )
    if parts.username or parts.password:
        raise ImproperlyConfigured(
            "S3_ENDPOINT_URL must not hold credentials: use S3_ACCESS_KEY_ID and "
            "S3_SECRET_ACCESS_KEY"
        )


def _object_parameters(server_side_encryption: str, kms_key_id: str) -> dict[str, str]:
    """The parameters S3 is given with every object written: its server-side encryption."""
    parameters: dict[str, str] = {}
    if server_side_encryption:
        if server_side_encryption not in _SERVER_SIDE_ENCRYPTION:
            raise ImproperlyConfigured(
                "S3_SERVER_SIDE_ENCRYPTION must be AES256 or aws:kms (or empty), "
                f"not {server_side_encryption!r}"
            )
        parameters["ServerSideEncryption"] = server_side_encryption
    if kms_key_id:
        if server_side_encryption != "aws:kms":
            raise ImproperlyConfigured("S3_KMS_KEY_ID needs S3_SERVER_SIDE_ENCRYPTION=aws:kms")
        parameters["SSEKMSKeyId"] = kms_key_id
    return parameters

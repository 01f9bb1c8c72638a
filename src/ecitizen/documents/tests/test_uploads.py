"""Encrypted uploads: content checks by magic bytes, ciphertext at rest, safe responses."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from ecitizen.core import crypto
from ecitizen.core.models import AuditEvent
from ecitizen.documents import selectors, services
from ecitizen.documents.http import content_disposition, upload_response
from ecitizen.documents.models import Upload

pytestmark = pytest.mark.usefixtures("media_storage")

ALL_TYPES = ["application/pdf", "image/jpeg", "image/png"]
MB = 1024 * 1024
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n% SECRET-MARKER-passport-number-RV12345678\n%%EOF\n"
)


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _jpeg_bytes() -> bytes:
    """A real 2x2 JPEG (uploads are opened to read their size: a header alone is refused)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "white").save(buffer, "JPEG")
    return buffer.getvalue()


JPEG_BYTES = _jpeg_bytes()


def uploaded(name: str, content: bytes, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def store(owner, file, *, allowed=ALL_TYPES, max_bytes=10 * MB, actor=None):
    return services.upload_store(
        owner=owner,
        file=file,
        allowed_types=allowed,
        max_bytes=max_bytes,
        actor=actor or owner,
    )


def test_stored_file_is_ciphertext_and_reads_back(resident):
    upload = store(resident, uploaded("Passport scan.pdf", PDF_BYTES))
    with default_storage.open(upload.storage_name, "rb") as handle:
        raw = handle.read()
    assert b"%PDF" not in raw
    assert b"SECRET-MARKER" not in raw
    assert raw.startswith(crypto.BLOB_MAGIC)
    assert services.upload_read(upload=upload) == PDF_BYTES
    upload.refresh_from_db()
    assert upload.owner == resident
    assert upload.uploaded_by == resident
    assert upload.content_type == "application/pdf"
    assert upload.size == len(PDF_BYTES)
    assert upload.filename == "Passport scan.pdf"
    assert upload.key_id == crypto.active_key_id()
    assert len(upload.sha256) == 64


@pytest.mark.db_specific
def test_file_name_is_stored_encrypted(resident):
    from django.db import connection

    upload = store(resident, uploaded("alex-morgan-passport.pdf", PDF_BYTES))
    with connection.cursor() as cursor:
        cursor.execute("SELECT filename FROM documents_upload WHERE id = %s", [upload.pk.hex])
        row = cursor.fetchone()
    assert row is not None
    assert "alex-morgan" not in row[0]


def test_the_ciphertext_is_bound_to_its_upload(resident):
    first = store(resident, uploaded("a.pdf", PDF_BYTES))
    second = store(resident, uploaded("b.pdf", PDF_BYTES + b"more"))
    # Someone with storage access swaps the two objects: neither decrypts.
    with default_storage.open(first.storage_name, "rb") as handle:
        first_raw = handle.read()
    default_storage.delete(second.storage_name)
    default_storage.save(second.storage_name, io.BytesIO(first_raw))
    with pytest.raises(crypto.DecryptionError):
        services.upload_read(upload=second)


def test_a_tampered_file_does_not_read(resident):
    upload = store(resident, uploaded("a.pdf", PDF_BYTES))
    with default_storage.open(upload.storage_name, "rb") as handle:
        raw = bytearray(handle.read())
    raw[-10] ^= 0xFF
    default_storage.delete(upload.storage_name)
    default_storage.save(upload.storage_name, io.BytesIO(bytes(raw)))
    with pytest.raises(crypto.DecryptionError):
        services.upload_read(upload=upload)


def test_png_named_pdf_is_refused_when_only_pdf_is_allowed(resident):
    with pytest.raises(services.UploadRejected) as caught:
        store(resident, uploaded("scan.pdf", png_bytes()), allowed=["application/pdf"])
    assert caught.value.code == "wrong_type"
    assert str(caught.value.message) == "The selected file must be a PDF"
    assert not Upload.objects.exists()


def test_text_file_named_jpg_is_refused(resident):
    with pytest.raises(services.UploadRejected) as caught:
        store(resident, uploaded("photo.jpg", b"just some text, not a photo\n", "image/jpeg"))
    assert str(caught.value.message) == "The selected file must be a PDF, JPG or PNG"


def test_message_names_the_allowed_formats(resident):
    with pytest.raises(services.UploadRejected) as caught:
        store(
            resident,
            uploaded("x.txt", b"hello", "text/plain"),
            allowed=["application/pdf", "image/png"],
        )
    assert str(caught.value.message) == "The selected file must be a PDF or PNG"


def test_oversize_is_refused_without_reading_everything(resident):
    class Counting(SimpleUploadedFile):
        biggest_read = 0

        def read(self, size=-1):
            data = super().read(size)
            Counting.biggest_read = max(Counting.biggest_read, len(data))
            return data

    big = Counting("big.pdf", PDF_BYTES + b"0" * (2 * MB), content_type="application/pdf")
    big.size = None  # a client that did not say how big it is: we count ourselves
    with pytest.raises(services.UploadRejected) as caught:
        store(resident, big, max_bytes=MB)
    assert caught.value.code == "too_big"
    assert str(caught.value.message) == "The selected file must be smaller than 1 MB"
    assert Counting.biggest_read == MB + 1


def test_oversize_by_declared_size_is_refused(resident):
    with pytest.raises(services.UploadRejected) as caught:
        store(resident, uploaded("big.pdf", PDF_BYTES + b"0" * (10 * MB)), max_bytes=10 * MB)
    assert str(caught.value.message) == "The selected file must be smaller than 10 MB"


def test_a_file_of_exactly_the_limit_is_accepted(resident):
    content = PDF_BYTES + b"0" * (1000 - len(PDF_BYTES))
    upload = store(resident, uploaded("exact.pdf", content), max_bytes=1000)
    assert upload.size == 1000


def test_empty_file_is_refused(resident):
    with pytest.raises(services.UploadRejected) as caught:
        store(resident, uploaded("empty.pdf", b""))
    assert str(caught.value.message) == "The selected file is empty"


def test_accepted_image_types_and_download_names(resident):
    png = store(resident, uploaded("photo.pdf", png_bytes(), "application/pdf"))
    jpeg = store(resident, uploaded("../../etc/Photo of me.JPEG", JPEG_BYTES, "image/png"))
    assert png.content_type == "image/png"
    assert png.filename == "photo.png"  # named for what it is
    assert jpeg.content_type == "image/jpeg"
    assert jpeg.filename == "Photo of me.jpeg"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\alex\\My report.pdf", "My report.pdf"),
        ("evil\u202egpj.pdf", "evilgpj.pdf"),  # right-to-left override removed
        ("line\nbreak.pdf", "linebreak.pdf"),
        ('a<b>:"c|d?*.pdf', "a_b_c_d.pdf"),
        ("...", "document.pdf"),
        ("", "document.pdf"),
        ("x" * 300 + ".pdf", "x" * 100 + ".pdf"),
        ("résumé.pdf", "résumé.pdf"),
        ("noextension", "noextension.pdf"),
    ],
)
def test_file_names_are_sanitised(given, expected):
    assert services.sanitise_filename(given, extension="pdf", accepted=("pdf",)) == expected


def test_upload_is_audited_without_content_or_name(resident, case_officer):
    upload = store(resident, uploaded("alex-passport.pdf", PDF_BYTES), actor=case_officer)
    event = AuditEvent.objects.get(action="documents.upload_stored")
    assert event.object_id == str(upload.pk)
    assert event.subject_user_id == resident.pk
    assert event.actor_id == case_officer.pk
    assert event.changes == {"content_type": "application/pdf", "size": len(PDF_BYTES)}
    assert "alex-passport" not in str(event.changes)


def test_upload_get_by_uuid_and_404_otherwise(resident):
    upload = store(resident, uploaded("a.pdf", PDF_BYTES))
    assert selectors.upload_get(upload_id=upload.pk) == upload
    assert selectors.upload_get(upload_id=str(upload.pk)) == upload
    for wrong in ("1", "not-a-uuid", "00000000-0000-0000-0000-000000000001"):
        with pytest.raises(Http404):
            selectors.upload_get(upload_id=wrong)


def test_attachment_response_is_safe(resident):
    upload = store(resident, uploaded("Façade photo.pdf", PDF_BYTES))
    response = upload_response(upload)
    assert response.content == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Facade photo.pdf\"; filename*=UTF-8''Fa%C3%A7ade%20photo.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"].startswith("sandbox;")
    assert response["Content-Length"] == str(len(PDF_BYTES))


def test_inline_responses_for_officers(resident):
    image = store(resident, uploaded("p.png", png_bytes(), "image/png"))
    pdf = store(resident, uploaded("p.pdf", PDF_BYTES))
    image_response = upload_response(image, inline=True)
    assert image_response["Content-Disposition"] == 'inline; filename="p.png"'
    assert image_response["Content-Security-Policy"].startswith("sandbox;")
    assert "default-src 'none'" in image_response["Content-Security-Policy"]
    pdf_response = upload_response(pdf, inline=True)
    assert pdf_response["Content-Disposition"] == 'inline; filename="p.pdf"'
    policy = pdf_response["Content-Security-Policy"]
    # No sandbox: Chromium will not run its PDF viewer in a sandboxed document.
    assert "sandbox" not in policy
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert pdf_response["X-Content-Type-Options"] == "nosniff"


def test_content_disposition_of_plain_ascii_names():
    assert content_disposition("a.pdf") == 'attachment; filename="a.pdf"'
    assert content_disposition('we"ird;name.pdf') == (
        "attachment; filename=\"weirdname.pdf\"; filename*=UTF-8''we%22ird%3Bname.pdf"
    )
    assert content_disposition("صورة.png", inline=True).startswith('inline; filename="')

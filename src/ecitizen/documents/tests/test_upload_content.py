"""Uploads refused for what is inside them: images too large to open, PDFs that run
scripts, carry other files or expand without bound; honest files accepted."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ecitizen.documents import services
from ecitizen.documents.models import Upload

pytestmark = pytest.mark.usefixtures("media_storage")

ALL_TYPES = ["application/pdf", "image/jpeg", "image/png"]
MB = 1024 * 1024


def _store(owner, name, content, content_type):
    return services.upload_store(
        owner=owner,
        file=SimpleUploadedFile(name, content, content_type=content_type),
        allowed_types=ALL_TYPES,
        max_bytes=20 * MB,
        actor=owner,
    )


def _refused(owner, name, content, content_type="application/pdf"):
    with pytest.raises(services.UploadRejected) as refused:
        _store(owner, name, content, content_type)
    assert not Upload.objects.exists()
    return refused.value


# --- Images -------------------------------------------------------------------------------


def _png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height``, with a few bytes of pixel data:
    what a decompression bomb looks like before anyone decodes it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_60000_by_60000_png_is_refused_without_decoding_it(resident):
    error = _refused(resident, "bomb.png", _png(60000, 60000), "image/png")
    assert error.code == "image_too_large"
    assert "too many pixels" in error.message
    assert "50 megapixels" in error.message


def test_an_image_just_above_the_limit_is_refused(resident, settings):
    settings.UPLOAD_IMAGE_MAX_MEGAPIXELS = 1
    assert _refused(resident, "big.png", _png(1001, 1000), "image/png").code == "image_too_large"
    _store(resident, "ok.png", _png(1000, 1000), "image/png")


def test_a_jpeg_above_the_limit_is_refused(resident, settings):
    settings.UPLOAD_IMAGE_MAX_MEGAPIXELS = 1
    jpeg = _jpeg(1200, 900)
    assert _refused(resident, "big.jpg", jpeg, "image/jpeg").code == "image_too_large"
    settings.UPLOAD_IMAGE_MAX_MEGAPIXELS = 2
    assert _store(resident, "ok.jpg", jpeg, "image/jpeg").content_type == "image/jpeg"


def test_a_damaged_image_is_refused(resident):
    damaged = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
    assert _refused(resident, "x.jpg", damaged, "image/jpeg").code == "image_unreadable"


# --- PDFs ---------------------------------------------------------------------------------


def _pdf(*objects: bytes, trailer: bytes = b"<</Root 1 0 R>>") -> bytes:
    """A PDF with these object bodies (numbered from 1) and a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<<" + dictionary + b" /Length %d>>\nstream\n" % len(data) + data + b"\nendstream"


CATALOG = b"<</Type/Catalog/Pages 2 0 R>>"
PAGES = b"<</Type/Pages/Kids[3 0 R]/Count 1>>"
PAGE = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>"


def _object_stream(*objects: tuple[int, bytes], dictionary_extra: bytes = b"") -> bytes:
    """An object stream (PDF 1.5) holding ``objects``, Flate-compressed."""
    bodies = b""
    header = b""
    for number, body in objects:
        header += b"%d %d " % (number, len(bodies))
        bodies += body + b"\n"
    content = header + b"\n" + bodies
    return _stream(
        b"/Type/ObjStm/N %d/First %d/Filter/FlateDecode%s"
        % (len(objects), len(header) + 1, dictionary_extra),
        zlib.compress(content),
    )


@pytest.mark.parametrize(
    ("catalog", "why"),
    [
        (b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>", "JS"),
        (b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/J#61vaScript/J#53(x)>>>>", "hex names"),
        (b"<</Type/Catalog/Pages 2 0 R/Names<</EmbeddedFiles 9 0 R>>>>", "attached files"),
        (b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/Launch/F(cmd.exe)>>>>", "launch"),
        (b"<</Type/Catalog/Pages 2 0 R/AA<</O 9 0 R>>>>", "automatic actions"),
        (b"<</Type/Catalog/Pages 2 0 R/AcroForm<</XFA 9 0 R>>>>", "XFA form"),
    ],
)
def test_pdfs_with_scripts_or_attachments_are_refused(resident, catalog, why):
    error = _refused(resident, "form.pdf", _pdf(catalog, PAGES, PAGE))
    assert error.code == "pdf_active_content", why
    assert "scripts or attached files" in error.message


def test_an_embedded_file_stream_is_refused(resident):
    attachment = _stream(b"/Type/EmbeddedFile", b"MZ\x90\x00 payload")
    assert _refused(resident, "a.pdf", _pdf(CATALOG, PAGES, PAGE, attachment)).code == (
        "pdf_active_content"
    )


def test_javascript_hidden_in_a_compressed_object_stream_is_refused(resident):
    hidden = _object_stream(
        (5, b"<</S/JavaScript/JS(app.launchURL('https://evil.example'))>>"),
    )
    pdf = _pdf(b"<</Type/Catalog/Pages 2 0 R/OpenAction 5 0 R>>", PAGES, PAGE, hidden)
    assert _refused(resident, "a.pdf", pdf).code == "pdf_active_content"


def test_an_object_stream_cannot_hide_behind_a_string_that_looks_like_syntax(resident):
    """A reader parses strings; so does the scan: "(1 0 obj)" or "(endstream)" in a
    dictionary does not end it."""
    content = b"5 0 <</S/JavaScript/JS(x)>>"
    sneaky = (
        b"<</N 1/First 4/Filter/FlateDecode/Note(1 0 obj endobj)/Length %d>>\nstream\n"
        % len(zlib.compress(content))
        + zlib.compress(content)
        + b"\nendstream"
    )
    pdf = _pdf(CATALOG, PAGES, PAGE, sneaky)
    assert _refused(resident, "a.pdf", pdf).code == "pdf_active_content"


def test_an_object_stream_that_cannot_be_read_is_refused(resident):
    unreadable = _object_stream((5, b"<</S/GoTo>>"), dictionary_extra=b"/DecodeParms<<>>")
    error = _refused(resident, "a.pdf", _pdf(CATALOG, PAGES, PAGE, unreadable))
    assert error.code == "pdf_unreadable"
    assert "cannot be checked" in error.message


def test_a_pdf_that_expands_past_the_limit_is_refused(resident, settings):
    settings.UPLOAD_PDF_MAX_INFLATED_MB = 1
    bomb = _stream(b"/Filter/FlateDecode", zlib.compress(b"\x00" * (3 * MB), 9))
    pdf = _pdf(CATALOG, PAGES, PAGE, bomb)
    assert len(pdf) < 10_000  # a few kilobytes that inflate to 3 MB
    error = _refused(resident, "bomb.pdf", pdf)
    assert error.code == "pdf_too_expanded"
    assert "too large once opened" in error.message


def test_an_object_stream_bomb_is_refused_without_inflating_it_all(resident, settings):
    settings.UPLOAD_PDF_MAX_INFLATED_MB = 1
    bomb = _stream(b"/N 1/First 4/Filter/FlateDecode", zlib.compress(b" " * (40 * MB), 9))
    assert _refused(resident, "bomb.pdf", _pdf(CATALOG, PAGES, PAGE, bomb)).code == (
        "pdf_too_expanded"
    )


def test_honest_pdfs_are_accepted(resident):
    # Words that only look like names inside text strings are not names.
    info = b"<</Title(About /JavaScript and /EmbeddedFiles)/Producer(Office)>>"
    plain = _pdf(CATALOG, PAGES, PAGE, info, trailer=b"<</Root 1 0 R/Info 4 0 R>>")
    _store(resident, "letter.pdf", plain, "application/pdf")
    # A compressed page content and an object stream of ordinary objects.
    content = _stream(b"/Filter/FlateDecode", zlib.compress(b"BT /F1 12 Tf (Hello) Tj ET"))
    objects = _object_stream((6, b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"))
    opened_at_page_one = b"<</Type/Catalog/Pages 2 0 R/OpenAction[3 0 R/Fit]>>"
    _store(
        resident,
        "modern.pdf",
        _pdf(opened_at_page_one, PAGES, PAGE, content, objects),
        "application/pdf",
    )


def test_pdfs_made_by_real_tools_are_accepted(resident):
    """WeasyPrint (our own documents) and pdfium (what browsers save) write PDFs that pass."""
    import pypdfium2
    import weasyprint

    woven = weasyprint.HTML(string="<h1>Plans</h1><p>Shed, 2 m by 3 m.</p>").write_pdf()
    _store(resident, "woven.pdf", woven, "application/pdf")
    document = pypdfium2.PdfDocument.new()
    document.new_page(612, 792)
    buffer = io.BytesIO()
    document.save(buffer)
    _store(resident, "pdfium.pdf", buffer.getvalue(), "application/pdf")
    assert Upload.objects.count() == 2

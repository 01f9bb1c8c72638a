"""Checks of an uploaded file's content beyond its type: images too large to open, PDFs
that run scripts, carry other files, or expand without bound.

Internal to the documents app: :func:`ecitizen.documents.services.upload_store` calls
:func:`inspect_upload` and turns a :class:`Refusal` into its GOV.UK error message.

**Images** (PNG, JPEG): the width and height are read from the file's header by Pillow,
which decodes no pixels until asked. A picture above ``UPLOAD_IMAGE_MAX_MEGAPIXELS`` is
refused: a PNG of a few kilobytes can claim 60000 x 60000 pixels, and whoever opens it
(a browser, a thumbnailer) would need gigabytes of memory. A file Pillow cannot read as
the image its magic bytes announce is refused too.

**PDFs** are scanned without a PDF library, so that nothing is ever interpreted:

- the *names* of the file's dictionaries (``/JavaScript``, also written with ``#``
  escapes such as ``/J#61vaScript``) are read from everything outside stream data,
  and from the decompressed content of *object streams* (streams with ``/N`` and
  ``/First``, where PDF 1.5 files keep most of their dictionaries);
- a file is refused if it has JavaScript (``/JS``, ``/JavaScript``), automatic actions
  (``/AA``), launch, submit or import actions, attached or embedded files
  (``/EmbeddedFile``, ``/EmbeddedFiles``, ``/GoToE``), rich media, or an XFA form (XML
  forms carry their own scripts). ``/OpenAction`` alone (open at page 1) is fine: it is
  refused only with one of the above, which it would then name;
- every Flate-compressed stream is decompressed in pieces and counted, never kept
  (except object streams, up to 16 MB each); past ``UPLOAD_PDF_MAX_INFLATED_MB`` in
  all, the file is refused as a decompression bomb. Memory stays bounded whatever the
  file claims;
- an object stream the scan cannot read (another filter, a predictor, encryption) is
  refused, because what it hides cannot be checked.

Stream data itself is not searched for names: images and fonts are compressed binary,
where three random bytes spell ``/JS`` often enough to refuse honest files.
"""

from __future__ import annotations

import io
import re
import warnings
import zlib

from django.conf import settings

_MEGABYTE = 1024 * 1024
_OBJECT_STREAM_MAX_BYTES = 16 * _MEGABYTE
_INFLATE_PIECE = 256 * 1024

#: Names whose presence makes a PDF active content or a container of other files.
ACTIVE_NAMES = frozenset(
    {
        "JS",
        "JavaScript",
        "AA",
        "Launch",
        "SubmitForm",
        "ImportData",
        "EmbeddedFile",
        "EmbeddedFiles",
        "GoToE",
        "RichMedia",
        "XFA",
    }
)

# A name: a solidus and regular characters (PDF 32000-1, 7.3.5); whitespace and
# delimiters end it.
_NAME = re.compile(rb"/([^\x00\x09\x0a\x0c\x0d\x20()<>\[\]{}/%]*)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# What the scan stops at: a comment, a string, a name, an array, an object's start or
# end, a stream's data (after "stream" and its end of line, 7.3.8.1), a whole number.
_TOKEN = re.compile(
    rb"%|\(|<<|>>|<|/|\[|\bendobj\b|\bobj\b|\bstream(?:\r\n|\n|\r)|(?<![\w.])\d+(?![\w.])"
)
_LINE_END = re.compile(rb"\r\n|\n|\r")


class Refusal(Exception):
    """Why a file is refused: ``code`` (``image_too_large``, ``image_unreadable``,
    ``pdf_active_content``, ``pdf_too_expanded``, ``pdf_unreadable``) and, for images,
    the limit in ``megapixels``."""

    def __init__(self, code: str, *, megapixels: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.megapixels = megapixels


def inspect_upload(data: bytes, content_type: str) -> None:
    """Raise :class:`Refusal` if ``data`` (already recognised as ``content_type``) must
    not be kept. No side effects; memory use is bounded (see the module)."""
    if content_type in {"image/png", "image/jpeg", "image/webp"}:
        _inspect_image(data)
    elif content_type == "application/pdf":
        _inspect_pdf(data)


# --- Images -----------------------------------------------------------------------------


def _inspect_image(data: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    limit = int(settings.UPLOAD_IMAGE_MAX_MEGAPIXELS) * 1_000_000
    try:
        with warnings.catch_warnings():
            # Pillow warns (and above twice its own limit raises) about large images; we
            # apply our own limit to the size it reports.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise Refusal("image_too_large", megapixels=limit // 1_000_000) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise Refusal("image_unreadable") from None
    if width <= 0 or height <= 0:
        raise Refusal("image_unreadable")
    if width * height > limit:
        raise Refusal("image_too_large", megapixels=limit // 1_000_000)


# --- PDFs -------------------------------------------------------------------------------


def _name_at(data: bytes, at: int) -> tuple[str, int]:
    """The name whose solidus is at ``at``, ``#xx`` escapes decoded, and where it ends."""
    match = _NAME.match(data, at)
    assert match is not None  # a solidus always starts a (possibly empty) name
    raw = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
    return raw.decode("latin-1"), match.end()


def _skip_literal_string(data: bytes, at: int) -> int:
    """Where the literal string that opened just before ``at`` ends (nested parentheses,
    backslash escapes)."""
    depth = 1
    while at < len(data):
        char = data[at]
        if char == 0x5C:  # backslash: the next byte is escaped
            at += 2
            continue
        if char == 0x28:
            depth += 1
        elif char == 0x29:
            depth -= 1
            if depth == 0:
                return at + 1
        at += 1
    return at


class _Budget:
    def __init__(self) -> None:
        self.left = int(settings.UPLOAD_PDF_MAX_INFLATED_MB) * _MEGABYTE

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise Refusal("pdf_too_expanded")


def _inflate(raw: bytes, budget: _Budget, *, keep: bool) -> bytes:
    """Decompress Flate ``raw`` piece by piece, counting against ``budget``; the
    content is returned only if ``keep`` (object streams), up to 16 MB."""
    inflater = zlib.decompressobj()
    kept = bytearray()
    pending = raw
    try:
        while pending:
            piece = inflater.decompress(pending, _INFLATE_PIECE)
            budget.spend(len(piece))
            if keep:
                kept += piece
                if len(kept) > _OBJECT_STREAM_MAX_BYTES:
                    raise Refusal("pdf_too_expanded")
            pending = inflater.unconsumed_tail
            if not piece and not pending:
                break
    except zlib.error:
        if keep:
            raise Refusal("pdf_unreadable") from None
        # A damaged image or font stream: a viewer shows less, nothing is hidden.
    return bytes(kept)


def _direct_length(tokens: list[tuple[str, object]]) -> int | None:
    """``/Length 1234`` among a dictionary's tokens; ``None`` for ``/Length 12 0 R``."""
    for index, (kind, value) in enumerate(tokens):
        if kind == "name" and value == "Length" and index + 1 < len(tokens):
            following = tokens[index + 1 : index + 3]
            if following[0][0] == "int" and (len(following) == 1 or following[1][0] != "int"):
                return int(following[0][1])  # type: ignore[call-overload]
    return None


def _filters(tokens: list[tuple[str, object]]) -> list[str]:
    """The names after ``/Filter`` (one, or an array of them)."""
    for index, (kind, value) in enumerate(tokens):
        if kind == "name" and value == "Filter":
            found = []
            for later_kind, later_value in tokens[index + 1 :]:
                if later_kind == "name" and later_value in _FILTER_NAMES:
                    found.append(str(later_value))
                elif later_kind != "array":
                    break
            return found
    return []


_FILTER_NAMES = frozenset(
    {
        "FlateDecode",
        "Fl",
        "LZWDecode",
        "LZW",
        "ASCIIHexDecode",
        "AHx",
        "ASCII85Decode",
        "A85",
        "RunLengthDecode",
        "RL",
        "CCITTFaxDecode",
        "CCF",
        "JBIG2Decode",
        "DCTDecode",
        "DCT",
        "JPXDecode",
        "Crypt",
    }
)


def _scan(data: bytes, budget: _Budget, *, streams: bool) -> set[str]:
    """The names of ``data``'s objects, outside strings, comments and stream data; each
    stream inflated (counted) and, for object streams, scanned in turn."""
    names: set[str] = set()
    tokens: list[tuple[str, object]] = []  # the current object's, for its stream
    position = 0
    while True:
        match = _TOKEN.search(data, position)
        if match is None:
            return names
        token = match.group()
        position = match.end()
        if token == b"%":
            line_end = _LINE_END.search(data, position)
            position = line_end.end() if line_end else len(data)
        elif token == b"(":
            position = _skip_literal_string(data, position)
        elif token == b"<":
            closing = data.find(b">", position)
            position = closing + 1 if closing >= 0 else len(data)
        elif token == b"/":
            name, position = _name_at(data, match.start())
            names.add(name)
            tokens.append(("name", name))
        elif token == b"[":
            tokens.append(("array", None))
        elif token in {b"obj", b"endobj"}:
            tokens = []
        elif token.startswith(b"stream"):
            if not streams:
                raise Refusal("pdf_unreadable")  # no stream can be inside an object stream
            position = _stream(data, position, tokens, names, budget)
            tokens = []
        elif token[:1].isdigit():
            tokens.append(("int", int(token)))
            del tokens[:-64]  # only what follows the last few names matters
        # "<<" and ">>" only delimit dictionaries.


def _stream(
    data: bytes,
    begin: int,
    tokens: list[tuple[str, object]],
    names: set[str],
    budget: _Budget,
) -> int:
    """Check the stream whose data starts at ``begin``; return where its data ends."""
    end = -1
    length = _direct_length(tokens)
    if length is not None and begin + length <= len(data):
        after = begin + length
        while after < len(data) and data[after] in b"\r\n \t\x0c\x00":
            after += 1
        if data.startswith(b"endstream", after):
            end = begin + length
    if end < 0:
        following = data.find(b"endstream", begin)
        end = following if following >= 0 else len(data)
    dictionary = {value for kind, value in tokens if kind == "name"}
    filters = _filters(tokens)
    if {"N", "First"} <= dictionary:  # an object stream: other objects are inside
        if filters not in (["FlateDecode"], ["Fl"]) or "DecodeParms" in dictionary:
            raise Refusal("pdf_unreadable")
        names |= _scan(_inflate(data[begin:end], budget, keep=True), budget, streams=False)
    elif filters and filters[0] in {"FlateDecode", "Fl"}:
        _inflate(data[begin:end], budget, keep=False)
    return end + len(b"endstream")


def _inspect_pdf(data: bytes) -> None:
    names = _scan(data, _Budget(), streams=True)
    if names & ACTIVE_NAMES:
        raise Refusal("pdf_active_content")

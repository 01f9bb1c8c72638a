"""Responses that hand a decrypted file to a browser, for the views of any app.

Access is the calling view's decision: these helpers only make the response safe to
deliver (no sniffing, no caching, a sandbox for whatever the browser opens).
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from django.http import HttpResponse

from ecitizen.documents.models import Upload
from ecitizen.documents.services import upload_read

#: For anything downloaded, or an image opened in the browser: no script, no plugin, no
#: same-origin access, nothing loaded but the image itself.
SANDBOXED_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
#: For a PDF opened in the browser. Chromium refuses to run its PDF viewer in a sandboxed
#: document (crbug.com/413851), so instead of ``sandbox`` the policy allows the viewer's
#: own embed and inline styles and nothing else. Only PDF, PNG and JPEG are ever stored
#: (checked by content) and ``nosniff`` stops any other interpretation.
PDF_INLINE_POLICY = (
    "default-src 'none'; object-src 'self'; img-src 'self'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """An RFC 6266 ``Content-Disposition`` value: an ASCII ``filename`` for old clients and
    the exact UTF-8 name in ``filename*`` (RFC 8187)."""
    kind = "inline" if inline else "attachment"
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(ch for ch in ascii_name if ch.isprintable() and ch not in '"\\;')
    ascii_name = ascii_name.strip() or "download"
    value = f'{kind}; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def bytes_response(
    data: bytes, *, filename: str, content_type: str, inline: bool = False
) -> HttpResponse:
    """``data`` as a download (or, with ``inline``, opened in the browser), never cached
    and never sniffed."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition(filename, inline=inline)
    response["Content-Length"] = str(len(data))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = (
        PDF_INLINE_POLICY if inline and content_type == "application/pdf" else SANDBOXED_POLICY
    )
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def upload_response(upload: Upload, *, inline: bool = False) -> HttpResponse:
    """The decrypted upload as an attachment named with its sanitised file name, or with
    ``inline`` opened in the browser (officers reading a PDF or photo).

    Precondition: the calling view has checked that the person may see this upload.
    Raises :class:`ecitizen.core.crypto.DecryptionError` if the stored file was changed.
    """
    return bytes_response(
        upload_read(upload=upload),
        filename=upload.filename,
        content_type=upload.content_type,
        inline=inline,
    )

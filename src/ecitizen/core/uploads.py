"""Limits applied while a request's files are being received, before any is kept.

Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` limits the form fields of a request, not its
files: without this handler, a request could stream gigabytes to temporary files before
any view looked at them. :class:`LimitedUploadHandler` comes first in
``FILE_UPLOAD_HANDLERS`` and counts bytes as they arrive:

- past ``UPLOAD_MAX_MB`` for one file, the rest of that file is not kept; the form gets
  an :class:`OversizedUpload` that says how big the file was, and the upload service
  refuses it with its usual message ("The selected file must be smaller than 20 MB"),
  so the person sees the error on the form with their other answers kept;
- past ``REQUEST_MAX_MB`` for the whole request, reading stops at once: the request is
  marked, and :class:`ecitizen.core.middleware.RequestGuardMiddleware` answers with the
  413 page. (A request that announces such a length is refused before it is read.)
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from ecitizen.core.http import BODY_TOO_LARGE_ATTRIBUTE, request_max_bytes, upload_max_bytes


class OversizedUpload(UploadedFile):
    """A file that was larger than ``UPLOAD_MAX_MB``: its name, type and the number of
    bytes received (at least one more than the limit), without the content."""

    def __init__(self, *, name: str, content_type: str, size: int, charset: str | None) -> None:
        super().__init__(BytesIO(b""), name, content_type, size, charset)


class LimitedUploadHandler(FileUploadHandler):
    """Count every uploaded byte; keep no more than ``UPLOAD_MAX_MB`` of one file and
    read no more than ``REQUEST_MAX_MB`` of files in one request (see the module)."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.per_file_limit = upload_max_bytes()
        self.request_limit = request_max_bytes()
        self.received = 0
        self.file_received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file_received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        self.file_received += len(raw_data)
        if self.received > self.request_limit:
            if self.request is not None:
                setattr(self.request, BODY_TOO_LARGE_ATTRIBUTE, True)
            # A SuspiciousOperation: Django stops reading the body and answers 400, which
            # the middleware replaces with the 413 page.
            raise RequestDataTooBig("Uploaded files exceed REQUEST_MAX_MB.")
        if self.file_received > self.per_file_limit:
            return None  # the handlers after this one keep nothing more of this file
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.file_received > self.per_file_limit:
            return OversizedUpload(
                name=self.file_name or "",
                content_type=self.content_type or "application/octet-stream",
                size=self.file_received,
                charset=self.charset,
            )
        return None  # the next handler (memory or temporary file) has the whole file

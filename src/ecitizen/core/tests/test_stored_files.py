"""Writing to the media storage (``core/stored_files.py``)."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ecitizen.core.stored_files import save_all_or_nothing


class _DiskFillsHalfway(File):
    """Content whose second half cannot be written: the disk fills up after the first."""

    def chunks(self, chunk_size=None):
        yield b"the first half"
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_half_way_leaves_nothing_and_touches_no_other_file(own_files_folder):
    media = Path(settings.MEDIA_ROOT)
    earlier = default_storage.save("documents/ab/plans.bin", ContentFile(b"an earlier file"))

    with pytest.raises(OSError, match="No space left"):
        save_all_or_nothing(default_storage, earlier, _DiskFillsHalfway(io.BytesIO()))

    assert {str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()} == {
        earlier
    }
    assert default_storage.open(earlier).read() == b"an earlier file"

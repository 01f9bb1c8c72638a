"""The sweep of stored files that no row names (``ecitizen housekeeping``,
``core/stored_files.py``), on a folder and on S3 (moto's server, ``tests/s3.py``).

An orphan is made the way a crash makes one: the file is written by the platform's own
service, then the transaction that would have named it never commits (a process killed
in between is the same to the database). Files are aged by their storage's own clock (a
folder's modification time; on S3 the object is written again while the test's clock is
two days back, which moto records as its ``LastModified``).
"""

from __future__ import annotations

import errno
import io
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ecitizen.core.registry import Registry, RegistryError, StoredFiles
from ecitizen.core.stored_files import orphans_sweep, save_all_or_nothing
from ecitizen.documents import services as documents
from ecitizen.documents.tests.factories import issue
from ecitizen.opendata import services as opendata
from ecitizen.privacy import exports
from tests.s3 import PREFIX, Bucket

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n%%EOF\n"
#: How old an aged file is: more than the default grace of a day.
OLD = timedelta(days=2)


class Killed(Exception):
    """The process dies before its transaction commits."""


@dataclass
class Media:
    """The test's media storage, read and aged behind the platform's back."""

    root: Path | None = None
    bucket: Bucket | None = None

    def names(self) -> set[str]:
        if self.bucket is not None:
            return set(self.bucket.stored())
        assert self.root is not None
        return {str(path.relative_to(self.root)) for path in self.root.rglob("*") if path.is_file()}

    def age(self, names: set[str]) -> None:
        """Make ``names`` last written :data:`OLD` ago."""
        then = timezone.now() - OLD
        if self.bucket is not None:
            contents = {name: default_storage.open(name).read() for name in names}
            with time_machine.travel(then, tick=False):
                for name, content in contents.items():
                    self.bucket.client.put_object(
                        Bucket=self.bucket.name, Key=f"{PREFIX}/{name}", Body=content
                    )
            return
        assert self.root is not None
        for name in names:
            os.utime(self.root / name, (then.timestamp(), then.timestamp()))


@pytest.fixture(params=["filesystem", "s3"])
def media(request, own_files_folder) -> Media:
    if request.param == "s3":
        return Media(bucket=request.getfixturevalue("s3_media"))
    return Media(root=Path(settings.MEDIA_ROOT))


def _killed(write) -> str:
    """What ``write()`` stored (it returns the storage name) in a transaction that never
    commits."""
    written = []

    @transaction.atomic
    def dies_before_the_commit():
        written.append(write())
        raise Killed

    with pytest.raises(Killed):
        dies_before_the_commit()
    return written[0]


def _upload(owner) -> str:
    return documents.upload_store(
        owner=owner,
        file=SimpleUploadedFile("plans.pdf", PDF, content_type="application/pdf"),
        allowed_types=["application/pdf"],
        max_bytes=1024 * 1024,
        actor=owner,
    ).storage_name


def _dataset(publisher, department):
    return opendata.dataset_create(
        actor=publisher,
        department=department,
        fields={"name": "council-minutes", "titles": {"en": "Minutes"}, "licence_id": "CC-BY-4.0"},
    )


def _report(publisher, dataset, content: bytes = PDF) -> str:
    resource = opendata.resource_add(
        actor=publisher, dataset=dataset, filename="minutes.pdf", content=content
    )
    return resource.file.name


def _export(user, capture) -> tuple[str, str]:
    """A ready download of ``user``'s data (its file named by its row), then another whose
    worker died between storing the file and marking it ready: their two names."""
    with capture(execute=True):
        ready, _created = exports.export_request(user=user, language="en", actor=user)
    ready.refresh_from_db()
    with capture(execute=False):
        died, _created = exports.export_request(user=user, language="en", actor=user)

    def dies(*args, **kwargs):
        raise Killed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exports, "_finish", dies)
        with pytest.raises(Killed):
            exports.export_prepare(export_id=died.pk)
    return ready.storage_name, f"{exports.EXPORTS_FOLDER}{died.pk.hex[:2]}/{died.pk.hex}.bin"


def test_housekeeping_deletes_old_orphans_and_nothing_a_row_names(
    media, resident, publisher, department, django_capture_on_commit_callbacks, caplog
):
    dataset = _dataset(publisher, department)
    exported, export_orphan = _export(resident, django_capture_on_commit_callbacks)
    named = {
        _upload(resident),
        issue(resident).pdf.storage_name,
        exported,
        _report(publisher, dataset),
    }
    orphans = {
        _killed(lambda: _upload(resident)),
        _killed(lambda: _report(publisher, dataset, PDF + b"% another\n")),
        export_orphan,
    }
    # Outside the platform's folders: never looked at, whatever its age.
    elsewhere = default_storage.save("elsewhere/notes.txt", ContentFile(b"not ours"))
    assert media.names() == named | orphans | {elsewhere}
    media.age(media.names())
    fresh = _killed(lambda: _upload(resident))  # its row may be about to commit

    caplog.set_level("INFO", logger="ecitizen.core.stored_files")
    out = io.StringIO()
    call_command("housekeeping", stdout=out)

    assert media.names() == named | {fresh, elsewhere}
    assert "Deleted 3 stored files that no row names (of 8 listed" in out.getvalue()
    logged = caplog.text
    for orphan in orphans:
        assert f"deleted the stored file {orphan}" in logged
    assert "deleted 3 stored files that no row names, of 8" in logged
    # Everything named still reads back through the platform.
    assert documents.upload_read(upload=issue(resident).pdf).startswith(b"%PDF")


def test_a_dry_run_lists_the_orphans_and_deletes_nothing(media, resident):
    named = _upload(resident)
    orphan = _killed(lambda: _upload(resident))
    media.age({named, orphan})

    out = io.StringIO()
    call_command("housekeeping", "--dry-run", stdout=out)

    assert out.getvalue().splitlines()[0] == f"Would delete {orphan}"
    assert "Would delete 1 stored files that no row names (of 2 listed" in out.getvalue()
    assert "Forgot" not in out.getvalue()  # the other clean-ups are skipped
    assert media.names() == {named, orphan}


def test_the_files_earlier_revisions_name_stay(
    resident, publisher, department, own_files_folder, django_capture_on_commit_callbacks
):
    media = Media(root=Path(settings.MEDIA_ROOT))
    dataset = _dataset(publisher, department)
    resource = opendata.resource_add(
        actor=publisher, dataset=dataset, filename="minutes.pdf", content=PDF
    )
    first = resource.file.name
    # The same content and name again: the storage gives the new file a name of its own.
    same_again = opendata.resource_replace(
        actor=publisher, resource=resource, filename="minutes.pdf", content=PDF
    ).file.name
    current = opendata.resource_replace(
        actor=publisher, resource=resource, filename="minutes-v2.pdf", content=PDF + b"%v2\n"
    ).file.name
    interrupted = _killed(
        lambda: (
            opendata.resource_replace(
                actor=publisher,
                resource=resource,
                filename="minutes-v3.pdf",
                content=PDF + b"%v3\n",
            ).file.name
        )
    )
    assert len({first, same_again, current, interrupted}) == 4
    media.age(media.names())

    sweep = orphans_sweep()

    assert sweep.orphans == [interrupted]
    assert media.names() == {first, same_again, current}


def test_names_are_checked_a_batch_at_a_time(resident, own_files_folder):
    media = Media(root=Path(settings.MEDIA_ROOT))
    named = {_upload(resident) for _ in range(5)}
    orphan = _killed(lambda: _upload(resident))
    media.age(named | {orphan})

    with CaptureQueriesContext(connection) as queries:
        sweep = orphans_sweep(batch=2)

    assert sweep.orphans == [orphan]
    assert sweep.listed == 6
    assert media.names() == named
    # Each query of the uploads' column holds one batch of names, never the whole listing.
    asked = [q["sql"] for q in queries if "documents_upload" in q["sql"] and " IN " in q["sql"]]
    assert len(asked) == 3
    assert all(q.count("documents/") <= 2 for q in asked)


def test_a_file_newer_than_the_grace_stays(resident, own_files_folder, settings):
    media = Media(root=Path(settings.MEDIA_ROOT))
    orphan = _killed(lambda: _upload(resident))
    media.age({orphan})
    settings.STORAGE_ORPHAN_GRACE_HOURS = 72

    assert orphans_sweep().orphans == []
    with time_machine.travel(time.time() + timedelta(days=1, seconds=1).total_seconds()):
        assert orphans_sweep().orphans == [orphan]
    assert media.names() == set()


def test_a_file_the_storage_refuses_to_delete_is_logged_and_the_sweep_goes_on(
    resident, s3_media, s3_link, settings, caplog
):
    media = Media(bucket=s3_media)
    named = _upload(resident)
    refused, orphan = sorted({_killed(lambda: _upload(resident)) for _ in range(2)})
    media.age({named, refused, orphan})
    # The keys may not delete the first orphan the sweep meets (S3 answers AccessDenied).
    s3_link.refuse_deletes(refused)
    settings.STORAGES = {**settings.STORAGES, "default": s3_link.storage()}
    caplog.set_level("INFO", logger="ecitizen.core.stored_files")

    sweep = orphans_sweep()

    assert (sweep.listed, sweep.orphans, sweep.failed) == (3, [orphan], [refused])
    assert media.names() == {named, refused}
    logged = [r for r in caplog.records if r.name == "ecitizen.core.stored_files"]
    (error,) = [r for r in logged if r.levelname == "ERROR"]
    assert error.getMessage() == f"could not delete the stored file {refused} that no row names"
    assert "AccessDenied" in str(error.exc_info[1])
    assert logged[-2].getMessage().startswith(f"deleted the stored file {orphan} (written")
    summary = logged[-1].getMessage()
    assert summary.startswith("deleted 1 stored files that no row names, of 3 under")
    assert summary.endswith("; 1 could not be deleted")

    # The command runs the other clean-ups, then fails with one line (its job is then
    # recorded as failed), never a traceback.
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("housekeeping", stdout=out)
    assert str(failed.value) == (
        f"Could not delete 1 stored files that no row names ({refused}): see the log."
    )
    assert "Removed the expired sessions." in out.getvalue()
    assert "Deleted 0 stored files that no row names (of 2 listed" in out.getvalue()
    assert media.names() == {named, refused}


class _DiskFillsHalfway(File):
    """Content whose second half cannot be written: the disk fills up after the first."""

    def chunks(self, chunk_size=None):
        yield b"the first half"
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_half_way_leaves_nothing_and_touches_no_other_file(own_files_folder):
    media = Media(root=Path(settings.MEDIA_ROOT))
    earlier = default_storage.save("documents/ab/plans.bin", ContentFile(b"an earlier file"))

    with pytest.raises(OSError, match="No space left"):
        save_all_or_nothing(default_storage, earlier, _DiskFillsHalfway(io.BytesIO()))

    assert media.names() == {earlier}
    assert default_storage.open(earlier).read() == b"an earlier file"


@pytest.mark.parametrize("prefix", ["", "/", "documents", "/documents/", "a//b/", "../x/"])
def test_a_declared_folder_must_be_a_relative_folder(prefix):
    with pytest.raises(RegistryError, match="the prefix must be a relative folder"):
        Registry().register_stored_files(StoredFiles("app.files", prefix))

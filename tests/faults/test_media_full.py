"""The media storage full: every upload it cannot keep is refused with a clear message
(never a 500), nothing is half-written, and once there is room again the same resident
carries on where they were.

A 1 MiB tmpfs is mounted where a real gunicorn keeps its media (``VAR_DIR/media``), and a
resident applies for shed permits, each with a PDF of plans (about 150 KB), until the
storage refuses one. Then the operator gives the volume more room (``mount -o remount``)
and the resident sends the refused plans again, and one more application.

Afterwards: every confirmation shown is one case with its file, readable; every upload
row has its file and every stored file its row (a refused upload leaves no partial file
behind); ``audit verify`` and ``ledger check`` pass.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

from ecitizen.cases.models import Case
from ecitizen.documents.models import Upload
from ecitizen.documents.services import upload_read
from tests.faults.checks import assert_commands_pass, assert_submissions
from tests.faults.conftest import make_resident
from tests.faults.journeys import Resident
from tests.faults.stack import Stack, postgres_only
from tests.processes import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_specific, postgres_only]

#: Applications tried before giving up on filling 1 MiB (each holds about 150 KB).
MOST = 12
#: What the resident is told when the file could not be kept.
COULD_NOT_SAVE = "The selected file could not be uploaded. Try again later"


def _plans() -> bytes:
    """A valid PDF of about 150 KB that does not compress (a comment of random text)."""
    from ecitizen.cases.tests.support import PDF_BYTES

    return PDF_BYTES + b"%" + secrets.token_hex(75_000).encode() + b"\n"


def _stored(media: Path) -> set[str]:
    return {
        str(path.relative_to(media)) for path in (media / "documents").rglob("*") if path.is_file()
    }


def _assert_nothing_half_written(media: Path) -> None:
    rows = set(Upload.objects.values_list("storage_name", flat=True))
    stored = _stored(media)
    assert rows <= stored, f"upload rows without their file: {sorted(rows - stored)}"
    assert stored <= rows, f"files nobody refers to (half-written?): {sorted(stored - rows)}"
    for case in Case.objects.prefetch_related("files__upload"):
        files = list(case.files.all())
        assert len(files) == 1, f"{case.reference} has {len(files)} files"
        assert upload_read(upload=files[0].upload).startswith(b"%PDF-"), case.reference


def test_a_full_media_storage_refuses_uploads_clearly_and_recovers(
    small_media: Path, stack: Stack, services, settings
):
    settings.MEDIA_ROOT = str(small_media)  # this process reads what the web process wrote
    person = make_resident(0, prefix="media")
    stack.env["MEDIA_ROOT"] = str(small_media)
    stack.start_web("web1")
    wait_for(lambda: stack.web_ready("web1"), "the web process")
    resident = Resident(stack.web_url("web1"), person.email)
    resident.sign_in()

    # Fill it: applications with plans until one is refused.
    refused = None
    for _ in range(MOST):
        page = resident.start_shed_permit()
        answer = resident.upload_plans(page, _plans())
        if answer.url.endswith("/page/plans/"):
            refused = answer
            break
        resident.finish_shed_permit(answer)
    assert refused is not None, f"{MOST} applications of 150 KB fitted in 1 MiB"
    kept = len(resident.record.confirmations)
    assert kept >= 1
    # A clear message on the page, linked from the error summary, the answers kept.
    assert refused.status_code == 200, refused.status_code
    assert COULD_NOT_SAVE in refused.text
    assert "govuk-error-summary" in refused.text
    # Refused again while it is full: the same message, nothing more stored.
    assert COULD_NOT_SAVE in resident.upload_plans(refused, _plans()).text
    assert Case.objects.count() == kept
    _assert_nothing_half_written(small_media)

    # The operator gives the volume room; the resident sends the plans again and carries
    # on, then makes one more application.
    subprocess.run(
        ["mount", "-o", "remount,size=4m", str(small_media)], check=True, capture_output=True
    )
    resident.finish_shed_permit(resident.upload_plans(refused, _plans()))
    resident.finish_shed_permit(resident.upload_plans(resident.start_shed_permit(), _plans()))

    assert assert_submissions({person: resident.record.confirmations}) == kept + 2
    _assert_nothing_half_written(small_media)
    assert not resident.record.outages, resident.record.outages
    assert_commands_pass(stack.env)

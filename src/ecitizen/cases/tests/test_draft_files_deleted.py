"""Files of applications in progress are deleted (row and stored file) when the resident
removes them, deletes the application, or lets it expire; never before the deletion has
committed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ecitizen.cases import services
from ecitizen.cases.models import DraftFile
from ecitizen.core.models import AuditEvent
from ecitizen.documents.models import Upload

from .support import pdf_file


def _draft_with_files(shed, resident, count=2):
    draft = services.draft_start(service=shed, applicant=resident, actor=resident)
    draft = services.draft_save_answers(
        draft=draft,
        values={"owns_property": True},
        files={"plan_files": [pdf_file(f"plan-{n}.pdf") for n in range(count)]},
        actor=resident,
    )
    return draft, list(draft.files.select_related("upload"))


def _gone(upload: Upload) -> bool:
    return not Upload.objects.filter(pk=upload.pk).exists() and not default_storage.exists(
        upload.storage_name
    )


def test_a_file_the_resident_removes_is_deleted_once_committed(
    shed, resident, django_capture_on_commit_callbacks
):
    draft, (first, second) = _draft_with_files(shed, resident)
    assert default_storage.exists(first.upload.storage_name)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        draft = services.draft_remove_file(draft=draft, draft_file_id=first.pk, actor=resident)
    # The row is gone with the transaction; the stored file waits for the commit.
    assert not Upload.objects.filter(pk=first.upload.pk).exists()
    assert default_storage.exists(first.upload.storage_name)
    for callback in callbacks:
        callback()
    assert _gone(first.upload)
    assert not _gone(second.upload)
    assert draft.answers["plan_files"] == [str(second.upload.pk)]
    event = AuditEvent.objects.get(action="documents.upload_deleted")
    assert event.object_id == str(first.upload.pk)
    assert event.subject_user_id == resident.pk


def test_a_rolled_back_removal_keeps_the_file(shed, resident, django_capture_on_commit_callbacks):
    draft, (first, _second) = _draft_with_files(shed, resident)

    class Abort(Exception):
        pass

    def remove_then_fail():
        with transaction.atomic():
            services.draft_remove_file(draft=draft, draft_file_id=first.pk, actor=resident)
            raise Abort

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Abort):
        remove_then_fail()
    assert Upload.objects.filter(pk=first.upload.pk).exists()
    assert default_storage.exists(first.upload.storage_name)
    assert DraftFile.objects.filter(pk=first.pk).exists()


def test_the_files_of_a_deleted_application_are_deleted(
    shed, resident, django_capture_on_commit_callbacks
):
    draft, items = _draft_with_files(shed, resident)
    with django_capture_on_commit_callbacks(execute=True):
        services.draft_discard(draft=draft, actor=resident)
    assert all(_gone(item.upload) for item in items)
    assert not DraftFile.objects.filter(draft=draft).exists()


def test_the_files_of_an_expired_application_are_deleted(
    shed, resident, django_capture_on_commit_callbacks
):
    _draft, items = _draft_with_files(shed, resident)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.drafts_expire(now=timezone.now() + timedelta(days=400))[1] == 1
    assert all(_gone(item.upload) for item in items)


def test_files_of_a_submitted_application_stay(shed, resident, django_capture_on_commit_callbacks):
    from .support import SHED_ANSWERS

    draft, items = _draft_with_files(shed, resident, count=1)
    draft = services.draft_save_answers(draft=draft, values=SHED_ANSWERS, actor=resident)
    with django_capture_on_commit_callbacks(execute=True):
        services.draft_submit(draft=draft, actor=resident)
        assert services.drafts_expire(now=timezone.now() + timedelta(days=400)) == (0, 0)
    assert not _gone(items[0].upload)


def test_the_sweep_deletes_old_uploads_nothing_refers_to(
    shed, resident, django_capture_on_commit_callbacks
):
    from ecitizen.documents.services import uploads_sweep

    _draft, (first, second) = _draft_with_files(shed, resident)
    # As a file removed before removals deleted anything: the link went, the upload stayed.
    DraftFile.objects.filter(pk=first.pk).delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert uploads_sweep(older_than=timedelta(days=1)) == 0  # too recent: maybe in use
        Upload.objects.filter(pk=first.upload.pk).update(
            created_at=timezone.now() - timedelta(days=2)
        )
        Upload.objects.filter(pk=second.upload.pk).update(
            created_at=timezone.now() - timedelta(days=2)
        )
        assert uploads_sweep(older_than=timedelta(days=1)) == 1
    assert _gone(first.upload)
    assert not _gone(second.upload)  # still part of the draft

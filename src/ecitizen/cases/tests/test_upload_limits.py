"""Files the platform cannot take, sent through a question page: too big for it, or a
media storage that cannot keep them (a disk that fails, an S3 bucket gone or unreachable).
A clear message on the form (or a 413 page when the whole request is too big), never a
500, and nothing kept."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ecitizen.documents.models import Upload
from tests.processes import free_port
from tests.s3 import Bucket

from .support import PDF_BYTES, pdf_file

MB = 1024 * 1024


def _plans_page(client, resident):
    client.force_login(resident)
    url = client.get(reverse("cases:apply_start", args=["shed-permit"]))["Location"]
    url = client.post(url, {"answer": "yes"})["Location"]
    url = client.post(url, {"shed_value": "800", "material": "metal"})["Location"]
    assert url.endswith("/page/plans/")
    return url


def test_a_file_past_the_platform_limit_is_refused_on_the_form(client, shed, resident, settings):
    url = _plans_page(client, resident)
    settings.UPLOAD_MAX_MB = 1
    big = SimpleUploadedFile("plans.pdf", PDF_BYTES + b"%" + b"x" * (2 * MB), "application/pdf")
    page = client.post(url, {"plan_files": big})
    assert page.status_code == 200
    assert "The selected file must be smaller than 1 MB" in page.content.decode()
    assert not Upload.objects.exists()


def test_a_request_past_the_request_limit_gets_the_413_page(client, shed, resident, settings):
    url = _plans_page(client, resident)
    settings.REQUEST_MAX_MB = 1
    big = SimpleUploadedFile("plans.pdf", PDF_BYTES + b"%" + b"x" * (2 * MB), "application/pdf")
    page = client.post(url, {"plan_files": big})
    assert page.status_code == 413
    assert "The files you sent are too big" in page.content.decode()
    assert not Upload.objects.exists()


def _failing_disk(request, settings, tmp_path):
    """A media folder below a file: every write fails with an OSError, as on a full disk."""
    (tmp_path / "not-a-folder").write_bytes(b"")
    settings.MEDIA_ROOT = str(tmp_path / "not-a-folder" / "media")


def _bucket_gone(request, settings, tmp_path):
    """The bucket was deleted (or the keys lost their rights to it): S3 answers NoSuchBucket."""
    request.getfixturevalue("s3_media").delete()


def _endpoint_down(request, settings, tmp_path):
    """Nothing answers at the storage's address (the S3 service is down)."""
    gone = Bucket(name="riverton-media", endpoint=f"http://127.0.0.1:{free_port()}", client=None)
    settings.STORAGES = {**settings.STORAGES, "default": gone.storage()}


@pytest.mark.parametrize(
    "storage_fails",
    [
        pytest.param(_failing_disk, id="disk"),
        pytest.param(_bucket_gone, id="s3-bucket-gone"),
        pytest.param(_endpoint_down, id="s3-endpoint-down"),
    ],
)
def test_a_storage_that_cannot_keep_the_file_gets_the_same_message(
    client, shed, resident, settings, tmp_path, request, storage_fails
):
    url = _plans_page(client, resident)
    storage_fails(request, settings, tmp_path)
    page = client.post(url, {"plan_files": pdf_file()})
    assert page.status_code == 200
    assert "The selected file could not be uploaded. Try again later" in page.content.decode()
    assert not Upload.objects.exists()

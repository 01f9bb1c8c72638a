"""Files too big for the platform, sent through a question page: a clear message on the
form (or a 413 page when the whole request is too big), never a 500."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ecitizen.documents.models import Upload

from .support import PDF_BYTES

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

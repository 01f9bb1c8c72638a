"""A service whose definition requires an identity verified by the national eID: the
case services refuse to start and to submit an application without one, and the start
link answers with the page that offers to link the eID."""

from __future__ import annotations

import shutil

import pytest
import yaml
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import IdentityVerification
from ecitizen.accounts.selectors import IdentityVerificationRequired
from ecitizen.cases import services
from ecitizen.cases.models import Case, Draft
from ecitizen.cases.tests.conftest import FIXTURES
from ecitizen.cases.tests.support import SHED_ANSWERS, pdf_file
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified_shed(works, tmp_path):
    """The shed permit, published with ``requires_verified_identity``."""
    shutil.copy(FIXTURES / "shed-permit.yaml", tmp_path / "shed-permit.yaml")
    path = tmp_path / "shed-permit.yaml"
    data = yaml.safe_load(path.read_text())
    data["requires_verified_identity"] = True
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    service_definitions_publish(directory=tmp_path, actor=None)
    return Service.objects.get(slug="shed-permit")


def verify(user):
    now = timezone.now()
    return IdentityVerification.objects.create(
        user=user, provider="eid", acr="", verified_at=now, first_verified_at=now
    )


def test_starting_needs_a_verified_identity(client, resident, verified_shed):
    client.force_login(resident)
    response = client.get(reverse("cases:apply_start", args=[verified_shed.slug]))
    assert response.status_code == 403
    assert "national eID" in response.content.decode()
    with pytest.raises(IdentityVerificationRequired):
        services.draft_start(service=verified_shed, applicant=resident, actor=resident)
    assert not Draft.objects.filter(applicant=resident).exists()

    verify(resident)
    response = client.get(reverse("cases:apply_start", args=[verified_shed.slug]))
    assert response.status_code == 302
    assert Draft.objects.filter(applicant=resident).count() == 1


def test_submitting_checks_again(resident, verified_shed):
    verification = verify(resident)
    draft = services.draft_start(service=verified_shed, applicant=resident, actor=resident)
    draft = services.draft_save_answers(draft=draft, values=SHED_ANSWERS, actor=resident)
    draft = services.draft_save_answers(
        draft=draft, values={}, files={"plan_files": [pdf_file()]}, actor=resident
    )
    # The eID link removed between start and submission: nothing is sent.
    verification.delete()
    with pytest.raises(IdentityVerificationRequired):
        services.draft_submit(draft=draft, actor=resident)
    assert not Case.objects.filter(applicant=resident).exists()
    verify(resident)
    case = services.draft_submit(draft=draft, actor=resident)
    assert case.applicant == resident

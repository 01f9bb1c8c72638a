"""Fixtures of the reports tests: Public Works with its officials, Riverton's wards, and
the test category defined only by ``fixtures/pothole.yaml``."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ecitizen.accounts.models import Jurisdiction, Role
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.reports import geo
from ecitizen.reports.models import Report
from tests.factories import DepartmentFactory, UserFactory
from tests.personas import _official

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: A point in Riverside ward, another 20 m away, one 200 m away, and one in London.
RIVERSIDE = (52.18976, -2.24702)
RIVERSIDE_20M = (52.18994, -2.24702)
RIVERSIDE_200M = (52.19156, -2.24702)
LONDON = (51.5072, -0.1276)


def thirty_reports(
    now: datetime, wards: Sequence[Any] = (), *, hourly: bool = False
) -> list[Report]:
    """Thirty reports made directly (as the compiled reads' tests compare them): two
    categories (pothole, streetlight), every fifth closed, near Riverside and one in four
    in London, spread over ``wards`` and none, requested a minute apart and updated
    ``now`` (``hourly``: an hour apart); the 29th hidden and the 30th unconfirmed."""
    reporter = UserFactory()
    places = [*wards, None]
    return Report.objects.bulk_create(
        Report(
            reporter=reporter,
            reference=f"RIV-REP-2026-{n:06d}",
            category=["pothole", "streetlight"][n % 2],
            latitude=(RIVERSIDE if n % 4 else LONDON)[0] + n / 100_000,
            longitude=(RIVERSIDE if n % 4 else LONDON)[1],
            ward=places[n % len(places)],
            title=f"Report {n}",
            description="A problem.",
            state="received",
            is_open=n % 5 != 0,
            confirmed_at=None if n == 29 else now,
            hidden_at=now if n == 28 else None,
            requested_at=now - timedelta(minutes=n),
            updated_at=now - timedelta(hours=n) if hourly else now,
        )
        for n in range(30)
    )


@pytest.fixture
def works(db):
    return DepartmentFactory(slug="public-works", name="Public Works")


@pytest.fixture
def wards(db):
    made = {}
    for ward in geo.area().wards:
        made[ward.code], _created = Jurisdiction.objects.get_or_create(
            code=ward.code, defaults={"name": ward.name}
        )
    return made


@pytest.fixture
def pothole(works, wards):
    service_definitions_publish(directory=FIXTURES, actor=None)
    return "pothole"


@pytest.fixture
def works_officer(works):
    return _official(Role.CASE_OFFICER, works, email="works.officer@example.test")


@pytest.fixture
def works_supervisor(works):
    return _official(Role.SUPERVISOR, works, email="works.supervisor@example.test")


def jpeg_with_gps(name: str = "pothole.jpg") -> SimpleUploadedFile:
    """A real JPEG photo whose EXIF says where it was taken."""
    from PIL import Image

    image = Image.new("RGB", (640, 480), (120, 110, 100))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 11.0, 23.0)
    gps[3] = "W"
    gps[4] = (2.0, 14.0, 49.0)
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")

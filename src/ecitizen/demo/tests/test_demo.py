from datetime import datetime, time
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from ecitizen.accounts.models import (
    Department,
    Jurisdiction,
    ResidentProfile,
    Role,
    RoleAssignment,
    User,
)
from ecitizen.accounts.selectors import user_has_mfa
from ecitizen.core.models import AuditEvent
from ecitizen.core.selectors import audit_chain_verify
from ecitizen.demo import riverton
from ecitizen.demo.tests import readable
from ecitizen.documents import render

#: The whole demo loads here: minutes on a loaded two-core machine, beyond the suite's
#: five-minute default.
pytestmark = [pytest.mark.timeout(900), pytest.mark.usefixtures("own_files_folder")]


@pytest.fixture
def on_one_day():
    """Both loads on one day, whatever the time the test starts: the demand history ends at
    the start of the day, so a load on the next day rightly adds that day's journeys."""
    noon = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    with time_machine.travel(noon, tick=True):
        yield


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("on_one_day")
def test_the_demo_makes_riverton_once_says_how_to_sign_in_and_leaves_nothing_personal_readable(
    own_files_folder, monkeypatch
):
    """One test, because a whole demo load is minutes of CI: what the first load makes and
    prints, that a copy of the database and the files shows nothing personal (``readable``;
    committed, so that the tasks the load queues run: receipts and documents, with a plain
    renderer), that a second load changes nothing, and that a printed code signs in."""
    monkeypatch.setattr(render, "render_pdf", readable.plain_pdf)
    out = StringIO()
    call_command("demo", "--allow-production", stdout=out)
    printed = out.getvalue()
    counts = (
        User.objects.count(),
        RoleAssignment.objects.count(),
        Department.objects.count(),
        Jurisdiction.objects.count(),
        AuditEvent.objects.count(),
    )
    assert Department.objects.count() == 6
    # Every role of accounts, and the roles other apps register (open data's publisher,
    # insights' service manager and performance officer, participation's engagement
    # officer, voting's election administrator and credential authority).
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == {
        *Role.values,
        "publisher",
        "service_manager",
        "performance_officer",
        "engagement_officer",
        "election_administrator",
        "credential_authority",
    }
    assert ResidentProfile.objects.filter(national_id__isnull=False).count() >= 50
    admin = User.objects.get(email=f"admin@{riverton.EMAIL_DOMAIN}")
    assert user_has_mfa(admin)
    assert not user_has_mfa(User.objects.get(email=f"new.officer@{riverton.EMAIL_DOMAIN}"))
    assert riverton.DEMO_PASSWORD in printed
    assert "ecitizen demo --code" in printed
    assert admin.check_password(riverton.DEMO_PASSWORD)

    readable.assert_nothing_personal_readable(own_files_folder, own_files_folder / "media")

    national_ids = sorted(
        ResidentProfile.objects.filter(national_id__isnull=False).values_list(
            "national_id", flat=True
        )
    )
    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    call_command("demo", "--allow-production", stdout=StringIO())
    written_again = list(
        AuditEvent.objects.filter(pk__gt=last_event).values_list("action", "object_type")
    )
    assert written_again == [], "a second load wrote audit events"
    assert counts == (
        User.objects.count(),
        RoleAssignment.objects.count(),
        Department.objects.count(),
        Jurisdiction.objects.count(),
        AuditEvent.objects.count(),
    )
    assert national_ids == sorted(
        ResidentProfile.objects.filter(national_id__isnull=False).values_list(
            "national_id", flat=True
        )
    )
    assert audit_chain_verify().ok

    # The code printed for a demo official signs them in.
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    out = StringIO()
    call_command("demo", "--code", f"finance@{riverton.EMAIL_DOMAIN}", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6
    authenticator = Authenticator.objects.get(
        user__email=f"finance@{riverton.EMAIL_DOMAIN}", type=Authenticator.Type.TOTP
    )
    assert TOTP(authenticator).validate_code(code)


@pytest.mark.django_db
def test_demo_refuses_to_run_on_a_production_configuration():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="only runs with DEBUG=true"):
        call_command("demo", stdout=StringIO())
    assert not User.objects.exists()

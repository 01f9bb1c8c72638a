"""Personal data at rest: no plaintext in the database, lookup by blind index, rotation."""

import base64
import datetime
import os

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command
from django.db import connection

from ecitizen.accounts import services
from ecitizen.accounts.models import ResidentProfile
from ecitizen.accounts.selectors import resident_find_by_national_id
from ecitizen.core import crypto
from ecitizen.core.services import encrypted_rows_pending
from tests.factories import UserFactory

NATIONAL_IDS = [f"RV{n:08d}" for n in range(10001234, 10001234 + 12)]


@pytest.fixture
def residents(db):
    people = []
    for number, national_id in enumerate(NATIONAL_IDS):
        user = UserFactory(email=f"r{number}@example.test")
        services.profile_update(
            user=user,
            data={
                "national_id": national_id,
                "date_of_birth": datetime.date(1980, 1, 1 + number),
                "phone": f"07700 900{number:03d}",
            },
            actor=user,
        )
        people.append(user)
    return people


def _all_database_text() -> str:
    """Every value of every column of every table, as the database stores it."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names from introspection
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.db_specific
def test_the_database_holds_no_plaintext_personal_data(residents):
    dump = _all_database_text()
    for number, national_id in enumerate(NATIONAL_IDS):
        assert national_id not in dump
        assert f"07700 900{number:03d}" not in dump
        assert f"1980-01-{1 + number:02d}" not in dump
    # ... while the application reads them back.
    profile = ResidentProfile.objects.get(user=residents[3])
    assert profile.national_id == NATIONAL_IDS[3]
    assert profile.date_of_birth == datetime.date(1980, 1, 4)


def test_the_audit_trail_masks_personal_values(residents):
    from ecitizen.core.models import AuditEvent

    recorded = str(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert "RV1000" not in recorded
    assert "07700" not in recorded
    event = AuditEvent.objects.filter(action="profile.updated").first()
    assert event.changes["national_id"] == {"before": None, "after": "[redacted]"}


def test_lookup_by_national_id_uses_the_blind_index(
    residents, case_officer, department, django_assert_max_num_queries
):
    from tests.factories import business_with

    business_with(residents[6], department)
    # One indexed lookup plus the roles and the audit event (with its signed checkpoint),
    # however many residents.
    with django_assert_max_num_queries(9):
        found = resident_find_by_national_id(
            national_id="rv 1000-1240", actor=case_officer, ip_address=None
        )
    assert found.user == residents[6]
    assert (
        resident_find_by_national_id(national_id="RV99999999", actor=case_officer, ip_address=None)
        is None
    )


def test_equality_lookups_on_encrypted_fields_are_refused(residents):
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        list(ResidentProfile.objects.filter(national_id=NATIONAL_IDS[0]))


def test_a_national_id_belongs_to_one_resident(residents):
    with pytest.raises(services.NationalIdInUse):
        services.profile_update(
            user=residents[1], data={"national_id": NATIONAL_IDS[0]}, actor=residents[1]
        )


@pytest.mark.db_specific
def test_rotation_re_encrypts_every_row_and_old_values_decrypt_meanwhile(residents, settings):
    mfa_user = residents[0]
    services.mfa_totp_activate(user=mfa_user, secret="JBSWY3DPEHPK3PXP", actor=None)
    old_key = settings.FIELD_ENCRYPTION_ACTIVE_KEY
    settings.FIELD_ENCRYPTION_KEYS = {
        **settings.FIELD_ENCRYPTION_KEYS,
        "k2": os.urandom(32),
    }
    settings.FIELD_ENCRYPTION_ACTIVE_KEY = "k2"

    # Half-way: a run stopped after 5 rows leaves the rest under the old key.
    pending = encrypted_rows_pending(key_id="k2")
    call_command("keys", "rotate", "--limit", "5", "--batch-size", "2")
    assert encrypted_rows_pending(key_id="k2") == pending - 5
    # Every value still reads correctly, whichever key it is under.
    assert (
        sorted(p.national_id for p in ResidentProfile.objects.filter(national_id__isnull=False))
        == NATIONAL_IDS
    )

    # Resumed: it finishes the rest, MFA secrets included.
    call_command("keys", "rotate")
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id, phone, date_of_birth FROM accounts_residentprofile")
        stored = [value for row in cursor.fetchall() for value in row if value]
    assert stored
    assert all(value.startswith("enc1:k2:") for value in stored)
    for authenticator in Authenticator.objects.filter(user=mfa_user):
        for key in ("secret", "seed"):
            if key in authenticator.data:
                assert crypto.token_key_id(authenticator.data[key]) == "k2"

    # The old key can now be removed: everything still decrypts.
    settings.FIELD_ENCRYPTION_KEYS = {"k2": settings.FIELD_ENCRYPTION_KEYS["k2"]}
    assert (
        sorted(p.national_id for p in ResidentProfile.objects.filter(national_id__isnull=False))
        == NATIONAL_IDS
    )
    totp = Authenticator.objects.get(user=mfa_user, type=Authenticator.Type.TOTP)
    from ecitizen.accounts.adapters import MFAAdapter

    assert MFAAdapter().decrypt(totp.data["secret"]) == "JBSWY3DPEHPK3PXP"
    assert old_key != "k2"


def test_generate_prints_a_valid_key(capsys):
    call_command("keys", "generate")
    assert len(base64.b64decode(capsys.readouterr().out.strip())) == 32

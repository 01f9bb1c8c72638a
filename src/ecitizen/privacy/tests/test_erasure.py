"""Erasure on request, end to end: after the data-protection officer approves, the
resident's name and identifiers are nowhere in the database (raw, and once every
encrypted column is decrypted) or in storage, while the payments ledger still balances,
the audit chain still verifies, issued documents still verify as genuine, and another
resident's data is untouched."""

from __future__ import annotations

import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.urls import reverse

from ecitizen.accounts.models import ResidentProfile, User
from ecitizen.accounts.services import profile_update
from ecitizen.cases.tests.conftest import published, shed, works  # noqa: F401 - fixtures
from ecitizen.core import auditseal
from ecitizen.core.fields import EncryptedDateField, EncryptedJSONField, EncryptedTextField
from ecitizen.core.models import AuditEvent, AuditSubjectKey
from ecitizen.core.registry import registry
from ecitizen.core.selectors import audit_chain_verify
from ecitizen.documents import selectors as document_selectors
from ecitizen.documents.models import IssuedDocument, Upload
from ecitizen.documents.services import upload_read
from ecitizen.payments.models import LedgerEntry
from ecitizen.payments.selectors import ledger_mismatches
from ecitizen.privacy import erasure
from ecitizen.privacy.models import DataExport, ErasureRequest
from ecitizen.privacy.tests.test_export import (  # noqa: F401 - fixtures
    _give_business,
    _prepare,
    consultation,
    election,
)
from ecitizen.voting.services import elections as election_services
from tests.factories import PASSWORD
from tests.personas import _official

NATIONAL_ID = "RV31415926"
OTHER_NATIONAL_ID = "RV27182818"
PHONE = "+44 7700 900123"
BIRTH = datetime.date(1984, 3, 17)
OTHER_PHONE = "+44 7700 900456"
OTHER_BIRTH = datetime.date(1990, 11, 2)
MARKER = b"ALEX-PLAN-MARKER"
OTHER_MARKER = b"YASMIN-PLAN-MARKER"


@pytest.fixture
def dpo(db):
    return _official(erasure.DPO_ROLE, None, email="dpo@example.test")


@pytest.fixture
def world(resident, second_resident, shed, works, consultation, election, case_officer):  # noqa: F811
    election_services.voters_upload(
        election=election, emails=[resident.email, second_resident.email], actor=None
    )
    mine = _give_business(
        resident,
        shed=shed,
        works=works,
        consultation=consultation,
        election=election,
        marker=MARKER,
        national_id=NATIONAL_ID,
        idea="Plant more oaks along the quay",
    )
    theirs = _give_business(
        second_resident,
        shed=shed,
        works=works,
        consultation=consultation,
        election=election,
        marker=OTHER_MARKER,
        national_id=OTHER_NATIONAL_ID,
        idea="Open a swimming spot by the weir",
    )
    for user, phone, birth in (
        (resident, PHONE, BIRTH),
        (second_resident, OTHER_PHONE, OTHER_BIRTH),
    ):
        profile_update(
            user=user,
            data={
                "phone": phone,
                "date_of_birth": birth,
                "legal_name": user.full_name,
                "address_line_1": "12 Willow Lane",
                "postcode": "RV1 4QT",
            },
            actor=user,
        )
    return {"mine": mine, "theirs": theirs}


def _identifiers(user: User, national_id: str) -> list[str]:
    """What identifies the resident, in the forms it may be stored in."""
    first, *_rest, last = user.full_name.split()
    return [
        user.full_name,
        user.email,
        national_id,
        national_id.lower(),
        PHONE,
        PHONE.replace(" ", ""),
        BIRTH.isoformat(),
        BIRTH.strftime("%d/%m/%Y"),
        f"{first} {last}",
    ]


def _raw_database_text() -> str:
    """Every value of every table, as stored (nothing decrypted)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        chunks.append(str(value))
    return "\n".join(chunks)


def _decrypted_database_text() -> str:
    """Every encrypted value of every model, decrypted; and every value sealed in the
    audit trail, unsealed where its key still exists."""
    chunks = []
    for model in apps.get_models():
        names = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField | EncryptedJSONField | EncryptedDateField)
        ]
        if not names:
            continue
        for row in model._base_manager.all():
            chunks.extend(str(getattr(row, name)) for name in names)
    for event in AuditEvent.objects.all():
        chunks.append(str(auditseal.unseal(event.actor_label)))
        chunks.append(str({k: auditseal.unseal(v) for k, v in _flatten(event.changes)}))
    return "\n".join(chunks)


def _flatten(changes: dict) -> list[tuple[str, object]]:
    out = []
    for key, value in changes.items():
        if isinstance(value, dict):
            out.extend((f"{key}.{side}", item) for side, item in value.items())
        else:
            out.append((key, value))
    return out


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _approve(resident, dpo, django_capture_on_commit_callbacks, request=None):
    if request is None:
        request = erasure.erasure_request_submit(
            user=resident, reason="Moving away", actor=resident
        )
    with django_capture_on_commit_callbacks(execute=True):
        done, token = erasure.erasure_request_approve(request=request, actor=dpo)
    return done, token


@pytest.mark.django_db
def test_after_erasure_the_resident_is_nowhere_and_the_kept_records_still_hold(
    world, resident, second_resident, dpo, client, django_capture_on_commit_callbacks
):
    resident.refresh_from_db()
    mine = _identifiers(resident, NATIONAL_ID)
    old_email = resident.email
    my_uploads = list(Upload.objects.filter(owner=resident))
    my_files = {upload.storage_name for upload in my_uploads}
    assert any(MARKER in upload_read(upload=upload) for upload in my_uploads)
    # Before: the resident is there, decrypted (the search can find them).
    assert resident.full_name in _decrypted_database_text()
    assert old_email in auditseal.unseal(
        AuditEvent.objects.filter(actor_id=resident.pk).exclude(actor_label="").first().actor_label
    )
    balance_before = LedgerEntry.objects.aggregate(total=Sum("amount_minor"))["total"]
    document = world["mine"]["document"]
    # The resident downloaded their data: the ZIP holds everything about them.
    export = _prepare(resident, django_capture_on_commit_callbacks)
    assert export.storage_name
    my_files.add(export.storage_name)

    done, token = _approve(resident, dpo, django_capture_on_commit_callbacks)
    assert done.status == ErasureRequest.Status.DONE

    # Nowhere in the database, as stored...
    raw = _raw_database_text()
    for value in mine:
        assert value not in raw, f"{value!r} is still stored"
    # ...nor once every encrypted column is decrypted and every sealed value unsealed.
    decrypted = _decrypted_database_text()
    for value in mine:
        assert value not in decrypted, f"{value!r} is still readable"
    assert not AuditSubjectKey.objects.filter(subject_user_id=resident.pk).exists()
    assert not DataExport.objects.filter(owner=resident).exists()
    # Nowhere in storage: the resident's files are deleted or replaced, and no stored
    # file decrypts to their content.
    names = {str(path.relative_to(settings.MEDIA_ROOT)) for path in _stored_files()}
    assert not (my_files & names)
    for upload in Upload.objects.all():
        data = upload_read(upload=upload)
        assert MARKER not in data
    for path in _stored_files():
        assert MARKER not in path.read_bytes()
    # The account is closed and cannot sign in.
    resident.refresh_from_db()
    assert not resident.is_active
    assert not resident.has_usable_password()
    assert resident.email.endswith("@erased.invalid")
    assert not client.login(email=old_email, password=PASSWORD)

    # The kept records still hold: the ledger balances, the chain verifies, the document
    # is genuine.
    assert LedgerEntry.objects.aggregate(total=Sum("amount_minor"))["total"] == balance_before == 0
    assert ledger_mismatches(day=datetime.date.today()) == []
    report = audit_chain_verify()
    assert report.ok, report.reason
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "Audit chain intact" in out.getvalue()
    kept = IssuedDocument.objects.get(pk=document.pk)
    assert document_selectors.document_status(kept) == document_selectors.GENUINE
    page = client.get(reverse("documents:verify_document", args=[kept.code]))
    assert page.status_code == 200
    assert mine[0] not in page.content.decode()
    assert NATIONAL_ID not in page.content.decode()

    # Another resident is untouched.
    assert second_resident.email in raw
    for value in (
        second_resident.full_name,
        OTHER_NATIONAL_ID,
        OTHER_PHONE,
        OTHER_BIRTH.isoformat(),
    ):
        assert value in decrypted, f"{value!r} of another resident was lost"
    other = ResidentProfile.objects.get(user=second_resident)
    assert other.national_id == OTHER_NATIONAL_ID
    assert other.phone == OTHER_PHONE
    assert other.date_of_birth == OTHER_BIRTH
    assert any(
        OTHER_MARKER in upload_read(upload=upload)
        for upload in Upload.objects.filter(owner=second_resident)
    )
    assert IssuedDocument.objects.get(pk=world["theirs"]["document"].pk).holder_name == (
        second_resident.full_name
    )

    # The statement went to the address the resident had, and reads at its link.
    [message] = [m for m in mail.outbox if old_email in m.to and "/statement/" in m.body]
    assert "What we kept" in message.body
    assert token in message.body
    page = client.get(reverse("privacy:erasure_statement", args=[token]))
    assert page.status_code == 200
    assert "Your closed account, with no name or email address" in page.content.decode()
    assert client.get(reverse("privacy:erasure_statement", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_the_statement_says_what_was_erased_and_kept_and_matches_the_plan(
    world, resident, dpo, django_capture_on_commit_callbacks
):
    request = erasure.erasure_request_submit(user=resident, actor=resident)
    plan = erasure.erasure_plan(user=resident)
    names = {part["name"] for part in plan}
    assert names == {eraser.name for eraser in registry.erasers_in_order()}
    assert {"accounts", "cases", "documents", "payments", "audit"} <= names
    done, _token = _approve(resident, dpo, django_capture_on_commit_callbacks, request)
    assert [p["name"] for p in done.statement] == [p["name"] for p in plan]
    for planned, carried_out in zip(plan, done.statement, strict=True):
        assert planned["erased"] == carried_out["erased"], planned["name"]
        if planned["name"] != "audit":  # erasing writes audit events of its own
            assert planned["kept"] == carried_out["kept"], planned["name"]
    erased, kept = erasure.statement_lines(done.statement)
    assert any("Your profile" in line.label for line in erased)
    assert all(line.reason for line in kept)
    # Nothing left to erase: a new plan erases nothing.
    again = erasure.statement_lines(erasure.erasure_plan(user=User.objects.get(pk=resident.pk)))[0]
    left = [line for line in again if line.count]
    assert left == []

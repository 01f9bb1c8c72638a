"""Every personal field of every app is encrypted, masked in the audit trail whoever
records it, and moved to a new key by ``ecitizen keys rotate``."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from ecitizen.accounts import services as accounts
from ecitizen.core.services import audit_record, encrypted_fields
from ecitizen.documents.tests.factories import issue
from ecitizen.taxes.services import OwnerSpec, PropertySpec, property_register
from tests.factories import JurisdictionFactory, UserFactory

#: (table, column) of the names, addresses and printed facts that must be ciphertext.
PERSONAL_COLUMNS = {
    ("accounts_user", "full_name"),
    ("accounts_residentprofile", "legal_name"),
    ("accounts_residentprofile", "preferred_name"),
    ("accounts_residentprofile", "address_line_1"),
    ("accounts_residentprofile", "address_line_2"),
    ("accounts_residentprofile", "town"),
    ("accounts_residentprofile", "postcode"),
    ("documents_issueddocument", "holder_name"),
    ("documents_issueddocument", "printed"),
    ("documents_issueddocument", "revoked_reason"),
    ("taxes_property", "address_line_1"),
    ("taxes_property", "address_line_2"),
    ("taxes_property", "town"),
    ("taxes_property", "postcode"),
    ("taxes_ownership", "owner_name"),
}


def test_the_personal_columns_are_encrypted_fields():
    found = {
        (model._meta.db_table, model._meta.get_field(name).column)
        for model, names in encrypted_fields()
        for name in names
    }
    assert found >= PERSONAL_COLUMNS


@pytest.mark.django_db
def test_audit_record_masks_personal_keys_whoever_forgets_to():
    event = audit_record(
        action="test.recorded",
        changes={
            "postcode": {"before": "RV1 2AB", "after": "RV2 3CD"},
            "legal_name": "Maria Lopez",
            "town": {"before": "", "after": "Riverton"},
            "status": {"before": "open", "after": "closed"},
        },
    )
    assert event.changes == {
        "postcode": {"before": "[redacted]", "after": "[redacted]"},
        "legal_name": "[redacted]",
        "town": {"before": "", "after": "[redacted]"},
        "status": {"before": "open", "after": "closed"},
    }


def _stored(table: str, column: str) -> list[str]:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(column)} FROM {quote(table)}")  # noqa: S608 - fixed names
        return [str(value) for (value,) in cursor.fetchall() if value not in (None, "")]


@pytest.mark.db_specific
@pytest.mark.django_db
def test_keys_rotate_moves_names_addresses_and_printed_facts_to_the_new_key(settings):
    ward = JurisdictionFactory(code="northgate")
    user = UserFactory(email="owner@example.test", full_name="Ada Owner")
    accounts.profile_update(
        user=user,
        data={
            "preferred_name": "Ada",
            "address_line_1": "3 Mill Lane",
            "address_line_2": "Back door",
            "town": "Riverton",
            "postcode": "RV1 1AA",
        },
        actor=user,
    )
    property_register(
        spec=PropertySpec(
            parcel="RV000001",
            address_line_1="3 Mill Lane",
            address_line_2="Back door",
            town="Riverton",
            postcode="RV1 1AA",
            ward_id=ward.pk,
            use_class="residential",
            assessed_value_minor=100_000_00,
            owners=(OwnerSpec(name="Ada Owner", owner_id=user.pk),),
        ),
        actor=None,
    )
    from ecitizen.documents.services import document_revoke

    document_revoke(document=issue(user), reason="Issued in error", actor=None)
    for table, column in PERSONAL_COLUMNS:
        values = _stored(table, column)
        assert values, (table, column)
        assert all(value.startswith("enc1:t1:") for value in values), (table, column)

    settings.FIELD_ENCRYPTION_KEYS = {**settings.FIELD_ENCRYPTION_KEYS, "k2": os.urandom(32)}
    settings.FIELD_ENCRYPTION_ACTIVE_KEY = "k2"
    out = StringIO()
    call_command("keys", "status", stdout=out)
    before = int(out.getvalue().split(":")[1].split()[0])
    assert before >= 6  # user, profile, property, ownership, document... at least
    call_command("keys", "rotate", stdout=StringIO(), stderr=StringIO())
    for table, column in PERSONAL_COLUMNS:
        assert all(value.startswith("enc1:k2:") for value in _stored(table, column)), (
            table,
            column,
        )
    out = StringIO()
    call_command("keys", "status", stdout=out)
    assert "Active key k2: 0 rows" in out.getvalue()
    # Only the new key is needed now.
    settings.FIELD_ENCRYPTION_KEYS = {"k2": settings.FIELD_ENCRYPTION_KEYS["k2"]}
    from ecitizen.taxes.models import Ownership, Property

    assert Property.objects.get().address_line_2 == "Back door"
    assert Ownership.objects.get().owner_name == "Ada Owner"
    user.refresh_from_db()
    assert user.full_name == "Ada Owner"
    assert user.profile.postcode == "RV1 1AA"


#: The migrations before and after the one of each app that encrypts its columns.
PLAIN_STATE = [
    ("accounts", "0002_role_assignment_unique_everywhere"),
    ("documents", "0003_issued_document_remit"),
    ("taxes", "0001_initial"),
]


def _personal_rows() -> None:
    """A resident, a property and an issued document holding the personal values of
    ``PLAIN_VALUES``, made through today's models (so stored encrypted)."""
    from django.apps import apps

    user = apps.get_model("accounts", "User").objects.create(
        email="plain@example.test", full_name="Pat Plainsworth", password="!"
    )
    apps.get_model("accounts", "ResidentProfile").objects.create(
        user=user,
        legal_name="Patricia Plainsworth",
        preferred_name="Pat",
        address_line_1="8 Tannery Yard",
        town="Riverton",
        postcode="RV8 8PP",
    )
    ward = apps.get_model("accounts", "Jurisdiction").objects.create(code="w", name="W")
    prop = apps.get_model("taxes", "Property").objects.create(
        parcel="RV123456",
        address_line_1="8 Tannery Yard",
        town="Riverton",
        postcode="RV8 8PP",
        ward=ward,
        use_class="residential",
        assessed_value_minor=1,
    )
    apps.get_model("taxes", "Ownership").objects.create(
        property=prop, owner=user, owner_name="Patricia Plainsworth", start="2020-01-01"
    )
    upload = apps.get_model("documents", "Upload").objects.create(
        filename="x.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0",
        key_id="t1",
        storage_name="documents/plain.bin",
    )
    apps.get_model("documents", "IssuedDocument").objects.create(
        code="PLAIN",
        owner=user,
        title="Permit",
        template="permit",
        reference="R-1",
        holder_name="Patricia Plainsworth",
        printed=[["Licence number", "RV55501234"]],
        language="en",
        issued_at="2026-01-01T00:00:00Z",
        pdf=upload,
        pdf_sha256="0",
    )


PLAIN_VALUES = [
    "Pat Plainsworth",
    "Patricia Plainsworth",
    "8 Tannery Yard",
    "RV8 8PP",
    "RV55501234",
]


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_the_migrations_decrypt_existing_rows_backwards_and_encrypt_them_forwards(platform_admin):
    """Two passes over the migrations, each of them minutes of CI: rows stored encrypted by
    today's models come back as plain text when the encrypting migrations are unapplied,
    and the migrations forwards encrypt those plain rows (and build the residents' name
    indexes) again, leaving the schema as the tests that follow expect it."""
    from django.db.migrations.executor import MigrationExecutor

    from ecitizen.accounts.models import ResidentProfile
    from ecitizen.accounts.selectors import resident_search
    from ecitizen.documents.models import IssuedDocument
    from ecitizen.taxes.models import Ownership

    def migrate(targets) -> None:
        MigrationExecutor(connection).migrate(targets)

    def latest():
        return MigrationExecutor(connection).loader.graph.leaf_nodes()

    try:
        _personal_rows()
        assert not [value for value in PLAIN_VALUES if value in str(_every_table())]

        # Backwards to the schema before the encrypting migrations: plain text again.
        migrate(PLAIN_STATE)
        text = str(_every_table())
        assert all(value in text for value in PLAIN_VALUES)

        # Forwards to the latest schema (the encrypting migrations and every later one),
        # which the models below expect.
        migrate(latest())
        text = str(_every_table())
        assert not [value for value in PLAIN_VALUES if value in text]
        profile = ResidentProfile.objects.get(user__email="plain@example.test")
        assert profile.legal_name == "Patricia Plainsworth"
        assert profile.postcode == "RV8 8PP"
        assert Ownership.objects.get().owner_name == "Patricia Plainsworth"
        document = IssuedDocument.objects.get(code="PLAIN")
        assert document.printed_pairs() == [("Licence number", "RV55501234")]
        # The name indexes were built for the existing residents.
        found = resident_search(query="plains", actor=platform_admin, ip_address=None)
        assert [p.legal_name for p in found] == ["Patricia Plainsworth"]
    finally:  # after a failure, the whole schema back to its latest state for what follows
        migrate(latest())


def _every_table() -> list[tuple]:
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows.extend(cursor.fetchall())
    return rows

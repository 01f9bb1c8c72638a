"""Names and addresses at rest: encrypted, masked in the audit trail, and still found by
staff through the blind indexes of their words' prefixes."""

import pytest
from django.db import connection
from django.urls import reverse

from ecitizen.accounts import services
from ecitizen.accounts.models import ResidentNameIndex, ResidentProfile, Role
from ecitizen.accounts.selectors import resident_search, staff_members
from ecitizen.core.models import AuditEvent
from tests.factories import UserFactory
from tests.personas import sign_in_official

ADDRESS = {
    "address_line_1": "17 Kingfisher Way",
    "address_line_2": "Upper Flat",
    "town": "Lowbridge",
    "postcode": "RV7 3QX",
}


def _raw(table: str, columns: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table}")  # noqa: S608 - fixed names
        return cursor.fetchall()


def _database_text() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.fixture
def maria(db):
    user = UserFactory(email="m.lopez@example.test", full_name="Maria Lopez")
    services.profile_update(
        user=user,
        data={"legal_name": "María Lopez-Quintana", "preferred_name": "Mari", **ADDRESS},
        actor=user,
    )
    return user


@pytest.mark.db_specific
def test_names_and_addresses_are_encrypted_at_rest(maria):
    dump = _database_text()
    for value in ["Maria Lopez", "Lopez-Quintana", "Kingfisher", "Upper Flat", "Lowbridge"]:
        assert value not in dump, value
    assert "RV7 3QX" not in dump
    assert all(name.startswith("enc1:") for (name,) in _raw("accounts_user", "full_name"))
    for row in _raw("accounts_residentprofile", "legal_name, preferred_name, postcode"):
        assert all(value.startswith("enc1:") for value in row if value)
    # ... and the application reads them back.
    profile = ResidentProfile.objects.get(user=maria)
    assert profile.legal_name == "María Lopez-Quintana"
    assert profile.town == "Lowbridge"
    maria.refresh_from_db()
    assert maria.full_name == "Maria Lopez"


def test_the_audit_trail_masks_names_and_addresses(maria):
    event = AuditEvent.objects.get(action="profile.updated")
    for field in ("legal_name", "preferred_name", *ADDRESS):
        assert event.changes[field]["after"] == "[redacted]", field
    assert "Kingfisher" not in str(list(AuditEvent.objects.values_list("changes", flat=True)))


def _search(query, actor):
    return [p.legal_name for p in resident_search(query=query, actor=actor, ip_address=None)]


def test_staff_find_a_resident_by_the_start_of_any_word_of_the_name(maria, platform_admin):
    UserFactory(email="mark@example.test", full_name="Mark Amaro")
    UserFactory(email="zoe@example.test", full_name="Zoë Marquez")
    UserFactory(email="tom@example.test", full_name="Tom Lopes")
    assert _search("mar", platform_admin) == ["María Lopez-Quintana", "Mark Amaro", "Zoë Marquez"]
    # Accents and case do not matter; every word must start a word of the name.
    assert _search("MARIA", platform_admin) == ["María Lopez-Quintana"]
    assert _search("lop quin", platform_admin) == ["María Lopez-Quintana"]
    assert _search("lopes", platform_admin) == ["Tom Lopes"]
    assert _search("zoe", platform_admin) == ["Zoë Marquez"]
    # Not the middle of a word ("amaro" holds "mar" but does not start with it).
    assert _search("aro", platform_admin) == []
    # A short word is checked on the decrypted name.
    assert _search("mar a", platform_admin) == ["Mark Amaro"]
    assert _search("m.lopez@example.test", platform_admin) == ["María Lopez-Quintana"]
    assert AuditEvent.objects.filter(action="personal_data.searched").count() == 8


def test_the_index_follows_a_change_of_name(maria, platform_admin):
    services.profile_update(user=maria, data={"legal_name": "Maria Santos"}, actor=maria)
    assert _search("lopez", platform_admin) == []
    assert _search("santos", platform_admin) == ["Maria Santos"]
    indexes = ResidentNameIndex.objects.filter(profile=maria.profile)
    # "maria" and "santos": 3 + 4 prefixes, no plain text.
    assert indexes.count() == 7
    assert all(len(row.index) == 64 for row in indexes)


def test_search_results_are_bounded_and_sorted_by_name(platform_admin):
    for number in range(30):
        UserFactory(email=f"smith{number}@example.test", full_name=f"Jo Smith {30 - number:02d}")
    found = _search("smith", platform_admin)
    assert len(found) == 25
    assert found == sorted(found)


def test_a_name_with_no_word_of_three_letters_is_refused_with_a_message(client, platform_admin):
    sign_in_official(client, platform_admin)
    page = client.post(reverse("staff:residents"), {"query": "jo li"}).content.decode()
    assert "Enter at least 3 characters of the name" in page


def test_staff_lists_are_sorted_by_name(department):
    for email, name in [
        ("c@x.test", "Chloé Martin"),
        ("a@x.test", "Zed Abel"),
        ("b@x.test", "al Haddad"),
    ]:
        user = UserFactory(email=email, full_name=name)
        services.role_assign(
            user=user, role=Role.CASE_OFFICER, department=department, actor=None, system=True
        )
    assert [u.full_name for u in staff_members()] == ["al Haddad", "Chloé Martin", "Zed Abel"]

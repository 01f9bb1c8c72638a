import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from ecitizen.core.models import AppendOnlyError, AuditEvent
from ecitizen.core.selectors import audit_chain_verify
from ecitizen.core.services import MASK, audit_changes, audit_record


@pytest.fixture
def events(db):
    return [
        audit_record(action=f"test.event{i}", object_type="t", object_id=str(i)) for i in range(5)
    ]


def test_events_are_chained(events):
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    for previous, current in itertools.pairwise(events):
        assert current.prev_hash == previous.hash
    report = audit_chain_verify()
    assert report.ok
    assert report.events_checked == 5


def test_the_application_refuses_to_edit_or_delete(events):
    event = AuditEvent.objects.get(sequence=3)
    event.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(sequence=3).update(action="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(sequence=3).action == "test.event2"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditevent SET action = 'rewritten' WHERE sequence = 3",
        "DELETE FROM core_auditevent WHERE sequence = 3",
    ],
)
@pytest.mark.db_specific
def test_the_database_refuses_to_edit_or_delete(events, statement):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.get(sequence=3).action == "test.event2"


def _disable_triggers():
    """What a database superuser could do behind the application's back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER ecitizen_audit_no_update")
            cursor.execute("DROP TRIGGER ecitizen_audit_no_delete")


@pytest.mark.db_specific
def test_verify_names_the_first_row_changed_behind_the_applications_back(events):
    _disable_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET object_id = '999' WHERE sequence = 3")
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 3
    assert "content does not match" in report.reason
    with pytest.raises(CommandError, match=r"BROKEN at event #3 .*row id"):
        call_command("audit", "verify")


@pytest.mark.db_specific
def test_verify_reports_a_removed_row(events):
    _disable_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE sequence = 2")
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 3
    assert "expected sequence 2" in report.reason


def test_verify_command_succeeds_on_an_intact_chain(events, capsys):
    call_command("audit", "verify")
    assert "Audit chain intact: 5 events" in capsys.readouterr().out


def test_personal_values_are_masked_in_changes():
    changes = audit_changes(
        {"national_id": "RV1", "contact_preference": "email", "town": "Old"},
        {"national_id": "RV2", "contact_preference": "sms", "town": "New"},
        personal={"national_id"},
    )
    assert changes == {
        "national_id": {"before": MASK, "after": MASK},
        "contact_preference": {"before": "email", "after": "sms"},
        # An address field is masked even when the caller does not say it is personal.
        "town": {"before": MASK, "after": MASK},
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("198.51.100.3", "198.51.100.3"),
    ],
)
@pytest.mark.db_specific
def test_addresses_are_stored_as_the_database_returns_them(given, stored):
    audit_record(action="test.ip", ip_address=given)
    assert AuditEvent.objects.get(action="test.ip").ip_address == stored
    assert audit_chain_verify().ok


def test_verify_ignores_events_appended_after_it_read_the_head(events, monkeypatch):
    from ecitizen.core import selectors

    real_filter = AuditEvent.objects.filter

    def filter_then_append(*args, **kwargs):
        result = real_filter(*args, **kwargs)
        audit_record(action="test.appended_during_verify")
        return result

    monkeypatch.setattr(selectors.AuditEvent.objects, "filter", filter_then_append, raising=False)
    report = audit_chain_verify()
    assert report.ok
    assert report.events_checked == 5


def test_verify_reports_a_row_inserted_beyond_the_head(events):
    from django.utils import timezone

    from ecitizen.core.services import event_hash

    forged = AuditEvent(
        sequence=6, created_at=timezone.now(), action="forged", prev_hash=events[-1].hash
    )
    forged.hash = event_hash(forged.canonical_content())
    forged.save()  # consistent with the chain, but the head was never moved
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 6
    assert "beyond the chain head" in report.reason

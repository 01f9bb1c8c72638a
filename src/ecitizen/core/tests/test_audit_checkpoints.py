"""Signed checkpoints of the audit chain (ADR 0013): someone who can write the database
rewrites the trail and recomputes every hash, and `audit verify` still finds out."""

import base64
import importlib
import json
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from ecitizen.core import crypto
from ecitizen.core.models import AppendOnlyError, AuditChainHead, AuditCheckpoint, AuditEvent
from ecitizen.core.selectors import audit_anchor_parse, audit_chain_verify
from ecitizen.core.services import audit_checkpoint_sign, audit_record, event_hash
from ecitizen.core.tests.test_settings import KEY, _run

_EVENT_TRIGGERS = importlib.import_module("ecitizen.core.migrations.0002_audit_append_only")
_CHECKPOINT_TRIGGERS = importlib.import_module("ecitizen.core.migrations.0005_audit_checkpoints")


@pytest.fixture
def events(db):
    return [
        audit_record(action=f"test.event{i}", object_type="t", object_id=str(i)) for i in range(5)
    ]


def _drop_triggers():
    """What a database superuser can do behind the application's back."""
    with connection.cursor() as cursor:
        for module in (_EVENT_TRIGGERS, _CHECKPOINT_TRIGGERS):
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {module.TABLE} DISABLE TRIGGER USER")
            else:
                for statement in module.SQLITE_DROP:
                    cursor.execute(statement)


def _rewrite_and_rehash(sequence, **new_values):
    """Change one event with raw SQL, then recompute its hash, every later hash and the
    head, so that the plain hash chain is consistent again."""
    _drop_triggers()
    previous_hash = None
    with connection.cursor() as cursor:
        for event in AuditEvent.objects.filter(sequence__gte=sequence).order_by("sequence"):
            if event.sequence == sequence:
                for name, value in new_values.items():
                    setattr(event, name, value)
            if previous_hash is not None:
                event.prev_hash = previous_hash
            event.hash = event_hash(event.canonical_content())
            cursor.execute(
                "UPDATE core_auditevent SET object_id = %s, action = %s, prev_hash = %s, "
                "hash = %s WHERE sequence = %s",
                [event.object_id, event.action, event.prev_hash, event.hash, event.sequence],
            )
            previous_hash = event.hash
        cursor.execute(
            "UPDATE core_auditchainhead SET sequence = %s, hash = %s WHERE id = 1",
            [event.sequence, event.hash],
        )


def _raw(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_every_append_is_signed(events):
    checkpoints = list(AuditCheckpoint.objects.order_by("sequence"))
    assert [c.sequence for c in checkpoints] == [1, 2, 3, 4, 5]
    public_key = crypto.audit_public_keys()["ta1"]
    for checkpoint, event in zip(checkpoints, events, strict=True):
        assert checkpoint.hash == event.hash
        assert checkpoint.key_id == "ta1"
        assert crypto.signature_valid(
            checkpoint.signed_message(), checkpoint.signature, public_key=public_key
        )
    report = audit_chain_verify()
    assert report.ok, report.reason
    assert (report.signed, report.checkpoints_checked, report.last_checkpoint) == (True, 5, 5)


@pytest.mark.db_specific
def test_a_rolled_back_event_leaves_no_checkpoint(events):
    def audited_then_failed():
        with transaction.atomic():
            audit_record(action="test.rolled_back")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        audited_then_failed()
    assert AuditCheckpoint.objects.count() == 5
    assert audit_chain_verify().ok


@pytest.mark.db_specific
def test_a_rewritten_and_rehashed_chain_fails_verification(events):
    _rewrite_and_rehash(3, object_id="999")
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 3
    assert "signed checkpoint #3 fails" in report.reason
    assert "an event among #3 was rewritten and the chain re-hashed" in report.reason
    assert report.events_checked == 2
    with pytest.raises(CommandError, match=r"BROKEN at event #3: signed checkpoint #3 fails"):
        call_command("audit", "verify")


@pytest.mark.db_specific
def test_rewritten_checkpoints_without_the_key_fail_verification(events):
    _rewrite_and_rehash(2, action="test.innocent")
    # The attacker also makes the checkpoints agree with the new hashes, but cannot sign.
    for event in AuditEvent.objects.all():
        _raw(
            "UPDATE core_auditcheckpoint SET hash = %s WHERE sequence = %s",
            [event.hash, event.sequence],
        )
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 2
    assert "signature is not valid" in report.reason


@pytest.mark.parametrize(
    ("key_id", "message"),
    [
        ("ta1", "its signature is not valid"),
        ("evil", "signed with key 'evil', which is not a trusted key"),
    ],
)
@pytest.mark.db_specific
def test_checkpoints_signed_with_another_key_fail_verification(events, settings, key_id, message):
    trusted = crypto.audit_public_keys()
    _rewrite_and_rehash(4, object_id="forged")
    _raw("DELETE FROM core_auditcheckpoint WHERE sequence >= 4")
    # The attacker signs the new head with a key of their own (under the real key id, or
    # another): the verifier trusts only the authority's public keys.
    settings.AUDIT_SIGNING_KEYS = {key_id: os.urandom(32)}
    settings.AUDIT_SIGNING_ACTIVE_KEY = key_id
    audit_checkpoint_sign()
    report = audit_chain_verify(public_keys=trusted)
    assert not report.ok
    assert report.broken_sequence == 5
    assert message in report.reason


@pytest.mark.db_specific
def test_events_cut_off_behind_a_checkpoint_fail_verification(events):
    _drop_triggers()
    _raw("DELETE FROM core_auditevent WHERE sequence >= 4")
    _raw("UPDATE core_auditchainhead SET sequence = 3, hash = %s WHERE id = 1", [events[2].hash])
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 4
    assert "signed checkpoint #4 lies beyond the chain head #3" in report.reason


@pytest.mark.db_specific
def test_removed_checkpoints_fail_verification(events):
    _drop_triggers()
    _raw("DELETE FROM core_auditcheckpoint WHERE sequence = 5")
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 5
    assert "covered by no signed checkpoint" in report.reason

    _raw("DELETE FROM core_auditcheckpoint")
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 1
    assert "events #1 to #5 are covered by no signed checkpoint" in report.reason


@pytest.mark.db_specific
def test_an_exported_checkpoint_catches_the_newest_events_cut_off(events, tmp_path, capsys):
    call_command("audit", "anchor", "--export")
    exported = json.loads(capsys.readouterr().out)
    assert exported["sequence"] == 5
    assert exported["public_key"] == crypto.public_key_text(crypto.audit_public_keys()["ta1"])
    anchor_file = tmp_path / "anchor.json"
    anchor_file.write_text(json.dumps(exported))
    call_command("audit", "verify", "--anchor", str(anchor_file))
    assert "1 exported checkpoints match" in capsys.readouterr().out

    # Cutting off the newest events together with their checkpoints and the head leaves a
    # consistent database: only a copy held outside it shows what is missing.
    _drop_triggers()
    _raw("DELETE FROM core_auditevent WHERE sequence >= 4")
    _raw("DELETE FROM core_auditcheckpoint WHERE sequence >= 4")
    _raw("UPDATE core_auditchainhead SET sequence = 3, hash = %s WHERE id = 1", [events[2].hash])
    assert audit_chain_verify().ok
    with pytest.raises(CommandError, match=r"exported checkpoint #5 fails: the chain head is #3"):
        call_command("audit", "verify", "--anchor", str(anchor_file))


@pytest.mark.db_specific
def test_an_exported_checkpoint_catches_a_rewrite_even_with_all_checkpoints_gone(events):
    anchor = audit_anchor_parse(
        json.loads(json.dumps(_export(AuditCheckpoint.objects.get(sequence=4))))
    )
    _rewrite_and_rehash(2, object_id="999")
    _raw("DELETE FROM core_auditcheckpoint")
    report = audit_chain_verify(anchors=[anchor])
    assert not report.ok
    assert report.broken_sequence == 4
    assert "no longer has the hash of the exported checkpoint #4" in report.reason


def _export(checkpoint):
    from ecitizen.core.selectors import audit_checkpoint_export

    return audit_checkpoint_export(checkpoint)


def test_a_changed_exported_checkpoint_is_refused(events, tmp_path):
    exported = _export(AuditCheckpoint.objects.get(sequence=5))
    for change, message in [
        ({"hash": "0" * 64}, "signature is not valid"),
        ({"public_key": crypto.public_key_text(os.urandom(32))}, "not the trusted key"),
        ({"sequence": "5"}, "sequence must be a whole number"),
        ({"format": "other"}, "not an exported audit checkpoint"),
    ]:
        path = tmp_path / "anchor.json"
        path.write_text(json.dumps({**exported, **change}))
        with pytest.raises(CommandError, match=message):
            call_command("audit", "verify", "--anchor", str(path))
    path.write_text("{not json")
    with pytest.raises(CommandError, match="is not JSON"):
        call_command("audit", "verify", "--anchor", str(path))


def test_verify_with_published_public_keys(events, tmp_path, capsys):
    call_command("keys", "public")
    published = capsys.readouterr().out
    assert published.startswith("ta1:")
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# Riverton audit keys\n" + published)
    call_command("audit", "verify", "--public-keys", str(keys_file))
    assert "5 signed checkpoints verified, the last at #5" in capsys.readouterr().out

    # Someone else's key under the same id: every signature fails.
    keys_file.write_text(f"ta1:{crypto.public_key_text(os.urandom(32))}\n")
    with pytest.raises(CommandError, match=r"BROKEN at event #1: .*signature is not valid"):
        call_command("audit", "verify", "--public-keys", str(keys_file))
    keys_file.write_text("ta1 no colon\n")
    with pytest.raises(CommandError, match="line 1: expected 'keyid:base64 public key'"):
        call_command("audit", "verify", "--public-keys", str(keys_file))


def test_a_retired_key_verifies_by_its_public_key(events, settings):
    old_public = crypto.audit_public_keys()["ta1"]
    settings.AUDIT_SIGNING_KEYS = {"ta2": os.urandom(32)}
    settings.AUDIT_SIGNING_ACTIVE_KEY = "ta2"
    audit_record(action="test.after_rotation")
    assert AuditCheckpoint.objects.get(sequence=6).key_id == "ta2"
    report = audit_chain_verify()
    assert not report.ok
    assert "signed with key 'ta1', which is not a trusted key" in report.reason
    settings.AUDIT_VERIFY_KEYS = {"ta1": old_public}
    report = audit_chain_verify()
    assert report.ok, report.reason
    assert report.checkpoints_checked == 6


@pytest.mark.db_specific
def test_signing_every_n_events(db, settings):
    settings.AUDIT_CHECKPOINT_INTERVAL = 3
    for i in range(8):
        audit_record(action=f"test.event{i}")
    signed = AuditCheckpoint.objects.order_by("sequence").values_list("sequence", flat=True)
    assert list(signed) == [3, 6]
    report = audit_chain_verify()
    assert report.ok, report.reason
    assert report.last_checkpoint == 6

    # The accepted window: the newest events after the last checkpoint are not yet signed,
    # so their rewrite goes unnoticed until they are.
    _rewrite_and_rehash(8, object_id="unnoticed")
    assert audit_chain_verify().ok
    call_command("audit", "anchor")
    assert list(signed.all()) == [3, 6, 8]
    # Removing checkpoints leaves more unsigned events than the interval allows.
    _raw("DELETE FROM core_auditcheckpoint WHERE sequence >= 6")
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_sequence == 4
    assert "events #4 to #8 are covered by no signed checkpoint" in report.reason


def test_a_trail_older_than_the_signing_key_is_covered_by_its_first_checkpoint(db, settings):
    settings.AUDIT_SIGNING_KEYS = {}
    settings.AUDIT_SIGNING_ACTIVE_KEY = ""
    for i in range(3):
        audit_record(action=f"test.unsigned{i}")
    settings.AUDIT_SIGNING_KEYS = {"ta9": os.urandom(32)}
    settings.AUDIT_SIGNING_ACTIVE_KEY = "ta9"
    report = audit_chain_verify()
    assert not report.ok
    assert "`ecitizen audit anchor` signs the head" in report.reason
    call_command("audit", "anchor")
    report = audit_chain_verify()
    assert report.ok, report.reason
    assert (report.checkpoints_checked, report.last_checkpoint) == (1, 3)


def test_anchor_signs_the_head_once(events, capsys):
    before = AuditCheckpoint.objects.count()
    call_command("audit", "anchor")
    assert "Chain head #5 is signed (key ta1" in capsys.readouterr().out
    assert AuditCheckpoint.objects.count() == before


def test_anchor_on_an_empty_trail(db):
    with pytest.raises(CommandError, match="nothing to sign yet"):
        call_command("audit", "anchor")


def test_without_a_signing_key_nothing_is_signed_and_verify_says_so(db, settings, capsys):
    settings.AUDIT_SIGNING_KEYS = {}
    settings.AUDIT_SIGNING_ACTIVE_KEY = ""
    audit_record(action="test.unsigned")
    assert not AuditCheckpoint.objects.exists()
    call_command("audit", "verify")
    captured = capsys.readouterr()
    assert "signatures NOT checked" in captured.out
    assert "No audit signing key is configured" in captured.err
    with pytest.raises(CommandError, match="No audit signing key is configured"):
        call_command("audit", "anchor")


def test_the_application_refuses_to_edit_or_delete_checkpoints(events):
    checkpoint = AuditCheckpoint.objects.get(sequence=3)
    checkpoint.hash = "0" * 64
    with pytest.raises(AppendOnlyError):
        checkpoint.save()
    with pytest.raises(AppendOnlyError):
        checkpoint.delete()
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.filter(sequence=3).update(hash="0" * 64)
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditcheckpoint SET hash = 'x' WHERE sequence = 3",
        "DELETE FROM core_auditcheckpoint WHERE sequence = 3",
        "DELETE FROM core_auditcheckpoint",
    ],
)
@pytest.mark.db_specific
def test_the_database_refuses_to_edit_or_delete_checkpoints(events, statement):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditCheckpoint.objects.count() == 5


@pytest.mark.db_specific
def test_postgresql_refuses_to_truncate_checkpoints(events):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_auditcheckpoint")
    assert AuditCheckpoint.objects.count() == 5


def test_the_head_row_is_consistent_with_the_last_checkpoint(events):
    head = AuditChainHead.objects.get(pk=1)
    last = AuditCheckpoint.objects.order_by("-sequence").first()
    assert (last.sequence, last.hash) == (head.sequence, head.hash)


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", [1, 2])
def test_the_flush_after_a_transactional_test_empties_the_checkpoints(run):
    # The second run starts empty only if the first run's flush got past the triggers.
    assert not AuditCheckpoint.objects.exists()
    audit_record(action="test.transactional")
    assert AuditCheckpoint.objects.count() == 1


# --- Settings: each case starts a fresh interpreter, as a deployment would ----------------

_OTHER_PUBLIC_KEY = crypto.public_key_text(b"p" * 32)


@pytest.mark.parametrize(
    ("extra", "drop", "message"),
    [
        ({}, ("AUDIT_SIGNING_KEYS",), "AUDIT_SIGNING_KEYS is required when DEBUG is off"),
        ({"AUDIT_SIGNING_KEYS": f"a1:{KEY}"}, (), "must not reuse a key of FIELD_ENCRYPTION"),
        ({"AUDIT_SIGNING_ACTIVE_KEY": "a9"}, (), "is not one of the key ids in AUDIT_SIGNING"),
        ({"AUDIT_SIGNING_ACTIVE_KEY": ""}, (), "is not one of the key ids in AUDIT_SIGNING"),
        (
            {"DEBUG": "true", "AUDIT_SIGNING_ACTIVE_KEY": "a1"},
            ("AUDIT_SIGNING_KEYS",),
            "AUDIT_SIGNING_ACTIVE_KEY 'a1' is not one of the key ids in AUDIT_SIGNING_KEYS (empty)",
        ),
        ({"AUDIT_SIGNING_KEYS": "a1:short"}, (), "AUDIT_SIGNING_KEYS: key is not valid base64"),
        ({"AUDIT_VERIFY_KEYS": f"a1:{_OTHER_PUBLIC_KEY}"}, (), "both have key id 'a1'"),
        ({"AUDIT_CHECKPOINT_INTERVAL": "0"}, (), "AUDIT_CHECKPOINT_INTERVAL must be at least 1"),
    ],
)
def test_bad_audit_signing_settings_stop_the_process(extra, drop, message):
    result = _run(extra, drop=drop)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_development_starts_without_an_audit_signing_key():
    result = _run(
        {"DEBUG": "true"},
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.AUDIT_SIGNING_KEYS, repr(settings.AUDIT_SIGNING_ACTIVE_KEY))",
        drop=("AUDIT_SIGNING_KEYS",),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{} ''"


def test_keys_generate_audit_signing_needs_no_configuration():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    result = _run(
        {},
        "from ecitizen.cli import main; main(['keys', 'generate', '--audit-signing'])",
        drop=("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "AUDIT_SIGNING_KEYS"),
    )
    assert result.returncode == 0, result.stderr
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(result.stdout.strip()))
    assert key.sign(b"usable")

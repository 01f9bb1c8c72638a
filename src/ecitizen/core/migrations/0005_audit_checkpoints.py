"""Signed checkpoints of the audit chain head, append-only in the database (ADR 0013).

The same refusal triggers as the events (``0002_audit_append_only``): the application
already refuses updates and deletes, these refuse them from any other client. A superuser
can still drop them, but cannot sign a checkpoint without the key, which lives outside the
database; ``ecitizen audit verify`` catches a rewritten chain through the signatures.
"""

from django.db import migrations, models

TABLE = "core_auditcheckpoint"

POSTGRES_CREATE = f"""
CREATE OR REPLACE FUNCTION ecitizen_audit_checkpoint_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit checkpoints are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ecitizen_audit_checkpoint_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION ecitizen_audit_checkpoint_append_only();
CREATE TRIGGER ecitizen_audit_checkpoint_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION ecitizen_audit_checkpoint_append_only();
"""
POSTGRES_DROP = f"""
DROP TRIGGER IF EXISTS ecitizen_audit_checkpoint_no_truncate ON {TABLE};
DROP TRIGGER IF EXISTS ecitizen_audit_checkpoint_no_update_delete ON {TABLE};
DROP FUNCTION IF EXISTS ecitizen_audit_checkpoint_append_only();
"""
# SQLite has no TRUNCATE: its "DELETE FROM table" runs the row triggers when there are any.
SQLITE_CREATE = [
    f"CREATE TRIGGER ecitizen_audit_checkpoint_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only (UPDATE refused)'); END;",
    f"CREATE TRIGGER ecitizen_audit_checkpoint_no_delete BEFORE DELETE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only (DELETE refused)'); END;",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ecitizen_audit_checkpoint_no_update;",
    "DROP TRIGGER IF EXISTS ecitizen_audit_checkpoint_no_delete;",
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_running_task_index")]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.PositiveBigIntegerField(editable=False, unique=True)),
                ("hash", models.CharField(editable=False, max_length=64)),
                ("key_id", models.CharField(editable=False, max_length=32)),
                ("signature", models.CharField(editable=False, max_length=100)),
                ("signed_at", models.DateTimeField(editable=False)),
            ],
            options={
                "verbose_name": "audit checkpoint",
                "verbose_name_plural": "audit checkpoints",
                "ordering": ["-sequence"],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]

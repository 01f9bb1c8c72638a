"""Create the audit chain's head row and make the audit table append-only in the database.

The application already refuses updates and deletes; these triggers refuse them from any
other client too (a DBA with superuser rights can still disable them, which
``ecitizen audit verify`` would then catch through the hash chain).
"""

from django.db import migrations

TABLE = "core_auditevent"

POSTGRES_CREATE = f"""
CREATE OR REPLACE FUNCTION ecitizen_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ecitizen_audit_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION ecitizen_audit_append_only();
CREATE TRIGGER ecitizen_audit_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION ecitizen_audit_append_only();
"""
POSTGRES_DROP = f"""
DROP TRIGGER IF EXISTS ecitizen_audit_no_truncate ON {TABLE};
DROP TRIGGER IF EXISTS ecitizen_audit_no_update_delete ON {TABLE};
DROP FUNCTION IF EXISTS ecitizen_audit_append_only();
"""
SQLITE_CREATE = [
    f"CREATE TRIGGER ecitizen_audit_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END;",
    f"CREATE TRIGGER ecitizen_audit_no_delete BEFORE DELETE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END;",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ecitizen_audit_no_update;",
    "DROP TRIGGER IF EXISTS ecitizen_audit_no_delete;",
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


def create_head(apps, schema_editor):
    AuditChainHead = apps.get_model("core", "AuditChainHead")
    AuditChainHead.objects.get_or_create(pk=1, defaults={"sequence": 0, "hash": "0" * 64})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]

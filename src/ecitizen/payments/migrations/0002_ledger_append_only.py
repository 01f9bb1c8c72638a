"""The ledger is append-only in the database too: a correction is a reversing entry.

PostgreSQL refuses UPDATE and DELETE of ledger rows (TRUNCATE stays possible for an
operator emptying a test database). SQLite refuses UPDATE; it keeps DELETE, which Django's
test flush needs there.
"""

from django.db import migrations

TABLES = ["payments_ledgerentry", "payments_ledgertransaction"]

POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION ecitizen_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"CREATE TRIGGER ecitizen_ledger_no_change BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION ecitizen_ledger_append_only();\n"
    for table in TABLES
)
POSTGRES_DROP = "".join(
    f"DROP TRIGGER IF EXISTS ecitizen_ledger_no_change ON {table};\n" for table in TABLES
) + "DROP FUNCTION IF EXISTS ecitizen_ledger_append_only();"
SQLITE_CREATE = [
    f"CREATE TRIGGER ecitizen_{table}_no_update BEFORE UPDATE ON {table} "
    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only (UPDATE refused)'); END;"
    for table in TABLES
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS ecitizen_{table}_no_update;" for table in TABLES]


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
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]

"""A ledger entry's ``bill`` column loses its own index: the ``(bill, account)`` index
serves lookups by bill, and a tax assessment writes one entry per bill.

The index is dropped by name rather than by ``AlterField``: on SQLite, ``AlterField``
rebuilds the table, which would silently drop the append-only triggers of migration 0002.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "payments_ledgerentry"
RESTORED_INDEX = "payments_ledgerentry_bill_id_idx"


def _indexes_on_bill_alone(schema_editor) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [
        name
        for name, info in constraints.items()
        if info["index"]
        and info["columns"] == ["bill_id"]
        and not info["unique"]
        and not info["primary_key"]
    ]


def drop_bill_index(apps, schema_editor):
    for name in _indexes_on_bill_alone(schema_editor):
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def restore_bill_index(apps, schema_editor):
    schema_editor.execute(
        f"CREATE INDEX {schema_editor.quote_name(RESTORED_INDEX)} "
        f"ON {schema_editor.quote_name(TABLE)} (bill_id)"
    )


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_ledger_append_only")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="bill",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="payments.bill",
                    ),
                )
            ],
            database_operations=[migrations.RunPython(drop_bill_index, restore_bill_index)],
        )
    ]

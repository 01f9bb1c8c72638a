"""Per-person keys for the personal values sealed in the audit trail (ADR 0023), and room
for a sealed email address in ``AuditEvent.actor_label``.

Widening the column is a schema change, not an UPDATE: no event's content (or hash)
changes. On PostgreSQL it is one ``ALTER COLUMN ... TYPE`` (the append-only triggers of
``0002_audit_append_only`` stay). SQLite does not enforce a varchar's length, and Django
would rebuild the table to change it, which would drop those triggers: there, only the
migration state changes."""

from django.db import migrations, models

import ecitizen.core.fields


def _alter(schema_editor: object, length: int) -> None:
    connection = schema_editor.connection  # type: ignore[attr-defined]
    if connection.vendor == "postgresql":
        schema_editor.execute(  # type: ignore[attr-defined]
            f"ALTER TABLE core_auditevent ALTER COLUMN actor_label TYPE varchar({length})"
        )


def _widen(apps: object, schema_editor: object) -> None:
    _alter(schema_editor, 512)


def _narrow(apps: object, schema_editor: object) -> None:
    _alter(schema_editor, 254)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_idempotency_records"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditSubjectKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subject_user_id", models.BigIntegerField(unique=True)),
                ("key", ecitizen.core.fields.EncryptedTextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "audit subject key",
                "verbose_name_plural": "audit subject keys",
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="actor_label",
                    field=models.CharField(blank=True, editable=False, max_length=512),
                ),
            ],
            database_operations=[migrations.RunPython(_widen, _narrow)],
        ),
    ]

"""Issued documents' holder name, printed fields and revocation reason encrypted at rest.

Reversible: backwards, the values are decrypted before the columns become plain again.
"""

from django.db import migrations

import ecitizen.core.fields
from ecitizen.core.fieldmigration import Column, decrypt_columns, encrypt_columns

COLUMNS = [
    Column("documents_issueddocument", name, f"documents.issueddocument.{name}")
    for name in ("holder_name", "printed", "revoked_reason")
]


def encrypt(apps, schema_editor):
    encrypt_columns(schema_editor, COLUMNS)


def decrypt(apps, schema_editor):
    decrypt_columns(schema_editor, COLUMNS)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0003_issued_document_remit"),
    ]

    operations = [
        migrations.AlterField(
            model_name="issueddocument",
            name="holder_name",
            field=ecitizen.core.fields.EncryptedTextField(
                max_length=200, verbose_name="holder name"
            ),
        ),
        migrations.AlterField(
            model_name="issueddocument",
            name="printed",
            field=ecitizen.core.fields.EncryptedJSONField(blank=True, default=list),
        ),
        migrations.AlterField(
            model_name="issueddocument",
            name="revoked_reason",
            field=ecitizen.core.fields.EncryptedTextField(
                blank=True, verbose_name="reason for revoking"
            ),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]

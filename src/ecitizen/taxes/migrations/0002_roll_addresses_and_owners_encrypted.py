"""The tax roll's addresses and owners' names encrypted at rest.

Reversible: backwards, the values are decrypted before the columns become plain again.
"""

from django.db import migrations

import ecitizen.core.fields
from ecitizen.core.fieldmigration import Column, decrypt_columns, encrypt_columns

COLUMNS = [
    *(
        Column("taxes_property", name, f"taxes.property.{name}")
        for name in ("address_line_1", "address_line_2", "town", "postcode")
    ),
    Column("taxes_ownership", "owner_name", "taxes.ownership.owner_name"),
]


def encrypt(apps, schema_editor):
    encrypt_columns(schema_editor, COLUMNS)


def decrypt(apps, schema_editor):
    decrypt_columns(schema_editor, COLUMNS)


class Migration(migrations.Migration):
    dependencies = [
        ("taxes", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="property",
            name="address_line_1",
            field=ecitizen.core.fields.EncryptedTextField(
                max_length=200, verbose_name="address line 1"
            ),
        ),
        migrations.AlterField(
            model_name="property",
            name="address_line_2",
            field=ecitizen.core.fields.EncryptedTextField(
                blank=True, max_length=200, verbose_name="address line 2"
            ),
        ),
        migrations.AlterField(
            model_name="property",
            name="town",
            field=ecitizen.core.fields.EncryptedTextField(
                max_length=100, verbose_name="town or city"
            ),
        ),
        migrations.AlterField(
            model_name="property",
            name="postcode",
            field=ecitizen.core.fields.EncryptedTextField(max_length=12, verbose_name="postcode"),
        ),
        migrations.AlterField(
            model_name="ownership",
            name="owner_name",
            field=ecitizen.core.fields.EncryptedTextField(max_length=200),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]

"""Names and addresses encrypted at rest, and the blind indexes that let staff find a
resident by the start of a word of their legal name.

Reversible: backwards, the values are decrypted before the columns become plain again.
"""

import django.db.models.deletion
from django.db import migrations, models

import ecitizen.core.fields
from ecitizen.core import crypto
from ecitizen.core.fieldmigration import Column, column_values, decrypt_columns, encrypt_columns

COLUMNS = [
    Column("accounts_user", "full_name", "accounts.user.full_name"),
    *(
        Column("accounts_residentprofile", name, f"accounts.residentprofile.{name}")
        for name in (
            "legal_name",
            "preferred_name",
            "address_line_1",
            "address_line_2",
            "town",
            "postcode",
        )
    ),
]
# As ResidentProfile.NAME_INDEX_CONTEXT (a migration does not import the model).
NAME_INDEX_CONTEXT = "accounts.residentprofile.legal_name.words"


def encrypt(apps, schema_editor):
    encrypt_columns(schema_editor, COLUMNS)


def decrypt(apps, schema_editor):
    decrypt_columns(schema_editor, COLUMNS)


def index_names(apps, schema_editor):
    ResidentNameIndex = apps.get_model("accounts", "ResidentNameIndex")
    legal_name = next(column for column in COLUMNS if column.column == "legal_name")
    batch = []
    for profile_id, name in column_values(schema_editor, legal_name):
        batch.extend(
            ResidentNameIndex(profile_id=profile_id, index=index)
            for index in sorted(crypto.prefix_indexes(name, context=NAME_INDEX_CONTEXT))
        )
        if len(batch) >= 2000:
            ResidentNameIndex.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    ResidentNameIndex.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_assignment_unique_everywhere"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="full_name",
            field=ecitizen.core.fields.EncryptedTextField(max_length=200, verbose_name="full name"),
        ),
        migrations.AlterField(
            model_name="residentprofile",
            name="legal_name",
            field=ecitizen.core.fields.EncryptedTextField(
                max_length=200, verbose_name="full legal name"
            ),
        ),
        migrations.AlterField(
            model_name="residentprofile",
            name="preferred_name",
            field=ecitizen.core.fields.EncryptedTextField(
                blank=True, max_length=100, verbose_name="preferred name"
            ),
        ),
        migrations.AlterField(
            model_name="residentprofile",
            name="address_line_1",
            field=ecitizen.core.fields.EncryptedTextField(
                blank=True, max_length=200, verbose_name="address line 1"
            ),
        ),
        migrations.AlterField(
            model_name="residentprofile",
            name="address_line_2",
            field=ecitizen.core.fields.EncryptedTextField(
                blank=True, max_length=200, verbose_name="address line 2"
            ),
        ),
        migrations.AlterField(
            model_name="residentprofile",
            name="town",
            field=ecitizen.core.fields.EncryptedTextField(
                blank=True, max_length=100, verbose_name="town or city"
            ),
        ),
        migrations.AlterField(
            model_name="residentprofile",
            name="postcode",
            field=ecitizen.core.fields.EncryptedTextField(
                blank=True, max_length=12, verbose_name="postcode"
            ),
        ),
        migrations.RunPython(encrypt, decrypt),
        migrations.CreateModel(
            name="ResidentNameIndex",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("index", models.CharField(max_length=64)),
                (
                    "profile",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.residentprofile",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("index", "profile"), name="resident_name_index_once"
                    )
                ],
            },
        ),
        migrations.RunPython(index_names, migrations.RunPython.noop),
    ]

"""Issued documents carry the remit officials are confined to: department, ward and which
group of officials works with them. Existing documents take them from the case (or, for a
receipt, the bill) whose reference they carry."""

import django.db.models.deletion
from django.db import migrations, models


def backfill(apps, schema_editor):
    IssuedDocument = apps.get_model("documents", "IssuedDocument")
    Case = apps.get_model("cases", "Case")
    Bill = apps.get_model("payments", "Bill")
    for document in IssuedDocument.objects.all().iterator():
        if document.template == "receipt":
            bill = Bill.objects.filter(reference=document.reference.split("/")[0]).first()
            document.remit = "finance"
            document.department_id = bill.department_id if bill else None
            document.ward_id = None
        else:
            case = Case.objects.filter(reference=document.reference).first()
            document.remit = "casework"
            document.department_id = case.department_id if case else None
            document.ward_id = case.ward_id if case else None
        document.save(update_fields=["remit", "department", "ward"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_assignment_unique_everywhere"),
        ("cases", "0002_fee_payment"),
        ("payments", "0004_bill_credited"),
        ("documents", "0002_owner_optional"),
    ]

    operations = [
        migrations.AddField(
            model_name="issueddocument",
            name="department",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.department",
            ),
        ),
        migrations.AddField(
            model_name="issueddocument",
            name="ward",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.jurisdiction",
            ),
        ),
        migrations.AddField(
            model_name="issueddocument",
            name="remit",
            field=models.CharField(
                choices=[("casework", "Casework"), ("finance", "Finance")],
                default="casework",
                max_length=20,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

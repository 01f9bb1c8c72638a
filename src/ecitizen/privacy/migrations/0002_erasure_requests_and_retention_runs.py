import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import ecitizen.core.fields


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ErasureRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reference",
                    models.CharField(max_length=20, unique=True, verbose_name="reference"),
                ),
                (
                    "reason",
                    ecitizen.core.fields.EncryptedTextField(blank=True, verbose_name="reason"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("submitted", "Waiting for a decision"),
                            ("withdrawn", "Withdrawn"),
                            ("refused", "Refused"),
                            ("done", "Approved and carried out"),
                        ],
                        default="submitted",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "submitted_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="submitted at"
                    ),
                ),
                ("due_at", models.DateTimeField(verbose_name="decision due by")),
                (
                    "decided_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="decided at"),
                ),
                (
                    "decision_reason",
                    ecitizen.core.fields.EncryptedTextField(
                        blank=True, verbose_name="reason for the decision"
                    ),
                ),
                ("withdrawn_at", models.DateTimeField(blank=True, null=True)),
                ("statement", models.JSONField(blank=True, default=list)),
                ("statement_token_hash", models.CharField(blank=True, max_length=64)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "requester",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="erasure_requests",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "erasure request",
                "verbose_name_plural": "erasure requests",
                "ordering": ["due_at", "pk"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "submitted")),
                        fields=("requester",),
                        name="privacy_one_open_erasure_request",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RetentionRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("as_of", models.DateTimeField()),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("ok", "Finished"), ("failed", "Failed")],
                        default="running",
                        max_length=10,
                    ),
                ),
                ("counts", models.JSONField(blank=True, default=dict)),
                ("total", models.PositiveIntegerField(default=0)),
                ("error", models.CharField(blank=True, max_length=300)),
            ],
            options={
                "verbose_name": "retention run",
                "verbose_name_plural": "retention runs",
                "ordering": ["-started_at", "-pk"],
            },
        ),
    ]

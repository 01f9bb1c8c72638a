"""When a queued notification's delivery is due, and the claim of an attempt in progress.

Existing notifications were due when they were created: a queued one left behind by a
worker that died long ago shows as stuck to staff at once.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def due_when_created(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    Notification.objects.update(due_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="due_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="notification",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(due_when_created, migrations.RunPython.noop),
    ]

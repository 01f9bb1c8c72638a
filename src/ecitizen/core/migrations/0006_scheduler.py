"""The periodic jobs' state and the scheduler's lease (``ecitizen.core.scheduler``)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0005_audit_checkpoints'),
    ]

    operations = [
        migrations.CreateModel(
            name='ScheduledJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('next_due_at', models.DateTimeField(blank=True, null=True)),
                ('last_started_at', models.DateTimeField(blank=True, null=True)),
                ('last_finished_at', models.DateTimeField(blank=True, null=True)),
                ('last_result', models.CharField(blank=True, choices=[('running', 'running'), ('ok', 'ok'), ('failed', 'failed')], max_length=10)),
                ('last_error', models.TextField(blank=True)),
                ('runs', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='SchedulerLease',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=40, unique=True)),
                ('holder', models.CharField(blank=True, max_length=200)),
                ('acquired_at', models.DateTimeField()),
                ('renewed_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField()),
            ],
        ),
    ]

"""An index of the running background tasks, for the task leases.

Every worker's heartbeat looks for running tasks whose worker has stopped beating (to
requeue them, ``ecitizen.core.tasks.task_leases_reclaim``) and ``/healthz`` counts them.
Finished results stay in the task table for days (``ecitizen housekeeping``), so without
this partial index both would scan the whole table. The table belongs to django-tasks-db;
the index is ours (a later django-tasks-db migration that rebuilds the table on SQLite
would drop it: that costs speed, not correctness).
"""

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"
INDEX = "core_running_task_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_cache_table"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {INDEX} ON {TABLE} (started_at) WHERE status = 'RUNNING'",
            f"DROP INDEX {INDEX}",
        )
    ]

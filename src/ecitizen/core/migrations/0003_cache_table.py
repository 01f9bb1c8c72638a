"""Create the database cache table when CACHE_URL points at the database (the default).

allauth keeps its rate limits and its "this TOTP code was already used" markers in the
cache, so every web process must share one: the database is the shared store that every
deployment already has. ``createcachetable`` does nothing for other cache backends.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]

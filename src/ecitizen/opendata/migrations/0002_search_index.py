"""Search: each dataset's facet values as a JSON list (counted in one pass), and on
PostgreSQL the search text's full-text vector, stored (a column the database computes;
the models do not name it) and indexed, for prefix queries of the ``simple``
configuration (``selectors._matching_words``). Stored, because a third of a catalogue
can match one word, and PostgreSQL then scans rather than uses the index: computing
``to_tsvector`` for every row made that scan 30 times slower. SQLite scans the text."""

from django.db import migrations, models

INDEX = "opendata_dataset_search_fts"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE opendata_dataset ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED"
        )
        schema_editor.execute(
            f"CREATE INDEX {INDEX} ON opendata_dataset USING gin (search_vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
        schema_editor.execute("ALTER TABLE opendata_dataset DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("opendata", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="facet_terms",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(create_index, drop_index),
    ]

"""Create the database cache's table, so that `migrate` is the only setup step a deploy needs.

Without the table every page that touches the cache (log-in among them) answered 500.
`createcachetable` skips tables that exist and caches that are not database caches (Redis),
so this is safe on databases set up by hand before. Reversing leaves the table: it holds
only disposable cache entries, and other code may still use it.

A cache LOCATION changed later needs `manage.py createcachetable` (or a new migration).
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("florasite", "0001_initial")]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False),
    ]

"""Create the database cache table that the login/register throttle counts in.

`manage.py migrate` is the one set-up step a deployment runs, so the table comes with it
instead of needing a separate `createcachetable`. With REDIS_URL set there is no table to make.
"""

from django.conf import settings
from django.core.management import call_command
from django.db import migrations


def database_cache_tables():
    return [
        cache["LOCATION"]
        for cache in settings.CACHES.values()
        if cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    ]


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_tables(apps, schema_editor):
    for table in database_cache_tables():
        schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(table)}")


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]

    operations = [migrations.RunPython(create_cache_tables, drop_cache_tables)]

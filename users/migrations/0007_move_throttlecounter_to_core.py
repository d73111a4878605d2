from django.db import migrations


class Migration(migrations.Migration):
    """ThrottleCounter moved to core (core.0001): out of the users state only, its table and rows
    stay where they are."""

    dependencies = [
        ("core", "0001_initial"),
        ("users", "0005_reserve_logoutall"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ThrottleCounter")],
        ),
    ]

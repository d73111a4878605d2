from django.db import migrations, models


class Migration(migrations.Migration):
    """ThrottleCounter joins core in the migration state only: its table, users_throttlecounter,
    is the one users.0003 created, and stays (users.0007 takes the model out of the users state).
    Reversed, the table goes with users.0003's reverse."""

    initial = True

    dependencies = [
        ("users", "0003_throttle_counter"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ThrottleCounter",
                    fields=[
                        ("key", models.CharField(max_length=255, primary_key=True, serialize=False)),
                        ("count", models.PositiveIntegerField(default=0)),
                        ("expires", models.DateTimeField(db_index=True)),
                    ],
                    options={"db_table": "users_throttlecounter"},
                ),
            ],
        ),
    ]

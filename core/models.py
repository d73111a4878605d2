from django.db import models


class ThrottleCounter(models.Model):
    """One fixed-window count (core.counters), when the cache is the database.

    A table of its own because the database cache stores pickled values that SQL cannot
    increment; here one UPSERT adds one and reads the total atomically. The table keeps the name
    it had when the model lived in the users app: moving the model moved no rows.
    """

    key = models.CharField(max_length=255, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "users_throttlecounter"

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"

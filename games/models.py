from django.db import models


class Game(models.Model):
    """A game of the catalogue, identified by its IGDB id.

    `igdb` is a string: the API document shows both numeric ids ("18099") and
    GiantBomb-style ones ("3030-68907").
    """

    igdb = models.CharField("IGDB id", max_length=64, unique=True)
    name = models.CharField(max_length=255)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name"], name="games_game_name_idx")]

    def __str__(self) -> str:
        return self.name

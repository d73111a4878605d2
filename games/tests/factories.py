import itertools

from games.models import Game

_sequence = itertools.count(1)


def make_game(*, igdb: str | None = None, name: str | None = None) -> Game:
    n = next(_sequence)
    return Game.objects.create(igdb=igdb or f"igdb-{n}", name=name or f"Game {n}")

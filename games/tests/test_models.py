import pytest
from django.db import IntegrityError, transaction

from games.models import Game
from games.tests.factories import make_game


@pytest.mark.django_db
def test_game_igdb_unique_in_database():
    make_game(igdb="26226", name="Celeste")

    with pytest.raises(IntegrityError), transaction.atomic():
        Game.objects.create(igdb="26226", name="Celeste again")

    assert Game.objects.count() == 1


@pytest.mark.django_db
def test_game_igdb_keeps_non_numeric_string():
    game = make_game(igdb="3030-68907", name="Sekiro: Shadows Die Twice")

    game.refresh_from_db()
    assert game.igdb == "3030-68907"


@pytest.mark.django_db
def test_game_igdb_keeps_leading_zeros():
    game = make_game(igdb="007")

    game.refresh_from_db()
    assert game.igdb == "007"


@pytest.mark.django_db
def test_game_str_is_name():
    assert str(make_game(name="Pokémon Moon")) == "Pokémon Moon"


@pytest.mark.django_db
def test_game_default_ordering_by_name_then_id():
    zelda = make_game(name="Zelda")
    second_celeste = make_game(name="Celeste")
    first_celeste_later_id = make_game(name="Celeste")
    astro = make_game(name="Astro Bot")

    assert list(Game.objects.all()) == [astro, second_celeste, first_celeste_later_id, zelda]


@pytest.mark.django_db
def test_game_name_keeps_unicode():
    game = make_game(igdb="18099", name="Pokémon Moon")

    game.refresh_from_db()
    assert game.name == "Pokémon Moon"

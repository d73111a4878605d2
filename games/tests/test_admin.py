import pytest
from django.urls import reverse

from games.models import Game
from games.tests.factories import make_game


def test_admin_game_changelist_loads(admin_client):
    celeste = make_game(igdb="26226", name="Celeste")

    response = admin_client.get(reverse("admin:games_game_changelist"))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [celeste]


@pytest.mark.parametrize("term", ["celes", "26226"])
def test_admin_game_changelist_search_by_name_or_igdb(admin_client, term):
    celeste = make_game(igdb="26226", name="Celeste")
    make_game(igdb="1877", name="Cyberpunk 2077")

    response = admin_client.get(reverse("admin:games_game_changelist"), {"q": term})

    assert list(response.context["cl"].result_list) == [celeste]


def test_admin_game_add_page_loads(admin_client):
    response = admin_client.get(reverse("admin:games_game_add"))

    assert response.status_code == 200


def test_admin_game_add_creates_game(admin_client):
    response = admin_client.post(
        reverse("admin:games_game_add"), {"igdb": "3030-68907", "name": "Sekiro: Shadows Die Twice"}
    )

    assert response.status_code == 302
    assert list(Game.objects.values_list("igdb", "name")) == [
        ("3030-68907", "Sekiro: Shadows Die Twice")
    ]


def test_admin_game_add_rejects_duplicate_igdb(admin_client):
    make_game(igdb="26226", name="Celeste")

    response = admin_client.post(
        reverse("admin:games_game_add"), {"igdb": "26226", "name": "Celeste again"}
    )

    assert response.status_code == 200
    assert "igdb" in response.context["adminform"].form.errors
    assert Game.objects.count() == 1


def test_admin_game_change_page_loads(admin_client):
    game = make_game(name="Celeste")

    response = admin_client.get(reverse("admin:games_game_change", args=[game.pk]))

    assert response.status_code == 200
    assert response.context["original"] == game


def test_admin_game_change_renames_game(admin_client):
    game = make_game(igdb="18099", name="Pokemon Moon")

    response = admin_client.post(
        reverse("admin:games_game_change", args=[game.pk]),
        {"igdb": "18099", "name": "Pokémon Moon"},
    )

    assert response.status_code == 302
    game.refresh_from_db()
    assert game.name == "Pokémon Moon"


@pytest.mark.django_db
def test_admin_game_anonymous_redirected_to_login(client):
    response = client.get(reverse("admin:games_game_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))

from io import StringIO

import pytest
from django.core.management import call_command
from knox.models import AuthToken

from games.models import Game
from users.models import Follow, User
from users.tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.django_db


def seed() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def snapshot() -> dict:
    """Every row seed_demo can write, as plain values."""
    lists = {}
    for name in ("played", "liked", "backlog", "wishlist"):
        through = User._meta.get_field(name).remote_field.through
        lists[name] = list(through.objects.order_by("pk").values_list("pk", "user_id", "game_id"))
    return {
        "games": list(Game.objects.order_by("pk").values_list("pk", "igdb", "name")),
        "users": list(
            User.objects.order_by("pk").values_list(
                "pk", "username", "email", "bio", "location", "twitter", "password", "is_staff"
            )
        ),
        "follows": list(Follow.objects.order_by("pk").values_list("pk", "follower", "followee")),
        **lists,
    }


def game(igdb: str) -> dict:
    row = Game.objects.get(igdb=igdb)
    return {"id": row.pk, "igdb": row.igdb, "name": row.name}


def test_seed_demo_reproduces_the_documents_example_profile(api_client):
    seed()
    madeline = User.objects.get(username="madeline")
    theo = User.objects.get(username="theo")

    response = api_client.get("/api/users/madeline")

    assert response.status_code == 200
    # The document's example, with this database's ids (a fresh one gives the same numbers).
    assert response.json() == {
        "id": madeline.pk,
        "username": "madeline",
        "email": "example@mail.com",
        "bio": "I like games",
        "location": "A Mountain",
        "twitter": None,
        "played": [game("18099"), game("3030-68907")],
        "liked": [game("26226")],
        "backlog": [game("19560")],
        "wishlist": [game("1877")],
        "following": [theo.pk],
        "followers": [],
    }
    assert game("18099")["name"] == "Pokémon Moon"
    assert game("3030-68907")["name"] == "Sekiro: Shadows Die Twice"


def test_seed_demo_creates_a_small_catalogue():
    seed()
    assert 15 <= Game.objects.count() <= 30
    assert {"18099", "3030-68907", "26226", "19560", "1877"} <= set(
        Game.objects.values_list("igdb", flat=True)
    )


def test_seed_demo_twice_gives_the_same_state():
    seed()
    first = snapshot()

    out, err = seed()

    assert snapshot() == first
    assert out == "seed_demo: demo data already in place, nothing to do\n"
    assert err == ""


def test_seed_demo_puts_back_demo_data_changed_by_hand():
    seed()
    first = snapshot()
    madeline = User.objects.get(username="madeline")
    madeline.bio = "edited"
    madeline.is_staff = True
    madeline.save()
    madeline.played.remove(Game.objects.get(igdb="18099"))
    madeline.unfollow(User.objects.get(username="theo"))
    Game.objects.filter(igdb="26226").update(name="Celeste (renamed)")

    seed()

    after = snapshot()
    assert after["users"] == first["users"]
    assert after["games"] == first["games"]
    assert [row[2] for row in after["played"] if row[1] == madeline.pk] == [
        Game.objects.get(igdb="18099").pk,
        Game.objects.get(igdb="3030-68907").pk,
    ]
    assert Follow.objects.filter(follower=madeline).count() == 1


@pytest.mark.parametrize("password", ["", "!", "strawberry-summit-42", DEFAULT_PASSWORD])
def test_seed_demo_users_cannot_log_in(api_client, password):
    seed()
    for username in ("madeline", "theo", "granny"):
        assert not User.objects.get(username=username).has_usable_password()
        response = api_client.post(
            "/api/users/login/", {"username": username, "password": password}, format="json"
        )
        assert response.status_code == 400
        if password:
            assert response.json() == {"non_field_errors": ["Incorrect username/password."]}
    assert AuthToken.objects.count() == 0


def test_seed_demo_users_hold_no_privileges():
    seed()
    demo = User.objects.filter(username__in=["madeline", "theo", "granny"])
    assert demo.count() == 3
    assert not demo.filter(is_staff=True).exists()
    assert not demo.filter(is_superuser=True).exists()


def test_seed_demo_leaves_a_real_account_with_a_demo_name_alone(api_client):
    real = make_user(username="Madeline", email="real-madeline@example.com", bio="mine")

    out, err = seed()

    real.refresh_from_db()
    assert real.bio == "mine"
    assert real.has_usable_password()
    assert "'madeline' is a real account (it has a password); left alone" in err
    assert User.objects.by_username("madeline").count() == 1
    response = api_client.post(
        "/api/users/login/", {"username": "Madeline", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    # The other demo users are still made.
    assert User.objects.filter(username__in=["theo", "granny"]).count() == 2


def test_seed_demo_skips_a_demo_user_whose_email_is_taken():
    make_user(username="someone", email="Example@mail.com")

    _out, err = seed()

    assert not User.objects.filter(username="madeline").exists()
    assert "'example@mail.com' belongs to another account; 'madeline' skipped" in err

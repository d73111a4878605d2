import pytest
from django.test import Client
from knox.models import AuthToken

from games.models import Game
from games.tests.factories import make_game
from users.models import User
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def make_community(size: int) -> list[User]:
    """`size` users who all follow the first one and hold a few games each."""
    games = [make_game() for _ in range(4)]
    users = [make_user() for _ in range(size)]
    for n, user in enumerate(users):
        user.played.add(*games[: n % 4 + 1])
        user.liked.add(games[0])
        user.wishlist.add(games[3])
        if n:
            user.follow(users[0])
    return users


def changelist_rows(response) -> dict:
    return {obj.pk: obj for obj in response.context["cl"].result_list}


def test_admin_user_changelist_counts_follows_and_lists(admin_client_):
    star, second, *_ = make_community(5)
    second.backlog.add(make_game())
    second.follow(make_user())

    response = admin_client_.get("/admin/users/user/")

    assert response.status_code == 200
    rows = changelist_rows(response)
    assert (rows[star.pk].followers_count, rows[star.pk].following_count) == (4, 0)
    assert (rows[second.pk].followers_count, rows[second.pk].following_count) == (0, 2)
    assert [
        rows[second.pk].played_count,
        rows[second.pk].liked_count,
        rows[second.pk].backlog_count,
        rows[second.pk].wishlist_count,
    ] == [2, 1, 1, 1]
    assert "<th" in response.content.decode() and "followers" in response.content.decode()


def test_admin_user_changelist_query_count_does_not_grow_with_rows(
    admin_client_, django_assert_max_num_queries
):
    make_community(3)
    # Session, admin user, two counts (filtered and total) and the page of rows with its counts.
    with django_assert_max_num_queries(5):
        small = admin_client_.get("/admin/users/user/")
    make_community(40)
    with django_assert_max_num_queries(5):
        large = admin_client_.get("/admin/users/user/")
    assert small.status_code == large.status_code == 200
    assert len(large.context["cl"].result_list) == 44


def test_admin_user_changelist_sorts_by_a_count(admin_client_):
    star, *_ = make_community(4)
    fields = admin_client_.get("/admin/users/user/").context["cl"].list_display
    column = fields.index("followers_count")

    response = admin_client_.get(f"/admin/users/user/?o=-{column}")

    assert response.status_code == 200
    assert response.context["cl"].result_list[0] == star


def test_admin_game_changelist_counts_holders_per_list(
    admin_client_, django_assert_max_num_queries
):
    make_community(6)
    first = Game.objects.order_by("pk").first()
    last = Game.objects.order_by("pk").last()
    make_user().backlog.add(first)

    with django_assert_max_num_queries(5):
        response = admin_client_.get("/admin/games/game/")

    assert response.status_code == 200
    rows = changelist_rows(response)

    def counts(game):
        row = rows[game.pk]
        return [row.played_count, row.liked_count, row.backlog_count, row.wishlist_count]

    assert counts(first) == [6, 6, 1, 0]
    assert counts(last) == [1, 0, 0, 6]


def test_admin_pages_load_for_a_superuser(admin_client_):
    user, *_ = make_community(2)
    game = Game.objects.first()
    AuthToken.objects.create(user=user)
    token = AuthToken.objects.get()
    pages = [
        "/admin/",
        "/admin/users/user/",
        "/admin/users/user/add/",
        f"/admin/users/user/{user.pk}/change/",
        "/admin/games/game/",
        "/admin/games/game/add/",
        f"/admin/games/game/{game.pk}/change/",
        "/admin/knox/authtoken/",
        f"/admin/knox/authtoken/{token.pk}/change/",
        "/admin/autocomplete/?app_label=users&model_name=user&field_name=played&term=Game",
    ]
    for page in pages:
        assert admin_client_.get(page).status_code == 200, page


def test_admin_adds_a_user_with_an_email(admin_client_):
    response = admin_client_.post(
        "/admin/users/user/add/",
        {
            "username": "oshiro",
            "email": "oshiro@example.com",
            "usable_password": "true",
            "password1": "a-haunted-hotel-42",
            "password2": "a-haunted-hotel-42",
        },
    )

    assert response.status_code == 302
    added = User.objects.get(username="oshiro")
    assert added.email == "oshiro@example.com"
    assert added.check_password("a-haunted-hotel-42")


def test_admin_refuses_a_user_who_is_not_staff(api_client):
    client = Client()
    client.force_login(make_user())
    response = client.get("/admin/users/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_revoke_action_logs_the_token_out(admin_client_, api_client):
    holder = make_user()
    _instance, token = AuthToken.objects.create(user=holder)
    _other, kept = AuthToken.objects.create(user=holder)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/users/user/").status_code == 200

    response = admin_client_.post(
        "/admin/knox/authtoken/",
        {"action": "revoke_tokens", "_selected_action": [_instance.pk]},
    )

    assert response.status_code == 302
    revoked = api_client.get("/api/users/user/")
    assert revoked.status_code == 401
    assert revoked.json() == {"detail": "Invalid token."}
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {kept}")
    assert api_client.get("/api/users/user/").status_code == 200


def test_admin_delete_view_revokes_a_token(admin_client_, api_client):
    instance, token = AuthToken.objects.create(user=make_user())

    response = admin_client_.post(f"/admin/knox/authtoken/{instance.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not AuthToken.objects.filter(pk=instance.pk).exists()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/users/user/").status_code == 401

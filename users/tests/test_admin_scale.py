"""The admin at celebrity scale (issue 12): no page grows with a user's follows or games."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from core import admin as core_admin
from games.models import Game
from games.tests.factories import make_game
from users.models import GAME_LISTS, Follow, User
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

# How much a page may differ between a small and a big celebrity: the digits of the counts and
# of the rows' ids, a few more page links. Growing with the follows would be x3 to x10.
SIZE_SLACK = 0.02


def make_fans(prefix: str, count: int) -> list[User]:
    """`count` users in one INSERT (unusable passwords: hashing 500 would take seconds)."""
    return User.objects.bulk_create(
        User(username=f"{prefix}{n:05}", email=f"{prefix}{n:05}@example.com", password="!")
        for n in range(count)
    )


def make_celebrity(name: str, size: int) -> User:
    """A user followed by `size` users, following `size`, with `size` games in each list."""
    celebrity = make_user(username=name)
    fans = make_fans(f"{name}-fan", size)  # same-length names whatever the size
    Follow.objects.bulk_create(Follow(follower=fan, followee=celebrity) for fan in fans)
    Follow.objects.bulk_create(Follow(follower=celebrity, followee=fan) for fan in fans)
    games = Game.objects.bulk_create(
        Game(igdb=f"{name}-{n:05}", name=f"{name} game {n:05}") for n in range(size)
    )
    for list_name in GAME_LISTS:
        getattr(celebrity, list_name).add(*games)
    return celebrity


def measure(client: Client, path: str) -> tuple[int, int]:
    """(queries, bytes) of one GET, which must answer 200."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(queries), len(response.content)


def assert_same_cost(client: Client, small_path: str, big_path: str) -> None:
    client.get(small_path)  # warm: the session, content types, permissions
    small_queries, small_size = measure(client, small_path)
    big_queries, big_size = measure(client, big_path)
    assert big_queries == small_queries
    assert abs(big_size - small_size) <= small_size * SIZE_SLACK, (small_size, big_size)


def test_admin_user_change_page_costs_the_same_for_50_or_500_follows_and_games(admin_client_):
    small = make_celebrity("small", 50)
    big = make_celebrity("large", 500)

    assert_same_cost(
        admin_client_,
        f"/admin/users/user/{small.pk}/change/",
        f"/admin/users/user/{big.pk}/change/",
    )


def test_admin_user_change_page_counts_and_links_follows_and_lists(admin_client_):
    star = make_celebrity("star", 12)

    page = admin_client_.get(f"/admin/users/user/{star.pk}/change/").content.decode()

    assert f'<a href="/admin/users/follow/?followee__id__exact={star.pk}">12 followers</a>' in page
    assert (
        f'<a href="/admin/users/follow/?follower__id__exact={star.pk}">follows 12 users</a>' in page
    )
    for list_name in GAME_LISTS:
        link = f'<a href="/admin/users/user_{list_name}/?user__id__exact={star.pk}">12 games</a>'
        assert link in page
    # No option per game or per follow: the page names none of the fans or games.
    assert "star-fan00001" not in page and "star game 00001" not in page


@pytest.mark.parametrize(
    "changelist,parameter",
    [
        ("/admin/users/follow/", "followee__id__exact"),
        ("/admin/users/follow/", "follower__id__exact"),
        *((f"/admin/users/user_{name}/", "user__id__exact") for name in GAME_LISTS),
    ],
)
def test_admin_filtered_lists_cost_the_same_for_150_or_600(admin_client_, changelist, parameter):
    # Both more than a page (100 rows), so both pages are full.
    small = make_celebrity("small", 150)
    big = make_celebrity("large", 600)

    assert_same_cost(
        admin_client_,
        f"{changelist}?{parameter}={small.pk}",
        f"{changelist}?{parameter}={big.pk}",
    )


def test_admin_follow_list_filtered_to_a_users_followers(admin_client_):
    star = make_celebrity("star", 3)
    bystander = make_user()
    bystander.follow(make_user())

    response = admin_client_.get(f"/admin/users/follow/?followee__id__exact={star.pk}")

    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert sorted(follow.follower.username for follow in rows) == [
        "star-fan00000",
        "star-fan00001",
        "star-fan00002",
    ]
    assert {follow.followee_id for follow in rows} == {star.pk}
    # The sidebar names the one user filtered to, not a list of every user.
    page = response.content.decode()
    assert "By followee" in page and ">star</a>" in page


def test_admin_follow_list_paginates(admin_client_):
    star = make_celebrity("star", 150)

    first = admin_client_.get(f"/admin/users/follow/?followee__id__exact={star.pk}")
    second = admin_client_.get(f"/admin/users/follow/?followee__id__exact={star.pk}&p=2")

    assert first.context["cl"].result_count == 150
    assert len(first.context["cl"].result_list) == 100
    assert len(second.context["cl"].result_list) == 50


def test_admin_follow_list_searches_by_username(admin_client_):
    madeline, theo, granny = (make_user(username=n) for n in ("madeline", "theo", "granny"))
    madeline.follow(theo)
    granny.follow(madeline)

    make_user(username="grandpa").follow(theo)

    response = admin_client_.get("/admin/users/follow/", {"q": " GRANNY "})
    both_ways = admin_client_.get("/admin/users/follow/", {"q": "madeline"})

    assert [(f.follower, f.followee) for f in response.context["cl"].result_list] == [
        (granny, madeline)
    ]
    assert [(f.follower, f.followee) for f in both_ways.context["cl"].result_list] == [
        (granny, madeline),
        (madeline, theo),
    ]


def test_admin_game_list_searches_by_username_igdb_or_name(admin_client_):
    madeline, theo = make_user(username="madeline"), make_user(username="theo")
    celeste, moon = make_game(igdb="26226", name="Celeste"), make_game(name="Pokemon Moon")
    madeline.played.add(celeste, moon)
    theo.played.add(moon)

    def found(term):
        response = admin_client_.get("/admin/users/user_played/", {"q": term})
        return sorted((e.user.username, e.game.name) for e in response.context["cl"].result_list)

    assert found("Theo") == [("theo", "Pokemon Moon")]
    assert found("26226") == [("madeline", "Celeste")]
    assert found("moon") == [("madeline", "Pokemon Moon"), ("theo", "Pokemon Moon")]


@pytest.mark.parametrize("value", ["abc", "99999999999999999999", "1.5"])
def test_admin_follow_list_refuses_a_malformed_filter(admin_client_, value):
    response = admin_client_.get(f"/admin/users/follow/?followee__id__exact={value}")

    assert response.status_code == 302
    assert response["Location"] == "/admin/users/follow/?e=1"


def test_admin_follow_add_page_and_adding_a_follow(admin_client_):
    madeline, theo = make_user(username="madeline"), make_user(username="theo")
    make_fans("crowd", 300)

    page = admin_client_.get(f"/admin/users/follow/add/?followee={theo.pk}")
    response = admin_client_.post(
        "/admin/users/follow/add/", {"follower": madeline.pk, "followee": theo.pk}
    )

    assert page.status_code == 200
    assert "crowd00001" not in page.content.decode()  # autocomplete, not a dropdown of users
    assert response.status_code == 302
    assert list(Follow.objects.values_list("follower", "followee")) == [(madeline.pk, theo.pk)]


def test_admin_follow_add_refuses_following_oneself(admin_client_):
    madeline = make_user(username="madeline")

    response = admin_client_.post(
        "/admin/users/follow/add/", {"follower": madeline.pk, "followee": madeline.pk}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Follow.objects.exists()


def test_admin_follow_bulk_delete_removes_the_selected_follows(admin_client_):
    star = make_celebrity("star", 5)
    chosen = list(Follow.objects.filter(followee=star).order_by("pk")[:2])
    data = {"action": "delete_selected", "_selected_action": [f.pk for f in chosen]}

    confirm = admin_client_.post("/admin/users/follow/", data)
    done = admin_client_.post("/admin/users/follow/", {**data, "post": "yes"})

    assert confirm.status_code == 200
    assert done.status_code == 302
    assert not Follow.objects.filter(pk__in=[f.pk for f in chosen]).exists()
    assert Follow.objects.filter(followee=star).count() == 3


def test_admin_user_delete_page_counts_related_rows_instead_of_listing_them(admin_client_):
    small = make_celebrity("small", 50)
    big = make_celebrity("large", 500)
    AuthToken.objects.create(user=big)

    assert_same_cost(
        admin_client_,
        f"/admin/users/user/{small.pk}/delete/",
        f"/admin/users/user/{big.pk}/delete/",
    )
    response = admin_client_.get(f"/admin/users/user/{big.pk}/delete/")
    assert dict(response.context["model_count"]) == {
        "users": 1,
        "follows": 1000,
        "played entries": 500,
        "liked entries": 500,
        "backlog entries": 500,
        "wishlist entries": 500,
        "auth tokens": 1,
    }
    assert "large-fan00001" not in response.content.decode()

    done = admin_client_.post(f"/admin/users/user/{big.pk}/delete/", {"post": "yes"})

    assert done.status_code == 302
    assert not User.objects.filter(pk=big.pk).exists()
    assert not Follow.objects.filter(followee_id=big.pk).exists()


def test_admin_game_delete_page_counts_the_lists_holding_it(admin_client_):
    game = make_game()
    for fan in make_fans("fan", 30):
        fan.played.add(game)

    response = admin_client_.get(f"/admin/games/game/{game.pk}/delete/")

    assert response.status_code == 200
    assert dict(response.context["model_count"]) == {"games": 1, "played entries": 30}


def test_admin_user_change_adds_games_without_dropping_the_listed_ones(admin_client_):
    user = make_user(username="madeline")
    kept, added = make_game(name="Celeste"), make_game(name="Pico-8")
    user.played.add(kept)
    page = admin_client_.get(f"/admin/users/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update(
        {
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
            "is_active": "on",
            "played": [added.pk],
            "following_links-TOTAL_FORMS": "0",
            "following_links-INITIAL_FORMS": "0",
            "follower_links-TOTAL_FORMS": "0",
            "follower_links-INITIAL_FORMS": "0",
        }
    )
    for key in ("groups", "user_permissions", "last_login", "date_joined", "password"):
        data.pop(key, None)

    response = admin_client_.post(f"/admin/users/user/{user.pk}/change/", data)

    assert response.status_code == 302
    assert set(user.played.all()) == {kept, added}


def test_admin_game_list_adds_and_removes_entries(admin_client_):
    user, game = make_user(username="madeline"), make_game(name="Celeste")

    added = admin_client_.post("/admin/users/user_played/add/", {"user": user.pk, "game": game.pk})
    entry = User.played.through.objects.get()
    removed = admin_client_.post(
        "/admin/users/user_played/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert added.status_code == removed.status_code == 302
    assert list(user.played.all()) == []


def test_admin_game_lists_follow_the_user_change_permission(client):
    staff = make_user(username="staff", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/users/user_played/").status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="change_user"))
    assert client.get("/admin/users/user_played/").status_code == 200


def test_admin_index_names_the_four_game_lists(admin_client_):
    page = admin_client_.get("/admin/").content.decode()

    for list_name in GAME_LISTS:
        assert f"{list_name.capitalize()} entries" in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is PostgreSQL's")
def test_admin_unfiltered_count_is_postgresql_estimate(admin_client_, monkeypatch):
    make_fans("fan", 30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE users_user")
    make_fans("late", 10)  # not analysed yet: the estimate still says 31
    monkeypatch.setattr(core_admin, "EXACT_COUNT_BELOW", 10)

    unfiltered = admin_client_.get("/admin/users/user/")
    filtered = admin_client_.get("/admin/users/user/", {"q": "late"})

    assert unfiltered.context["cl"].result_count == 31  # 30 fans and root, as ANALYZE saw them
    assert filtered.context["cl"].result_count == 10  # a filter is counted exactly


def test_admin_small_tables_are_counted_exactly(admin_client_):
    make_fans("fan", 3)

    response = admin_client_.get("/admin/users/user/")

    assert response.context["cl"].result_count == 4


def test_admin_follow_list_of_one_users_followings_in_index_order(admin_client_):
    star = make_celebrity("star", 3)

    response = admin_client_.get(f"/admin/users/follow/?follower__id__exact={star.pk}")

    followees = [follow.followee_id for follow in response.context["cl"].result_list]
    assert followees == sorted(followees) and len(followees) == 3
    assert response.context["cl"].queryset.query.order_by[:2] == ("follower_id", "followee_id")


def test_admin_follow_bulk_delete_confirmation_names_at_most_20(admin_client_):
    star = make_celebrity("star", 30)
    chosen = list(Follow.objects.filter(followee=star).values_list("pk", flat=True))

    confirm = admin_client_.post(
        "/admin/users/follow/", {"action": "delete_selected", "_selected_action": chosen}
    )

    assert confirm.status_code == 200
    assert dict(confirm.context["model_count"]) == {"follows": 30}
    page = confirm.content.decode()
    assert page.count('<li>Follow: <a href="/admin/users/follow/') == 20
    assert "… and 10 more" in page


def test_admin_delete_page_asks_for_the_permissions_the_cascade_needs(client):
    staff = make_user(username="staff", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "delete_user"])
    )
    client.force_login(staff)
    star = make_celebrity("star", 2)

    response = client.get(f"/admin/users/user/{star.pk}/delete/")

    assert response.status_code == 200
    # Deleting the user deletes their follows, which this staff member may not delete.
    assert "follow" in response.context["perms_lacking"]


@pytest.mark.parametrize("value", ["-1", "0", "9223372036854775807"])
def test_admin_follow_list_filtered_to_no_such_user_is_empty(admin_client_, value):
    make_celebrity("star", 2)

    response = admin_client_.get(f"/admin/users/follow/?followee__id__exact={value}")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from knox.models import AuthToken

from games.models import Game
from games.tests.factories import make_game
from users.models import RESERVED_USERNAMES, Follow, User
from users.tests.factories import make_user


def insert_user(username, email):
    """Insert a row directly, bypassing every Python-side check."""
    with transaction.atomic():
        return User.objects.create(username=username, email=email)


@pytest.mark.parametrize("username", ["madeline", "MADELINE", "Madeline"])
def test_user_username_unique_regardless_of_case_in_database(user, username):
    with pytest.raises(IntegrityError):
        insert_user(username, "other@example.com")

    assert User.objects.count() == 1


@pytest.mark.parametrize("email", ["madeline@example.com", "MADELINE@EXAMPLE.COM"])
def test_user_email_unique_regardless_of_case_in_database(user, email):
    with pytest.raises(IntegrityError):
        insert_user("theo", email)

    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "username", [*RESERVED_USERNAMES, *(name.upper() for name in RESERVED_USERNAMES), "Login"]
)
@pytest.mark.django_db
def test_user_reserved_username_refused_by_database(username):
    with pytest.raises(IntegrityError):
        insert_user(username, "someone@example.com")

    assert not User.objects.exists()


@pytest.mark.parametrize("username", ["logins", "user1", "my-profile", "follower"])
@pytest.mark.django_db
def test_user_username_containing_route_word_allowed(username):
    insert_user(username, "someone@example.com")

    assert User.objects.filter(username=username).exists()


@pytest.mark.django_db
def test_user_full_clean_rejects_reserved_username():
    candidate = User(username="Register", email="someone@example.com", password="x")

    with pytest.raises(ValidationError) as excinfo:
        candidate.full_clean()

    assert "This username is reserved." in excinfo.value.message_dict["username"]


def test_user_by_username_ignores_case(user):
    assert list(User.objects.by_username("MADELINE")) == [user]


def test_user_by_email_ignores_case(user):
    assert list(User.objects.by_email("Madeline@Example.COM")) == [user]


def test_user_get_by_natural_key_ignores_case(user):
    assert User.objects.get_by_natural_key("MaDeLiNe") == user


def test_user_follow_creates_row(user, other_user):
    user.follow(other_user)

    assert list(Follow.objects.values_list("follower", "followee")) == [(user.pk, other_user.pk)]


def test_user_follow_is_idempotent(user, other_user):
    user.follow(other_user)
    user.follow(other_user)

    assert Follow.objects.count() == 1


def test_user_follow_fills_following_and_followers(user, other_user):
    user.follow(other_user)

    assert list(user.following.all()) == [other_user]
    assert list(other_user.followers.all()) == [user]
    assert list(user.followers.all()) == []


def test_user_unfollow_deletes_row(user, other_user):
    user.follow(other_user)

    user.unfollow(other_user)

    assert not Follow.objects.exists()


def test_user_unfollow_is_idempotent(user, other_user):
    user.follow(other_user)

    user.unfollow(other_user)
    user.unfollow(other_user)

    assert not Follow.objects.exists()


def test_user_unfollow_leaves_reverse_follow(user, other_user):
    user.follow(other_user)
    other_user.follow(user)

    user.unfollow(other_user)

    assert list(Follow.objects.values_list("follower", "followee")) == [(other_user.pk, user.pk)]


def test_follow_unique_in_database(user, other_user):
    Follow.objects.create(follower=user, followee=other_user)

    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=user, followee=other_user)

    assert Follow.objects.count() == 1


def test_follow_self_refused_by_database(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=user, followee=user)

    assert not Follow.objects.exists()


def test_user_follow_self_raises_and_leaves_no_row(user):
    with pytest.raises(ValueError):
        user.follow(user)

    assert not Follow.objects.exists()


def test_follow_str_names_both_ids(user, other_user):
    user.follow(other_user)

    assert str(Follow.objects.get()) == f"{user.pk} follows {other_user.pk}"


def test_user_delete_removes_only_its_rows(user, other_user):
    third = make_user(username="theo")
    celeste, sekiro = make_game(name="Celeste"), make_game(name="Sekiro")
    user.played.add(celeste)
    user.wishlist.add(sekiro)
    other_user.played.add(celeste)
    user.follow(other_user)
    other_user.follow(user)
    third.follow(other_user)
    AuthToken.objects.create(user=user)
    AuthToken.objects.create(user=other_user)

    user.delete()

    assert list(User.objects.order_by("pk")) == [other_user, third]
    assert list(Follow.objects.values_list("follower", "followee")) == [(third.pk, other_user.pk)]
    assert list(AuthToken.objects.values_list("user", flat=True)) == [other_user.pk]
    assert set(Game.objects.all()) == {celeste, sekiro}
    assert list(other_user.played.all()) == [celeste]
    assert not User.played.through.objects.filter(user_id=user.pk).exists()
    assert not User.wishlist.through.objects.filter(user_id=user.pk).exists()


def test_game_delete_removes_only_its_rows(user, other_user):
    celeste, sekiro = make_game(name="Celeste"), make_game(name="Sekiro")
    for list_name in ("played", "liked", "backlog", "wishlist"):
        getattr(user, list_name).add(celeste, sekiro)
    other_user.liked.add(celeste)

    celeste.delete()

    assert User.objects.count() == 2
    for list_name in ("played", "liked", "backlog", "wishlist"):
        assert list(getattr(user, list_name).all()) == [sekiro]
    assert list(other_user.liked.all()) == []
    assert list(Game.objects.all()) == [sekiro]


def test_user_expired_tokens_deleted_with_user(user):
    AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))

    user.delete()

    assert not AuthToken.objects.exists()


# --- The shell's calls: what the API says, from the model layer ----------------------------------


@pytest.mark.parametrize("name", ["madeline", "MADELINE", "MaDeLiNe"])
def test_user_get_by_username_ignores_case(user, name):
    assert User.objects.get_by_username(name) == user


def test_user_get_by_username_unknown_raises_does_not_exist(user):
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_username("madeline2")


def test_user_profile_is_the_anonymous_api_answer(api_client, user, other_user):
    user.follow(other_user)
    other_user.follow(user)
    game = user.add_game("played", make_game(igdb="18099", name="Pokémon Moon"))
    # Written out from the rows made above, not read back through the profile's own query.
    expected = {
        "id": user.pk,
        "username": "madeline",
        "email": "madeline@example.com",
        "bio": None,
        "location": None,
        "twitter": None,
        "played": [{"id": game.pk, "igdb": "18099", "name": "Pokémon Moon"}],
        "liked": [],
        "backlog": [],
        "wishlist": [],
        "following": [other_user.pk],
        "followers": [other_user.pk],
    }

    profile = user.profile()

    assert profile == expected
    assert list(profile) == list(expected)
    assert profile == api_client.get("/api/users/madeline").json()


def test_user_profile_for_a_viewer_is_that_viewer_api_answer(auth_client, user, other_user):
    user.follow(other_user)
    other_user.bio = "Part of you"
    other_user.save()
    expected = {
        "id": other_user.pk,
        "username": "badeline",
        "email": "badeline@example.com",
        "bio": "Part of you",
        "location": None,
        "twitter": None,
        "played": [],
        "liked": [],
        "backlog": [],
        "wishlist": [],
        "following": [],
        "followers": [user.pk],
        "me": {"id": user.pk, "username": "madeline", "email": "madeline@example.com"},
        "followingUser": True,
    }

    profile = other_user.profile(viewer=user)

    assert profile == expected
    assert profile == auth_client.get("/api/users/badeline").json()
    assert list(other_user.profile(viewer=user))[-2:] == ["me", "followingUser"]
    assert other_user.profile(viewer=user)["followingUser"] is True


@pytest.mark.parametrize("list_name", ["played", "liked", "backlog", "wishlist"])
def test_user_add_game_puts_the_game_on_that_list_only(user, list_name):
    game = make_game(igdb="3030-68907", name="Celeste")

    assert user.add_game(list_name, game) == game

    profile = user.profile()
    assert profile[list_name] == [{"id": game.pk, "igdb": "3030-68907", "name": "Celeste"}]
    others = {"played", "liked", "backlog", "wishlist"} - {list_name}
    assert all(profile[other] == [] for other in others)


@pytest.mark.parametrize("igdb", ["18099", 18099])
def test_user_add_game_by_igdb_id(user, igdb):
    game = make_game(igdb="18099", name="Pokémon Moon")

    assert user.add_game("played", igdb) == game
    assert list(user.played.all()) == [game]


def test_user_add_game_twice_keeps_one(user):
    game = make_game()

    user.add_game("liked", game)
    user.add_game("liked", game.igdb)

    assert list(user.liked.all()) == [game]


def test_user_add_game_to_unknown_list_raises_and_adds_nothing(user):
    game = make_game()

    with pytest.raises(ValueError, match="'favourites' is not a game list"):
        user.add_game("favourites", game)
    with pytest.raises(ValueError):
        user.add_game("following", game)  # a list of the profile, but not of games

    assert not any(getattr(user, name).exists() for name in ("played", "liked", "backlog"))


def test_user_add_game_unknown_igdb_raises_does_not_exist(user):
    with pytest.raises(Game.DoesNotExist):
        user.add_game("played", "no-such-game")


def test_user_remove_game_takes_it_off_that_list(user):
    game = make_game()
    user.add_game("played", game)
    user.add_game("wishlist", game)

    user.remove_game("played", game.igdb)

    assert not user.played.exists()
    assert list(user.wishlist.all()) == [game]


# --- logoutall: the original backend's route word, kept free -------------------------------------


@pytest.mark.parametrize("username", ["logoutall", "LogoutAll", "LOGOUTALL"])
@pytest.mark.django_db
def test_user_logoutall_refused_by_database(username):
    with pytest.raises(IntegrityError):
        insert_user(username, "someone@example.com")


@pytest.mark.django_db
def test_user_full_clean_rejects_logoutall():
    candidate = User(username="LogoutAll", email="someone@example.com", password="x")

    with pytest.raises(ValidationError) as excinfo:
        candidate.full_clean()

    assert excinfo.value.message_dict["username"] == ["This username is reserved."]

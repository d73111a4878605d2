import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from knox.models import AuthToken

from games.tests.factories import make_game
from users.models import Follow, User


@pytest.fixture
def profile_user(user, other_user):
    """`user` with a game in each list, following and followed by `other_user`."""
    for list_name in ("played", "liked", "backlog", "wishlist"):
        getattr(user, list_name).add(make_game())
    user.follow(other_user)
    other_user.follow(user)
    return user


def inline_prefixes(response):
    """{fk_name: prefix} of the follow inlines on a user change page."""
    return {
        inline.formset.fk.name: inline.formset.prefix
        for inline in response.context["inline_admin_formsets"]
    }


def management_data(prefixes):
    data = {}
    for prefix in prefixes.values():
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def add_form_data(admin_client, **fields):
    prefixes = inline_prefixes(admin_client.get(reverse("admin:users_user_add")))
    return {
        "usable_password": "true",
        "password1": "climb-the-mountain-42",
        "password2": "climb-the-mountain-42",
        **management_data(prefixes),
        **fields,
    }


def change_form_data(user, prefixes, **overrides):
    data = {
        "username": user.username,
        "email": user.email,
        "bio": user.bio or "",
        "location": user.location or "",
        "twitter": user.twitter or "",
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }
    data.update(management_data(prefixes))
    data.update(overrides)
    return data


def test_admin_user_changelist_loads(admin_client, user, other_user):
    response = admin_client.get(reverse("admin:users_user_changelist"))

    assert response.status_code == 200
    assert {u.username for u in response.context["cl"].result_list} == {
        "admin",
        "madeline",
        "badeline",
    }


def test_admin_user_changelist_search(admin_client, user, other_user):
    response = admin_client.get(reverse("admin:users_user_changelist"), {"q": "BADE"})

    assert response.status_code == 200
    assert [u.username for u in response.context["cl"].result_list] == ["badeline"]


def test_admin_user_add_page_loads(admin_client):
    response = admin_client.get(reverse("admin:users_user_add"))

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.fields


def test_admin_user_add_creates_user_with_email(admin_client):
    response = admin_client.post(
        reverse("admin:users_user_add"),
        add_form_data(admin_client, username="theo", email="theo@example.com"),
    )

    created = User.objects.get(username="theo")
    assert response.status_code == 302
    assert created.email == "theo@example.com"
    assert created.check_password("climb-the-mountain-42")


def test_admin_user_add_rejects_username_taken_in_other_case(admin_client, user):
    response = admin_client.post(
        reverse("admin:users_user_add"),
        add_form_data(admin_client, username="MADELINE", email="theo@example.com"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["username"] == [
        "A user with that username already exists."
    ]
    assert not User.objects.filter(email="theo@example.com").exists()


def test_admin_user_add_requires_email(admin_client):
    response = admin_client.post(
        reverse("admin:users_user_add"), add_form_data(admin_client, username="theo", email="")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == ["This field is required."]
    assert not User.objects.filter(username="theo").exists()


def test_admin_user_change_page_loads(admin_client, profile_user):
    response = admin_client.get(reverse("admin:users_user_change", args=[profile_user.pk]))

    assert response.status_code == 200
    assert response.context["original"] == profile_user
    assert set(inline_prefixes(response)) == {"follower", "followee"}


def test_admin_user_change_adds_game_to_list(admin_client, user):
    celeste = make_game(igdb="26226", name="Celeste")
    url = reverse("admin:users_user_change", args=[user.pk])
    prefixes = inline_prefixes(admin_client.get(url))

    response = admin_client.post(
        url, change_form_data(user, prefixes, played=[celeste.pk], bio="I like games")
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert list(user.played.all()) == [celeste]
    assert user.bio == "I like games"


def test_admin_user_change_adds_follow(admin_client, user, other_user):
    url = reverse("admin:users_user_change", args=[user.pk])
    prefixes = inline_prefixes(admin_client.get(url))
    following = prefixes["follower"]

    response = admin_client.post(
        url,
        change_form_data(
            user,
            prefixes,
            **{f"{following}-TOTAL_FORMS": "1", f"{following}-0-followee": str(other_user.pk)},
        ),
    )

    assert response.status_code == 302
    assert list(Follow.objects.values_list("follower", "followee")) == [(user.pk, other_user.pk)]


def test_admin_user_autocomplete_for_game_lists(admin_client, user):
    celeste = make_game(igdb="26226", name="Celeste")
    make_game(igdb="1877", name="Cyberpunk 2077")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "cel", "app_label": "users", "model_name": "user", "field_name": "played"},
    )

    assert response.status_code == 200
    assert response.json() == {
        "results": [{"id": str(celeste.pk), "text": "Celeste"}],
        "pagination": {"more": False},
    }


def test_admin_user_autocomplete_for_follow_inline(admin_client, user, other_user):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "badel", "app_label": "users", "model_name": "follow", "field_name": "followee"},
    )

    assert response.status_code == 200
    assert response.json()["results"] == [{"id": str(other_user.pk), "text": "badeline"}]


def test_admin_knox_token_changelist_loads(admin_client, user):
    AuthToken.objects.create(user=user)

    response = admin_client.get(reverse("admin:knox_authtoken_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_admin_knox_token_add_page_loads(admin_client):
    response = admin_client.get(reverse("admin:knox_authtoken_add"))

    assert response.status_code == 200


def test_admin_knox_token_change_page_loads(admin_client, user):
    instance, _token = AuthToken.objects.create(user=user)

    response = admin_client.get(reverse("admin:knox_authtoken_change", args=[quote(instance.pk)]))

    assert response.status_code == 200
    assert response.context["original"] == instance


@pytest.mark.django_db
def test_admin_anonymous_redirected_to_login(client):
    response = client.get(reverse("admin:users_user_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_regular_user_redirected_to_login(client, user):
    client.force_login(user)

    response = client.get(reverse("admin:users_user_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))

"""A cheap smoke test of the benchmark's seeding and in-process measurement (small sizes)."""

from bench import prepare


def test_prepare_seed_typical_and_celebrity(db, settings):
    settings.ROOT_URLCONF = "bench.urls"

    info = prepare.seed([50])
    typical = prepare.measure("/api/users/typical")
    celebrity = prepare.measure("/api/users/celeb50")
    floor = prepare.measure("/bench/floor/")
    current_user = prepare.measure("/api/users/user/", info["token"])

    assert info["celebrities"] == {50: "celeb50"}
    # The profile document is one query (users.profile_document).
    assert typical["queries"] == 1
    assert celebrity["queries"] == 1
    assert floor["queries"] == 0
    assert current_user["queries"] == 1


def test_prepare_seed_profile_sizes(api_client, db):
    prepare.seed([50])

    typical = api_client.get("/api/users/typical").json()
    celebrity = api_client.get("/api/users/celeb50").json()

    assert [len(typical[name]) for name in ("played", "liked", "backlog", "wishlist")] == [50] * 4
    assert len(typical["following"]) == len(typical["followers"]) == prepare.TYPICAL_FOLLOWS
    assert len(celebrity["followers"]) == 50
    assert celebrity["followers"] == sorted(celebrity["followers"])


def test_prepare_seed_mix_users_act_and_log_in(api_client, db, tmp_path):
    prepare.seed([50])
    prepare.seed_mix(tmp_path / "mix.txt")

    lines = (tmp_path / "mix.txt").read_text().splitlines()
    actors = [line.split()[1:] for line in lines if line.startswith("actor ")]
    logins = [line.split()[1:] for line in lines if line.startswith("login ")]
    assert len(actors) == prepare.MIX_ACTORS and len(logins) == prepare.MIX_LOGIN_USERS
    username, token = actors[0]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/users/user/").json()["username"] == username
    assert len(api_client.get(f"/api/users/{username}").json()["following"]) == 20
    api_client.credentials()
    login = api_client.post(
        "/api/users/login/", {"username": logins[0][0], "password": logins[0][1]}, format="json"
    )
    assert login.status_code == 200

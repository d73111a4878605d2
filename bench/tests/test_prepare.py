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
    # The profile document is one query (users.selectors).
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

"""core.compat's private interfaces still behave as the version named in each was written for.

A failure here after an upgrade means the shim needs a look, not that the test is wrong."""

from knox.models import AuthToken

from core.compat import planned_deletion
from games.models import Game
from users.models import Follow, User
from users.tests.factories import make_user


def test_planned_deletion_of_a_user_counts_each_cascade_of_django_5_2(db):
    madeline = make_user(username="madeline")
    for fan in (make_user(), make_user()):
        Follow.objects.create(follower=fan, followee=madeline)
    Follow.objects.create(follower=madeline, followee=make_user())
    madeline.played.add(Game.objects.create(igdb="18099", name="Pokemon Moon"))
    AuthToken.objects.create(user=madeline)

    counts, fetched = planned_deletion(User.objects.filter(pk=madeline.pk), using="default")

    assert {model: n for model, n in counts.items() if n} == {
        User: 1,
        Follow: 3,
        User.played.through: 1,
        AuthToken: 1,
    }
    # The user is fetched (its deletion cascades); its follows are counted, never fetched.
    assert {model: list(objs) for model, objs in fetched.items() if objs} == {User: [madeline]}
    assert User.objects.filter(pk=madeline.pk).exists()  # planned, not done

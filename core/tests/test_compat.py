"""core.compat's private interfaces still behave as the version named in each was written for.

A failure here after an upgrade means the shim needs a look, not that the test is wrong."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from knox.models import AuthToken

from core.compat import errors_occurred, in_atomic_block, planned_deletion
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


@pytest.mark.django_db(transaction=True)
def test_errors_occurred_is_set_by_a_database_error_of_django_5_2():
    connection.ensure_connection()
    connection.close_if_unusable_or_obsolete()  # clears the flag, as the end of a request does
    assert not errors_occurred(connection)

    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_here")

    assert errors_occurred(connection)


@pytest.mark.django_db(transaction=True)
def test_errors_occurred_is_not_set_by_an_integrity_error_of_django_5_2():
    connection.ensure_connection()
    connection.close_if_unusable_or_obsolete()
    make_user(username="madeline")

    with pytest.raises(IntegrityError):
        User.objects.create(username="madeline", email="other@example.com")

    assert not errors_occurred(connection)


@pytest.mark.django_db(transaction=True)
def test_in_atomic_block_follows_transaction_atomic_of_django_5_2():
    assert not in_atomic_block(connection)
    with transaction.atomic():
        assert in_atomic_block(connection)
    assert not in_atomic_block(connection)

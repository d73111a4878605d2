"""users.0005 reserves "logoutall": it refuses while an account holds the name, and reverses."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("users", "0004_follow_followers_index")
RESERVING = ("users", "0005_reserve_logoutall")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def before_reserving():
    """The database with users.0005 unapplied, and the User model of that moment."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    apps = executor.loader.project_state([BEFORE]).apps
    try:
        yield apps.get_model("users", "User")
    finally:
        apps.get_model("users", "User").objects.all().delete()
        call_command("migrate", verbosity=0)


def applied() -> set[str]:
    executor = MigrationExecutor(connection)
    return {name for app, name in executor.loader.applied_migrations if app == "users"}


def test_migration_reserving_logoutall_refuses_while_an_account_holds_it(before_reserving):
    taken = before_reserving.objects.create(username="LogoutAll", email="la@example.com")

    with pytest.raises(CommandError) as excinfo:
        call_command("migrate", *RESERVING, verbosity=0)

    assert str(excinfo.value) == (
        f'"logoutall" is now a reserved username, but user {taken.pk} is called "LogoutAll": '
        "rename that account (Django admin or manage.py shell), then run migrate again."
    )
    assert RESERVING[1] not in applied()
    assert before_reserving.objects.filter(pk=taken.pk, username="LogoutAll").exists()


def test_migration_reserving_logoutall_applies_after_the_rename(before_reserving):
    taken = before_reserving.objects.create(username="logoutall", email="la@example.com")
    before_reserving.objects.filter(pk=taken.pk).update(username="logoutall-renamed")

    call_command("migrate", *RESERVING, verbosity=0)

    assert RESERVING[1] in applied()
    with pytest.raises(IntegrityError), transaction.atomic():
        before_reserving.objects.create(username="LOGOUTALL", email="other@example.com")


def test_migration_reserving_logoutall_reverses_to_the_old_constraint(before_reserving):
    # Unapplied (the fixture migrated back): the name is allowed again, the older words are not.
    before_reserving.objects.create(username="logoutall", email="la@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        before_reserving.objects.create(username="Login", email="login@example.com")
    assert RESERVING[1] not in applied()

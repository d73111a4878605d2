from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from knox.models import AuthToken


def test_purge_expired_tokens_deletes_only_expired(user, other_user):
    expired, _ = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    other_expired, _ = AuthToken.objects.create(user=other_user, expiry=timedelta(hours=-3))
    live, _ = AuthToken.objects.create(user=user, expiry=timedelta(hours=1))
    endless, _ = AuthToken.objects.create(user=user, expiry=None)
    out = StringIO()

    call_command("purge_expired_tokens", stdout=out)

    assert out.getvalue() == "Deleted 2 expired token(s).\n"
    assert set(AuthToken.objects.values_list("pk", flat=True)) == {live.pk, endless.pk}


def test_purge_expired_tokens_nothing_to_delete(user):
    AuthToken.objects.create(user=user)
    out = StringIO()

    call_command("purge_expired_tokens", stdout=out)

    assert out.getvalue() == "Deleted 0 expired token(s).\n"
    assert AuthToken.objects.count() == 1

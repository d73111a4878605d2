import django.db.models.functions.text
import django.db.models.lookups
from django.core.management.base import CommandError
from django.db import migrations, models
from django.db.models.functions import Lower


def refuse_if_logoutall_is_taken(apps, schema_editor):
    """Stop, naming the account, if a user is already called "logoutall" (in any case).

    The account is not renamed here: that would change someone's login name without telling
    them. An operator picks the new name (Django admin, or `manage.py shell`:
    `u = User.objects.get_by_username("logoutall"); u.username = "..."; u.save()`) and runs
    `migrate` again. CommandError makes `migrate` print this as one line; nothing is changed.
    """
    User = apps.get_model("users", "User")
    db = schema_editor.connection.alias
    taken = list(
        User.objects.using(db)
        .alias(username_ci=Lower("username"))
        .filter(username_ci="logoutall")
        .values_list("pk", "username")
    )
    if taken:
        pk, username = taken[0]
        raise CommandError(
            f'"logoutall" is now a reserved username, but user {pk} is called "{username}": '
            "rename that account (Django admin or manage.py shell), then run migrate again."
        )


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('games', '0001_initial'),
        ('users', '0004_follow_followers_index'),
    ]

    operations = [
        migrations.RunPython(refuse_if_logoutall_is_taken, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='user',
            name='users_user_username_not_reserved',
        ),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.CheckConstraint(condition=models.Q(django.db.models.lookups.In(django.db.models.functions.text.Lower('username'), ['.', '..', 'follow', 'login', 'logout', 'logoutall', 'profile', 'register', 'unfollow', 'user']), _negated=True), name='users_user_username_not_reserved', violation_error_message='This username is reserved.'),
        ),
    ]

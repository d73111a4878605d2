import itertools

from users.models import User

DEFAULT_PASSWORD = "correct-horse-battery"
_sequence = itertools.count(1)


def make_user(*, username: str | None = None, email: str | None = None, **fields) -> User:
    n = next(_sequence)
    username = username or f"player{n}"
    return User.objects.create_user(
        username=username,
        email=email or f"{username}@example.com",
        password=fields.pop("password", DEFAULT_PASSWORD),
        **fields,
    )

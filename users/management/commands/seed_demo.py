"""manage.py seed_demo: a small game catalogue and demo users, the API document's example.

Idempotent: every run brings the demo rows to the same state and changes nothing else, so
scripts/serve.sh runs it on every start. On a fresh database the ids match the document's
example profile too (madeline is user 1 and follows user 2; Sekiro is game 3, and so on).

Demo users get an unusable password: no password logs in as them, so a deployment that ran
this by mistake has no demo login to abuse. A real account (one with a password) that holds a
demo username or email is never touched.
"""

from collections import Counter

from django.core.management.base import BaseCommand
from django.db import transaction

from games.models import Game
from users.models import GAME_LISTS, Follow, User

# (igdb, name), in id order on a fresh database: positions 3 and 9-12 are the document's ids.
# IGDB ids of the extra games are plausible catalogue ids, not checked against IGDB.
DEMO_GAMES = [
    ("7346", "The Legend of Zelda: Breath of the Wild"),
    ("14593", "Hollow Knight"),
    ("3030-68907", "Sekiro: Shadows Die Twice"),
    ("17000", "Stardew Valley"),
    ("113112", "Hades"),
    ("72", "Portal 2"),
    ("1942", "The Witcher 3: Wild Hunt"),
    ("2368", "Dark Souls"),
    ("1877", "Cyberpunk 2077"),
    ("26226", "Celeste"),
    ("19560", "God of War"),
    ("18099", "Pokémon Moon"),
    ("26758", "Super Mario Odyssey"),
    ("121", "Minecraft"),
    ("12517", "Undertale"),
]


# In creation order (madeline first, so she is user 1 on a fresh database).
DEMO_USERS = [
    {
        "username": "madeline",
        "email": "example@mail.com",
        "bio": "I like games",
        "location": "A Mountain",
        "twitter": None,
        "played": ["18099", "3030-68907"],
        "liked": ["26226"],
        "backlog": ["19560"],
        "wishlist": ["1877"],
        "following": ["theo"],
    },
    {
        "username": "theo",
        "email": "theo@example.com",
        "bio": "Selfies at the summit.",
        "location": "Celeste Mountain",
        "twitter": None,
        "played": ["26226", "72", "17000"],
        "liked": ["14593"],
        "backlog": ["1942"],
        "wishlist": ["113112"],
        "following": [],
    },
    {
        "username": "granny",
        "email": "granny@example.com",
        "bio": None,
        "location": "The foot of the mountain",
        "twitter": None,
        "played": ["2368", "12517", "121"],
        "liked": ["12517"],
        "backlog": [],
        "wishlist": ["26758"],
        "following": ["theo"],
    },
]

PROFILE_FIELDS = ("email", "bio", "location", "twitter")


class Command(BaseCommand):
    help = (
        "Create or refresh the demo game catalogue and demo users (madeline, theo, granny). "
        "Idempotent. Demo users have no usable password: nobody can log in as them."
    )

    def handle(self, *args, **options):
        self.changes = Counter()
        with transaction.atomic():
            games = self.seed_games()
            users = {}
            for spec in DEMO_USERS:
                user = self.seed_user(spec)
                if user is not None:
                    users[spec["username"]] = user
                    self.seed_lists(user, spec, games)
            for spec in DEMO_USERS:
                if spec["username"] in users:
                    self.seed_following(users[spec["username"]], spec, users)
        if self.changes:
            done = ", ".join(f"{what} {count}" for what, count in self.changes.items())
            self.stdout.write(f"seed_demo: {done}")
        else:
            self.stdout.write("seed_demo: demo data already in place, nothing to do")

    def seed_games(self) -> dict[str, Game]:
        wanted = dict(DEMO_GAMES)
        existing = {game.igdb: game for game in Game.objects.filter(igdb__in=wanted)}
        missing = [Game(igdb=igdb, name=name) for igdb, name in DEMO_GAMES if igdb not in existing]
        if missing:
            # One INSERT in list order, so a fresh database numbers them as listed.
            Game.objects.bulk_create(missing)
            self.changes["games created"] += len(missing)
        renamed = [game for game in existing.values() if game.name != wanted[game.igdb]]
        for game in renamed:
            game.name = wanted[game.igdb]
        if renamed:
            Game.objects.bulk_update(renamed, ["name"])
            self.changes["games renamed"] += len(renamed)
        return {game.igdb: game for game in Game.objects.filter(igdb__in=wanted)}

    def seed_user(self, spec: dict) -> User | None:
        username = spec["username"]
        user = User.objects.by_username(username).first()
        if user is not None and user.has_usable_password():
            self.stderr.write(
                f"seed_demo: {username!r} is a real account (it has a password); left alone"
            )
            return None
        email_owner = User.objects.by_email(spec["email"]).first()
        if email_owner is not None and (user is None or email_owner.pk != user.pk):
            self.stderr.write(
                f"seed_demo: {spec['email']!r} belongs to another account; {username!r} skipped"
            )
            return None
        if user is None:
            user = User(username=username, **{field: spec[field] for field in PROFILE_FIELDS})
            user.set_unusable_password()
            user.save()
            self.changes["users created"] += 1
            return user
        # An existing demo user: put back anything an admin changed, and keep it powerless.
        wanted = {field: spec[field] for field in PROFILE_FIELDS}
        wanted.update(is_active=True, is_staff=False, is_superuser=False)
        stale = [field for field, value in wanted.items() if getattr(user, field) != value]
        for field in stale:
            setattr(user, field, wanted[field])
        if stale:
            user.save(update_fields=stale)
            self.changes["users updated"] += 1
        return user

    def seed_lists(self, user: User, spec: dict, games: dict[str, Game]) -> None:
        for list_name in GAME_LISTS:
            through = User._meta.get_field(list_name).remote_field.through
            rows = through.objects.filter(user=user).order_by("pk")
            current = list(rows.values_list("game__igdb", flat=True))
            if current == spec[list_name]:
                continue
            related = getattr(user, list_name)
            related.clear()
            # One add per game: the profile lists games in the order they were added, and
            # add(*many) inserts in an unspecified order.
            for igdb in spec[list_name]:
                related.add(games[igdb])
            self.changes["game lists set"] += 1

    def seed_following(self, user: User, spec: dict, users: dict[str, User]) -> None:
        wanted = [users[name] for name in spec["following"] if name in users]
        rows = Follow.objects.filter(follower=user).order_by("pk")
        current = list(rows.values_list("followee_id", flat=True))
        if current == [followee.pk for followee in wanted]:
            return
        rows.delete()
        for followee in wanted:
            user.follow(followee)
        self.changes["follow lists set"] += 1

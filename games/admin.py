from django.contrib import admin

from core.admin import BoundedDeleteMixin, ScaledAdminMixin
from core.admin_counts import CountColumnsMixin, count_column, count_subquery
from games.models import Game

# Each game list of users, by the name its reverse relation has on Game.
HOLDERS = {
    "played": "played_by",
    "liked": "liked_by",
    "backlog": "backlogged_by",
    "wishlist": "wishlisted_by",
}


@admin.register(Game)
class GameAdmin(CountColumnsMixin, BoundedDeleteMixin, ScaledAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "igdb",
        "played_count",
        "liked_count",
        "backlog_count",
        "wishlist_count",
    ]
    search_fields = ["name", "igdb"]
    ordering = ["name"]

    def get_count_annotations(self):
        # How many users hold the game in each list, for the page's rows in one query.
        return {
            f"{list_name}_count": count_subquery(Game._meta.get_field(related_name).through, "game")
            for list_name, related_name in HOLDERS.items()
        }

    played_count = count_column("played_count", "played by")
    liked_count = count_column("liked_count", "liked by")
    backlog_count = count_column("backlog_count", "in backlogs")
    wishlist_count = count_column("wishlist_count", "on wishlists")

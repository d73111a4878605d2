from django.contrib import admin

from games.models import Game


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["name", "igdb"]
    search_fields = ["name", "igdb"]
    ordering = ["name"]

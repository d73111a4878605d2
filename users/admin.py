from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.db.models import Q
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from knox.admin import AuthTokenAdmin as KnoxAuthTokenAdmin
from knox.models import AuthToken

from core.admin import (
    BoundedDeleteMixin,
    ScaledAdminMixin,
    name_auto_created_model,
    selected_filter,
)
from core.admin_counts import CountColumnsMixin, count_column, count_subquery
from games.models import Game
from users.models import GAME_LISTS, Follow, User

# The admin of each game list's rows (users.User_played, ...), by list name.
GAME_LIST_MODELS = {name: User._meta.get_field(name).remote_field.through for name in GAME_LISTS}


class UserCreationForm(AdminUserCreationForm):
    """Django's admin add-user form (with its "usable password" switch), plus the email every
    Overworld user must have."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


def games_to_add(list_name: str) -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        Game.objects.all(),
        required=False,
        label=f"Add to {list_name}",
        help_text="The games chosen here are added; the games already listed stay.",
        # Searches the games as the model field's autocomplete did (same URL and parameters).
        widget=AutocompleteSelectMultiple(User._meta.get_field(list_name), admin.site),
    )


class UserChangeForm(DjangoUserChangeForm):
    """Django's change form, with each game list as "games to add" instead of the whole list.

    The model's M2M fields would load every game of the list to fill the form and render one
    selected option each (a collector's 10,000 games); excluded, they cost nothing. A list is
    browsed and trimmed in its own admin (the count link beside the field).
    """

    played = games_to_add("played")
    liked = games_to_add("liked")
    backlog = games_to_add("backlog")
    wishlist = games_to_add("wishlist")

    class Meta(DjangoUserChangeForm.Meta):
        model = User
        exclude = GAME_LISTS

    def add_games(self) -> None:
        for name in GAME_LISTS:
            games = self.cleaned_data.get(name)
            if games:
                getattr(self.instance, name).add(*games)


class AddOnlyInline(admin.TabularInline):
    """Adds follows from a user's page without rendering the existing ones.

    One form per existing follow is what made a celebrity's page 44 MB; the follows are counted
    on the page and listed, paginated, by the Follow admin it links to.
    """

    model = Follow
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).none()


class FollowingInline(AddOnlyInline):
    fk_name = "follower"
    autocomplete_fields = ["followee"]
    verbose_name = "following"
    verbose_name_plural = "follow someone (existing follows: see Following above)"


class FollowersInline(AddOnlyInline):
    fk_name = "followee"
    autocomplete_fields = ["follower"]
    verbose_name = "follower"
    verbose_name_plural = "add a follower (existing followers: see Followers above)"


def changelist_link(model, text: str, **filters) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def counted(count: int, singular: str, plural: str) -> str:
    return f"{number_format(count, force_grouping=True)} {singular if count == 1 else plural}"


@admin.register(User)
class UserAdmin(CountColumnsMixin, BoundedDeleteMixin, ScaledAdminMixin, DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserChangeForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("email", "bio", "location", "twitter")}),
        ("Follows", {"fields": ("followers_link", "following_link")}),
        (
            "Games",
            {
                "fields": (
                    ("played_link", "played"),
                    ("liked_link", "liked"),
                    ("backlog_link", "backlog"),
                    ("wishlist_link", "wishlist"),
                )
            },
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = [
        "followers_link",
        "following_link",
        "played_link",
        "liked_link",
        "backlog_link",
        "wishlist_link",
    ]
    inlines = [FollowingInline, FollowersInline]
    list_display = [
        "username",
        "email",
        "followers_count",
        "following_count",
        "played_count",
        "liked_count",
        "backlog_count",
        "wishlist_count",
        "is_active",
        "is_staff",
        "date_joined",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["username", "email", "location"]
    ordering = ["username"]

    def get_inline_instances(self, request, obj=None):
        # The add page is Django's short form (name, email, password); follows come after.
        return super().get_inline_instances(request, obj) if obj is not None else []

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if isinstance(form, UserChangeForm):
            form.add_games()

    def get_count_annotations(self):
        # Counted for the page's rows in one query (core/admin_counts.py), not one per row.
        counts = {
            "followers_count": count_subquery(Follow, "followee"),
            "following_count": count_subquery(Follow, "follower"),
        }
        for list_name, through in GAME_LIST_MODELS.items():
            counts[f"{list_name}_count"] = count_subquery(through, "user")
        return counts

    followers_count = count_column("followers_count", "followers")
    following_count = count_column("following_count", "following")
    played_count = count_column("played_count", "played")
    liked_count = count_column("liked_count", "liked")
    backlog_count = count_column("backlog_count", "backlog")
    wishlist_count = count_column("wishlist_count", "wishlist")

    # The change page's links: the counts come with the object (CountColumnsMixin.get_object),
    # each opens the paginated admin list of those rows filtered to this user.
    @admin.display(description="followers")
    def followers_link(self, obj):
        text = counted(obj.followers_count, "follower", "followers")
        return changelist_link(Follow, text, followee__id__exact=obj.pk)

    @admin.display(description="following")
    def following_link(self, obj):
        text = f"follows {counted(obj.following_count, 'user', 'users')}"
        return changelist_link(Follow, text, follower__id__exact=obj.pk)

    def _games_link(self, obj, name):
        text = counted(getattr(obj, f"{name}_count"), "game", "games")
        return changelist_link(GAME_LIST_MODELS[name], text, user__id__exact=obj.pk)

    @admin.display(description="played")
    def played_link(self, obj):
        return self._games_link(obj, "played")

    @admin.display(description="liked")
    def liked_link(self, obj):
        return self._games_link(obj, "liked")

    @admin.display(description="backlog")
    def backlog_link(self, obj):
        return self._games_link(obj, "backlog")

    @admin.display(description="wishlist")
    def wishlist_link(self, obj):
        return self._games_link(obj, "wishlist")


@admin.register(Follow)
class FollowAdmin(BoundedDeleteMixin, ScaledAdminMixin, admin.ModelAdmin):
    """Every follow, newest first; a user's followers or followings via the user page's links."""

    list_display = ["__str__", "follower", "followee", "created_at"]
    list_display_links = ["__str__"]
    list_select_related = ["follower", "followee"]
    list_filter = [
        selected_filter("followee", "followee", "username"),
        selected_filter("follower", "follower", "username"),
        "created_at",
    ]
    # Searched by whole username (any case) through the username index, see get_search_results.
    search_fields = ["follower__username", "followee__username"]
    search_help_text = "A username, whole (any case): that user's follows, both ways."
    autocomplete_fields = ["follower", "followee"]
    ordering = ["-pk"]
    readonly_fields = ["created_at"]

    def get_ordering(self, request):
        # One user's followings: in the order of the unique (follower, followee) index, which
        # needs no sort; newest first would sort all of a big follower's rows on every page.
        # (Followers have the (followee, id) index, so they stay newest first.)
        params = request.GET
        if "follower__id__exact" in params and "followee__id__exact" not in params:
            if not any(key in params for key in ("o", "q")):
                return ["follower_id", "followee_id"]
        return super().get_ordering(request)

    def get_search_results(self, request, queryset, search_term):
        # Django's search is `icontains` on both usernames: a scan of every follow joined twice
        # to users (1.4 s at 1.2M follows on SQLite). A whole username is an index lookup.
        term = search_term.strip()
        if not term:
            return queryset, False
        # The id first, as a literal: with a subquery in the OR, PostgreSQL walks every follow
        # newest first looking for a match (1.7 s at 1.2M follows) instead of two index scans.
        users = list(User.objects.by_username(term).values_list("pk", flat=True))
        return queryset.filter(Q(follower__in=users) | Q(followee__in=users)), False


class GameListAdmin(BoundedDeleteMixin, ScaledAdminMixin, admin.ModelAdmin):
    """The rows of one game list (user, game), for lists too long to edit as one field.

    The through tables are Django's auto-created ones, which get no permissions of their own:
    like Django's inlines for them, whoever may change users may change their lists.
    """

    list_display = ["user", "game"]
    list_select_related = ["user", "game"]
    list_filter = [selected_filter("user", "user", "username")]
    search_fields = ["user__username", "game__name", "game__igdb"]
    search_help_text = "A username (whole, any case), a game's igdb id, or part of its name."
    autocomplete_fields = ["user", "game"]
    ordering = ["-pk"]

    def get_search_results(self, request, queryset, search_term):
        # As FollowAdmin: the user by the username index, the games by the (small) catalogue,
        # rather than a LIKE over every entry joined to users and games.
        term = search_term.strip()
        if not term:
            return queryset, False
        users = list(User.objects.by_username(term).values_list("pk", flat=True))
        games = Game.objects.filter(Q(igdb=term) | Q(name__icontains=term)).values("pk")
        return queryset.filter(Q(user__in=users) | Q(game__in=games)), False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("users.view_user") or self.has_change_permission(request)

    def has_add_permission(self, request):
        return self.has_change_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("users.change_user")

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request)


for _name, _through in GAME_LIST_MODELS.items():
    # The auto-created through models are all called "User-game relationship"; the admin index
    # and its breadcrumbs need to tell the four apart. Display names only, no migration.
    name_auto_created_model(_through, f"{_name} entry", f"{_name} entries")
    admin.site.register(_through, GameListAdmin)


# knox registers its own AuthToken admin; this one adds a revoke action and shows each token's
# user without a query per row.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(ScaledAdminMixin, KnoxAuthTokenAdmin):
    list_display = ("token_key", "user", "created", "expiry")
    list_select_related = ("user",)
    list_filter = ("created", "expiry")
    ordering = ("-created",)
    actions = ["revoke_tokens"]

    @admin.action(description="Revoke selected tokens (their holders are logged out)")
    def revoke_tokens(self, request, queryset):
        # Deleting the row is what knox's logout does: the token stops authenticating at once.
        revoked, _by_model = queryset.delete()
        self.message_user(request, f"Revoked {revoked} token(s).")

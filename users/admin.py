from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from knox.admin import AuthTokenAdmin as KnoxAuthTokenAdmin
from knox.models import AuthToken

from overworld.admin_counts import count_column, count_subquery
from users.models import GAME_LISTS, Follow, User


class UserCreationForm(AdminUserCreationForm):
    """Django's admin add-user form (with its "usable password" switch), plus the email every
    Overworld user must have."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class FollowingInline(admin.TabularInline):
    model = Follow
    fk_name = "follower"
    autocomplete_fields = ["followee"]
    extra = 0
    verbose_name = "following"
    verbose_name_plural = "following"


class FollowersInline(admin.TabularInline):
    model = Follow
    fk_name = "followee"
    autocomplete_fields = ["follower"]
    extra = 0
    verbose_name = "follower"
    verbose_name_plural = "followers"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
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
        ("Games", {"fields": ("played", "liked", "backlog", "wishlist")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    autocomplete_fields = ["played", "liked", "backlog", "wishlist"]
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

    def get_queryset(self, request):
        # Counted in the changelist's one query (overworld/admin_counts.py), not one per row.
        counts = {
            "followers_count": count_subquery(Follow, "followee"),
            "following_count": count_subquery(Follow, "follower"),
        }
        for list_name in GAME_LISTS:
            through = User._meta.get_field(list_name).remote_field.through
            counts[f"{list_name}_count"] = count_subquery(through, "user")
        return super().get_queryset(request).annotate(**counts)

    followers_count = count_column("followers_count", "followers")
    following_count = count_column("following_count", "following")
    played_count = count_column("played_count", "played")
    liked_count = count_column("liked_count", "liked")
    backlog_count = count_column("backlog_count", "backlog")
    wishlist_count = count_column("wishlist_count", "wishlist")


# knox registers its own AuthToken admin; this one adds a revoke action and shows each token's
# user without a query per row.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(KnoxAuthTokenAdmin):
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

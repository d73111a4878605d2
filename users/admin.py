from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm

from users.models import Follow, User


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
    list_display = ["username", "email", "location", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["username", "email", "location"]
    ordering = ["username"]

    def get_inline_instances(self, request, obj=None):
        # The add page is Django's short form (name, email, password); follows come after.
        return super().get_inline_instances(request, obj) if obj is not None else []

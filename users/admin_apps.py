from django.contrib.admin.apps import AdminConfig


class ThrottledAdminConfig(AdminConfig):
    """django.contrib.admin with the login throttle (users/admin_login.py) as its default site.

    Django's documented way to override the default admin site; `admin.site` and every
    `@admin.register` keep working. This module imports no model: INSTALLED_APPS loads it.
    """

    default_site = "users.admin_login.ThrottledAdminSite"

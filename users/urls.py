from django.urls import re_path

from users import views

# Django's username rules: letters, digits and @.+-_, at most 150. Anything else (a NUL byte,
# a slash, 151 characters) matches no route and answers 404 before reaching the database.
USERNAME = r"(?P<username>[\w.@+-]{1,150})"

# Every route takes its trailing slash as optional: a POST without it cannot be redirected.
urlpatterns = [
    re_path(r"^user/?$", views.CurrentUserView.as_view(), name="current-user"),
    re_path(r"^register/?$", views.RegisterView.as_view(), name="register"),
    re_path(r"^login/?$", views.LoginView.as_view(), name="login"),
    re_path(r"^logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^follow/?$", views.FollowView.as_view(), name="follow"),
    re_path(r"^unfollow/?$", views.UnfollowView.as_view(), name="unfollow"),
    re_path(rf"^profile/{USERNAME}/?$", views.ProfileUpdateView.as_view(), name="profile-update"),
    re_path(rf"^{USERNAME}/?$", views.ProfileView.as_view(), name="profile"),
]

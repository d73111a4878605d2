"""Every username the API accepts can be reached again through the username routes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import status

from users.models import User

username_chars = st.characters(codec="utf-8", exclude_categories=["Cs"])
candidate_usernames = st.one_of(
    st.text(alphabet=st.sampled_from("abcXYZ019.@+-_"), min_size=1, max_size=20),
    st.text(alphabet=username_chars, min_size=1, max_size=20),
)


@pytest.mark.django_db
@settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(username=candidate_usernames)
def test_username_accepted_by_update_resolves_on_every_username_route(auth_client, user, username):
    User.objects.filter(pk=user.pk).update(username="madeline")

    update = auth_client.post("/api/users/profile/madeline", {"username": username}, format="json")
    if update.status_code != status.HTTP_200_OK:
        assert update.status_code == status.HTTP_400_BAD_REQUEST
        return
    stored = User.objects.get(pk=user.pk).username

    for path in (f"/api/users/{stored}", f"/api/users/profile/{stored}"):
        response = auth_client.get(path)
        assert response.status_code == status.HTTP_200_OK, (stored, path)
        assert response.json()["id"] == user.pk

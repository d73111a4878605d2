from rest_framework import status


def test_current_user_returns_caller(auth_client, user):
    response = auth_client.get("/api/users/user/")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {
        "id": user.pk,
        "username": "madeline",
        "email": "madeline@example.com",
    }

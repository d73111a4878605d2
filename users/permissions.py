from rest_framework import permissions


class IsProfileOwnerOrReadOnly(permissions.BasePermission):
    """Anyone may read a profile; only its owner may change it."""

    message = "You can only update your own profile."

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in permissions.SAFE_METHODS or obj.pk == request.user.pk

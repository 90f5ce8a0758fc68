"""Staff-only endpoints: a labeler gets 403 with a message; an anonymous caller 401 (DRF decides)."""
from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    message = "Only staff can use this endpoint."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)

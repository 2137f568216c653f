"""Shared admin behaviour."""


class NoDeleteAdmin:
    """Records with history are archived or deactivated, never deleted from the admin."""

    def has_delete_permission(self, request, obj=None):
        return False

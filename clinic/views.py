from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import render


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


class PermissionFirstMixin(PermissionRequiredMixin):
    """Check the permission before any lookup, so a role without access gets 403 whether or not
    the object exists (a 404 would tell them which records exist)."""

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.load(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def load(self, **kwargs):
        """Look up the objects the page is about (after the permission check)."""

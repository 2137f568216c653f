"""The one permission rule for the clinic's views (and the API to come).

Every view that is not public mixes in `Permitted` and declares what it needs:

    class RecordEditView(Permitted, UpdateView):
        permission_required = "clinical.change_medicalrecord"        # all of these ...
        # any_permission = ("documents.view_clinicaldocument", ...)  # ... or at least one of these

        def load(self, pk, **kwargs):
            self.record = get_object_or_404(visible_records(self.request.user), pk=pk)

In this order, for every request:
1. not signed in: to the sign-in page (LoginRequiredMiddleware already does it; kept for safety);
2. the permission is checked before anything is looked up, so a refused role gets 403 for an id
   that exists and for one that does not (a 404 would tell it which records exist);
3. `load(**url_kwargs)` looks up the objects the page is about, from querysets narrowed to what
   this user may see; a view whose objects must not leak (one the user may not see answers like
   a missing one) raises `PermissionDenied` or `Http404` there, the same for both.

Views that are public on purpose (sign-in, health checks) are marked with Django's
`login_not_required`; tests/test_access.py checks that every other URL's view is `Permitted`.
"""

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import ImproperlyConfigured


def _as_tuple(value):
    return (value,) if isinstance(value, str) else tuple(value or ())


class Permitted(AccessMixin):
    permission_required = ()  # every one of these
    any_permission = ()  # at least one of these (when given)

    def get_permission_required(self):
        """Every permission this view needs (the access matrix reads this)."""
        return _as_tuple(self.permission_required)

    def get_any_permission(self):
        return _as_tuple(self.any_permission)

    def has_permission(self):
        required, any_of = self.get_permission_required(), self.get_any_permission()
        if not required and not any_of:
            raise ImproperlyConfigured(f"{type(self).__name__} declares no permission_required or any_permission.")
        user = self.request.user
        if required and not user.has_perms(required):
            return False
        return not any_of or any(user.has_perm(permission) for permission in any_of)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_permission():
            return self.handle_no_permission()
        self.load(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def load(self, **kwargs):
        """Look up the objects the page is about (after the permission check)."""


class SignedIn(Permitted):
    """Any signed-in member of staff, about their own account only (two-factor, sessions): no role is
    needed, and each such view acts on request.user and nobody else, so there is nothing to narrow."""

    def has_permission(self):
        return self.request.user.is_authenticated

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


def view_on_site(request, content_type_id, object_id):
    """The admin's "view on site" link, refused (403, whether the object exists or not) to anyone
    who may not view that kind of object; Django's own shortcut checks only staff status, so its
    302 or 404 would confirm which medical record ids exist."""
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.contenttypes.views import shortcut
    from django.core.exceptions import PermissionDenied

    try:
        content_type = ContentType.objects.get_for_id(content_type_id)
    except ContentType.DoesNotExist:
        raise PermissionDenied from None
    if not request.user.has_perm(f"{content_type.app_label}.view_{content_type.model}"):
        raise PermissionDenied
    return shortcut(request, content_type_id, object_id)

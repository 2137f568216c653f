import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults

# Seconds a browser (or a client that honours Retry-After) is asked to wait before trying again.
RETRY_AFTER = 10


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def server_error(request):
    """Django's 500 page, except when the database could not serve the request (it did not answer in time,
    could not be reached, was locked, cancelled the query): then 503 with "try again in a moment", since
    trying again is what helps. Like the 500 page it renders without the database or a request context."""
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    return defaults.server_error(request)


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

"""/favicon.ico: browsers ask for it at the site's root whatever the page says, so it is answered there
(a 404 on every first visit otherwise). The icon is the static file static/favicon.ico, found the way
collectstatic finds it; no sign-in, as the browser asks for it on the sign-in page too."""

from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

ICON = "favicon.ico"


@login_not_required
@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request):
    path = finders.find(ICON)
    if path is None:
        raise Http404("No favicon.ico among the static files")
    return FileResponse(open(path, "rb"), content_type="image/vnd.microsoft.icon")  # noqa: SIM115 (FileResponse closes it)

"""/api/: the OpenAPI 3 schema and its documentation pages (Swagger UI and Redoc, served from this
site by drf-spectacular-sidecar: no CDN), and each app's own API under /api/v1/ (clinic/urls.py)."""

from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from clinic.api import Endpoint

app_name = "api"


class Schema(Endpoint, SpectacularAPIView):
    pass


class Docs(Endpoint, SpectacularSwaggerSplitView):
    pass


class Redoc(Endpoint, SpectacularRedocView):
    pass


urlpatterns = [
    path("schema/", Schema.as_view(), name="schema"),
    path("docs/", Docs.as_view(url_name="api:schema"), name="docs"),
    # Redoc styles itself with <style> elements it makes at run time and renders in a worker: its page
    # alone (documentation, no records) allows both.
    path(
        "redoc/",
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(Redoc.as_view(url_name="api:schema")),
        name="redoc",
    ),
]

"""/api/: the OpenAPI 3 schema and its documentation pages (Swagger UI and Redoc, served from this
site by drf-spectacular-sidecar: no CDN), and each app's own API under /api/v1/ (clinic/urls.py)."""

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
    path("redoc/", Redoc.as_view(url_name="api:schema"), name="redoc"),
]

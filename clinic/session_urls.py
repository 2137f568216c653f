from django.urls import path

from . import session_views

app_name = "session"

urlpatterns = [
    path("keep-alive/", session_views.KeepAliveView.as_view(), name="keep_alive"),
    path("draft/", session_views.DraftView.as_view(), name="draft"),
    path("draft/discard/", session_views.DiscardDraftView.as_view(), name="draft_discard"),
]

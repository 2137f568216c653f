"""Signing in and out and one's own password: un-namespaced names Django's auth expects (login, logout)."""

from django.urls import path

from .landing import SignInView
from .security_views import OwnPasswordChangeDoneView, OwnPasswordChangeView, SignOutView

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    path("password/", OwnPasswordChangeView.as_view(), name="password_change"),
    path("password/done/", OwnPasswordChangeDoneView.as_view(), name="password_change_done"),
]

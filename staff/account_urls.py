"""Signing in and out and one's own password: un-namespaced names Django's auth expects (login, logout)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .forms import OwnPasswordChangeForm
from .landing import SignInView

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(form_class=OwnPasswordChangeForm), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

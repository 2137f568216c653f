"""The home page (un-namespaced "home"): the day's board."""

from django.urls import path

from .views import DashboardView

urlpatterns = [path("", DashboardView.as_view(), name="home")]

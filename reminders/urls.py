from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import services
from .views import LinkPage

app_name = "reminders"

# Patients open these from a reminder, without signing in: the signed, single-use token is the key.
urlpatterns = [
    path("confirm/<str:token>/", login_not_required(LinkPage.as_view(purpose=services.CONFIRM)), name="confirm"),
    path("cancel/<str:token>/", login_not_required(LinkPage.as_view(purpose=services.CANCEL)), name="cancel"),
    path("stop/<str:token>/", login_not_required(LinkPage.as_view(purpose=services.OPT_OUT)), name="opt_out"),
]

from django.urls import path

from . import feeds

app_name = "feeds"

urlpatterns = [
    # A doctor's private iCalendar feed; the secret is the only key (scheduling/feeds.py).
    path("<str:secret>.ics", feeds.doctor_feed, name="doctor"),
]

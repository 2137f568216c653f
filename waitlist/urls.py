from django.urls import path

from . import views

app_name = "waitlist"

urlpatterns = [
    path("", views.WaitlistView.as_view(), name="list"),
    path("add/", views.AddEntryView.as_view(), name="add"),
    path("<int:pk>/edit/", views.EditEntryView.as_view(), name="edit"),
    path("<int:pk>/remove/", views.RemoveEntryView.as_view(), name="remove"),
    path("freed/<int:appointment_pk>/book/<int:entry_pk>/", views.BookFromWaitlistView.as_view(), name="book"),
    path("freed/<int:appointment_pk>/offer/", views.OfferView.as_view(), name="offer"),
    # A time an appointment was moved from (Today links to it).
    path("moved/<int:moved_pk>/", views.MovedTimeView.as_view(), name="moved"),
    path("moved/<int:moved_pk>/book/<int:entry_pk>/", views.BookFromWaitlistView.as_view(), name="book_moved"),
    path("moved/<int:moved_pk>/offer/", views.OfferView.as_view(), name="offer_moved"),
    # The patient's page from an offer's message (no sign-in: the signed link is the credential).
    path("offer/<str:token>/", views.AcceptOfferView.as_view(), name="accept"),
]

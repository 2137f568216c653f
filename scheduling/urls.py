from django.urls import path

from . import views

app_name = "scheduling"


def action(name, permission, done):
    return views.AppointmentActionView.as_view(action=name, permission_required=permission, done=done)


urlpatterns = [
    path("book/", views.BookAppointmentView.as_view(), name="book"),
    path("day/", views.DayCalendarView.as_view(), name="day"),
    path("week/<int:doctor_pk>/", views.WeekCalendarView.as_view(), name="week"),
    path("slots/", views.FreeSlotsView.as_view(), name="slots"),
    path("<int:pk>/", views.AppointmentDetailView.as_view(), name="detail"),
    path("<int:pk>/reschedule/", views.RescheduleView.as_view(), name="reschedule"),
    path("<int:pk>/cancel/", views.CancelView.as_view(), name="cancel"),
    path("<int:pk>/confirm/", action("confirm", "scheduling.change_appointment", "confirmed"), name="confirm"),
    path("<int:pk>/check-in/", action("check_in", "scheduling.check_in_appointment", "checked in"), name="check_in"),
    path(
        "<int:pk>/no-show/",
        action("mark_no_show", "scheduling.check_in_appointment", "marked as no-show"),
        name="no_show",
    ),
    path(
        "<int:pk>/start/",
        action("start_visit", "scheduling.start_visit_appointment", "consultation started"),
        name="start",
    ),
    path(
        "<int:pk>/complete/",
        action("complete", "scheduling.start_visit_appointment", "visit completed"),
        name="complete",
    ),
]

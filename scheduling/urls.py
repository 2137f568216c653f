from django.urls import path

from . import booking_views, series_views, views

app_name = "scheduling"


urlpatterns = [
    path("book/", booking_views.BookAppointmentView.as_view(), name="book"),
    path("series/book/", series_views.SeriesBookView.as_view(), name="series_book"),
    path("day/", views.DayCalendarView.as_view(), name="day"),
    path("week/<int:doctor_pk>/", views.WeekCalendarView.as_view(), name="week"),
    path("slots/", booking_views.FreeSlotsView.as_view(), name="slots"),
    path("<int:pk>/", views.AppointmentDetailView.as_view(), name="detail"),
    path("<int:pk>/reschedule/", booking_views.RescheduleView.as_view(), name="reschedule"),
    path("<int:pk>/undo-booking/", booking_views.UndoBookingView.as_view(), name="undo_booking"),
    path("<int:pk>/series/move/", series_views.SeriesMoveView.as_view(), name="series_move"),
    path("<int:pk>/series/cancel/", series_views.SeriesCancelView.as_view(), name="series_cancel"),
    path("<int:pk>/cancel/", views.CancelView.as_view(), name="cancel"),
    path("<int:pk>/confirm/", views.ConfirmView.as_view(), name="confirm"),
    path("<int:pk>/check-in/", views.CheckInView.as_view(), name="check_in"),
    path("<int:pk>/undo-check-in/", views.UndoCheckInView.as_view(), name="undo_check_in"),
    path("<int:pk>/no-show/", views.NoShowView.as_view(), name="no_show"),
    path("<int:pk>/start/", views.StartVisitView.as_view(), name="start"),
    path("<int:pk>/complete/", views.CompleteVisitView.as_view(), name="complete"),
]

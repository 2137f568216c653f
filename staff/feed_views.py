"""“Your calendar feed”: a doctor makes, replaces and revokes the private link that puts their appointments
in a phone's calendar; an administrator revokes anyone's (a lost phone, a link shared by mistake).

The link is shown once, on the page the "make" button leads to (its secret is kept nowhere else, only its
hash), in the same way as an API key on "Your API tokens".
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView, View

from clinic.idempotency import OncePerSubmission
from clinic.permissions import Permitted

from .models import CalendarFeed, Doctor, User
from .services import NOT_A_DOCTOR, create_calendar_feed, revoke_calendar_feed

_NEW_LINK = "new_calendar_feed_url"  # in the session, for one showing
HISTORY = 10  # the feeds listed: the one in use and the last few revoked


def feed_url(request, secret):
    return request.build_absolute_uri(reverse("feeds:doctor", args=[secret]))


def _feeds_of(doctor):
    return list(CalendarFeed.objects.filter(doctor=doctor).select_related("revoked_by")[:HISTORY])


class CalendarFeedView(OncePerSubmission, Permitted, TemplateView):
    """GET: the doctor's feed (and its address, once, just after making it); POST: a new link."""

    permission_required = "staff.add_calendarfeed"
    template_name = "staff/calendar_feed.html"

    def load(self, **kwargs):
        self.doctor = Doctor.objects.filter(user=self.request.user).select_related("user").first()

    def get_context_data(self, **kwargs):
        feeds = _feeds_of(self.doctor) if self.doctor else []
        new_url = self.request.session.pop(_NEW_LINK, None)
        return super().get_context_data(
            doctor=self.doctor,
            feeds=feeds,
            in_use=next((feed for feed in feeds if feed.revoked_at is None), None),
            new_url=new_url,
            webcal_url="webcal://" + new_url.split("://", 1)[1] if new_url else None,
            not_a_doctor=NOT_A_DOCTOR,
            **kwargs,
        )

    def post(self, request):
        if self.doctor is None:
            messages.error(request, NOT_A_DOCTOR)
            return HttpResponseRedirect(reverse("staff:calendar_feed"))
        try:
            _feed, secret = create_calendar_feed(doctor=self.doctor, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(reverse("staff:calendar_feed"))
        request.session[_NEW_LINK] = feed_url(request, secret)
        messages.success(request, "New calendar link made. Copy it now: it is not shown again. Any older link stopped.")
        return HttpResponseRedirect(reverse("staff:calendar_feed"))


class RevokeCalendarFeedView(OncePerSubmission, Permitted, View):
    """The doctor's own feed in use, revoked (nothing in use: nothing to do, said so)."""

    permission_required = "staff.add_calendarfeed"
    http_method_names = ["post"]

    def post(self, request):
        feed = CalendarFeed.objects.filter(doctor__user=request.user, revoked_at__isnull=True).first()
        if feed is None:
            messages.info(request, "You have no calendar link in use.")
        else:
            revoke_calendar_feed(feed=feed, by=request.user)
            messages.success(request, "Calendar link revoked: calendars subscribed to it get nothing more.")
        return HttpResponseRedirect(reverse("staff:calendar_feed"))


class StaffCalendarFeedView(OncePerSubmission, Permitted, TemplateView):
    """An administrator's view of someone's calendar feed: when it was made and last fetched; POST revokes it."""

    permission_required = "staff.change_user"
    template_name = "staff/calendar_feed_staff.html"

    def load(self, *, pk, **kwargs):
        self.member = get_object_or_404(User, pk=pk)
        self.doctor = Doctor.objects.filter(user=self.member).select_related("user").first()

    def get_context_data(self, **kwargs):
        feeds = _feeds_of(self.doctor) if self.doctor else []
        return super().get_context_data(
            member=self.member,
            doctor=self.doctor,
            feeds=feeds,
            in_use=next((feed for feed in feeds if feed.revoked_at is None), None),
            **kwargs,
        )

    def post(self, request, pk):
        feed = CalendarFeed.objects.filter(doctor__user=self.member, revoked_at__isnull=True).first()
        if feed is None:
            messages.info(request, f"{self.member} has no calendar link in use.")
        else:
            revoke_calendar_feed(feed=feed, by=request.user)
            messages.success(request, f"Calendar link of {self.member} revoked.")
        return HttpResponseRedirect(reverse("staff:calendar_feed_for", args=[self.member.pk]))

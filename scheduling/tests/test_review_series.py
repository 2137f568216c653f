"""Review of issue #17's series pages: moving a series keeps to the booking horizon every other booking
and rescheduling form keeps (a year typed wrong must not move a course of visits decades ahead)."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.forms import BOOKING_HORIZON
from scheduling.models import Appointment
from scheduling.tests.series_access_rules import series_appointments

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("step", ["preview", "save"])
def test_moving_a_series_beyond_the_booking_horizon_is_refused_by_the_date(reception, step):
    appointments = series_appointments(3)
    before = list(Appointment.objects.order_by("pk").values_list("start", flat=True))
    url = reverse("scheduling:series_move", args=[appointments[0].pk])
    too_far = timezone.localdate() + BOOKING_HORIZON + timedelta(days=1)
    data = {
        "scope": "all",
        "doctor": appointments[0].doctor_id,
        "date": too_far.isoformat(),
        "time": "10:00",
        "step": step,
        "client_token": str(uuid.uuid4()),
        **{f"a{a.pk}": "keep" for a in appointments},
    }

    response = reception.post(url, data)

    assert response.status_code == 200
    assert "years ahead" in " ".join(response.context["form"].errors["date"])
    assert list(Appointment.objects.order_by("pk").values_list("start", flat=True)) == before

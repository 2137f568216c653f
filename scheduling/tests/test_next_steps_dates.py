"""The appointment page offers "Check in" only on the appointment's (clinic-local) day and "Mark no-show" only
after its start: the same questions the services ask (scheduling.services.is_check_in_day, has_started), so a
button never leads to a refusal. Checked at ordinary moments, just after midnight and on both clock changes."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduling import services
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from scheduling.views import next_steps
from staff.roles import RECEPTIONIST

pytestmark = pytest.mark.django_db
S = Appointment.Status
CHECK_IN, NO_SHOW, CONFIRM = "Check in", "Mark no-show", "Mark confirmed"


def labels(appointment, user):
    return [step["label"] for step in next_steps(appointment, user)]


def at(moment):
    return time_machine.travel(moment, tick=False)


def booked(start, **fields):
    return AppointmentFactory(start=start, end=start + timedelta(minutes=20), **fields)


# (now, the appointment's start, check-in offered, no-show offered). London: GMT in winter, BST (UTC+1) in summer.
CASES = {
    "tomorrow": (datetime(2026, 12, 7, 10, tzinfo=UTC), lambda d: local(d + timedelta(days=1), 10), False, False),
    "yesterday": (datetime(2026, 12, 7, 10, tzinfo=UTC), lambda d: local(d - timedelta(days=1), 10), False, True),
    "later today": (datetime(2026, 12, 7, 10, tzinfo=UTC), lambda d: local(d, 15), True, False),
    "earlier today": (datetime(2026, 12, 7, 10, tzinfo=UTC), lambda d: local(d, 9), True, True),
    # 00:05 local: a visit at 00:30 is today's (not yet started); one at 23:50 was yesterday's.
    "just after midnight, at 00:30": (datetime(2026, 12, 7, 0, 5, tzinfo=UTC), lambda d: local(d, 0, 30), True, False),
    "just after midnight, yesterday 23:50": (
        datetime(2026, 12, 7, 0, 5, tzinfo=UTC),
        lambda d: local(d - timedelta(days=1), 23, 50),
        False,
        True,
    ),
    # 28 March 2027, clocks go forward at 01:00 GMT; now 03:10 BST. 00:30 GMT that morning is today and past.
    "spring forward, before the change": (
        datetime(2027, 3, 28, 2, 10, tzinfo=UTC),
        lambda d: local(d, 0, 30),
        True,
        True,
    ),
    "spring forward, the evening before": (
        datetime(2027, 3, 28, 2, 10, tzinfo=UTC),
        lambda d: local(d - timedelta(days=1), 23, 30),
        False,
        True,
    ),
    "spring forward, later that day": (
        datetime(2027, 3, 28, 2, 10, tzinfo=UTC),
        lambda d: local(d, 9),
        True,
        False,
    ),
    # 25 October 2026: 01:00-02:00 happens twice; now 01:20 GMT (the second time round). 01:40 BST (the first
    # time round, 00:40 UTC) has started; 23:59 the day before is not today.
    "fall back, the first 01:40": (
        datetime(2026, 10, 25, 1, 20, tzinfo=UTC),
        lambda d: datetime(2026, 10, 25, 0, 40, tzinfo=UTC),
        True,
        True,
    ),
    "fall back, the second 01:40": (
        datetime(2026, 10, 25, 1, 20, tzinfo=UTC),
        lambda d: datetime(2026, 10, 25, 1, 40, tzinfo=UTC),
        True,
        False,
    ),
    "fall back, the evening before": (
        datetime(2026, 10, 25, 1, 20, tzinfo=UTC),
        lambda d: local(d - timedelta(days=1), 23, 30),
        False,
        True,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_check_in_and_no_show_are_offered_only_when_the_service_would_take_them(reception, case):
    now, start, check_in, no_show = CASES[case]
    with at(now):
        appointment = booked(start(timezone.localdate()))
        offered = labels(appointment, reception.user)

        assert (CHECK_IN in offered, NO_SHOW in offered) == (check_in, no_show)
        assert CONFIRM in offered  # what does not depend on the day is still offered

        # The service agrees with the page, both ways.
        for label, step in ((CHECK_IN, services.check_in), (NO_SHOW, services.mark_no_show)):
            copy = Appointment.objects.get(pk=appointment.pk)
            try:
                step(appointment=copy, by=reception.user)
            except ValidationError:
                taken = False
            else:
                taken = True
                Appointment.objects.filter(pk=appointment.pk).update(status=S.SCHEDULED)  # put back for the next
            assert taken == (label in offered), label


def test_the_page_shows_no_check_in_button_for_tomorrow(client_for):
    with at(datetime(2026, 12, 7, 10, tzinfo=UTC)):
        reception = client_for(RECEPTIONIST)  # signed in at that moment (an older session would have timed out)
        appointment = booked(local(datetime(2026, 12, 8).date(), 10))
        html = reception.get(appointment.get_absolute_url()).content.decode()

    assert ">Check in</button>" not in html
    assert ">Mark no-show</button>" not in html
    assert ">Mark confirmed</button>" in html

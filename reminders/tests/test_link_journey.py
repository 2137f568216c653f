"""A patient answers a reminder on their phone (390 px) and on a desktop (1280 px), in Chromium, signed out:
the link shows the appointment with no navigation, one click confirms (or cancels), the page then says so;
an expired link says that. Every page passes axe and nothing is wider than the screen."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from clinic.links import make_link_token
from clinic.tests.browser import assert_no_serious_axe_violations
from patients.tests.factories import PatientFactory
from reminders import services
from reminders.models import Reminder
from reminders.tests.helpers import appointment_in, configure
from scheduling.models import Appointment
from staff.tests.factories import DoctorFactory, UserFactory


def _link(name, purpose, reminder, valid_until=None):
    token = make_link_token(purpose, reminder.pk, valid_until=valid_until or reminder.starts_at)
    return f"/reminders/{name}/{token}/"


def _reminder():
    doctor = DoctorFactory(user=UserFactory(first_name="Amara", last_name="Okafor-Łęcka"))
    patient = PatientFactory(first_name="Zoë", last_name="Ångström", email="zoe@example.org")
    appointment = appointment_in(30, doctor=doctor, patient=patient)
    return Reminder.objects.create(
        appointment=appointment,
        channel=Reminder.Channel.EMAIL,
        hours_before=48,
        starts_at=appointment.start,
        status=Reminder.Status.SENT,
        next_attempt_at=appointment.start - timedelta(hours=48),
    )


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    expect(page.get_by_role("navigation")).to_have_count(0)  # signed out: no menu of the staff's pages


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the rows
@pytest.mark.parametrize("width", [1280, 390])
def test_a_patient_confirms_from_the_link_in_one_click(page, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.set_default_timeout(10_000)
    configure(clinic_name="Riverside Clinic", clinic_address="12 River Street, Riverside", clinic_phone="020 7946 0000")
    reminder = _reminder()
    page.goto(_link("confirm", services.CONFIRM, reminder))
    expect(page.get_by_role("heading", name="Confirm your appointment", level=1)).to_be_visible()
    expect(page.get_by_text("Dr Amara Okafor-Łęcka")).to_be_visible()
    expect(page.get_by_text(services.when_text(reminder.starts_at))).to_be_visible()
    _fits(page, width)
    assert_no_serious_axe_violations(page)

    page.get_by_role("button", name="Yes, I will come").click()  # the one click
    expect(page.get_by_text("Your appointment is confirmed. Thank you.")).to_be_visible()
    _fits(page, width)
    assert_no_serious_axe_violations(page)
    assert Appointment.objects.get(pk=reminder.appointment_id).status == Appointment.Status.CONFIRMED


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_a_patient_cancels_and_an_expired_link_says_so(page, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.set_default_timeout(10_000)
    reminder = _reminder()
    page.goto(_link("cancel", services.CANCEL, reminder))
    page.get_by_role("button", name="Cancel this appointment").click()
    expect(page.get_by_text("Your appointment is cancelled.")).to_be_visible()
    assert Appointment.objects.get(pk=reminder.appointment_id).status == Appointment.Status.CANCELLED

    expired = _reminder()
    page.goto(_link("confirm", services.CONFIRM, expired, valid_until=expired.starts_at - timedelta(days=3)))
    expect(page.get_by_text("This link has expired.")).to_be_visible()
    _fits(page, width)
    assert_no_serious_axe_violations(page)

"""Review of issue #17's waitlist: a Book click from a page left open after the freed time began, and an
offer whose patient's record was archived before the worker sent it."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinic import sms
from patients.services import archive_patient
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory
from waitlist import services, tasks
from waitlist.models import FreedTime, WaitlistEntry, WaitlistOffer
from waitlist.panels import freed_times
from waitlist.tests.factories import WaitlistEntryFactory
from waitlist.tests.test_services import freed_time, moved_appointment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["cancelled", "moved"])
def test_book_from_a_page_left_open_after_the_time_began_books_nothing(client_for, kind):
    if kind == "cancelled":
        freed = freed_time(hour=10)
        url_of = lambda entry: reverse("waitlist:book", args=[freed.pk, entry.pk])  # noqa: E731
        start = freed.start
    else:
        moved = moved_appointment(hour=10)
        freed = FreedTime.objects.get(appointment=moved)
        url_of = lambda entry: reverse("waitlist:book_moved", args=[freed.pk, entry.pk])  # noqa: E731
        start = freed.start
    entry = WaitlistEntryFactory(doctor=freed.doctor)

    # The panel was shown before 10:00; the click comes at 10:30 the same day (booking earlier today is allowed
    # for walk-ins, so only the waitlist's own check stands between the click and a visit booked in the past).
    with time_machine.travel(start + timedelta(minutes=30)):
        reception = client_for(RECEPTIONIST)
        response = reception.post(url_of(entry))

    assert response.status_code == 302
    assert any("Not booked" in str(m) for m in get_messages(response.wsgi_request))
    assert not Appointment.objects.filter(patient=entry.patient).exists()
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


def test_an_offer_is_not_sent_to_a_patient_archived_before_the_worker_runs():
    freed = freed_time()
    entry = WaitlistEntryFactory(
        doctor=freed.doctor, patient__email="gone@example.org", patient__phone="+44 20 7946 0002"
    )
    offers = services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=1, by=UserFactory())
    archive_patient(patient=entry.patient, by=UserFactory(is_superuser=True), reason="Duplicate record")

    assert tasks.send_offers.call([o.pk for o in offers]) == 0

    assert mail.outbox == [] and sms.outbox == []
    offer = WaitlistOffer.objects.get()
    assert offer.status not in WaitlistOffer.OPEN and offer.sent_at is None


def test_today_finds_a_free_time_behind_many_freed_times_already_filled(reception):
    """Cancellations are often rebooked at once (that is what the waitlist is for): a busy week's refilled
    ones must not crowd out, before they are checked, the times still free."""
    doctor = DoctorFactory()
    tomorrow = timezone.localdate() + timedelta(days=1)
    for day in range(4):
        for hour in range(8, 18):
            start = local(tomorrow + timedelta(days=day), hour)
            AppointmentFactory(doctor=doctor, start=start, status=Appointment.Status.CANCELLED)
            AppointmentFactory(doctor=doctor, start=start)  # refilled
    free = AppointmentFactory(
        doctor=doctor, start=local(tomorrow + timedelta(days=4), 10), status=Appointment.Status.CANCELLED
    )

    rows = freed_times()

    assert [(row["doctor"], row["start"]) for row in rows] == [(doctor, free.start)]
    assert free.get_absolute_url() in reception.get(reverse("home")).content.decode()


def test_a_patient_waiting_for_the_doctor_and_for_the_specialty_is_offered_a_time_once():
    freed = freed_time()
    patient = WaitlistEntryFactory(doctor=freed.doctor, patient__email="twice@example.org").patient
    services.add_entry(patient=patient, by=UserFactory(), specialty=freed.doctor.specialty)
    other = WaitlistEntryFactory(doctor=freed.doctor, patient__email="other@example.org")

    offers = services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=2, by=UserFactory())
    tasks.send_offers.call([o.pk for o in offers])
    # Offered again: the patient already offered this time is not offered it by her other entry.
    with pytest.raises(ValidationError):
        services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=2, by=UserFactory())

    assert sorted(o.entry.patient_id for o in offers) == sorted([patient.pk, other.patient_id])
    assert sorted(m.to[0] for m in mail.outbox) == ["other@example.org", "twice@example.org"]

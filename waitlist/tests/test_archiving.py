"""Archiving a patient takes them off the waitlist, and an offer already sent to them books nothing."""

import pytest

from patients.services import archive_patient
from scheduling.models import Appointment
from staff.roles import RECEPTIONIST
from staff.tests.factories import UserFactory
from waitlist import services
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.tests.factories import WaitlistEntryFactory
from waitlist.tests.test_services import freed_time

pytestmark = pytest.mark.django_db


def test_archiving_a_patient_takes_them_off_the_waitlist_with_the_reason():
    entry = WaitlistEntryFactory()
    other = WaitlistEntryFactory()
    reception = UserFactory(roles=[RECEPTIONIST])

    done = archive_patient(patient=entry.patient, reason="Moved abroad", by=reception)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.REMOVED
    assert entry.removal_reason == "Record archived: Moved abroad" and entry.removed_by == reception
    assert "Taken off the waitlist (1 entry)." in done
    other.refresh_from_db()
    assert other.status == WaitlistEntry.Status.WAITING


def test_an_offer_sent_before_the_archive_books_nothing():
    freed = freed_time(hour=10)
    entry = WaitlistEntryFactory(doctor=freed.doctor)
    reception = UserFactory(roles=[RECEPTIONIST])
    [offer] = services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=1, by=reception)

    archive_patient(patient=entry.patient, reason="Duplicate record", by=reception)

    offer.refresh_from_db()
    assert offer.status not in WaitlistOffer.OPEN
    assert not Appointment.objects.filter(patient=entry.patient, start=freed.start).exists()

"""Review of issue #17's waitlist: a patient added twice at the same instant (two tabs, two receptionists)
is on the list once; the duplicate check and the insert run under the patient's lock."""

import pytest

from clinic.tests.concurrency import at_once
from patients.tests.factories import PatientFactory
from staff.tests.factories import DoctorFactory, UserFactory
from waitlist import services
from waitlist.models import WaitlistEntry

TABS = 4


@pytest.mark.django_db(transaction=True)
def test_one_patient_added_for_one_doctor_from_several_tabs_at_once_waits_once():
    patient, doctor, user = PatientFactory(), DoctorFactory(), UserFactory()

    outcomes = at_once(lambda i: services.add_entry(patient=patient, doctor=doctor, by=user), TABS)

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == TABS - 1 and all("already waiting" in str(o) for o in refused), outcomes
    assert WaitlistEntry.objects.filter(patient=patient, status=WaitlistEntry.Status.WAITING).count() == 1

"""The appointment admin goes through the booking services: what they refuse, it refuses."""

import pytest

from clinic.models import AuditEntry
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, tomorrow_at
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db


def changes_recorded(appointment):
    return list(
        AuditEntry.objects.filter(object_type="scheduling.appointment", object_id=str(appointment.pk))
        .exclude(action__in=["create", "view"])
        .values_list("action", "summary")
    )


def doctor(first, last):
    return DoctorFactory(user__first_name=first, user__last_name=last)


# --- the audit entry names every change, whoever makes it ----------------------------------------


def test_a_change_made_around_the_services_still_names_each_field():
    # Code that saves an appointment directly (a shell, a data fix) is not stopped by the admin or
    # the services; the trail at least says what moved, the patient included.
    old_patient, new_patient = PatientFactory(), PatientFactory()
    first, second = doctor("Ada", "Moss"), doctor("Ben", "Okafor")
    appointment = AppointmentFactory(patient=old_patient, doctor=first, start=tomorrow_at(10), reason="Cough")
    appointment = Appointment.objects.get(pk=appointment.pk)

    appointment.patient, appointment.doctor, appointment.reason = new_patient, second, "Rash"
    appointment.save()

    [(action, summary)] = changes_recorded(appointment)
    assert action == "change"
    assert summary.split("; ") == [
        f"patient: {old_patient.mrn} → {new_patient.mrn}",
        "doctor: Dr Ada Moss → Dr Ben Okafor",
        'reason: "Cough" → "Rash"',
    ]

"""The waitlist's writing forms for tests/test_idempotency.py's WRITES (each sent twice, saved once), which
takes them in; test_idempotency_cases.py runs them here too. Each builds what that table's Form holds
(client, url, data), without importing it: that module imports this one."""

from dataclasses import dataclass

from django.urls import reverse

from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory
from waitlist.tests.access_rules import (
    a_freed_time,
    a_freed_time_and_a_candidate,
    a_moved_time_and_a_candidate,
    an_entry,
    an_offers_link,
)


@dataclass
class Form:
    client: object
    url: str
    data: object  # a function giving the body, afresh for each submit


def _add(client_for):
    from patients.tests.factories import PatientFactory

    patient, doctor = PatientFactory(), DoctorFactory()
    url = reverse("waitlist:add") + f"?patient={patient.pk}"
    return Form(client_for(RECEPTIONIST), url, lambda: {"doctor": doctor.pk, "urgency": "2", "time_of_day": "mornings"})


def _edit(client_for):
    kwargs = an_entry()
    from waitlist.models import WaitlistEntry

    doctor_id = WaitlistEntry.objects.get(pk=kwargs["pk"]).doctor_id
    url = reverse("waitlist:edit", kwargs=kwargs)
    return Form(
        client_for(RECEPTIONIST), url, lambda: {"doctor": doctor_id, "urgency": "1", "note": "Any cancellation"}
    )


def _remove(client_for):
    url = reverse("waitlist:remove", kwargs=an_entry())
    return Form(client_for(RECEPTIONIST), url, lambda: {"reason": "Booked elsewhere"})


def _book(client_for):
    return Form(client_for(RECEPTIONIST), reverse("waitlist:book", kwargs=a_freed_time_and_a_candidate()), dict)


def _offer(client_for):
    return Form(client_for(RECEPTIONIST), reverse("waitlist:offer", kwargs=a_freed_time()), lambda: {"count": "2"})


def _accept(client_for):
    # Patients are not signed in (their link is single-use anyway); a member of staff opening it is.
    from waitlist.models import WaitlistOffer
    from waitlist.tests.test_services import freed_time

    kwargs = an_offers_link()
    offer = WaitlistOffer.objects.get()
    freed = freed_time(doctor=offer.doctor, hour=11)
    WaitlistOffer.objects.filter(pk=offer.pk).update(start=freed.start, end=freed.end)
    return Form(client_for(RECEPTIONIST), reverse("waitlist:accept", kwargs=kwargs), dict)


def _book_moved(client_for):
    kwargs = a_moved_time_and_a_candidate()
    return Form(client_for(RECEPTIONIST), reverse("waitlist:book_moved", kwargs=kwargs), dict)


def _offer_moved(client_for):
    kwargs = a_moved_time_and_a_candidate()
    del kwargs["entry_pk"]
    return Form(client_for(RECEPTIONIST), reverse("waitlist:offer_moved", kwargs=kwargs), lambda: {"count": "1"})


WRITES = {
    "waitlist:book_moved": _book_moved,
    "waitlist:offer_moved": _offer_moved,
    "waitlist:add": _add,
    "waitlist:edit": _edit,
    "waitlist:remove": _remove,
    "waitlist:book": _book,
    "waitlist:offer": _offer,
    "waitlist:accept": _accept,
}

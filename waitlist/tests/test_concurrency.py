"""First accept wins, and the database decides: patients offered one freed time accept it at the same
instant (threads, each on its own connection, on SQLite and PostgreSQL)."""

import pytest

from clinic.links import LinkError, make_link_token
from clinic.tests.concurrency import at_once
from scheduling.models import Appointment
from waitlist import services
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.tests.factories import WaitlistEntryFactory, WaitlistOfferFactory
from waitlist.tests.test_services import freed_time

PATIENTS = 4


def offers_of_one_freed_time(count):
    freed = freed_time()
    entries = WaitlistEntryFactory.create_batch(count, doctor=freed.doctor)
    return freed, [
        WaitlistOfferFactory(entry=entry, doctor=freed.doctor, start=freed.start, end=freed.end) for entry in entries
    ]


def token(offer):
    return make_link_token(services.ACCEPT, offer.pk, valid_until=offer.valid_until)


@pytest.mark.django_db(transaction=True)
def test_patients_accepting_one_time_at_once_get_one_appointment():
    freed, offers = offers_of_one_freed_time(PATIENTS)
    tokens = [token(offer) for offer in offers]

    outcomes = at_once(lambda i: services.accept_offer(token=tokens[i]), PATIENTS)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(o.outcome for o in outcomes) == ["booked"] + ["taken"] * (PATIENTS - 1)
    booked = Appointment.objects.active().get(doctor=freed.doctor, start=freed.start)
    winner = next(o for o in outcomes if o.outcome == "booked")
    assert booked.patient == winner.offer.entry.patient
    assert WaitlistEntry.objects.filter(status=WaitlistEntry.Status.BOOKED).count() == 1
    assert WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING).count() == PATIENTS - 1
    statuses = sorted(WaitlistOffer.objects.values_list("status", flat=True))
    assert statuses == ["accepted"] + ["taken"] * (PATIENTS - 1)


@pytest.mark.django_db(transaction=True)
def test_one_link_clicked_twice_at_once_books_once():
    freed, offers = offers_of_one_freed_time(1)
    link = token(offers[0])

    outcomes = at_once(lambda i: services.accept_offer(token=link), 2)

    used = [o for o in outcomes if isinstance(o, LinkError)]
    assert [o.outcome for o in outcomes if not isinstance(o, Exception)] == ["booked"]
    assert [e.code for e in used] == ["used"]
    assert Appointment.objects.filter(doctor=freed.doctor, start=freed.start, status="scheduled").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_receptionists_booking_the_freed_time_for_two_patients_get_one_booking():
    from django.core.exceptions import ValidationError

    from staff.tests.factories import UserFactory

    freed, offers = offers_of_one_freed_time(2)
    by = UserFactory()
    entries = [offer.entry for offer in offers]

    def book(i):
        return services.book_from_waitlist(
            entry=entries[i], doctor=freed.doctor, start=freed.start, end=freed.end, by=by
        )

    outcomes = at_once(book, 2)

    assert len([o for o in outcomes if isinstance(o, Appointment)]) == 1
    assert len([o for o in outcomes if isinstance(o, ValidationError)]) == 1
    assert Appointment.objects.active().filter(doctor=freed.doctor, start=freed.start).count() == 1
    assert WaitlistEntry.objects.filter(status=WaitlistEntry.Status.BOOKED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_patient_accepting_while_reception_removes_them_ends_one_way_or_the_other():
    from django.core.exceptions import ValidationError

    from staff.tests.factories import UserFactory

    freed, offers = offers_of_one_freed_time(1)
    link, entry, by = token(offers[0]), offers[0].entry, UserFactory()
    actions = [
        lambda: services.accept_offer(token=link),
        lambda: services.remove_entry(entry=entry, reason="Phoned: no longer needed", by=by),
    ]

    outcomes = at_once(lambda i: actions[i](), 2)

    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, ValidationError)], outcomes
    entry.refresh_from_db()
    booked = Appointment.objects.active().filter(doctor=freed.doctor, start=freed.start, patient=entry.patient)
    if entry.status == WaitlistEntry.Status.BOOKED:
        assert booked.count() == 1 and isinstance(outcomes[1], ValidationError)
    else:
        assert entry.status == WaitlistEntry.Status.REMOVED and not booked.exists()
        assert outcomes[0].outcome == "taken"

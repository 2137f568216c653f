"""The waitlist's rules through its services: who fits a freed time and in which order, booking from the
list, offers by message and their links (valid, expired, reused, forged, taken)."""

from datetime import time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic import sms
from clinic.links import LinkError, make_link_token
from clinic.models import AuditEntry
from patients.tests.factories import PatientFactory
from scheduling import services as scheduling
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory
from waitlist import services, tasks
from waitlist.matching import candidates_for
from waitlist.models import FreedTime, Urgency, WaitlistEntry, WaitlistOffer
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db


def a_monday():
    today = timezone.localdate()
    return today + timedelta(days=14 - today.weekday())


def freed_time(doctor=None, hour=10, day=None):
    """A cancelled appointment (its time free again)."""
    doctor = doctor or DoctorFactory()
    appointment = AppointmentFactory(doctor=doctor, start=local(day or a_monday(), hour))
    return scheduling.cancel_appointment(appointment=appointment, reason="Patient phoned", by=UserFactory())


def moved_appointment(hour=10, day=None):
    """An appointment moved an hour later: its first time is free again (a FreedTime)."""
    appointment = AppointmentFactory(start=local(day or a_monday(), hour))
    return scheduling.reschedule_appointment(
        appointment=appointment, start=appointment.start + timedelta(hours=1), by=UserFactory()
    )


def names(candidates):
    return [c.entry.patient.first_name for c in candidates]


# --- who fits ----------------------------------------------------------------------------------------


def test_urgent_first_then_longest_waiting():
    freed = freed_time()
    doctor = freed.doctor
    with time_machine.travel(timezone.now() - timedelta(days=12)):
        WaitlistEntryFactory(doctor=doctor, patient__first_name="Early", urgency=Urgency.ROUTINE)
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Late", urgency=Urgency.ROUTINE)
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Urgent", urgency=Urgency.URGENT)
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Soon", urgency=Urgency.SOON)

    found = candidates_for(doctor, freed.start, freed.end)

    assert names(found) == ["Urgent", "Soon", "Early", "Late"]
    assert found[2].reason == "routine · waiting 12 days"
    assert found[0].reason == "urgent · added today"


def test_specialty_entries_fit_any_doctor_of_it_and_other_doctors_entries_do_not():
    cardiology = SpecialtyFactory(name="Cardiology")
    doctor, colleague = DoctorFactory(specialty=cardiology), DoctorFactory(specialty=cardiology)
    freed = freed_time(doctor)
    WaitlistEntryFactory(doctor=None, specialty=cardiology, patient__first_name="Any")
    WaitlistEntryFactory(doctor=colleague, patient__first_name="Colleague")
    WaitlistEntryFactory(doctor=None, specialty=SpecialtyFactory(name="Dermatology"), patient__first_name="Skin")

    found = candidates_for(doctor, freed.start, freed.end)

    assert names(found) == ["Any"]
    assert found[0].reason == "routine · added today · any Cardiology doctor"


def test_weekday_time_of_day_and_not_before_preferences():
    freed = freed_time(hour=10)  # a Monday, 10:00-10:20
    doctor, monday = freed.doctor, freed.start.date()
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Mornings", time_from=time(8), time_to=time(12))
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Afternoons", time_from=time(12), time_to=time(17))
    WaitlistEntryFactory(doctor=doctor, patient__first_name="MonWed", weekdays="02")
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Fridays", weekdays="4")
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Later", not_before=monday + timedelta(days=1))
    WaitlistEntryFactory(doctor=doctor, patient__first_name="FromToday", not_before=monday)
    WaitlistEntryFactory(doctor=doctor, patient__first_name="EndsTooEarly", time_to=time(10, 10))

    found = candidates_for(doctor, freed.start, freed.end)

    assert sorted(names(found)) == ["FromToday", "MonWed", "Mornings"]
    assert next(c for c in found if c.entry.patient.first_name == "Mornings").reason.endswith("prefers mornings")
    assert next(c for c in found if c.entry.patient.first_name == "MonWed").reason.endswith("prefers Mon, Wed")


def test_a_patient_booked_at_that_time_an_archived_one_and_entries_not_waiting_do_not_fit():
    freed = freed_time()
    doctor = freed.doctor
    busy = WaitlistEntryFactory(doctor=doctor, patient__first_name="Busy")
    AppointmentFactory(patient=busy.patient, start=freed.start + timedelta(minutes=10))  # with someone else
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Archived", patient__is_archived=True)
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Removed", status=WaitlistEntry.Status.REMOVED)
    WaitlistEntryFactory(doctor=doctor, patient__first_name="Free")

    assert names(candidates_for(doctor, freed.start, freed.end)) == ["Free"]


# --- entries ------------------------------------------------------------------------------------------


def test_add_needs_a_doctor_or_a_specialty_and_refuses_a_duplicate():
    patient, by, doctor = PatientFactory(), UserFactory(), DoctorFactory()
    with pytest.raises(ValidationError):
        services.add_entry(patient=patient, by=by)
    entry = services.add_entry(patient=patient, by=by, doctor=doctor, specialty=doctor.specialty, weekdays="420")
    assert (entry.specialty, entry.weekdays) == (None, "024")  # a named doctor is matched by the doctor alone
    with pytest.raises(ValidationError, match="already waiting"):
        services.add_entry(patient=patient, by=by, doctor=doctor)
    assert AuditEntry.objects.filter(object_type="waitlist.waitlistentry", action="create").count() == 1


def test_remove_needs_a_reason_and_is_audited():
    entry = WaitlistEntryFactory()
    with pytest.raises(ValidationError):
        services.remove_entry(entry=entry, reason=" ", by=UserFactory())
    services.remove_entry(entry=entry, reason="Booked elsewhere", by=UserFactory())
    entry.refresh_from_db()
    assert (entry.status, entry.removal_reason) == (WaitlistEntry.Status.REMOVED, "Booked elsewhere")
    assert AuditEntry.objects.filter(object_id=str(entry.pk), patient_id=entry.patient_id).exists()
    with pytest.raises(ValidationError, match="no longer be changed"):
        services.update_entry(entry=entry, by=UserFactory(), urgency=Urgency.URGENT)


# --- booking from the list ------------------------------------------------------------------------------


def test_book_from_waitlist_books_and_takes_the_entry_off_the_list():
    freed = freed_time()
    entry = WaitlistEntryFactory(doctor=freed.doctor)

    appointment = services.book_from_waitlist(
        entry=entry, doctor=freed.doctor, start=freed.start, end=freed.end, by=UserFactory()
    )

    entry.refresh_from_db()
    assert (entry.status, entry.appointment) == (WaitlistEntry.Status.BOOKED, appointment)
    assert appointment.patient == entry.patient and appointment.start == freed.start
    assert not services.is_freed_time(freed)
    assert candidates_for(freed.doctor, freed.start, freed.end) == []


def test_book_from_waitlist_when_the_time_was_taken_writes_nothing():
    freed = freed_time()
    entry = WaitlistEntryFactory(doctor=freed.doctor)
    scheduling.book_appointment(
        patient=PatientFactory(), doctor=freed.doctor, start=freed.start, booked_by=UserFactory()
    )
    audit_before = AuditEntry.objects.count()

    with pytest.raises(ValidationError, match="already has an appointment"):
        services.book_from_waitlist(
            entry=entry, doctor=freed.doctor, start=freed.start, end=freed.end, by=UserFactory()
        )

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING
    assert Appointment.objects.filter(patient=entry.patient).count() == 0
    assert AuditEntry.objects.count() == audit_before


# --- offers ---------------------------------------------------------------------------------------------


def offered(count=2, **entry):
    freed = freed_time()
    entries = [WaitlistEntryFactory(doctor=freed.doctor, patient__email=f"p{i}@example.org", **entry) for i in range(3)]
    offers = services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=count, by=UserFactory())
    return freed, entries, offers


def test_offer_goes_to_the_top_n_once_and_is_sent_by_the_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        freed, entries, offers = offered(count=2)
    assert [o.entry for o in offers] == entries[:2]
    # Sending is queued for after the commit, not done in the request.
    assert [cb for cb in callbacks if cb.__qualname__.startswith("offer_time")]
    assert mail.outbox == []

    assert tasks.send_offers.call([o.pk for o in offers]) == 2
    assert tasks.send_offers.call([o.pk for o in offers]) == 0  # a second run sends nothing again
    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.to == ["p0@example.org"]
    assert "/waitlist/offer/" in message.body and str(freed.doctor) in message.body
    assert {o.status for o in WaitlistOffer.objects.all()} == {WaitlistOffer.Status.SENT}

    # Offering again goes to the next one only.
    more = services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=2, by=UserFactory())
    assert [o.entry for o in more] == entries[2:]


def test_offer_respects_the_patients_opt_out_and_missing_contacts():
    freed = freed_time()
    quiet = WaitlistEntryFactory(
        doctor=freed.doctor, patient__email="quiet@example.org", patient__phone="", patient__reminders_by_email=False
    )
    phone = WaitlistEntryFactory(doctor=freed.doctor, patient__email="", patient__phone="07700 900123")
    both = WaitlistEntryFactory(
        doctor=freed.doctor, patient__email="both@example.org", patient__phone="+44 20 7946 0001"
    )
    offers = services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=5, by=UserFactory())

    tasks.send_offers.call([o.pk for o in offers])

    by_entry = {o.entry_id: o for o in WaitlistOffer.objects.all()}
    assert by_entry[quiet.pk].status == WaitlistOffer.Status.UNREACHABLE
    assert (by_entry[phone.pk].status, by_entry[phone.pk].channels) == (WaitlistOffer.Status.SENT, "sms")
    assert by_entry[both.pk].channels == "email, sms"
    texts = {message["to"]: message["body"] for message in sms.outbox}
    assert set(texts) == {"+447700900123", "+442079460001"}  # in international form, as the provider wants
    assert "/waitlist/offer/" in texts["+447700900123"]
    assert [m.to for m in mail.outbox] == [["both@example.org"]]


def test_a_failing_channel_does_not_stop_the_other_offers(monkeypatch):
    freed = freed_time()
    WaitlistEntryFactory.create_batch(2, doctor=freed.doctor, patient__email="w@example.org", patient__phone="")
    offers = services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=2, by=UserFactory())
    calls = []

    def flaky(to, subject, body):
        calls.append(to)
        if len(calls) == 1:
            raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(tasks, "send_email", flaky)

    assert tasks.send_offers.call([o.pk for o in offers]) == 1
    assert sorted(WaitlistOffer.objects.values_list("status", flat=True)) == ["sent", "unreachable"]


def test_an_offer_is_valid_until_an_hour_before_or_a_day_at_most():
    start = timezone.now() + timedelta(hours=5)
    assert services.offer_valid_until(start) == start - timedelta(hours=1)
    now = timezone.now()
    far = now + timedelta(days=5)
    assert services.offer_valid_until(far, now=now) == now + timedelta(hours=24)


def test_no_offer_within_the_hour_or_for_a_time_taken():
    freed = freed_time()
    WaitlistEntryFactory(doctor=freed.doctor)
    with time_machine.travel(freed.start - timedelta(minutes=30)), pytest.raises(ValidationError, match="too soon"):
        services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=1, by=UserFactory())
    scheduling.book_appointment(
        patient=PatientFactory(), doctor=freed.doctor, start=freed.start, booked_by=UserFactory()
    )
    with pytest.raises(ValidationError, match="booked meanwhile"):
        services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=1, by=UserFactory())


def link(offer):
    return make_link_token(services.ACCEPT, offer.pk, valid_until=offer.valid_until)


def test_accept_books_and_the_others_offered_find_it_taken():
    freed, entries, offers = offered(count=2)
    first, second = link(offers[0]), link(offers[1])

    answer = services.accept_offer(token=first)

    assert answer.outcome == "booked"
    assert answer.appointment.patient == entries[0].patient and answer.appointment.start == freed.start
    statuses = dict(WaitlistOffer.objects.values_list("pk", "status"))
    assert statuses == {offers[0].pk: WaitlistOffer.Status.ACCEPTED, offers[1].pk: WaitlistOffer.Status.TAKEN}
    assert services.accept_offer(token=second).outcome == "taken"
    entries[1].refresh_from_db()
    assert entries[1].status == WaitlistEntry.Status.WAITING  # stays on the waitlist
    assert Appointment.objects.active().filter(doctor=freed.doctor, start=freed.start).count() == 1


def test_a_link_used_twice_expired_or_forged_is_refused():
    _, _, offers = offered(count=1)
    token = link(offers[0])
    services.accept_offer(token=token)
    with pytest.raises(LinkError) as used:
        services.accept_offer(token=token)
    assert used.value.code == "used"
    with pytest.raises(LinkError) as forged:
        services.accept_offer(token=token[:-3] + "abc")
    assert forged.value.code == "forged"
    with time_machine.travel(offers[0].valid_until + timedelta(seconds=1)), pytest.raises(LinkError) as expired:
        services.accept_offer(token=link(offers[0]))
    assert expired.value.code == "expired"


def test_accept_when_the_time_was_booked_by_reception_meanwhile_is_taken_and_nothing_half_written():
    freed, entries, offers = offered(count=1)
    scheduling.book_appointment(
        patient=PatientFactory(), doctor=freed.doctor, start=freed.start, booked_by=UserFactory()
    )

    assert services.accept_offer(token=link(offers[0])).outcome == "taken"

    entries[0].refresh_from_db()
    assert entries[0].status == WaitlistEntry.Status.WAITING
    assert not Appointment.objects.filter(patient=entries[0].patient).exists()


def test_expire_offers_closes_lapsed_and_taken_ones():
    freed, _, offers = offered(count=2)
    WaitlistOffer.objects.filter(pk=offers[0].pk).update(valid_until=timezone.now() - timedelta(minutes=1))
    assert tasks.expire_offers.call() == {"expired": 1, "taken": 0}
    scheduling.book_appointment(
        patient=PatientFactory(), doctor=freed.doctor, start=freed.start, booked_by=UserFactory()
    )
    assert services.expire_offers() == {"expired": 0, "taken": 1}
    assert set(WaitlistOffer.objects.values_list("status", flat=True)) == {"expired", "taken"}


def test_a_removed_entrys_open_offers_close():
    _, entries, offers = offered(count=1)
    services.remove_entry(entry=entries[0], reason="No longer needed", by=UserFactory())
    assert WaitlistOffer.objects.get(pk=offers[0].pk).status == WaitlistOffer.Status.TAKEN
    assert services.accept_offer(token=link(offers[0])).outcome == "taken"


def test_names_outside_latin_1_in_the_message():
    freed = freed_time()
    WaitlistEntryFactory(doctor=freed.doctor, patient__first_name="Łucja", patient__email="l@example.org")
    offers = services.offer_time(doctor=freed.doctor, start=freed.start, end=freed.end, count=1, by=UserFactory())
    tasks.send_offers.call([offers[0].pk])
    assert "Dear Łucja" in mail.outbox[0].body


def test_a_waiting_patient_booked_through_the_booking_form_leaves_the_list():
    cardiology = SpecialtyFactory(name="Cardiology")
    doctor = DoctorFactory(specialty=cardiology)
    for_doctor = WaitlistEntryFactory(doctor=doctor)
    for_specialty = WaitlistEntryFactory(doctor=None, specialty=cardiology, patient=PatientFactory())
    elsewhere = WaitlistEntryFactory(doctor=DoctorFactory(specialty=SpecialtyFactory(name="Dermatology")))
    by = UserFactory()

    first = scheduling.book_appointment(
        patient=for_doctor.patient, doctor=doctor, start=local(a_monday(), 9), booked_by=by
    )
    scheduling.book_appointment(patient=for_specialty.patient, doctor=doctor, start=local(a_monday(), 10), booked_by=by)

    for_doctor.refresh_from_db()
    assert (for_doctor.status, for_doctor.appointment) == (WaitlistEntry.Status.BOOKED, first)
    assert WaitlistEntry.objects.get(pk=for_specialty.pk).status == WaitlistEntry.Status.BOOKED
    elsewhere.refresh_from_db()
    assert elsewhere.status == WaitlistEntry.Status.WAITING  # waiting for another specialty still


def test_a_rescheduled_appointments_earlier_time_is_remembered_as_freed():
    moved = moved_appointment(hour=10)
    freed = FreedTime.objects.get(appointment=moved)
    assert (freed.doctor, freed.start, freed.end) == (
        moved.doctor,
        moved.start - timedelta(hours=1),
        moved.end - timedelta(hours=1),
    )
    assert services.moved_time_is_free(freed)
    scheduling.confirm_appointment(appointment=moved, by=UserFactory())  # a status step is not a move
    assert FreedTime.objects.count() == 1
    scheduling.book_appointment(
        patient=PatientFactory(), doctor=freed.doctor, start=freed.start, booked_by=UserFactory()
    )
    assert not services.moved_time_is_free(freed)


def test_a_past_time_moved_from_is_not_remembered():
    appointment = AppointmentFactory()
    past = timezone.now() - timedelta(minutes=5)
    kept = services.moved_from(
        appointment, doctor_id=appointment.doctor_id, start=past, end=past + timedelta(minutes=20)
    )
    assert kept is None and not FreedTime.objects.exists()

"""The waitlist's pages as reception, doctors and patients use them."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from clinic.links import make_link_token
from patients.tests.factories import PatientFactory
from scheduling import services as scheduling
from scheduling.models import Appointment
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory
from waitlist import services, tasks
from waitlist.models import FreedTime, Urgency, WaitlistEntry, WaitlistOffer
from waitlist.tests.factories import WaitlistEntryFactory, WaitlistOfferFactory
from waitlist.tests.test_services import freed_time, moved_appointment

pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the list -------------------------------------------------------------------------------------------


def test_list_shows_waiting_entries_ranked_and_filters_by_doctor(reception):
    gp = SpecialtyFactory(name="General practice")
    doctor, other = DoctorFactory(specialty=gp), DoctorFactory(specialty=SpecialtyFactory(name="Cardiology"))
    WaitlistEntryFactory(doctor=doctor, patient__last_name="Routine")
    WaitlistEntryFactory(doctor=doctor, patient__last_name="Urgent", urgency=Urgency.URGENT)
    WaitlistEntryFactory(doctor=None, specialty=gp, patient__last_name="Anygp")
    WaitlistEntryFactory(doctor=other, patient__last_name="Heart")
    WaitlistEntryFactory(doctor=doctor, patient__last_name="Gone", status=WaitlistEntry.Status.REMOVED)

    page = reception.get(reverse("waitlist:list")).content.decode()
    assert page.index("URGENT") < page.index("ROUTINE")
    assert "HEART" in page and "GONE" not in page

    narrowed = reception.get(reverse("waitlist:list"), {"doctor": doctor.pk}).content.decode()
    assert "URGENT" in narrowed and "ANYGP" in narrowed and "HEART" not in narrowed


def test_list_query_count_does_not_grow_with_rows(reception, django_assert_max_num_queries):
    WaitlistEntryFactory.create_batch(3)
    with django_assert_max_num_queries(30) as few:
        reception.get(reverse("waitlist:list"))
    WaitlistEntryFactory.create_batch(30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = reception.get(reverse("waitlist:list"))
    assert response.content.decode().count("Remove</a>") == 33


def test_a_bad_filter_is_a_form_error_not_a_crash(reception):
    response = reception.get(reverse("waitlist:list"), {"doctor": "1e99", "specialty": "x\x00"})
    assert response.status_code == 200


def test_doctors_see_the_list_without_the_buttons(doctor_client):
    WaitlistEntryFactory()
    page = doctor_client.get(reverse("waitlist:list")).content.decode()
    assert "Remove</a>" not in page and "Add a patient" not in page


# --- adding, editing, removing -------------------------------------------------------------------------


def test_reception_finds_the_patient_then_adds_them(reception):
    patient = PatientFactory(first_name="Zoë", last_name="Ångström")
    doctor = DoctorFactory()

    found = reception.get(reverse("waitlist:add"), {"q": "Ångström"}).content.decode()
    assert f"?patient={patient.pk}" in found

    response = reception.post(
        reverse("waitlist:add") + f"?patient={patient.pk}",
        {"doctor": doctor.pk, "urgency": Urgency.SOON, "weekdays": ["0", "2"], "time_of_day": "mornings"},
    )
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.patient, entry.doctor, entry.urgency, entry.weekdays) == (patient, doctor, Urgency.SOON, "02")
    assert (entry.time_from.hour, entry.time_to.hour) == (8, 12)
    assert entry.added_by == reception.user


def test_adding_without_doctor_or_specialty_shows_the_error_by_the_field(reception):
    patient = PatientFactory()
    response = reception.post(reverse("waitlist:add") + f"?patient={patient.pk}", {"urgency": 3})
    assert response.status_code == 200
    assert "Choose a doctor or a specialty." in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_custom_times_in_the_wrong_order_are_refused(reception):
    patient = PatientFactory()
    data = {
        "doctor": DoctorFactory().pk,
        "urgency": 3,
        "time_of_day": "custom",
        "time_from": "14:00",
        "time_to": "9:00",
    }
    response = reception.post(reverse("waitlist:add") + f"?patient={patient.pk}", data)
    assert "The end must be after the start." in response.content.decode()


def test_edit_and_remove_with_a_reason(reception):
    entry = WaitlistEntryFactory()
    page = reception.get(reverse("waitlist:edit", args=[entry.pk]))
    assert page.status_code == 200

    reception.post(
        reverse("waitlist:edit", args=[entry.pk]),
        {"doctor": entry.doctor_id, "urgency": Urgency.URGENT, "time_of_day": "custom", "time_from": "10:00"},
    )
    entry.refresh_from_db()
    assert (entry.urgency, entry.time_from.hour, entry.time_to) == (Urgency.URGENT, 10, None)

    refused = reception.post(reverse("waitlist:remove", args=[entry.pk]), {"reason": ""})
    assert refused.status_code == 200
    reception.post(reverse("waitlist:remove", args=[entry.pk]), {"reason": "Booked at another clinic"})
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.REMOVED
    assert entry.patient.last_name.upper() not in reception.get(reverse("waitlist:list")).content.decode()


# --- the freed time's panel and booking in one click -----------------------------------------------------


def test_the_cancelled_appointments_page_shows_the_candidates_and_books_one_in_a_click(reception):
    freed = freed_time()
    top = WaitlistEntryFactory(doctor=freed.doctor, urgency=Urgency.URGENT, patient__first_name="Łucja")
    WaitlistEntryFactory.create_batch(6, doctor=freed.doctor)

    page = reception.get(freed.get_absolute_url()).content.decode()
    assert "This time is free again — 7 on the waitlist fit" in page
    assert page.count('aria-label="Book ') == 5
    assert "urgent · added today" in page

    url = reverse("waitlist:book", args=[freed.pk, top.pk])
    response = reception.post(url)
    booked = Appointment.objects.active().get(doctor=freed.doctor, start=freed.start)
    assert response["Location"] == booked.get_absolute_url()
    assert booked.patient == top.patient
    top.refresh_from_db()
    assert top.status == WaitlistEntry.Status.BOOKED

    again = reception.post(url)  # a second click: nothing new, to what the first booked
    assert again["Location"] == booked.get_absolute_url()
    assert Appointment.objects.filter(patient=top.patient).count() == 1
    assert "This time is free again" not in reception.get(freed.get_absolute_url()).content.decode()


def test_a_patient_waiting_for_the_doctor_and_for_the_specialty_is_one_candidate(reception):
    freed = freed_time(doctor=DoctorFactory(specialty=SpecialtyFactory(name="Physiotherapy")))
    both = WaitlistEntryFactory(doctor=freed.doctor, patient__first_name="Łucja", patient__last_name="Wiśniewska")
    WaitlistEntryFactory(doctor=None, specialty=freed.doctor.specialty, patient=both.patient, urgency=Urgency.URGENT)
    WaitlistEntryFactory(doctor=freed.doctor, patient__last_name="Other")

    page = reception.get(freed.get_absolute_url()).content.decode()

    assert "This time is free again — 2 on the waitlist fit" in page
    assert page.count('aria-label="Book ') == 2
    assert page.count('aria-label="Book Łucja Wiśniewska"') == 1
    assert "urgent · added today · any Physiotherapy doctor" in page  # by the better-ranked entry


def test_booking_a_time_taken_meanwhile_says_so_and_writes_nothing(reception):
    freed = freed_time()
    entry = WaitlistEntryFactory(doctor=freed.doctor)
    scheduling.book_appointment(
        patient=PatientFactory(), doctor=freed.doctor, start=freed.start, booked_by=UserFactory()
    )

    response = reception.post(reverse("waitlist:book", args=[freed.pk, entry.pk]))

    assert response["Location"] == freed.get_absolute_url()
    assert any("Not booked" in m and "already has an appointment" in m for m in messages_of(response))
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


def test_panel_queries_do_not_grow_with_the_waitlist(reception, django_assert_max_num_queries):
    freed = freed_time()
    WaitlistEntryFactory.create_batch(2, doctor=freed.doctor)
    with django_assert_max_num_queries(60) as few:
        reception.get(freed.get_absolute_url())
    WaitlistEntryFactory.create_batch(25, doctor=freed.doctor)
    with django_assert_max_num_queries(len(few.captured_queries)):
        reception.get(freed.get_absolute_url())


def test_today_lists_freed_times_still_free_with_their_counts(reception, django_assert_max_num_queries):
    soon = timezone.localtime() + timedelta(days=1)
    first = freed_time(day=soon.date(), hour=9)
    WaitlistEntryFactory.create_batch(2, doctor=first.doctor)
    retaken = freed_time(day=soon.date(), hour=11)
    scheduling.book_appointment(
        patient=PatientFactory(), doctor=retaken.doctor, start=retaken.start, booked_by=UserFactory()
    )

    page = reception.get(reverse("home")).content.decode()
    assert "Freed times" in page
    assert f'href="{first.get_absolute_url()}"' in page and "2 on the waitlist fit" in page
    assert f'href="{retaken.get_absolute_url()}"' not in page

    with django_assert_max_num_queries(80) as few:
        reception.get(reverse("home"))
    for hour in (13, 14, 15, 16):
        freed_time(day=soon.date(), hour=hour)
    with django_assert_max_num_queries(len(few.captured_queries) + 4):  # one count per freed time shown
        reception.get(reverse("home"))


def test_offer_button_queues_the_messages_for_the_worker(reception, django_capture_on_commit_callbacks, mailoutbox):
    from django_tasks_db.models import DBTaskResult

    freed = freed_time()
    WaitlistEntryFactory.create_batch(4, doctor=freed.doctor, patient__email="w@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = reception.post(reverse("waitlist:offer", args=[freed.pk]), {"count": "3"})
    assert response["Location"] == freed.get_absolute_url()
    assert WaitlistOffer.objects.count() == 3
    assert mailoutbox == []  # nothing sent in the request: a task waits for the worker
    queued = DBTaskResult.objects.get(task_path="waitlist.tasks.send_offers")
    assert "Being sent" in reception.get(freed.get_absolute_url()).content.decode()

    tasks.send_offers.call(*queued.args_kwargs["args"])  # what the worker does with it
    assert len(mailoutbox) == 3
    assert "Sent (email, sms)" in reception.get(freed.get_absolute_url()).content.decode()


# --- the patient's accept page ------------------------------------------------------------------------------


def accept_url(offer):
    token = make_link_token(services.ACCEPT, offer.pk, valid_until=offer.valid_until)
    return reverse("waitlist:accept", args=[token])


def offer_of_a_freed_time():
    freed = freed_time()
    entry = WaitlistEntryFactory(doctor=freed.doctor, patient__first_name="Ngozi")
    return WaitlistOfferFactory(entry=entry, doctor=freed.doctor, start=freed.start, end=freed.end)


def test_the_link_shows_the_time_and_a_post_accepts_it(anonymous):
    offer = offer_of_a_freed_time()
    url = accept_url(offer)

    page = anonymous.get(url)
    assert page.status_code == 200
    assert str(offer.doctor) in page.content.decode() and "Accept this appointment" in page.content.decode()
    assert WaitlistOffer.objects.get().status == WaitlistOffer.Status.SENT  # a GET changes nothing

    response = anonymous.post(url)
    assert response.status_code == 302
    assert "Your appointment is booked" in anonymous.get(response["Location"]).content.decode()
    assert Appointment.objects.active().get(start=offer.start).patient == offer.entry.patient

    reused = anonymous.post(url)
    assert reused.status_code == 410
    assert "already been used" in reused.content.decode()


def test_a_forged_or_expired_link_gets_a_clear_page(anonymous):
    offer = offer_of_a_freed_time()
    url = accept_url(offer)
    forged = anonymous.get(url[:-6] + "xxxxx/")
    assert forged.status_code == 404 and "This link is not valid" in forged.content.decode()
    assert anonymous.post(url[:-6] + "xxxxx/").status_code == 404
    with time_machine.travel(offer.valid_until + timedelta(minutes=1)):
        expired = anonymous.get(url)
    assert expired.status_code == 410 and "This offer has expired" in expired.content.decode()


def test_a_time_taken_before_the_patient_answers(anonymous):
    offer = offer_of_a_freed_time()
    url = accept_url(offer)
    scheduling.book_appointment(
        patient=PatientFactory(), doctor=offer.doctor, start=offer.start, booked_by=UserFactory()
    )

    assert "Sorry, this time has just been taken" in anonymous.get(url).content.decode()
    response = anonymous.post(url)
    assert response.status_code == 200
    assert "you stay on the waitlist" in response.content.decode().lower()
    assert WaitlistOffer.objects.get().status == WaitlistOffer.Status.TAKEN


def test_a_time_an_appointment_was_moved_from_is_on_today_and_filled_from_its_page(reception):
    soon = timezone.localdate() + timedelta(days=1)
    moved = moved_appointment(hour=9, day=soon)
    freed = FreedTime.objects.get(appointment=moved)
    entry = WaitlistEntryFactory(doctor=freed.doctor, patient__first_name="Ngozi")

    today = reception.get(reverse("home")).content.decode()
    assert f'href="{reverse("waitlist:moved", args=[freed.pk])}"' in today and "1 on the waitlist fits" in today
    page = reception.get(reverse("waitlist:moved", args=[freed.pk])).content.decode()
    assert "This time is free again — 1 on the waitlist fits" in page and "Ngozi" in page

    response = reception.post(reverse("waitlist:book_moved", args=[freed.pk, entry.pk]))
    booked = Appointment.objects.active().get(doctor=freed.doctor, start=freed.start)
    assert (response["Location"], booked.patient) == (booked.get_absolute_url(), entry.patient)
    assert "has been booked since" in reception.get(reverse("waitlist:moved", args=[freed.pk])).content.decode()
    assert f'href="{reverse("waitlist:moved", args=[freed.pk])}"' not in reception.get(reverse("home")).content.decode()

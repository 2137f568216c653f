"""Completing a visit whose notes are missing, empty or unsigned asks first; a visit's page shows the
vital signs recorded on it (clinical's part of the appointment page, through scheduling's slots)."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from clinical.tests.factories import MedicalRecordFactory
from clinical.tests.pages import Status, signed_record, visit

# A fixed clinic day (a Monday at noon): the visit at 10:00 is under way whatever the real clock says.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine("2026-06-15 11:00:00+00:00")]


def complete(client, appointment, **data):
    return client.post(reverse("scheduling:complete", args=[appointment.pk]), data)


def test_completing_a_visit_without_notes_asks_and_offers_to_write_them(doctor, doctor_client):
    appointment = visit(doctor, status=Status.IN_PROGRESS)

    asked = complete(doctor_client, appointment, next=reverse("clinical:my_day"))

    page = asked.content.decode()
    assert asked.status_code == 200 and "Complete this visit?" in page
    assert "No notes have been written for this visit." in page
    assert reverse("clinical:visit_record", args=[appointment.pk]) in page
    appointment.refresh_from_db()
    assert appointment.status == Status.IN_PROGRESS


def test_an_unsigned_draft_asks_with_the_way_to_sign_it(doctor, doctor_client):
    appointment = visit(doctor, status=Status.IN_PROGRESS)
    record = MedicalRecordFactory(author=doctor.user, patient=appointment.patient, appointment=appointment)

    page = complete(doctor_client, appointment).content.decode()

    assert "The record of this visit is a draft that has not been signed." in page
    assert reverse("clinical:record_edit", args=[record.pk]) in page and "Review and sign" in page


def test_an_empty_draft_is_called_empty(doctor, doctor_client):
    appointment = visit(doctor, status=Status.IN_PROGRESS)
    MedicalRecordFactory(
        author=doctor.user,
        patient=appointment.patient,
        appointment=appointment,
        chief_complaint="",
        history="",
        examination="",
        diagnosis="",
        plan="",
        notes="",
    )

    assert "The record of this visit is empty" in complete(doctor_client, appointment).content.decode()


def test_complete_anyway_completes_and_goes_back_only_within_the_site(doctor, doctor_client):
    appointment = visit(doctor, status=Status.IN_PROGRESS)

    done = complete(doctor_client, appointment, anyway="1", next="https://evil.example/")

    assert done.status_code == 302 and done["Location"] == appointment.get_absolute_url()
    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED


def test_signed_notes_complete_without_a_question(doctor, doctor_client):
    appointment = visit(doctor, status=Status.IN_PROGRESS)
    signed_record(doctor.user, appointment.patient, appointment=appointment)

    assert complete(doctor_client, appointment).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED


def test_the_visit_page_shows_its_vital_signs_to_clinical_staff_only(doctor, doctor_client, nurse, reception):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    MedicalRecordFactory(
        author=doctor.user,
        patient=appointment.patient,
        appointment=appointment,
        bp_systolic=128,
        bp_diastolic=82,
        pulse=71,
        temperature="37.9",
    )
    url = appointment.get_absolute_url()

    for client in (doctor_client, nurse):
        page = client.get(url).content.decode()
        assert "Vital signs" in page and "128/82 mmHg" in page and "37.9 °C" in page and "71/min" in page
    assert "128/82" not in reception.get(url).content.decode()


def test_my_day_counts_the_doctors_unsigned_notes_and_the_list_works_through_them(doctor, doctor_client):
    patient_a, patient_b = visit(doctor).patient, visit(doctor, hour=11).patient
    old = MedicalRecordFactory(author=doctor.user, patient=patient_a, diagnosis="Otitis media")
    MedicalRecordFactory(author=doctor.user, patient=patient_b, diagnosis="Tonsillitis")
    signed_record(doctor.user, patient_a)
    MedicalRecordFactory(patient=patient_a, diagnosis="Someone else's draft")

    day = doctor_client.get(reverse("clinical:my_day")).content.decode()
    assert "Unsigned notes: 2" in day

    listed = doctor_client.get(reverse("clinical:unsigned_notes"))
    page = listed.content.decode()
    assert [r.pk for r in listed.context["records"]][0] == old.pk, "oldest first"
    assert "Otitis media" in page and "Tonsillitis" in page and "Someone else" not in page
    assert reverse("clinical:record_edit", args=[old.pk]) in page


def test_the_unsigned_list_costs_the_same_for_3_or_30(doctor, doctor_client, django_assert_max_num_queries):
    def drafts(first, last):
        for n in range(first, last):
            MedicalRecordFactory(author=doctor.user, appointment=visit(doctor, day=date(2026, 7, 1) + timedelta(n)))

    drafts(0, 3)
    with django_assert_max_num_queries(12) as few:
        doctor_client.get(reverse("clinical:unsigned_notes"))
    drafts(3, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        doctor_client.get(reverse("clinical:unsigned_notes"))


@pytest.mark.parametrize("day", ["2026-06-14", "2026-06-16", "2028-02-29", "2026-10-25", "nonsense", "9999-99-99"])
def test_my_day_goes_to_other_days_and_never_fails(doctor, doctor_client, day):
    visit(doctor, day=date(2026, 6, 16), reason="Tomorrow's review")

    response = doctor_client.get(reverse("clinical:my_day"), {"date": day})

    assert response.status_code == 200
    page = response.content.decode()
    assert ("Tomorrow&#x27;s review" in page) == (day == "2026-06-16")
    assert 'rel="prev"' in page and 'rel="next"' in page

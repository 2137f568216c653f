from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.tests.fields import field_block
from patients.models import Allergy, Condition, Patient
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from staff.roles import DOCTOR, NURSE

pytestmark = pytest.mark.django_db

CREATE = reverse("patients:create")
DUPLICATE_MESSAGE = "is already registered"


def patient_form(**overrides):
    data = {
        "first_name": "Zoë",
        "last_name": "Adeyemi",
        "date_of_birth": "1984-03-12",
        "sex": "female",
        "phone": "020 7946 0018",
        "email": "zoe@example.org",
        "address": "1 River Lane",
        "emergency_contact_name": "",
        "emergency_contact_relationship": "",
        "emergency_contact_phone": "",
        "notes": "",
    }
    return {**data, **overrides}


# --- registering a patient -------------------------------------------------------------------------


def test_reception_registers_a_patient_and_gets_an_mrn(reception):
    response = reception.post(CREATE, patient_form())

    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == patient.get_absolute_url()
    assert patient.full_name == "Zoë Adeyemi"
    assert patient.date_of_birth == date(1984, 3, 12)
    assert len(patient.mrn) == 7
    assert f"MRN {patient.mrn}" in reception.get(response["Location"]).text


def test_the_british_date_form_is_accepted_on_registration(reception):
    reception.post(CREATE, patient_form(date_of_birth="12/03/1984"))

    assert Patient.objects.get().date_of_birth == date(1984, 3, 12)


def test_same_name_and_birth_date_must_be_confirmed(reception):
    existing = PatientFactory(first_name="Zoe", last_name="ADEYEMI", date_of_birth=date(1984, 3, 12), phone="")

    response = reception.post(CREATE, patient_form(phone="0161 496 0000"))

    assert response.status_code == 200
    assert Patient.objects.count() == 1
    assert DUPLICATE_MESSAGE in " ".join(response.context["form"].errors["confirm_not_duplicate"])
    assert DUPLICATE_MESSAGE in field_block(response.text, "id_confirm_not_duplicate")
    assert existing.get_absolute_url() in response.text
    assert f"MRN {existing.mrn}" in response.text


def test_same_phone_must_be_confirmed_whatever_its_spacing(reception):
    PatientFactory(first_name="Kwame", last_name="Mensah", phone="02079460018")

    response = reception.post(CREATE, patient_form(phone="(020) 7946-0018"))

    assert response.status_code == 200
    assert Patient.objects.count() == 1
    assert DUPLICATE_MESSAGE in field_block(response.text, "id_confirm_not_duplicate")
    assert "Kwame Mensah" in response.text


def test_ticking_the_box_registers_the_other_person(reception):
    PatientFactory(first_name="Zoë", last_name="Adeyemi", date_of_birth=date(1984, 3, 12), phone="020 7946 0018")

    response = reception.post(CREATE, patient_form(confirm_not_duplicate="on"))

    assert response.status_code == 302
    assert Patient.objects.filter(name_key="zoe adeyemi").count() == 2


def test_a_namesake_born_on_another_day_needs_no_confirmation(reception):
    PatientFactory(first_name="Zoë", last_name="Adeyemi", date_of_birth=date(1990, 1, 1), phone="0161 496 0000")

    response = reception.post(CREATE, patient_form())

    assert response.status_code == 302
    assert Patient.objects.count() == 2


@pytest.mark.parametrize("bad_date", ["1984-02-30", "not a date", "12/13/1984", "84"])
def test_a_malformed_date_of_birth_is_a_form_error(reception, bad_date):
    response = reception.post(CREATE, patient_form(date_of_birth=bad_date))

    assert response.status_code == 200
    assert response.context["form"].errors["date_of_birth"]
    assert not Patient.objects.exists()


def test_a_date_of_birth_in_the_future_is_a_form_error(reception):
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = reception.post(CREATE, patient_form(date_of_birth=tomorrow.isoformat()))

    assert response.status_code == 200
    assert "cannot be in the future" in field_block(response.text, "id_date_of_birth")
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"first_name": "  "}, "first_name"),
        ({"last_name": ""}, "last_name"),
        ({"phone": "call me"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"sex": "robot"}, "sex"),
    ],
)
def test_bad_input_creates_nothing(reception, overrides, field):
    response = reception.post(CREATE, patient_form(**overrides))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Patient.objects.exists()


def test_bad_input_alongside_a_duplicate_is_still_a_form_error(reception):
    PatientFactory(phone="020 7946 0018")

    response = reception.post(CREATE, patient_form(date_of_birth="garbage"))

    assert response.status_code == 200
    assert Patient.objects.count() == 1


# --- editing, archiving ----------------------------------------------------------------------------


def test_reception_edits_details_and_the_new_phone_is_searchable(reception):
    patient = PatientFactory(first_name="Ann", last_name="Archer", phone="0161 496 0000")

    response = reception.post(
        reverse("patients:edit", args=[patient.pk]),
        patient_form(first_name="Ann", last_name="Archer-Smith", phone="020 7946 0018"),
    )

    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.last_name == "Archer-Smith"
    assert list(Patient.objects.search("02079460018")) == [patient]
    assert list(Patient.objects.search("archer smith")) == [patient]


def test_editing_does_not_ask_about_duplicates_of_oneself(reception):
    patient = PatientFactory(first_name="Zoë", last_name="Adeyemi", date_of_birth=date(1984, 3, 12))

    response = reception.post(reverse("patients:edit", args=[patient.pk]), patient_form(notes="Prefers mornings"))

    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.notes == "Prefers mornings"


def test_reception_archives_and_restores_a_record(reception):
    patient = PatientFactory()

    response = reception.post(reverse("patients:archive", args=[patient.pk]))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.is_archived
    assert patient.archived_by == reception.user
    assert "is archived" in reception.get(patient.get_absolute_url()).text

    reception.post(reverse("patients:restore", args=[patient.pk]))
    patient.refresh_from_db()
    assert not patient.is_archived


def test_an_archived_record_cannot_be_edited_until_restored(reception):
    patient = PatientFactory(first_name="Ann")
    patient.archive(by=reception.user)

    response = reception.post(reverse("patients:edit", args=[patient.pk]), patient_form(first_name="Changed"))

    assert response.status_code == 404
    patient.refresh_from_db()
    assert patient.first_name == "Ann"
    assert "Edit details" not in reception.get(patient.get_absolute_url()).text


def test_archiving_asks_first_and_the_question_changes_nothing(reception):
    patient = PatientFactory(first_name="Ann", last_name="Archer")
    archive = reverse("patients:archive", args=[patient.pk])

    page = reception.get(archive)

    assert page.status_code == 200
    assert "Archive Ann Archer's record?" in page.text
    assert "no appointments still to come: nothing else changes" in page.text
    assert 'name="reason"' not in page.text  # nothing to cancel, nothing to explain
    patient.refresh_from_db()
    assert not patient.is_archived
    # The patient page's button is a link to the question, no longer a form that archives at once.
    detail = reception.get(patient.get_absolute_url()).text
    assert f'href="{archive}"' in detail
    assert f'action="{archive}"' not in detail


def test_the_archive_question_is_not_asked_about_an_archived_record(reception):
    patient = PatientFactory(is_archived=True)

    assert reception.get(reverse("patients:archive", args=[patient.pk])).status_code == 404
    assert reception.get(reverse("patients:restore", args=[patient.pk])).status_code == 405


# --- who may do what -------------------------------------------------------------------------------


def test_reception_sees_no_allergies_or_conditions(reception):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin")
    ConditionFactory(patient=patient, name="Essential hypertension")

    response = reception.get(patient.get_absolute_url())

    assert response.status_code == 200
    assert "allergies" not in response.context
    assert "conditions" not in response.context
    for hidden in ("Allergies", "Penicillin", "Conditions", "hypertension"):
        assert hidden not in response.text
    assert "Edit details" in response.text
    assert "Archive record" in response.text


def test_reception_may_not_touch_allergies_or_conditions(reception):
    patient = PatientFactory()
    allergy = AllergyFactory(patient=patient)
    condition = ConditionFactory(patient=patient)
    urls = [
        reverse("patients:allergy_create", args=[patient.pk]),
        reverse("patients:allergy_edit", args=[patient.pk, allergy.pk]),
        reverse("patients:condition_create", args=[patient.pk]),
        reverse("patients:condition_edit", args=[patient.pk, condition.pk]),
    ]
    for url in urls:
        assert reception.get(url).status_code == 403, url
        assert reception.post(url, {"substance": "Latex", "name": "Asthma", "severity": "mild"}).status_code == 403
    assert Allergy.objects.count() == 1
    assert Condition.objects.count() == 1


@pytest.mark.parametrize("role", [DOCTOR, NURSE])
def test_clinical_staff_see_allergies_and_conditions(client_for, role):
    client = client_for(role)
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin", reaction="Hives")
    ConditionFactory(patient=patient, name="Asthma", icd10_code="J45")

    response = client.get(patient.get_absolute_url())

    assert response.status_code == 200
    for shown in ("Allergies", "Penicillin", "Hives", "Conditions", "Asthma", "J45", "Add allergy", "Add condition"):
        assert shown in response.text
    assert "Edit details" not in response.text
    assert "Archive record" not in response.text


@pytest.mark.parametrize("role", [DOCTOR, NURSE])
def test_clinical_staff_record_an_allergy(client_for, role):
    client = client_for(role)
    patient = PatientFactory()

    response = client.post(
        reverse("patients:allergy_create", args=[patient.pk]),
        {"substance": "Latex", "reaction": "Wheeze", "severity": "severe", "is_active": "on"},
    )

    assert response.status_code == 302
    assert response["Location"] == patient.get_absolute_url()
    allergy = Allergy.objects.get()
    assert allergy.patient == patient
    assert allergy.recorded_by == client.user
    assert allergy.severity == Allergy.Severity.SEVERE


def test_a_doctor_edits_an_allergy_and_the_recorder_is_kept(doctor_client, nurse):
    patient = PatientFactory()
    allergy = AllergyFactory(patient=patient, recorded_by=nurse.user)

    response = doctor_client.post(
        reverse("patients:allergy_edit", args=[patient.pk, allergy.pk]),
        {"substance": "Penicillin", "reaction": "Rash", "severity": "mild", "is_active": "on"},
    )

    assert response.status_code == 302
    allergy.refresh_from_db()
    assert allergy.severity == Allergy.Severity.MILD
    assert allergy.is_active
    assert allergy.recorded_by == nurse.user


def test_a_nurse_records_a_condition_with_a_lower_case_code(nurse):
    patient = PatientFactory()

    response = nurse.post(
        reverse("patients:condition_create", args=[patient.pk]),
        {
            "name": "Type 2 diabetes",
            "icd10_code": "e11.9",
            "onset_date": "2019-06-01",
            "status": Condition.Status.ACTIVE,
        },
    )

    assert response.status_code == 302
    condition = Condition.objects.get()
    assert condition.icd10_code == "E11.9"
    assert condition.recorded_by == nurse.user


def test_a_bad_icd10_code_is_a_form_error(doctor_client):
    patient = PatientFactory()

    response = doctor_client.post(
        reverse("patients:condition_create", args=[patient.pk]),
        {"name": "Asthma", "icd10_code": "asthma", "status": Condition.Status.ACTIVE},
    )

    assert response.status_code == 200
    assert "icd10_code" in response.context["form"].errors
    assert not Condition.objects.exists()


def test_a_doctor_edits_a_condition(doctor_client):
    patient = PatientFactory()
    condition = ConditionFactory(patient=patient, onset_date=date(2015, 1, 1))

    response = doctor_client.post(
        reverse("patients:condition_edit", args=[patient.pk, condition.pk]),
        {
            "name": condition.name,
            "icd10_code": "I10",
            "onset_date": "2015-01-01",
            "status": Condition.Status.RESOLVED,
            "resolved_date": "2020-01-01",
        },
    )

    assert response.status_code == 302
    condition.refresh_from_db()
    assert condition.status == Condition.Status.RESOLVED
    assert condition.resolved_date == date(2020, 1, 1)


@pytest.mark.parametrize("role", [DOCTOR, NURSE])
def test_clinical_staff_may_not_change_demographics(client_for, role):
    client = client_for(role)
    patient = PatientFactory(first_name="Ann")

    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, patient_form()).status_code == 403
    assert client.get(reverse("patients:edit", args=[patient.pk])).status_code == 403
    assert client.post(reverse("patients:edit", args=[patient.pk]), patient_form(first_name="X")).status_code == 403
    assert client.post(reverse("patients:archive", args=[patient.pk])).status_code == 403
    patient.refresh_from_db()
    assert patient.first_name == "Ann"
    assert not patient.is_archived
    assert Patient.objects.count() == 1


def test_a_manager_views_patients_but_changes_nothing(manager):
    patient = PatientFactory(first_name="Ann")
    AllergyFactory(patient=patient, substance="Penicillin")

    assert manager.get(reverse("patients:list")).status_code == 200
    detail = manager.get(patient.get_absolute_url())
    assert detail.status_code == 200
    assert "Penicillin" not in detail.text
    assert "Edit details" not in detail.text
    for url in (CREATE, reverse("patients:edit", args=[patient.pk])):
        assert manager.get(url).status_code == 403
        assert manager.post(url, patient_form(first_name="X")).status_code == 403
    assert manager.post(reverse("patients:archive", args=[patient.pk])).status_code == 403
    assert manager.get(reverse("patients:allergy_create", args=[patient.pk])).status_code == 403
    patient.refresh_from_db()
    assert patient.first_name == "Ann"
    assert not patient.is_archived


def test_a_signed_in_user_without_a_role_sees_no_patients(client_for):
    client = client_for(None)
    patient = PatientFactory()

    assert client.get(reverse("patients:list")).status_code == 403
    assert client.get(patient.get_absolute_url()).status_code == 403


def test_unknown_ids_are_not_found(reception, doctor_client):
    patient = PatientFactory()
    missing = Patient.objects.order_by("-pk").first().pk + 1000
    allergy_of_another = AllergyFactory()
    condition_of_another = ConditionFactory()

    assert reception.get(reverse("patients:detail", args=[missing])).status_code == 404
    assert reception.get(reverse("patients:edit", args=[missing])).status_code == 404
    assert reception.post(reverse("patients:archive", args=[missing])).status_code == 404
    assert reception.post(reverse("patients:restore", args=[patient.pk])).status_code == 404  # not archived
    assert doctor_client.get(reverse("patients:allergy_create", args=[missing])).status_code == 404
    assert doctor_client.get(reverse("patients:condition_create", args=[missing])).status_code == 404
    # An allergy or condition is reached only through its own patient.
    assert (
        doctor_client.get(reverse("patients:allergy_edit", args=[patient.pk, allergy_of_another.pk])).status_code == 404
    )
    edit_other = reverse("patients:condition_edit", args=[patient.pk, condition_of_another.pk])
    assert doctor_client.get(edit_other).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(anonymous):
    patient = PatientFactory()
    urls = [
        reverse("patients:list"),
        CREATE,
        patient.get_absolute_url(),
        reverse("patients:edit", args=[patient.pk]),
        reverse("patients:allergy_create", args=[patient.pk]),
    ]
    for url in urls:
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next=")

    response = anonymous.post(reverse("patients:archive", args=[patient.pk]))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert not patient.is_archived


def test_the_patient_page_tells_never_asked_from_no_known_allergies(nurse):
    patient = PatientFactory()
    url = reverse("patients:detail", args=[patient.pk])
    assert "Allergies not yet recorded" in nurse.get(url).content.decode()

    response = nurse.post(reverse("patients:allergies_checked", args=[patient.pk]))

    assert response["Location"] == url
    page = nurse.get(url).content.decode()
    assert "No known allergies" in page and "Allergies not yet recorded" not in page
    assert f"by {nurse.user.get_full_name()})" in page
    patient.refresh_from_db()
    assert patient.allergies_checked_by == nurse.user


def test_an_archived_patient_is_not_marked_checked(nurse):
    patient = PatientFactory(is_archived=True)

    response = nurse.post(reverse("patients:allergies_checked", args=[patient.pk]))

    assert response.status_code == 404
    patient.refresh_from_db()
    assert patient.allergies_checked_at is None

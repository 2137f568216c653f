"""The patients API: what each role reads, the page's rules on writes, problem+json, replays, audit."""

import uuid

import pytest
from django.urls import reverse

from clinic.models import AuditEntry
from patients.models import Patient
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from staff.roles import DOCTOR, MANAGER, NURSE, RECEPTIONIST

LIST = reverse("patients_api:patient-list")


def detail(patient):
    return reverse("patients_api:patient-detail", kwargs={"pk": patient.pk})


NEW = {"first_name": "Zoë", "last_name": "Ångström", "date_of_birth": "1984-02-29", "sex": "female", "phone": ""}


@pytest.mark.django_db
def test_a_receptionist_reads_no_clinical_history_a_doctor_does(api_for):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin")
    ConditionFactory(patient=patient, name="Asthma", icd10_code="J45.909")
    desk = api_for(RECEPTIONIST).get(detail(patient)).json()
    assert desk["allergies"] is None and desk["conditions"] is None
    chart = api_for(DOCTOR).get(detail(patient)).json()
    assert [a["substance"] for a in chart["allergies"]] == ["Penicillin"]
    assert [c["icd10_code"] for c in chart["conditions"]] == ["J45.909"]


@pytest.mark.django_db
def test_register_checks_duplicates_like_the_page_and_a_replay_makes_one(api_for):
    api = api_for(RECEPTIONIST)
    key = str(uuid.uuid4())
    first = api.post(LIST, NEW, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    assert first["Location"] == reverse("patients_api:patient-detail", kwargs={"pk": first.json()["id"]})
    assert first.json()["mrn"]
    again = api.post(LIST, NEW, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 303 and again["Location"] == first["Location"]
    assert Patient.objects.count() == 1
    # The same person again, without the key: the page's duplicate check answers, next to its field.
    twin = api.post(LIST, NEW, format="json")
    assert twin.status_code == 400
    assert twin["Content-Type"] == "application/problem+json"
    assert "confirm_not_duplicate" in twin.json()["errors"]
    assert api.post(LIST, {**NEW, "confirm_not_duplicate": True}, format="json").status_code == 201


@pytest.mark.django_db
def test_bad_input_is_problem_json_with_field_errors(api_for):
    response = api_for(RECEPTIONIST).post(LIST, {"first_name": "", "date_of_birth": "31/31/2020"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["type"].endswith("/invalid")
    assert {"first_name", "last_name", "date_of_birth"} <= set(body["errors"])


@pytest.mark.django_db
@pytest.mark.parametrize("role", [DOCTOR, NURSE, MANAGER, None])
def test_roles_without_the_permission_cannot_register(api_for, role):
    response = api_for(role).post(LIST, NEW, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_no_or_a_wrong_token_is_401_not_a_sign_in_page(client, api_for):
    assert client.get(LIST).status_code == 401
    api = api_for(RECEPTIONIST)
    api.credentials(HTTP_AUTHORIZATION="Bearer clinic_nonsense")
    response = api.get(LIST)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_search_pages_by_cursor_in_name_order_and_is_audited_with_the_client(api_for):
    for last in ["Łukasik", "Lu", "Lucas", "Ludwig"]:
        PatientFactory(last_name=last, first_name="Ana")
    api = api_for(RECEPTIONIST)
    first = api.get(LIST, {"q": "lu", "page_size": 2}).json()
    names = [p["last_name"] for p in first["results"]]
    second = api.get(first["next"]).json()
    names += [p["last_name"] for p in second["results"]]
    # "lu" is a word start, accents folded (Ł as L); two pages of two, none twice.
    assert sorted(names) == sorted(["Łukasik", "Lu", "Lucas", "Ludwig"])
    assert names[:3] == ["Lu", "Lucas", "Ludwig"]
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).latest("id")
    assert entry.user == api.user and entry.user_agent.startswith("API token")


@pytest.mark.django_db
def test_one_letter_is_refused_as_on_the_page(api_for):
    response = api_for(RECEPTIONIST).get(LIST, {"q": "l"})
    assert response.status_code == 400 and "q" in response.json()["errors"]


@pytest.mark.django_db
def test_archive_needs_a_reason_like_the_page_and_restore(api_for):
    patient = PatientFactory()
    api = api_for(RECEPTIONIST)
    archived = api.post(reverse("patients_api:patient-archive", kwargs={"pk": patient.pk}), {}, format="json")
    assert archived.status_code == 200 and archived.json()["is_archived"] is True
    assert api.patch(detail(patient), {"phone": "+44 20 7946 0000"}, format="json").status_code == 404
    restored = api.post(reverse("patients_api:patient-restore", kwargs={"pk": patient.pk}))
    assert restored.status_code == 200 and restored.json()["is_archived"] is False


@pytest.mark.django_db
def test_patch_keeps_what_was_not_sent(api_for):
    patient = PatientFactory(first_name="Ama", phone="+233 24 000 0000")
    response = api_for(RECEPTIONIST).patch(detail(patient), {"email": "ama@example.org"}, format="json")
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert (patient.first_name, patient.email, patient.phone) == ("Ama", "ama@example.org", "+233 24 000 0000")


@pytest.mark.django_db
def test_a_doctor_records_an_allergy_a_receptionist_cannot(api_for):
    patient = PatientFactory()
    url = reverse("patients_api:patient-add-allergy", kwargs={"pk": patient.pk})
    allergy = {"substance": "Amoxicillin", "severity": "severe"}
    assert api_for(RECEPTIONIST).post(url, allergy, format="json").status_code == 403
    response = api_for(DOCTOR).post(url, allergy, format="json")
    assert response.status_code == 201 and response.json()["substance"] == "Amoxicillin"
    assert patient.allergies.get().recorded_by is not None


@pytest.mark.django_db
def test_a_method_the_resource_does_not_answer_is_405_not_an_error(api_for):
    patient = PatientFactory()
    response = api_for(RECEPTIONIST).post(detail(patient), {}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert api_for(RECEPTIONIST).delete(detail(patient)).status_code == 405
    assert Patient.objects.filter(pk=patient.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [["a"], 7, "text"])
def test_a_body_that_is_not_an_object_is_a_400_not_an_error(api_for, body):
    patient = PatientFactory()
    for url in [reverse("patients_api:patient-archive", kwargs={"pk": patient.pk}), LIST]:
        response = api_for(RECEPTIONIST).post(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
    patient.refresh_from_db()
    assert not patient.is_archived

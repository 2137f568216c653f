"""The record form's lookups: ICD-10-CM codes (search and the check of saved codes), the formulary's
drug names (seeded, extended in the admin through its service, searched), and the allergy check of a
drug as it is typed. Each answer is bounded (at most 20 rows) and takes a fixed number of queries."""

import time

import pytest
from django.urls import reverse

from clinical import formulary, icd10
from clinical.forms import MedicalRecordForm
from clinical.models import FormularyDrug, MedicalRecord
from clinical.tests.factories import MedicalRecordFactory, SignedRecordFactory
from clinical.tests.pages import field_errors, record_form, text
from patients.tests.factories import AllergyFactory, PatientFactory

pytestmark = pytest.mark.django_db

# What every signed-in request costs before the view: the session and the user, the user's permissions
# (two), and saving the session again (SESSION_SAVE_EVERY_REQUEST: a savepoint, the update, its release).
REQUEST_QUERIES = 7


def _timed(client, url, data, runs=20):
    """The response and the median time of `runs` requests, in milliseconds (printed with -s)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, data)
        times.append((time.perf_counter() - start) * 1000)
    median = sorted(times)[len(times) // 2]
    print(f"{url} {data}: median {median:.1f} ms over {runs}")
    return response, median


# --- ICD-10 -----------------------------------------------------------------------------------


def test_the_code_list_is_icd10cm_with_titles():
    assert len(icd10.code_list()) > 90_000
    assert icd10.title("J02.9") == "Acute pharyngitis, unspecified"
    assert icd10.canonical("j029") == "J02.9"
    assert icd10.canonical("S52.501A") == "S52.501A"  # a code with its seventh character
    assert icd10.canonical("J00-J06") is None  # a block is not a code to record
    assert icd10.canonical("I84.9") is None  # WHO ICD-10, not in ICD-10-CM


@pytest.mark.parametrize(
    "query, expected",
    [("J06", "J06.9"), ("j02.9", "J02.9"), ("pharyngitis", "J02.9"), ("acute phar", "J02.9"), ("Pharyngite", None)],
)
def test_search_by_code_or_words(query, expected):
    codes = [code for code, _ in icd10.search(query)]
    assert (expected in codes) if expected else codes == []


@pytest.mark.parametrize("query", ["S", "fracture", "a", "acute", "1", "x" * 500, "  ", "%", "J"])
def test_search_is_bounded(query):
    assert len(icd10.search(query)) <= 20


def test_icd10_lookup_answers_code_and_title_in_json(doctor_client, django_assert_num_queries):
    url = reverse("clinical:icd10_lookup")
    icd10.code_list()  # loaded once per process, before the timing
    with django_assert_num_queries(REQUEST_QUERIES):  # the list is in memory: no query of its own
        response, median = _timed(doctor_client, url, {"q": "pharyngitis"}, runs=1)
    assert response["Content-Type"] == "application/json"
    results = response.json()["results"]
    assert {"code": "J02.9", "title": "Acute pharyngitis, unspecified"} in results
    assert len(results) <= 20
    _, median = _timed(doctor_client, url, {"q": "fracture"})
    assert median < 500  # generous: a loaded CI machine; typically a few ms (README)


@pytest.mark.parametrize("query", ["", "'; DROP TABLE x; --", "\x00", "é" * 300])
def test_icd10_lookup_takes_any_text(query, doctor_client):
    response = doctor_client.get(reverse("clinical:icd10_lookup"), {"q": query})
    assert response.status_code == 200
    assert len(response.json()["results"]) <= 20


def test_the_record_form_refuses_a_code_not_in_the_list_next_to_the_field(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user, icd10_codes="")
    edit = reverse("clinical:record_edit", args=[record.pk])
    response = doctor_client.post(edit, record_form(record, examination="Changed", icd10_codes="J02.9, J99.99"))
    assert response.status_code == 200
    [error] = field_errors(response, "icd10_codes")
    assert error.startswith("Not in the ICD-10 code list: J99.99.")
    assert error in text(response)
    record.refresh_from_db()
    assert record.examination != "Changed"


def test_the_record_form_writes_codes_as_the_list_does(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user, icd10_codes="")
    edit = reverse("clinical:record_edit", args=[record.pk])
    response = doctor_client.post(edit, record_form(record, icd10_codes="j029; i10 J02.9"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.icd10_codes == "J02.9, I10"


def test_a_code_saved_before_the_check_stays_while_unchanged_and_is_refused_once_added_anew():
    # A record from before the list was checked holds a WHO code that ICD-10-CM does not have.
    record = MedicalRecordFactory(icd10_codes="I84.9")
    kept = MedicalRecordForm(data={**record_form(record), "icd10_codes": "I84.9, J02.9"}, instance=record)
    assert kept.is_valid(), kept.errors
    assert kept.cleaned_data["icd10_codes"] == "I84.9, J02.9"

    other = MedicalRecordFactory(icd10_codes="J02.9")
    added = MedicalRecordForm(data={**record_form(other), "icd10_codes": "I84.9"}, instance=other)
    assert not added.is_valid()
    assert "I84.9" in added.errors["icd10_codes"][0]


# --- the formulary ----------------------------------------------------------------------------


def test_the_formulary_is_seeded_from_the_drug_class_table():
    names = set(FormularyDrug.objects.values_list("name", flat=True))
    assert {"Amoxicillin", "Co-amoxiclav", "Cefalexin", "Ibuprofen"} <= names
    assert set(formulary.names_from_drug_classes()) <= names
    # Running it again adds nothing.
    assert formulary.add_missing_from_drug_classes() == 0


def test_search_starts_with_what_was_typed_ignoring_case_spaces_and_hyphens():
    assert [d.name for d in formulary.search("amox")] == ["Amoxicillin"]
    assert "Co-amoxiclav" in [d.name for d in formulary.search("co amox")]
    assert "Co-amoxiclav" in [d.name for d in formulary.search("COAMOX")]
    assert formulary.search("") == []


def test_a_retired_drug_is_no_longer_suggested(administrator):
    amoxicillin = FormularyDrug.objects.get(name="Amoxicillin")
    formulary.set_active(drugs_to_change=[amoxicillin], active=False, by=administrator.user)
    assert formulary.search("amox") == []


def test_drug_lookup_is_bounded_with_a_fixed_number_of_queries(doctor_client, django_assert_num_queries):
    for n in range(40):
        formulary.save_drug(drug=FormularyDrug(name=f"Zetadrug {n:02}", strengths="5 mg, 10 mg"), by=None)
    url = reverse("clinical:drug_lookup")
    doctor_client.get(url, {"q": "zeta"})  # the session is warm
    with django_assert_num_queries(REQUEST_QUERIES + 1):
        response = doctor_client.get(url, {"q": "zeta"})
    results = response.json()["results"]
    assert len(results) == 20
    assert results[0] == {"name": "Zetadrug 00", "strengths": ["5 mg", "10 mg"], "forms": []}
    _, median = _timed(doctor_client, url, {"q": "zeta"})
    assert median < 500


def test_the_service_tidies_and_refuses_a_second_spelling_of_the_same_drug():
    drug = formulary.save_drug(drug=FormularyDrug(name="  Wonder   Drug ", strengths="5 mg,, 10 mg ,5 mg"), by=None)
    assert (drug.name, drug.name_key, drug.strengths) == ("Wonder Drug", "wonderdrug", "5 mg, 10 mg")
    with pytest.raises(Exception, match="already has this drug as Wonder Drug"):
        formulary.save_drug(drug=FormularyDrug(name="wonder-drug"), by=None)


@pytest.fixture
def superuser_client(client):
    from staff.tests.factories import UserFactory

    user = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(user)
    client.user = user
    return client


def test_the_admin_adds_a_drug_through_the_service(superuser_client):
    url = reverse("admin:clinical_formularydrug_add")
    response = superuser_client.post(
        url, {"name": " Pivmecillinam  XL ", "strengths": "200 mg", "forms": "tablet", "active": "on"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    drug = FormularyDrug.objects.get(name="Pivmecillinam XL")
    assert drug.name_key == "pivmecillinamxl"  # set by the service, not the form
    assert drug.updated_by == superuser_client.user
    assert [d.name for d in formulary.search("pivmecillinam x")] == ["Pivmecillinam XL"]


def test_the_admin_says_so_next_to_the_name_when_the_drug_is_already_there(superuser_client):
    response = superuser_client.post(
        reverse("admin:clinical_formularydrug_add"), {"name": "amoxi-cillin", "strengths": "", "forms": ""}
    )
    assert response.status_code == 200
    assert "The formulary already has this drug as Amoxicillin." in response.content.decode()
    assert FormularyDrug.objects.filter(name_key="amoxicillin").count() == 1


def test_the_admin_retires_drugs_and_deletes_none(superuser_client):
    drug = FormularyDrug.objects.get(name="Amoxicillin")
    url = reverse("admin:clinical_formularydrug_changelist")
    response = superuser_client.post(url, {"action": "retire", "_selected_action": [drug.pk]})
    assert response.status_code == 302
    drug.refresh_from_db()
    assert drug.active is False
    assert superuser_client.get(reverse("admin:clinical_formularydrug_delete", args=[drug.pk])).status_code == 403


# --- the allergy check as a drug is typed ------------------------------------------------------


@pytest.fixture
def penicillin_draft(doctor_client):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin V", severity="severe", reaction="rash")
    return MedicalRecordFactory(author=doctor_client.user, patient=patient)


def test_the_check_warns_in_the_words_of_the_saved_page(penicillin_draft, doctor_client, django_assert_max_num_queries):
    url = reverse("clinical:allergy_check", args=[penicillin_draft.pk])
    with django_assert_max_num_queries(REQUEST_QUERIES + 2):
        answer = doctor_client.get(url, {"drug": "Amoxicillin 500 mg"}).json()
    assert answer["conflicts"] == 1
    expected = (
        "Amoxicillin 500 mg matches the patient's allergy to <strong>Penicillin V</strong> (severe: rash): "
        "Amoxicillin 500 mg is a penicillin."
    )
    assert answer["html"] == expected
    # The same sentence the page shows next to the row once the draft is saved.
    page = doctor_client.post(
        reverse("clinical:record_edit", args=[penicillin_draft.pk]),
        record_form(penicillin_draft, meds=["Amoxicillin 500 mg"]),
        follow=True,
    )
    assert expected in page.content.decode().replace("&#x27;", "'")
    _, median = _timed(doctor_client, url, {"drug": "Amoxicillin"})
    assert median < 500


@pytest.mark.parametrize("drug", ["", "Azithromycin", "<script>alert(1)</script>"])
def test_no_conflict_no_warning(drug, penicillin_draft, doctor_client):
    answer = doctor_client.get(reverse("clinical:allergy_check", args=[penicillin_draft.pk]), {"drug": drug}).json()
    assert answer["conflicts"] == 0 and answer["html"] == ""


def test_the_typed_name_is_escaped_in_the_warning(doctor_client):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Amoxicillin")
    record = MedicalRecordFactory(author=doctor_client.user, patient=patient)
    answer = doctor_client.get(
        reverse("clinical:allergy_check", args=[record.pk]), {"drug": "Amoxicillin<img src=x>"}
    ).json()
    assert "<img" not in answer["html"] and "&lt;img" in answer["html"]


def test_only_the_author_checks_a_draft_and_not_a_signed_record(penicillin_draft, doctor_client, client_for):
    from staff.tests.factories import DoctorFactory

    other = client_for(None)
    other.force_login(DoctorFactory().user)
    url = reverse("clinical:allergy_check", args=[penicillin_draft.pk])
    assert other.get(url, {"drug": "Amoxicillin"}).status_code == 403
    signed = SignedRecordFactory(author=doctor_client.user)
    assert doctor_client.get(reverse("clinical:allergy_check", args=[signed.pk])).status_code == 403
    assert not MedicalRecord.objects.filter(pk=penicillin_draft.pk, medications__isnull=False).exists()

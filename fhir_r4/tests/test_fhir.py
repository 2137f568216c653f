"""FHIR R4: every resource and Bundle the server emits validates (fhir.resources, R4B models), each role
reads what its pages show and no more, searches page and stay within a fixed number of queries, and
every read and search of patient data is in the audit trail."""

from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.models import AuditEntry
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory, ProcedureFactory, TreatmentPlanFactory
from documents.models import ClinicalDocument
from documents.tests.factories import make_document
from fhir_r4 import mapping
from fhir_r4 import search as s
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory

from .helpers import FULL_CHART_FOR_A_DOCTOR, counts, fhir_json, full_chart, validated

pytestmark = pytest.mark.django_db

CLINICAL_TYPES = ["AllergyIntolerance", "Condition", "Encounter", "Observation", "MedicationRequest"]
CHART_TYPES = [*CLINICAL_TYPES, "Procedure", "CarePlan"]


def search(resource_type):
    return reverse(f"fhir:{resource_type.lower()}-search")


def read(resource_type, ident):
    return reverse(f"fhir:{resource_type.lower()}-read", kwargs={"id": ident})


def everything_of(patient):
    return reverse("fhir:patient-everything", kwargs={"id": patient.pk})


def test_the_whole_record_of_a_full_chart_validates_and_each_resource_reads_back_the_same(api_for):
    patient, _ = full_chart()
    doctor = api_for(DOCTOR)
    bundle = fhir_json(doctor.get(everything_of(patient)))
    assert bundle["type"] == "searchset"
    assert dict(counts(bundle)) == FULL_CHART_FOR_A_DOCTOR
    assert bundle["total"] == sum(FULL_CHART_FOR_A_DOCTOR.values())
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"].endswith(f"/fhir/R4/{resource['resourceType']}/{resource['id']}")
        # Every resource read on its own is the same resource, and validates on its own.
        assert fhir_json(doctor.get(read(resource["resourceType"], resource["id"]))) == resource
    # Every reference in the bundle points to a resource in it: the record moves to another system whole.
    present = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    referenced = set()

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str):
                referenced.add(value["reference"])
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk([e["resource"] for e in bundle["entry"]])
    assert referenced and referenced <= present, referenced - present


def test_every_search_by_patient_validates_and_finds_what_everything_has(api_for):
    patient, _ = full_chart()
    doctor = api_for(DOCTOR)
    whole = counts(fhir_json(doctor.get(everything_of(patient))))
    for resource_type in ["Appointment", "DocumentReference", *CHART_TYPES]:
        bundle = fhir_json(doctor.get(search(resource_type), {"patient": patient.pk}))
        assert counts(bundle)[resource_type] == whole[resource_type], resource_type
        assert bundle["link"][0]["relation"] == "self"


def test_names_outside_latin_1_are_kept_and_found(api_for):
    patient, doctor = full_chart()
    resource = fhir_json(api_for(RECEPTIONIST).get(read("Patient", patient.pk)))
    assert resource["name"][0] == {
        "use": "official",
        "text": "Thị Hương Đặng",
        "family": "Đặng",
        "given": ["Thị Hương"],
    }
    assert resource["identifier"][0]["value"] == patient.mrn
    assert resource["contact"][0]["name"]["text"] == "Nguyễn Văn Ánh"
    found = fhir_json(api_for(RECEPTIONIST).get(search("Patient"), {"name": "đặng"}))
    assert [e["resource"]["id"] for e in found["entry"]] == [str(patient.pk)]
    practitioner = fhir_json(api_for(NURSE).get(read("Practitioner", doctor.user_id)))
    assert practitioner["name"][0]["family"] == "Παπαδοπούλου"


def test_patient_search_by_mrn_birth_date_and_gender(api_for):
    patient = PatientFactory(first_name="Aiyana", last_name="Begaye")
    PatientFactory(date_of_birth=patient.date_of_birth.replace(year=patient.date_of_birth.year - 1))
    api = api_for(RECEPTIONIST)

    def ids(**params):
        return [e["resource"]["id"] for e in fhir_json(api.get(search("Patient"), params)).get("entry", [])]

    assert ids(identifier=f"{mapping.MRN_SYSTEM}|{patient.mrn}") == [str(patient.pk)]
    assert ids(identifier=patient.mrn) == [str(patient.pk)]
    assert ids(birthdate=patient.date_of_birth.isoformat()) == [str(patient.pk)]
    assert ids(birthdate=f"ge{patient.date_of_birth.isoformat()}", gender="female") == [str(patient.pk)]
    assert ids(gender="male") == []


def test_searches_page_with_links_none_twice(api_for):
    patient = PatientFactory()
    doctor = DoctorFactory()
    for days in range(5):
        start = local(timezone.localdate() + timedelta(days=days + 1), 9)
        AppointmentFactory(patient=patient, doctor=doctor, start=start, end=start + timedelta(minutes=20))
    api = api_for(RECEPTIONIST)
    url = f"http://testserver{search('Appointment')}?patient={patient.pk}&_count=2"
    seen, pages = [], 0
    while url:
        bundle = fhir_json(api.get(url))
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url = links.get("next")
        pages += 1
    assert pages == 3 and len(seen) == 5 == len(set(seen))
    assert bundle["total"] == 5  # told on the last page, where it is known without counting
    assert "previous" in links


def test_appointment_search_by_date_range(api_for):
    doctor = DoctorFactory()
    day = timezone.localdate() + timedelta(days=3)
    inside = AppointmentFactory(doctor=doctor, start=local(day, 9), end=local(day, 9, 20))
    AppointmentFactory(
        doctor=doctor, start=local(day + timedelta(days=1), 9), end=local(day + timedelta(days=1), 9, 20)
    )
    bundle = fhir_json(
        api_for(MANAGER).get(
            search("Appointment"),
            {"date": [f"ge{day.isoformat()}", f"lt{(day + timedelta(days=1)).isoformat()}"]},
        )
    )
    assert [e["resource"]["id"] for e in bundle["entry"]] == [str(inside.pk)]
    resource = bundle["entry"][0]["resource"]
    assert resource["status"] == "booked"
    assert {p["actor"]["reference"] for p in resource["participant"]} == {
        f"Patient/{inside.patient_id}",
        f"Practitioner/{doctor.user_id}",
    }


def test_free_slots_of_a_schedule_leave_out_the_booked_time_and_read_back(api_for):
    doctor = DoctorFactory()
    day = timezone.localdate() + timedelta(days=2)
    AppointmentFactory(doctor=doctor, start=local(day, 8), end=local(day, 8, 20))
    api = api_for(RECEPTIONIST)
    bundle = fhir_json(
        api.get(search("Slot"), {"schedule": f"Schedule/{doctor.pk}", "start": f"ge{day.isoformat()}", "_count": 3})
    )
    starts = [e["resource"]["start"] for e in bundle["entry"]]
    assert starts == [mapping.instant(local(day, 8) + timedelta(minutes=20 * n)) for n in (1, 2, 3)]
    first = bundle["entry"][0]["resource"]
    assert first["schedule"]["reference"] == f"Schedule/{doctor.pk}" and first["status"] == "free"
    assert fhir_json(api.get(read("Slot", first["id"]))) == first
    booked = mapping.slot_id(type("Free", (), {"doctor": doctor, "start": local(day, 8)})())
    assert fhir_json(api.get(read("Slot", booked)), 404)["resourceType"] == "OperationOutcome"
    schedule = fhir_json(api.get(read("Schedule", doctor.pk)))
    assert schedule["actor"][0]["reference"] == f"Practitioner/{doctor.user_id}"
    role = fhir_json(api.get(search("PractitionerRole"), {"practitioner": doctor.user_id}))
    assert role["entry"][0]["resource"]["availableTime"]


def test_codes_have_their_systems(api_for):
    patient, _ = full_chart()
    bundle = fhir_json(api_for(DOCTOR).get(everything_of(patient)))
    by_type = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    icd10 = {c["code"]["coding"][0]["code"] for c in by_type["Condition"]}
    assert icd10 == {"I10", "J20.9", "E11.9"}
    assert {c["code"]["coding"][0]["system"] for c in by_type["Condition"]} == {mapping.ICD10}
    for observation in by_type["Observation"]:
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
        assert observation["code"]["coding"][0]["system"] == mapping.LOINC
        quantities = [observation.get("valueQuantity")] + [c["valueQuantity"] for c in observation.get("component", [])]
        for quantity in filter(None, quantities):
            assert quantity["system"] == mapping.UCUM
    bp = next(o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == "85354-9")
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in bp["component"]] == [
        ("8480-6", 142),
        ("8462-4", 91),
    ]
    temperature = next(o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == "8310-5")
    assert temperature["valueQuantity"]["code"] == "Cel" and temperature["valueQuantity"]["value"] == 36.8


def test_a_document_reference_points_to_the_apis_download_of_that_version(api_for):
    patient, _ = full_chart()
    document = ClinicalDocument.objects.get(patient=patient, doc_type=ClinicalDocument.Type.LAB_RESULT)
    version = document.current_version
    api = api_for(NURSE)
    resource = fhir_json(api.get(read("DocumentReference", document.pk)))
    attachment = resource["content"][0]["attachment"]
    download = reverse("documents_api:document-file", args=[document.pk])
    assert attachment["url"] == f"http://testserver{download}?version={version.number}"
    assert (attachment["contentType"], attachment["size"]) == ("application/pdf", version.size)
    assert resource["type"]["coding"][0] == {"system": mapping.LOINC, "code": "11502-2", "display": "Laboratory report"}
    # The same token fetches the file there, through the documents API's own check (and audit).
    url = urlsplit(attachment["url"])
    response = api.get(f"{url.path}?{url.query}")
    assert response.status_code == 200
    with version.file.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()


# --- each role ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource_type", CHART_TYPES)
@pytest.mark.parametrize("role", [RECEPTIONIST, MANAGER, ADMINISTRATOR, None])
def test_roles_that_read_no_chart_are_refused_clinical_resources(api_for, role, resource_type):
    patient, _ = full_chart()
    api = api_for(role)
    refused = api.get(search(resource_type), {"patient": patient.pk})
    outcome = fhir_json(refused, 403)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "forbidden"
    # The same answer whether or not the id exists: the permission is checked before any lookup.
    assert api.get(read(resource_type, 1)).status_code == 403
    assert api.get(read(resource_type, 987654)).status_code == 403


@pytest.mark.parametrize("role", [DOCTOR, NURSE])
def test_clinical_roles_read_the_chart(api_for, role):
    patient, _ = full_chart()
    api = api_for(role)
    for resource_type in CHART_TYPES:
        assert fhir_json(api.get(search(resource_type), {"patient": patient.pk}))["entry"], resource_type


def test_the_front_desk_whole_record_is_what_its_pages_show(api_for):
    patient, _ = full_chart()
    bundle = fhir_json(api_for(RECEPTIONIST).get(everything_of(patient)))
    assert dict(counts(bundle)) == {
        "Patient": 1,
        "Appointment": 2,
        "DocumentReference": 1,  # the referral; not the lab result
        "Practitioner": 1,
        "PractitionerRole": 1,
    }
    referral = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")
    assert referral["description"] == "Giới thiệu — 眼科"
    # The lab result, as on its page: refused, and so is an id that does not exist.
    lab = ClinicalDocument.objects.get(patient=patient, doc_type=ClinicalDocument.Type.LAB_RESULT)
    api = api_for(RECEPTIONIST)
    assert fhir_json(api.get(read("DocumentReference", lab.pk)), 403)["resourceType"] == "OperationOutcome"
    assert api.get(read("DocumentReference", 987654)).status_code == 403
    assert api_for(DOCTOR).get(read("DocumentReference", 987654)).status_code == 404


def test_a_manager_reads_patients_and_appointments_but_no_documents(api_for):
    patient, _ = full_chart()
    api = api_for(MANAGER)
    bundle = fhir_json(api.get(everything_of(patient)))
    assert set(counts(bundle)) == {"Patient", "Appointment", "Practitioner", "PractitionerRole"}
    assert fhir_json(api.get(search("DocumentReference"), {"patient": patient.pk}), 403)


def test_without_credentials_401_and_metadata_is_public(client, api_for):
    patient = PatientFactory()
    for url in [read("Patient", patient.pk), search("Patient"), everything_of(patient), "/fhir/R4/Nonsense/1"]:
        response = client.get(url)
        assert fhir_json(response, 401)["issue"][0]["code"] == "login"
        assert response["WWW-Authenticate"].startswith("Bearer")
    api = api_for(RECEPTIONIST)
    api.credentials(HTTP_AUTHORIZATION="Bearer clinic_wrong")
    assert api.get(read("Patient", patient.pk)).status_code == 401
    capability = fhir_json(client.get(reverse("fhir:metadata")))
    assert capability["fhirVersion"] == "4.0.1"
    offered = {r["type"] for r in capability["rest"][0]["resource"]}
    assert offered == {
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Schedule",
        "Slot",
        "Appointment",
        "AllergyIntolerance",
        "Condition",
        "Encounter",
        "Observation",
        "MedicationRequest",
        "Procedure",
        "CarePlan",
        "DocumentReference",
    }


def test_the_session_signs_in_too(client):
    from staff.tests.factories import UserFactory

    patient = PatientFactory(first_name="Ōta")
    client.force_login(UserFactory(roles=[RECEPTIONIST]))
    assert fhir_json(client.get(read("Patient", patient.pk)))["name"][0]["given"] == ["Ōta"]


def test_unknown_ids_types_and_bad_searches_are_operation_outcomes(api_for):
    api = api_for(DOCTOR)
    assert fhir_json(api.get(read("Patient", 987654)), 404)["issue"][0]["code"] == "not-found"
    assert fhir_json(api.get(read("Observation", "1-nonsense")), 404)
    assert fhir_json(api.get(read("Condition", "r987654-1")), 404)
    assert fhir_json(api.get("/fhir/R4/Medication/1"), 404)
    assert fhir_json(api.get("/fhir/R4/Patient/abc"), 404)
    bad = [
        (search("Patient"), {"nonsense": "1"}),
        (search("Patient"), {"name": "đ"}),  # one letter, refused as on the patient list
        (search("Patient"), {"birthdate": "yesterday"}),
        (search("Patient"), {"birthdate": "ap2020-01-01"}),
        (search("Patient"), {"_count": "0"}),
        (search("Appointment"), {"date": "ge2026-13-45"}),
        (search("Observation"), {}),  # a chart's resources are searched by patient
        (search("Observation"), {"patient": "1", "code": "http://loinc.org|1234-5"}),
        (search("Condition"), {"patient": "Practitioner/1"}),
        (search("Patient"), {"name": "Ana\x00"}),  # PostgreSQL refuses NUL in text: refused before asking it
    ]
    for url, params in bad:
        outcome = fhir_json(api.get(url, params), 400)
        assert outcome["issue"][0]["code"] == "invalid", (url, params)


def test_this_server_reads_only_writes_are_405(api_for, client):
    patient = PatientFactory()
    api = api_for(RECEPTIONIST)
    for url in [search("Patient"), read("Patient", patient.pk), everything_of(patient), "/fhir/R4/Nonsense"]:
        for method in ("post", "put", "patch", "delete"):
            response = getattr(api, method)(url, {"resourceType": "Patient"}, format="json")
            assert fhir_json(response, 405)["issue"][0]["code"] == "not-supported", (method, url)
    assert fhir_json(client.post(reverse("fhir:metadata")), 405)
    assert fhir_json(api.get(search("Patient"), {"_format": "xml"}), 406)
    assert fhir_json(api.get(search("Patient"), HTTP_ACCEPT="application/xml"), 406)
    assert api.get(search("Patient"), {"_format": "application/fhir+json"}).status_code == 200


# --- the audit trail ----------------------------------------------------------------------------------------


def test_reads_and_searches_are_audited_naming_the_client(api_for):
    patient, _ = full_chart()
    api, desk = api_for(NURSE), api_for(RECEPTIONIST)
    before = AuditEntry.objects.count()
    api.get(read("Patient", patient.pk))
    api.get(search("Observation"), {"patient": patient.pk})
    api.get(everything_of(patient))
    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert [(e.action, e.patient_id) for e in entries] == [
        (AuditEntry.Action.VIEW, patient.pk),
        (AuditEntry.Action.SEARCH, patient.pk),
        (AuditEntry.Action.VIEW, patient.pk),
    ]
    assert all(e.user == api.user and e.user_agent.startswith("API token") for e in entries)
    assert entries[1].summary.startswith("FHIR Observation?patient=") and "8 listed" in entries[1].summary
    assert "$everything" in entries[2].summary
    # A refused call writes nothing.
    assert desk.get(search("Condition"), {"patient": patient.pk}).status_code == 403
    assert AuditEntry.objects.count() == before + 3


# --- bounded queries ------------------------------------------------------------------------------------------


def _many_charts():
    patient, doctor = full_chart()
    for _ in range(4):
        full_chart()  # other patients' charts, which the searches must leave out
    for n in range(6):
        start = local(timezone.localdate() - timedelta(days=n + 3), 11)
        visit = AppointmentFactory(
            patient=patient,
            doctor=DoctorFactory(),
            start=start,
            end=start + timedelta(minutes=20),
            status=Appointment.Status.COMPLETED,
        )
        record = MedicalRecordFactory(
            patient=patient, appointment=visit, author=visit.doctor.user, icd10_codes="J06.9", pulse=70 + n, spo2=98
        )
        MedicationFactory(record=record)
        AllergyFactory(patient=patient, substance=f"Substance {n}")
        ConditionFactory(patient=patient, name=f"Problem {n}", icd10_code="R51")
        ProcedureFactory(plan=TreatmentPlanFactory(patient=patient, doctor=visit.doctor), appointment=visit)
        make_document(patient, by=visit.doctor.user, title=f"Result {n}")
    return patient


@pytest.mark.parametrize(
    "resource_type",
    ["Patient", "Practitioner", "PractitionerRole", "Schedule", "Appointment", "DocumentReference", *CHART_TYPES],
)
def test_searches_take_a_fixed_number_of_queries(api_for, django_assert_max_num_queries, resource_type):
    patient = _many_charts()
    api = api_for(DOCTOR)
    params = {} if resource_type.startswith(("Pract", "Sched", "Patient")) else {"patient": patient.pk}
    # Token, permissions (cached for the request), the rows (and a prefetch or two), the audit entry.
    with django_assert_max_num_queries(12):
        bundle = fhir_json(api.get(search(resource_type), {**params, "_count": 100}))
    assert bundle.get("entry"), resource_type


def test_everything_takes_a_fixed_number_of_queries(api_for, django_assert_max_num_queries):
    patient = _many_charts()
    api = api_for(DOCTOR)
    with django_assert_max_num_queries(25):
        bundle = fhir_json(api.get(everything_of(patient)))
    assert counts(bundle)["Appointment"] == 8 and counts(bundle)["Encounter"] == 7
    assert counts(bundle)["Practitioner"] == 7


def test_free_slots_take_a_fixed_number_of_queries(api_for, django_assert_max_num_queries):
    for _ in range(5):
        DoctorFactory()
    api = api_for(NURSE)
    with django_assert_max_num_queries(8):
        bundle = fhir_json(api.get(search("Slot"), {"_count": 50}))
    assert len(bundle["entry"]) == 50


def test_vital_signs_by_code_and_date(api_for):
    patient, _ = full_chart()
    api = api_for(NURSE)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()

    def found(**params):
        bundle = fhir_json(api.get(search("Observation"), {"patient": patient.pk, **params}))
        return [e["resource"]["code"]["coding"][0]["code"] for e in bundle.get("entry", [])]

    assert found(code=f"{mapping.LOINC}|8867-4", category="vital-signs") == ["8867-4"]
    assert len(found(date=yesterday)) == 8  # the visit was yesterday, whenever the record was typed
    assert found(date=f"lt{yesterday}") == []


def test_encounters_are_visits_the_patient_came_to(api_for):
    patient, _ = full_chart()
    AppointmentFactory(patient=patient, status=Appointment.Status.CANCELLED, start=local(timezone.localdate(), 7))
    bundle = fhir_json(api_for(DOCTOR).get(search("Encounter"), {"patient": patient.pk}))
    [encounter] = [e["resource"] for e in bundle["entry"]]
    assert encounter["status"] == "finished" and encounter["class"]["code"] == "AMB"
    assert [d["condition"]["display"] for d in encounter["diagnosis"]] == ["E11.9", "I10"]
    validated(encounter)


# --- date parameters --------------------------------------------------------------------------------------------

WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31)).map(
    lambda moment: timezone.make_aware(moment.replace(microsecond=0))
)


@given(moment=WHEN, bound=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)))
@settings(max_examples=200, deadline=None)
def test_a_date_prefix_selects_exactly_the_times_fhir_says(moment, bound):
    """ge/gt/le/lt/eq on a day compare with the whole clinic-local day, as FHIR's date ranges do."""
    day = timezone.localtime(moment).date()
    expected = {
        "eq": day == bound,
        "ge": day >= bound,
        "gt": day > bound,
        "le": day <= bound,
        "lt": day < bound,
    }
    for prefix, wanted in expected.items():
        lookups = s.date_filters(QueryDict(f"date={prefix}{bound.isoformat()}"), "date", "start")
        low, high = lookups.get("start__gte"), lookups.get("start__lt")
        selected = (low is None or moment >= low) and (high is None or moment < high)
        assert selected == wanted, (prefix, moment, bound, lookups)

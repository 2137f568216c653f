"""The clinical pages, through the views: who may open each one, and what charting does and refuses.

Every role on every clinical page; a doctor edits only their own drafts and amends signed records;
signing (the allergy warning, the diagnosis it needs); vital signs in range; double submits that
create one thing; plan status changes; the printable prescription; malformed input (404 or a form
error, never a 500); and the links to the chart from an appointment and a patient.
"""

import uuid
from datetime import timedelta
from html import unescape
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.tests.submissions import token_on
from clinical import services
from clinical.forms import MAX_MEDICATIONS
from clinical.models import Amendment, MedicalRecord, Medication, Procedure, TreatmentPlan
from clinical.tests.factories import (
    AmendmentFactory,
    MedicalRecordFactory,
    MedicationFactory,
    ProcedureFactory,
    TreatmentPlanFactory,
)
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

Status = Appointment.Status
PlanStatus = TreatmentPlan.Status
FRIENDLY_403 = "This page is not available to you"
UNKNOWN = 987654
HUGE = 99999999999999999999999  # beyond any database integer


def text(response):
    return unescape(response.content.decode())


def today_at(hour, minute=0):
    return local(timezone.localdate(), hour, minute)


def visit(doctor, patient=None, *, hour=10, status=Status.CHECKED_IN, day=None, **fields):
    """An appointment (today by default) in the given status, with the timestamps that status implies."""
    start = local(day or timezone.localdate(), hour)
    now = timezone.now()
    if status in (Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED):
        fields.setdefault("checked_in_at", now)
    if status in (Status.IN_PROGRESS, Status.COMPLETED):
        fields.setdefault("started_at", now)
    if status == Status.COMPLETED:
        fields.setdefault("completed_at", now)
    return AppointmentFactory(doctor=doctor, patient=patient or PatientFactory(), start=start, status=status, **fields)


def signed_record(author, patient=None, *, drugs=("Paracetamol",), **fields):
    """A record signed by its author, with a medication row per drug."""
    record = MedicalRecordFactory(author=author, patient=patient or PatientFactory(), **fields)
    for drug in drugs:
        MedicationFactory(record=record, drug=drug)
    return services.sign_record(record=record, by=author, acknowledge_allergies=True)


def record_form(record=None, *, meds=(), existing=(), **fields):
    """POST data for the record form: its fields (the record's own unless given) and medication rows.
    `existing` are (medication, delete?) pairs for rows already saved; `meds` are new drugs."""
    data = {
        name: "" if getattr(record, name, None) is None else str(getattr(record, name))
        for name in (
            "chief_complaint",
            "history",
            "examination",
            "bp_systolic",
            "bp_diastolic",
            "pulse",
            "temperature",
            "respiratory_rate",
            "spo2",
            "weight_kg",
            "height_cm",
            "diagnosis",
            "icd10_codes",
            "plan",
            "notes",
        )
    }
    data.update({name: str(value) for name, value in fields.items()})
    rows = [{"id": m.pk, "drug": m.drug, **({"DELETE": "on"} if delete else {})} for m, delete in existing]
    rows += [{"drug": drug, "strength": "250 mg", "dose": "1 capsule", "route": "oral"} for drug in meds]
    data.update(
        {
            "meds-TOTAL_FORMS": str(len(rows)),
            "meds-INITIAL_FORMS": str(len(existing)),
            "meds-MIN_NUM_FORMS": "0",
            "meds-MAX_NUM_FORMS": "1000",
        }
    )
    for i, row in enumerate(rows):
        data.update({f"meds-{i}-{key}": value for key, value in row.items()})
    return data


def plan_form(doctor, **fields):
    return {"doctor": doctor.pk, "diagnosis_summary": "Hypertension, stage 1", "goals": "BP below 140/90", **fields}


def procedure_form(**fields):
    return {"name": "ECG", "code": "ECG12", "status": Procedure.Status.PLANNED, "fee": "40.00", **fields}


def field_errors(response, name):
    return [str(e) for e in response.context["form"].errors.get(name, [])]


@pytest.fixture
def doctor(doctor_client):
    """The Doctor persona's doctor profile (My day, plans and visits need one)."""
    return DoctorFactory(user=doctor_client.user)


# --- every role on every page ---------------------------------------------------------------------

# What only the clinic's clinical staff may see: none of it may reach anyone else.
SECRETS = ["Zebra fever", "Quinoxaline", "Unicorn therapy", "Narwhal scan", "Latexium", "Chronic wobble"]


@pytest.fixture
def world(doctor):
    """A patient with a full chart, seen today by the Doctor persona."""
    patient = PatientFactory(first_name="Ottilie", last_name="Quillfeather")
    AllergyFactory(patient=patient, substance="Latexium")
    ConditionFactory(patient=patient, name="Chronic wobble", icd10_code="")
    checked_in = visit(doctor, patient, hour=9, status=Status.CHECKED_IN, reason="Dizzy spells")
    in_progress = visit(doctor, PatientFactory(), hour=11, status=Status.IN_PROGRESS)
    signed = signed_record(doctor.user, patient, drugs=["Quinoxaline"], diagnosis="Zebra fever")
    AmendmentFactory(record=signed, text="Zebra fever confirmed by the laboratory")
    draft = MedicalRecordFactory(author=doctor.user, patient=patient, diagnosis="Zebra fever, relapse")
    plan = TreatmentPlanFactory(patient=patient, doctor=doctor, diagnosis_summary="Unicorn therapy")
    procedure = ProcedureFactory(plan=plan, name="Narwhal scan")
    return SimpleNamespace(
        doctor=doctor,
        patient=patient,
        checked_in=checked_in,
        in_progress=in_progress,
        signed=signed,
        draft=draft,
        plan=plan,
        procedure=procedure,
    )


# URL name -> (arguments from the world, method, what a doctor sends when it is a POST).
PAGES = {
    "clinical:my_day": (lambda w: {}, "get", None),
    "clinical:chart": (lambda w: {"pk": w.patient.pk}, "get", None),
    "clinical:record_create": (lambda w: {"patient_pk": w.patient.pk}, "post", lambda w: {}),
    "clinical:plan_create": (lambda w: {"patient_pk": w.patient.pk}, "get", None),
    "clinical:procedure_create": (lambda w: {"patient_pk": w.patient.pk}, "get", None),
    "clinical:visit_start": (lambda w: {"pk": w.checked_in.pk}, "post", lambda w: {}),
    "clinical:visit_record": (lambda w: {"pk": w.in_progress.pk}, "post", lambda w: {}),
    "clinical:vitals": (lambda w: {"pk": w.checked_in.pk}, "get", None),
    "clinical:record": (lambda w: {"pk": w.signed.pk}, "get", None),
    "clinical:record_edit": (lambda w: {"pk": w.draft.pk}, "get", None),
    "clinical:record_sign": (lambda w: {"pk": w.draft.pk}, "post", lambda w: {}),
    "clinical:record_amend": (lambda w: {"pk": w.signed.pk}, "get", None),
    "clinical:prescription": (lambda w: {"pk": w.signed.pk}, "get", None),
    "clinical:plan": (lambda w: {"pk": w.plan.pk}, "get", None),
    "clinical:plan_edit": (lambda w: {"pk": w.plan.pk}, "get", None),
    "clinical:plan_status": (lambda w: {"pk": w.plan.pk}, "post", lambda w: {"status": TreatmentPlan.Status.ACTIVE}),
    "clinical:procedure_edit": (lambda w: {"pk": w.procedure.pk}, "get", None),
}
NURSE_PAGES = {"clinical:chart", "clinical:record", "clinical:prescription", "clinical:plan", "clinical:vitals"}
# The clinical text each page a clinician opens must show (so the 403 checks below are not vacuous).
SHOWS = {
    "clinical:my_day": ["Latexium", "Ottilie Quillfeather"],
    "clinical:chart": ["Latexium", "Chronic wobble", "Zebra fever", "Unicorn therapy", "Narwhal scan"],
    "clinical:record": ["Zebra fever", "Quinoxaline", "Zebra fever confirmed by the laboratory"],
    "clinical:record_edit": ["Zebra fever, relapse"],
    "clinical:record_amend": ["Zebra fever", "Quinoxaline"],
    "clinical:prescription": ["Quinoxaline", "Ottilie Quillfeather"],
    "clinical:plan": ["Unicorn therapy", "Narwhal scan"],
    "clinical:plan_edit": ["Unicorn therapy"],
    "clinical:procedure_edit": ["Narwhal scan"],
}


def test_the_table_names_every_clinical_url():
    from clinic.tests.urlwalk import walk_urls

    assert set(PAGES) == {name for name, _ in walk_urls() if name and name.startswith("clinical:")}


def url_of(name, world):
    return reverse(name, kwargs=PAGES[name][0](world))


def everything_clinical():
    """A snapshot of the clinical data and the visits' statuses: a refused request changes none of it."""
    return (
        sorted(MedicalRecord.objects.values_list("pk", "status", "updated_at")),
        Medication.objects.count(),
        Amendment.objects.count(),
        sorted(TreatmentPlan.objects.values_list("pk", "status", "updated_at")),
        sorted(Procedure.objects.values_list("pk", "status")),
        sorted(Appointment.objects.values_list("pk", "status")),
    )


def everything_a_doctor_could_send(world):
    """One body that every clinical form would accept from a doctor."""
    return {
        "client_token": str(uuid.uuid4()),
        "status": TreatmentPlan.Status.ACTIVE,
        "acknowledge_allergies": "on",
        "doctor": world.doctor.pk,
        "diagnosis_summary": "Sneaked in",
        "section": "plan",
        "text": "Sneaked in",
        "reason": "Sneaked in",
        "pulse": "80",
        "name": "Sneaked in",
        "plan": world.plan.pk,
        "fee": "1.00",
        **record_form(world.draft, diagnosis="Sneaked in"),
    }


@pytest.mark.parametrize("role", [RECEPTIONIST, MANAGER, ADMINISTRATOR, None], ids=str)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_non_clinical_roles_get_403_and_no_clinical_text(name, role, world, client_for):
    client = client_for(role)
    url = url_of(name, world)
    before = everything_clinical()
    for method, data in (("get", None), ("post", everything_a_doctor_could_send(world))):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, response.status_code)
        body = text(response)
        assert FRIENDLY_403 in body
        for secret in [*SECRETS, world.patient.last_name]:
            assert secret not in body, (method, secret)
    assert everything_clinical() == before
    assert not MedicalRecord.objects.filter(diagnosis="Sneaked in").exists()


@pytest.mark.parametrize("name", sorted(PAGES))
def test_doctor_reaches_every_clinical_page(name, world, doctor_client):
    _, method, data = PAGES[name]
    url = url_of(name, world)
    if method == "post":
        response = doctor_client.post(url, data(world))
        assert response.status_code == 302, response.status_code
        assert not response["Location"].startswith(reverse("login"))
        return
    response = doctor_client.get(url)
    assert response.status_code == 200
    body = text(response)
    assert FRIENDLY_403 not in body
    for shown in SHOWS.get(name, []):
        assert shown in body, shown


@pytest.mark.parametrize("name", sorted(PAGES))
def test_nurse_reads_the_chart_and_records_vitals_but_does_not_chart(name, world, nurse):
    method = PAGES[name][1]
    before = everything_clinical()
    response = getattr(nurse, method)(
        url_of(name, world), everything_a_doctor_could_send(world) if method == "post" else None
    )
    if name in NURSE_PAGES:
        assert response.status_code == 200
        for shown in SHOWS.get(name, []):
            assert shown in text(response), shown
    else:
        assert response.status_code == 403
        assert FRIENDLY_403 in text(response)
    assert everything_clinical() == before


@pytest.mark.parametrize("name", sorted(PAGES))
def test_anonymous_visitor_is_sent_to_sign_in(name, world, anonymous):
    url = url_of(name, world)
    before = everything_clinical()
    response = getattr(anonymous, PAGES[name][1])(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert everything_clinical() == before


@pytest.mark.parametrize(
    "name, kwargs",
    [
        # Checked before the object is looked up: the answer does not tell whether it exists or is signed.
        ("clinical:record_amend", lambda w: {"pk": w.draft.pk}),
        ("clinical:record_amend", lambda w: {"pk": UNKNOWN}),
        ("clinical:vitals", lambda w: {"pk": UNKNOWN}),
        ("clinical:plan_create", lambda w: {"patient_pk": UNKNOWN}),
        ("clinical:procedure_create", lambda w: {"patient_pk": UNKNOWN}),
        ("clinical:record", lambda w: {"pk": UNKNOWN}),
        ("clinical:prescription", lambda w: {"pk": w.draft.pk}),
    ],
)
@pytest.mark.parametrize("role", [RECEPTIONIST, MANAGER])
def test_non_clinical_roles_learn_nothing_from_the_status_code(name, kwargs, role, world, client_for):
    response = client_for(role).get(reverse(name, kwargs=kwargs(world)))
    assert response.status_code == 403


def test_nurse_sees_a_record_without_edit_sign_or_amend(world, nurse):
    body = text(nurse.get(world.draft.get_absolute_url()))
    assert "Zebra fever, relapse" in body
    assert reverse("clinical:record_edit", args=[world.draft.pk]) not in body
    assert reverse("clinical:record_sign", args=[world.draft.pk]) not in body
    body = text(nurse.get(world.signed.get_absolute_url()))
    assert reverse("clinical:record_amend", args=[world.signed.pk]) not in body
    assert reverse("clinical:prescription", args=[world.signed.pk]) in body


def test_nurse_sees_the_chart_without_charting_buttons(world, nurse):
    body = text(nurse.get(reverse("clinical:chart", args=[world.patient.pk])))
    assert "New record" not in body
    assert reverse("clinical:plan_create", args=[world.patient.pk]) not in body
    body = text(nurse.get(world.plan.get_absolute_url()))
    assert reverse("clinical:plan_edit", args=[world.plan.pk]) not in body
    assert reverse("clinical:plan_status", args=[world.plan.pk]) not in body
    assert reverse("clinical:procedure_edit", args=[world.procedure.pk]) not in body


def test_only_doctors_get_my_day_in_the_menu(doctor_client, nurse, reception):
    my_day = f'href="{reverse("clinical:my_day")}"'
    assert my_day in doctor_client.get(reverse("patients:list")).content.decode()
    assert my_day not in nurse.get(reverse("patients:list")).content.decode()
    assert my_day not in reception.get(reverse("patients:list")).content.decode()


# --- my day and the chart -------------------------------------------------------------------------


def test_my_day_lists_todays_appointments_in_order_with_the_next_step(doctor, doctor_client):
    allergic = PatientFactory(first_name="Ada", last_name="Penn")
    AllergyFactory(patient=allergic, substance="Penicillin", severity="severe")
    later = visit(doctor, allergic, hour=14, status=Status.SCHEDULED, reason="Rash")
    arrived = visit(doctor, hour=9, status=Status.CHECKED_IN, reason="Cough")
    consulting = visit(doctor, hour=11, status=Status.IN_PROGRESS)
    done = visit(doctor, hour=8, status=Status.COMPLETED)
    record = MedicalRecordFactory(author=doctor.user, patient=done.patient, appointment=done)
    visit(DoctorFactory(), hour=10)  # a colleague's
    visit(doctor, hour=10, day=timezone.localdate() + timedelta(days=1))  # tomorrow

    response = doctor_client.get(reverse("clinical:my_day"))

    assert response.status_code == 200
    assert [a.pk for a in response.context["appointments"]] == [done.pk, arrived.pk, consulting.pk, later.pk]
    body = text(response)
    assert "Penicillin" in body and "(severe)" in body and "Rash" in body
    assert f"{allergic.age}</td>" in body
    assert reverse("clinical:visit_start", args=[arrived.pk]) in body
    assert reverse("clinical:visit_record", args=[consulting.pk]) in body
    assert reverse("scheduling:complete", args=[consulting.pk]) in body
    assert record.get_absolute_url() in body
    assert reverse("clinical:visit_start", args=[later.pk]) not in body  # not arrived yet


def test_my_day_for_a_doctor_without_a_profile_says_so(doctor_client):
    response = doctor_client.get(reverse("clinical:my_day"))
    assert response.status_code == 200
    assert "no doctor profile" in text(response)


def test_chart_shows_header_and_timeline_newest_first(doctor, doctor_client):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin")
    AllergyFactory(patient=patient, substance="Latex", is_active=False)
    ConditionFactory(patient=patient, name="Asthma", icd10_code="J45")
    old = visit(doctor, patient, hour=9, status=Status.COMPLETED, day=timezone.localdate() - timedelta(days=30))
    signed_record(doctor.user, patient, appointment=old, diagnosis="Old bronchitis")
    plan = TreatmentPlanFactory(patient=patient, doctor=doctor, diagnosis_summary="Asthma control")
    ProcedureFactory(plan=plan, name="Spirometry", status=Procedure.Status.DONE, performed_date=timezone.localdate())
    ProcedureFactory(plan=plan, name="Peak flow diary", status=Procedure.Status.PLANNED)

    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]))

    body = text(response)
    assert "Penicillin" in body and "Latex" not in body and "Asthma" in body
    assert "1 of 2 procedures done" in body
    timeline = response.context["timeline"]
    assert {e.kind for e in timeline} == {"visit", "record", "plan", "procedure"}
    assert [e.when for e in timeline] == sorted((e.when for e in timeline), reverse=True)
    assert timeline[-1].kind in ("visit", "record")  # the visit a month ago, with its record beside it


@pytest.mark.parametrize("status", PlanStatus.values)
def test_chart_filters_plans_by_status(status, doctor, doctor_client):
    patient = PatientFactory()
    for each in PlanStatus.values:
        TreatmentPlanFactory(patient=patient, doctor=doctor, diagnosis_summary=f"Plan {each}", status=each)

    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]), {"plan_status": status})

    plans = [e.obj.diagnosis_summary for e in response.context["timeline"] if e.kind == "plan"]
    assert plans == [f"Plan {status}"]
    assert f'<option value="{status}" selected>' in response.content.decode()


@pytest.mark.parametrize("junk", ["", "bogus", "ACTIVE", "active'--", "x" * 500])
def test_chart_ignores_an_unknown_plan_status(junk, doctor, doctor_client):
    patient = PatientFactory()
    for each in PlanStatus.values:
        TreatmentPlanFactory(patient=patient, doctor=doctor, status=each)
    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]), {"plan_status": junk})
    assert response.status_code == 200
    assert len([e for e in response.context["timeline"] if e.kind == "plan"]) == len(PlanStatus.values)


# --- drafts: only the author's ------------------------------------------------------------------------


def test_doctor_edits_own_draft_with_medications(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    page = doctor_client.get(reverse("clinical:record_edit", args=[record.pk]))
    assert page.status_code == 200

    data = record_form(
        record, meds=["Amoxicillin", "Ibuprofen"], examination="Red throat", pulse=88, icd10_codes="j03.9"
    )
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), data)

    assert response.status_code == 302
    assert response["Location"] == reverse("clinical:record_edit", args=[record.pk])
    record.refresh_from_db()
    assert (record.examination, record.pulse, record.icd10_codes) == ("Red throat", 88, "J03.9")
    assert list(record.medications.values_list("drug", flat=True)) == ["Amoxicillin", "Ibuprofen"]

    # Remove one row, keep the other; "Save and review" goes to the record's sign section.
    amoxicillin, ibuprofen = record.medications.all()
    data = record_form(record, existing=[(amoxicillin, True), (ibuprofen, False)])
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), {**data, "sign": "1"})
    assert response["Location"] == record.get_absolute_url() + "#sign"
    assert list(record.medications.values_list("drug", flat=True)) == ["Ibuprofen"]


def test_doctor_cannot_edit_or_sign_another_doctors_draft(doctor_client):
    theirs = MedicalRecordFactory(author=DoctorFactory().user, diagnosis="Their diagnosis")
    before = everything_clinical()

    assert doctor_client.get(reverse("clinical:record_edit", args=[theirs.pk])).status_code == 403
    response = doctor_client.post(
        reverse("clinical:record_edit", args=[theirs.pk]), record_form(theirs, diagnosis="Mine now", meds=["X"])
    )
    assert response.status_code == 403
    assert doctor_client.post(reverse("clinical:record_sign", args=[theirs.pk])).status_code == 403

    assert everything_clinical() == before
    theirs.refresh_from_db()
    assert (theirs.diagnosis, theirs.status) == ("Their diagnosis", "draft")
    # Their draft's page offers this doctor neither editing nor signing.
    body = text(doctor_client.get(theirs.get_absolute_url()))
    assert reverse("clinical:record_edit", args=[theirs.pk]) not in body
    assert reverse("clinical:record_sign", args=[theirs.pk]) not in body


@pytest.mark.parametrize("whose", ["own", "another doctor's"])
def test_no_doctor_edits_a_signed_record(whose, doctor_client):
    author = doctor_client.user if whose == "own" else DoctorFactory().user
    record = signed_record(author, diagnosis="As signed")
    before = everything_clinical()

    assert doctor_client.get(reverse("clinical:record_edit", args=[record.pk])).status_code == 403
    response = doctor_client.post(
        reverse("clinical:record_edit", args=[record.pk]), record_form(record, diagnosis="Changed")
    )
    assert response.status_code == 403
    # Signing it again changes nothing either: back to the record, saying so.
    response = doctor_client.post(
        reverse("clinical:record_sign", args=[record.pk]), {"acknowledge_allergies": "on"}, follow=True
    )
    assert response.redirect_chain == [(record.get_absolute_url(), 302)]
    assert "already signed" in text(response)

    assert everything_clinical() == before
    body = text(doctor_client.get(record.get_absolute_url()))
    assert reverse("clinical:record_edit", args=[record.pk]) not in body
    assert reverse("clinical:record_amend", args=[record.pk]) in body


@pytest.mark.parametrize("whose", ["own", "another doctor's"])
def test_doctor_amends_a_signed_record(whose, doctor_client):
    author = doctor_client.user if whose == "own" else DoctorFactory().user
    record = signed_record(author, diagnosis="Viral pharyngitis")
    url = reverse("clinical:record_amend", args=[record.pk])
    page = doctor_client.get(url)
    assert page.status_code == 200
    token = token_on(page)

    data = {"section": "diagnosis", "text": "Bacterial tonsillitis", "reason": "Swab result", "client_token": token}
    first = doctor_client.post(url, data)
    second = doctor_client.post(url, data)  # the same form sent twice

    assert first.status_code == second.status_code == 302
    assert first["Location"] == record.get_absolute_url()
    amendment = Amendment.objects.get()
    assert (amendment.record, amendment.author, amendment.reason) == (record, doctor_client.user, "Swab result")
    body = text(doctor_client.get(record.get_absolute_url()))
    # The original text stays, and the amendment follows it.
    assert body.index("Viral pharyngitis") < body.index("Bacterial tonsillitis")
    assert "Original record" in body and "Reason: Swab result" in body
    record.refresh_from_db()
    assert record.diagnosis == "Viral pharyngitis"


def test_amendment_needs_text_and_reason(doctor_client):
    record = signed_record(doctor_client.user)
    response = doctor_client.post(reverse("clinical:record_amend", args=[record.pk]), {"section": "plan"})
    assert response.status_code == 200
    assert field_errors(response, "text") and field_errors(response, "reason")
    response = doctor_client.post(
        reverse("clinical:record_amend", args=[record.pk]), {"section": "nonsense", "text": "x", "reason": "y"}
    )
    assert response.status_code == 200 and field_errors(response, "section")
    assert not Amendment.objects.exists()


def test_a_draft_is_not_amended(doctor_client):
    draft = MedicalRecordFactory(author=doctor_client.user)
    assert doctor_client.get(reverse("clinical:record_amend", args=[draft.pk])).status_code == 404
    response = doctor_client.post(
        reverse("clinical:record_amend", args=[draft.pk]), {"section": "plan", "text": "x", "reason": "y"}
    )
    assert response.status_code == 404
    assert not Amendment.objects.exists()


# --- signing --------------------------------------------------------------------------------------


def test_sign_flow_with_an_allergy_warning_to_acknowledge(doctor_client):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin", severity="severe", reaction="Anaphylaxis")
    record = MedicalRecordFactory(author=doctor_client.user, patient=patient, diagnosis="")
    edit = reverse("clinical:record_edit", args=[record.pk])
    sign = reverse("clinical:record_sign", args=[record.pk])

    # Chart the findings, a diagnosis and a conflicting prescription.
    data = record_form(record, diagnosis="Streptococcal tonsillitis", meds=["Penicillin V"])
    response = doctor_client.post(edit, {**data, "sign": "1"}, follow=True)
    body = text(response)
    assert "Allergy warning." in body
    assert "Penicillin V matches the patient's allergy to <strong>Penicillin</strong> (severe: Anaphylaxis)" in body
    assert sign in body

    # Signing without acknowledging is refused, with the message, and the record stays a draft.
    response = doctor_client.post(sign)
    assert response.status_code == 400
    assert "Acknowledge the allergy warning before signing." in text(response)
    record.refresh_from_db()
    assert record.status == MedicalRecord.Status.DRAFT

    response = doctor_client.post(sign, {"acknowledge_allergies": "on"}, follow=True)

    assert response.redirect_chain == [(record.get_absolute_url(), 302)]
    record.refresh_from_db()
    assert record.is_signed and record.signed_by == doctor_client.user
    assert record.allergy_conflicts_acknowledged == "Penicillin V vs allergy to Penicillin (Severe)"
    body = text(response)
    assert "Record signed." in body
    assert "Allergy warning acknowledged at signing" in body
    assert reverse("clinical:prescription", args=[record.pk]) in body
    assert reverse("clinical:record_sign", args=[record.pk]) not in body

    # A second click on "Sign record" (the same form again) lands on the signed record as well.
    response = doctor_client.post(sign, {"acknowledge_allergies": "on"}, follow=True)
    assert response.redirect_chain == [(record.get_absolute_url(), 302)]
    assert "This record is already signed." in text(response)
    signed_at = record.signed_at
    record.refresh_from_db()
    assert record.signed_at == signed_at
    # It is in the timeline.
    chart = doctor_client.get(reverse("clinical:chart", args=[patient.pk]))
    assert record in [e.obj for e in chart.context["timeline"]]


def test_signing_without_a_conflict_needs_no_acknowledgement(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    MedicationFactory(record=record, drug="Paracetamol")
    AllergyFactory(patient=record.patient, substance="Penicillin")
    response = doctor_client.post(reverse("clinical:record_sign", args=[record.pk]))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.is_signed and record.allergy_conflicts_acknowledged == ""


@pytest.mark.parametrize("diagnosis", ["", "   \n "])
def test_a_record_cannot_be_signed_without_a_diagnosis(diagnosis, doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user, diagnosis=diagnosis)
    response = doctor_client.post(reverse("clinical:record_sign", args=[record.pk]), {"acknowledge_allergies": "on"})
    assert response.status_code == 400
    assert "A record cannot be signed without a diagnosis." in text(response)
    record.refresh_from_db()
    assert record.status == MedicalRecord.Status.DRAFT and record.signed_at is None


# --- vital signs ----------------------------------------------------------------------------------


def test_nurse_records_vitals_into_the_visits_draft(doctor, nurse):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    url = reverse("clinical:vitals", args=[appointment.pk])
    assert nurse.get(url).status_code == 200

    values = {"bp_systolic": 128, "bp_diastolic": 82, "pulse": 72, "temperature": "36.8", "spo2": 98}
    response = nurse.post(url, {**values, "weight_kg": "70", "height_cm": "175"})

    assert response.status_code == 302
    assert response["Location"] == appointment.get_absolute_url()
    record = MedicalRecord.objects.get()
    assert (record.appointment, record.author, record.vitals_recorded_by) == (appointment, doctor.user, nurse.user)
    assert (record.bp_systolic, record.pulse, str(record.temperature), str(record.bmi)) == (128, 72, "36.8", "22.9")
    # The doctor's draft of this visit shows them.
    assert "BMI 22.9" in text(nurse.get(record.get_absolute_url()))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("pulse", "400", "Enter a value between 20 and 250 /min; check the reading."),
        ("pulse", "5", "Enter a value between 20 and 250 /min; check the reading."),
        ("temperature", "47.5", "Enter a value between 30.0 and 45.0 °C; check the reading."),
        ("spo2", "101", "Enter a value between 50 and 100 %; check the reading."),
        ("bp_systolic", "400", "Enter a value between 50 and 260 mmHg; check the reading."),
        ("weight_kg", "0.1", "Enter a value between 0.3 and 400 kg; check the reading."),
        ("height_cm", "999", "Enter a value between 20 and 250 cm; check the reading."),
        ("respiratory_rate", "-3", None),
        ("pulse", "abc", "Enter a whole number."),
        ("temperature", "1e5", None),
        ("temperature", "NaN", None),
    ],
)
def test_vitals_out_of_range_give_a_field_error_and_save_nothing(field, value, message, doctor, nurse):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    response = nurse.post(reverse("clinical:vitals", args=[appointment.pk]), {"pulse": "70", field: value})
    assert response.status_code == 200
    errors = field_errors(response, field)
    assert errors
    if message:
        assert message in errors
        assert message in text(response)
    assert not MedicalRecord.objects.exists()


def test_vitals_out_of_range_in_the_doctors_form_save_nothing(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user, examination="As first written")
    data = record_form(record, examination="Changed", temperature="50.0", meds=["Paracetamol"])
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), data)
    assert response.status_code == 200
    assert "Enter a value between 30.0 and 45.0 °C; check the reading." in field_errors(response, "temperature")
    record.refresh_from_db()
    assert record.examination == "As first written" and record.temperature is None
    assert not record.medications.exists()


def test_vitals_need_at_least_one_reading_and_a_diastolic_below_the_systolic(doctor, nurse):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    url = reverse("clinical:vitals", args=[appointment.pk])
    response = nurse.post(url, {})
    assert "Enter at least one vital sign." in text(response)
    response = nurse.post(url, {"bp_systolic": "110", "bp_diastolic": "120"})
    assert "The diastolic pressure must be below the systolic." in field_errors(response, "bp_diastolic")
    assert not MedicalRecord.objects.exists()


def test_vitals_cannot_be_added_to_a_signed_visit_record(doctor, nurse):
    appointment = visit(doctor, status=Status.COMPLETED)
    record = signed_record(doctor.user, appointment.patient, appointment=appointment)
    response = nurse.post(reverse("clinical:vitals", args=[appointment.pk]), {"pulse": "70"})
    assert response.status_code == 200
    assert "vital signs can no longer be added" in text(response)
    record.refresh_from_db()
    assert record.pulse is None


# --- saving twice creates one ---------------------------------------------------------------------


def test_plan_create_submitted_twice_creates_one_plan(doctor, doctor_client):
    patient = PatientFactory()
    url = reverse("clinical:plan_create", args=[patient.pk])
    page = doctor_client.get(url)
    assert page.context["form"].initial["doctor"] == doctor
    data = plan_form(doctor, client_token=token_on(page))

    first, second = doctor_client.post(url, data), doctor_client.post(url, data)

    plan = TreatmentPlan.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == plan.get_absolute_url()
    assert (plan.patient, plan.doctor, plan.created_by, plan.status) == (patient, doctor, doctor_client.user, "draft")
    # A fresh form (a new token) makes a second plan.
    doctor_client.post(url, plan_form(doctor, client_token=str(uuid.uuid4())))
    assert TreatmentPlan.objects.count() == 2


def test_procedure_create_submitted_twice_creates_one_procedure(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    url = reverse("clinical:procedure_create", args=[plan.patient.pk])
    page = doctor_client.get(url, {"plan": plan.pk})
    assert page.context["form"].initial["plan"] == plan.pk
    assert page.context["form"].initial["performed_by"] == doctor_client.user
    data = procedure_form(plan=plan.pk, client_token=token_on(page))

    first, second = doctor_client.post(url, data), doctor_client.post(url, data)

    procedure = Procedure.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == plan.get_absolute_url()
    assert (procedure.patient, procedure.plan, procedure.created_by) == (plan.patient, plan, doctor_client.user)
    assert "0 of 1 done" in text(doctor_client.get(plan.get_absolute_url()))


def test_new_record_posted_twice_creates_one_record(doctor_client):
    patient = PatientFactory()
    chart = doctor_client.get(reverse("clinical:chart", args=[patient.pk]))
    token = token_on(chart)
    url = reverse("clinical:record_create", args=[patient.pk])

    first = doctor_client.post(url, {"client_token": token})
    second = doctor_client.post(url, {"client_token": token})

    record = MedicalRecord.objects.get()
    assert first["Location"] == second["Location"] == reverse("clinical:record_edit", args=[record.pk])
    assert (record.patient, record.author, record.appointment, record.status) == (
        patient,
        doctor_client.user,
        None,
        "draft",
    )
    doctor_client.post(url, {"client_token": str(uuid.uuid4())})
    assert MedicalRecord.objects.count() == 2


def test_starting_a_visit_twice_opens_one_record(doctor, doctor_client):
    appointment = visit(doctor, status=Status.CHECKED_IN)
    url = reverse("clinical:visit_start", args=[appointment.pk])

    first = doctor_client.post(url)
    second = doctor_client.post(url, follow=True)

    record = MedicalRecord.objects.get()
    assert first["Location"] == reverse("clinical:record_edit", args=[record.pk])
    assert (record.appointment, record.author, record.patient) == (appointment, doctor_client.user, appointment.patient)
    appointment.refresh_from_db()
    assert appointment.status == Status.IN_PROGRESS
    # The second click opens the same record: no second record, no error.
    assert second.redirect_chain[-1][0] == reverse("clinical:record_edit", args=[record.pk])
    # Charting the visit (twice) opens the same record.
    for _ in range(2):
        response = doctor_client.post(reverse("clinical:visit_record", args=[appointment.pk]))
        assert response["Location"] == reverse("clinical:record_edit", args=[record.pk])
    assert MedicalRecord.objects.count() == 1


def test_a_visit_not_checked_in_cannot_be_started(doctor, doctor_client):
    appointment = visit(doctor, status=Status.SCHEDULED)
    response = doctor_client.post(reverse("clinical:visit_start", args=[appointment.pk]))
    assert response["Location"] == appointment.get_absolute_url()
    assert not MedicalRecord.objects.exists()
    appointment.refresh_from_db()
    assert appointment.status == Status.SCHEDULED


def test_charting_a_signed_visit_opens_the_record_not_a_new_one(doctor, doctor_client):
    appointment = visit(doctor, status=Status.COMPLETED)
    record = signed_record(doctor.user, appointment.patient, appointment=appointment)
    response = doctor_client.post(reverse("clinical:visit_record", args=[appointment.pk]))
    assert response["Location"] == record.get_absolute_url()
    assert MedicalRecord.objects.count() == 1


# --- procedures and plans -------------------------------------------------------------------------


def test_procedure_done_in_the_future_is_refused(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    url = reverse("clinical:procedure_create", args=[plan.patient.pk])
    response = doctor_client.post(
        url, procedure_form(plan=plan.pk, status=Procedure.Status.DONE, performed_date=tomorrow)
    )
    assert response.status_code == 200
    assert "A procedure cannot be marked done in the future." in field_errors(response, "performed_date")
    assert not Procedure.objects.exists()

    # Nor by editing a planned one.
    procedure = ProcedureFactory(plan=plan)
    edit = reverse("clinical:procedure_edit", args=[procedure.pk])
    response = doctor_client.post(
        edit, procedure_form(plan=plan.pk, status=Procedure.Status.DONE, performed_date=tomorrow)
    )
    assert "A procedure cannot be marked done in the future." in field_errors(response, "performed_date")
    procedure.refresh_from_db()
    assert procedure.status == Procedure.Status.PLANNED

    # Done today is fine; done without a date is not.
    response = doctor_client.post(edit, procedure_form(plan=plan.pk, status=Procedure.Status.DONE))
    assert "Enter the date the procedure was performed." in field_errors(response, "performed_date")
    today = timezone.localdate().isoformat()
    response = doctor_client.post(
        edit, procedure_form(plan=plan.pk, status=Procedure.Status.DONE, performed_date=today)
    )
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.status == Procedure.Status.DONE


def test_procedure_needs_a_plan_or_a_visit_of_the_same_patient(doctor, doctor_client):
    patient = PatientFactory()
    others_plan = TreatmentPlanFactory(doctor=doctor)
    url = reverse("clinical:procedure_create", args=[patient.pk])
    response = doctor_client.post(url, procedure_form())
    assert response.status_code == 200
    assert "Link the procedure to a treatment plan or an appointment." in text(response)
    response = doctor_client.post(url, procedure_form(plan=others_plan.pk))
    assert field_errors(response, "plan")
    # A visit of this patient is enough; the procedure then sits on the chart.
    appointment = visit(doctor, patient, status=Status.IN_PROGRESS)
    response = doctor_client.post(url, procedure_form(appointment=appointment.pk))
    assert response["Location"] == reverse("clinical:chart", args=[patient.pk])
    assert Procedure.objects.get().appointment == appointment


def test_plan_edit(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor, diagnosis_summary="Before")
    url = reverse("clinical:plan_edit", args=[plan.pk])
    assert doctor_client.get(url).status_code == 200
    response = doctor_client.post(url, plan_form(doctor, diagnosis_summary="After"))
    assert response["Location"] == plan.get_absolute_url()
    plan.refresh_from_db()
    assert plan.diagnosis_summary == "After"
    # An end before the start is a field error.
    response = doctor_client.post(url, plan_form(doctor, start_date="2025-03-10", expected_end_date="2025-03-01"))
    assert "The expected end cannot be before the start." in field_errors(response, "expected_end_date")


@pytest.mark.parametrize("finished", ["completed", "cancelled"])
def test_a_finished_plan_is_not_edited(finished, doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor, status=finished)
    assert doctor_client.get(reverse("clinical:plan_edit", args=[plan.pk])).status_code == 404
    body = text(doctor_client.get(plan.get_absolute_url()))
    assert reverse("clinical:plan_edit", args=[plan.pk]) not in body
    assert "Add procedure" not in body


def test_plan_status_moves_along_the_allowed_transitions(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    url = reverse("clinical:plan_status", args=[plan.pk])
    page = text(doctor_client.get(plan.get_absolute_url()))
    assert "Mark active" in page and "Mark cancelled" in page and "Mark completed" not in page

    response = doctor_client.post(url, {"status": TreatmentPlan.Status.ACTIVE}, follow=True)
    assert response.redirect_chain == [(plan.get_absolute_url(), 302)]
    assert "Plan is now active." in text(response)
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.ACTIVE and plan.start_date == timezone.localdate()

    for status in ("on_hold", "active", "completed"):
        doctor_client.post(url, {"status": status})
        plan.refresh_from_db()
        assert plan.status == status


@pytest.mark.parametrize(
    "current, wanted, message",
    [
        ("draft", "completed", "is draft; it cannot become completed."),
        ("draft", "on_hold", "is draft; it cannot become on hold."),
        ("active", "draft", "is active; it cannot become draft."),
        ("on_hold", "completed", "is on hold; it cannot become completed."),
        ("completed", "active", "is completed; it cannot become active."),
        ("cancelled", "active", "is cancelled; it cannot become active."),
        ("active", "bogus", "Unknown status."),
        ("active", "", "Unknown status."),
    ],
)
def test_plan_status_refused_with_a_message(current, wanted, message, doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor, status=current)
    response = doctor_client.post(reverse("clinical:plan_status", args=[plan.pk]), {"status": wanted}, follow=True)
    assert response.redirect_chain == [(plan.get_absolute_url(), 302)]
    assert message in text(response)
    plan.refresh_from_db()
    assert plan.status == current


def test_plan_page_shows_progress_without_cancelled_procedures(doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    today = timezone.localdate()
    ProcedureFactory(plan=plan, status=Procedure.Status.DONE, performed_date=today)
    ProcedureFactory(plan=plan, status=Procedure.Status.PLANNED)
    ProcedureFactory(plan=plan, status=Procedure.Status.CANCELLED, name="Dropped test")
    response = doctor_client.get(plan.get_absolute_url())
    assert (response.context["done"], response.context["planned"]) == (1, 2)
    assert '<progress max="2" value="1"' in response.content.decode()
    assert "Dropped test" in text(response)


# --- the printable prescription -------------------------------------------------------------------


def test_prescription_of_a_signed_record(doctor, doctor_client, nurse, settings):
    patient = PatientFactory(first_name="Ottilie", last_name="Quillfeather", address="1 High Street")
    record = signed_record(doctor.user, patient, drugs=["Amoxicillin", "Ibuprofen"])
    for client in (doctor_client, nurse):
        response = client.get(reverse("clinical:prescription", args=[record.pk]))
        assert response.status_code == 200
        body = text(response)
        assert "Amoxicillin" in body and "Ibuprofen" in body
        assert "Ottilie Quillfeather" in body and patient.mrn in body and "1 High Street" in body
        assert doctor.licence_number in body and str(doctor) in body
        assert "css/prescription.css" in body and settings.CLINIC_NAME in body
        assert f"Signed electronically by {doctor.user}" in body


def test_no_prescription_for_a_draft(doctor_client):
    draft = MedicalRecordFactory(author=doctor_client.user)
    MedicationFactory(record=draft)
    assert doctor_client.get(reverse("clinical:prescription", args=[draft.pk])).status_code == 404
    assert reverse("clinical:prescription", args=[draft.pk]) not in text(doctor_client.get(draft.get_absolute_url()))


# --- malformed input: 404 or a form error, never a 500 ---------------------------------------------

WITH_IDS = [name for name in PAGES if name != "clinical:my_day"]


class Nowhere:
    """A stand-in world in which every object has the same (missing) id."""

    def __init__(self, pk):
        self.pk = pk

    def __getattr__(self, name):
        return self


@pytest.mark.parametrize("value", [UNKNOWN, HUGE])
@pytest.mark.parametrize("name", WITH_IDS)
def test_unknown_or_huge_ids_are_a_404(name, value, doctor_client):
    kwargs = PAGES[name][0](Nowhere(value))
    response = getattr(doctor_client, PAGES[name][1])(reverse(name, kwargs=kwargs))
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["patients/abc/", "records/1.5/", "plans/-1/", "records/%C2%B2/", "visits//start/"])
def test_non_numeric_ids_do_not_resolve(path, doctor_client):
    assert doctor_client.get(f"/clinical/{path}").status_code == 404


@pytest.mark.parametrize("name", ["clinical:record_create", "clinical:plan_create", "clinical:procedure_create"])
def test_an_archived_patient_gets_no_new_charting(name, doctor_client):
    patient = PatientFactory(is_archived=True)
    url = reverse(name, args=[patient.pk])
    assert doctor_client.post(url, {"client_token": str(uuid.uuid4())}).status_code == 404
    assert everything_clinical()[0] == []


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "²", str(HUGE), str(UNKNOWN)])
def test_malformed_procedure_prefill_shows_the_form(value, doctor, doctor_client):
    patient = PatientFactory()
    url = reverse("clinical:procedure_create", args=[patient.pk])
    response = doctor_client.get(url, {"plan": value, "appointment": value})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "²", str(HUGE), str(UNKNOWN)])
def test_malformed_choices_in_forms_are_field_errors(value, doctor, doctor_client):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:plan_create", args=[patient.pk]), {**plan_form(doctor), "doctor": value}
    )
    assert response.status_code == 200 and field_errors(response, "doctor")
    response = doctor_client.post(
        reverse("clinical:procedure_create", args=[patient.pk]),
        procedure_form(plan=value, appointment=value, performed_by=value),
    )
    assert response.status_code == 200 and field_errors(response, "plan") and field_errors(response, "performed_by")
    assert not TreatmentPlan.objects.exists() and not Procedure.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"start_date": "2024-13-45"},
        {"start_date": "9999-12-31"},
        {"expected_end_date": "0001-01-01"},
    ],
    ids=str,
)
def test_malformed_dates_and_tokens_in_the_plan_form_are_errors(fields, doctor, doctor_client):
    response = doctor_client.post(
        reverse("clinical:plan_create", args=[PatientFactory().pk]), plan_form(doctor, **fields)
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not TreatmentPlan.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [{"fee": "-5"}, {"fee": "abc"}, {"fee": "1e400"}, {"status": "exploded"}, {"scheduled_date": "2024-02-30"}],
    ids=str,
)
def test_malformed_procedure_fields_are_errors(fields, doctor, doctor_client):
    plan = TreatmentPlanFactory(doctor=doctor)
    response = doctor_client.post(
        reverse("clinical:procedure_create", args=[plan.patient.pk]), procedure_form(plan=plan.pk, **fields)
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Procedure.objects.exists()


@pytest.mark.parametrize("token", ["not-a-uuid", "", "x" * 500])
def test_new_record_with_a_malformed_token_still_opens_a_draft(token, doctor_client):
    patient = PatientFactory()
    response = doctor_client.post(reverse("clinical:record_create", args=[patient.pk]), {"client_token": token})
    record = MedicalRecord.objects.get()
    assert response["Location"] == reverse("clinical:record_edit", args=[record.pk])


@pytest.mark.parametrize(
    "tamper",
    [
        {"meds-TOTAL_FORMS": "abc"},
        {"meds-INITIAL_FORMS": "5"},
        {"meds-0-id": "abc"},
        {"icd10_codes": "not a code"},
        {"spo2": "²"},
    ],
    ids=str,
)
def test_tampered_record_form_is_an_error_not_a_crash(tamper, doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user, examination="As first written")
    data = {**record_form(record, examination="Changed", meds=["Paracetamol"]), **tamper}
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), data)
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.examination == "As first written"
    assert not record.medications.exists()


@pytest.mark.parametrize("total", [str(MAX_MEDICATIONS + 1), "2000", "99999999"])
def test_a_huge_number_of_medication_rows_is_refused_with_a_message(total, doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    data = {**record_form(record, meds=["Paracetamol"]), "meds-TOTAL_FORMS": total}
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), data)
    assert response.status_code == 200
    assert f"Please submit at most {MAX_MEDICATIONS} forms." in text(response)
    # The page shows at most the cap's rows, not thousands.
    assert len(response.context["medications"].forms) <= MAX_MEDICATIONS
    assert not record.medications.exists()


def test_as_many_medications_as_the_cap_are_saved(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    drugs = [f"Drug {n}" for n in range(MAX_MEDICATIONS)]
    response = doctor_client.post(reverse("clinical:record_edit", args=[record.pk]), record_form(record, meds=drugs))
    assert response.status_code == 302
    assert record.medications.count() == MAX_MEDICATIONS


def test_medication_rows_of_another_record_cannot_be_taken_over(doctor_client):
    mine = MedicalRecordFactory(author=doctor_client.user)
    others = MedicationFactory(drug="Someone else's drug")
    owner = others.record_id
    data = record_form(mine)
    data.update({"meds-TOTAL_FORMS": "1", "meds-INITIAL_FORMS": "1", "meds-0-id": others.pk, "meds-0-drug": "Mine"})
    response = doctor_client.post(reverse("clinical:record_edit", args=[mine.pk]), data)
    # The formset looks rows up among this record's only: the row is dropped, never moved or changed.
    assert response.status_code in (200, 302)
    others.refresh_from_db()
    assert (others.record_id, others.drug) == (owner, "Someone else's drug")
    assert not mine.medications.exists()


# --- links from the appointment and the patient -----------------------------------------------------

LINKS = ("Open chart", "Record vital signs", "Chart this visit")


@pytest.mark.parametrize(
    "role, expected",
    [
        (DOCTOR, {"Open chart", "Record vital signs", "Chart this visit"}),
        (NURSE, {"Open chart", "Record vital signs"}),
        (RECEPTIONIST, set()),
        (MANAGER, set()),
        (ADMINISTRATOR, set()),
    ],
)
def test_appointment_page_links_to_the_chart_by_role(role, expected, client_for):
    appointment = visit(DoctorFactory(), status=Status.IN_PROGRESS)
    response = client_for(role).get(appointment.get_absolute_url())
    assert response.status_code == 200
    body = text(response)
    assert {label for label in LINKS if label in body} == expected
    urls = {
        "Open chart": reverse("clinical:chart", args=[appointment.patient_id]),
        "Record vital signs": reverse("clinical:vitals", args=[appointment.pk]),
        "Chart this visit": reverse("clinical:visit_record", args=[appointment.pk]),
    }
    for label, url in urls.items():
        assert (url in body) == (label in expected), label


@pytest.mark.parametrize("role, shown", [(DOCTOR, True), (NURSE, False), (RECEPTIONIST, False)])
def test_start_consultation_is_offered_to_doctors_on_a_checked_in_visit(role, shown, client_for):
    appointment = visit(DoctorFactory(), status=Status.CHECKED_IN)
    body = text(client_for(role).get(appointment.get_absolute_url()))
    assert ("Start consultation" in body) == shown
    assert (reverse("clinical:visit_start", args=[appointment.pk]) in body) == shown
    assert "Chart this visit" not in body


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.NO_SHOW])
def test_no_vital_signs_on_a_visit_that_did_not_happen(status, nurse):
    extra = {"cancellation_reason": "Unwell"} if status == Status.CANCELLED else {}
    appointment = visit(DoctorFactory(), status=status, **extra)
    body = text(nurse.get(appointment.get_absolute_url()))
    assert "Record vital signs" not in body
    assert "Open chart" in body


@pytest.mark.parametrize("role, shown", [(DOCTOR, True), (NURSE, True), (RECEPTIONIST, False), (MANAGER, False)])
def test_patient_page_offers_the_chart_to_clinical_roles(role, shown, client_for):
    patient = PatientFactory()
    body = text(client_for(role).get(patient.get_absolute_url()))
    assert ("Open chart" in body) == shown
    assert (reverse("clinical:chart", args=[patient.pk]) in body) == shown

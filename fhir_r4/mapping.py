"""The clinic's records as FHIR R4 resources (plain dicts, serialised as application/fhir+json).

Each function takes a model row loaded with what it references (the querysets in fhir_r4/search.py
select_related it) and returns the resource; nothing here queries the database. Codes use their
systems: ICD-10 for conditions and diagnoses, LOINC for vital signs and document types, UCUM for units.
"""

from datetime import UTC

from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils import timezone

from clinical.models import MedicalRecord, Procedure, TreatmentPlan
from documents.models import ClinicalDocument
from patients.models import Allergy
from scheduling.models import Appointment

ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# The clinic's own identifier systems (its medical record numbers, doctors' licences, procedure codes).
MRN_SYSTEM = "https://clinic.example/fhir/sid/mrn"
LICENCE_SYSTEM = "https://clinic.example/fhir/sid/licence"
PROCEDURE_SYSTEM = "https://clinic.example/fhir/sid/procedure-code"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"


def coding(system, code, display=None):
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(system, code, display=None, text=None):
    found = {"coding": [coding(system, code, display)]}
    if text:
        found["text"] = text
    return found


def instant(moment):
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def day(value):
    return value.isoformat() if value else None


def clean(resource):
    """Without empty values: FHIR forbids empty strings, lists and objects."""
    if isinstance(resource, dict):
        kept = {key: clean(value) for key, value in resource.items()}
        return {key: value for key, value in kept.items() if value not in (None, "", [], {})}
    if isinstance(resource, list):
        kept = [clean(value) for value in resource]
        return [value for value in kept if value not in (None, "", [], {})]
    return resource


def reference(resource_type, pk, display=None):
    return {"reference": f"{resource_type}/{pk}", "display": display or None}


def patient_ref(patient):
    return reference("Patient", patient.pk, patient.full_name)


def doctor_profile(user):
    """The user's doctor profile, or None (loaded with select_related("...__doctor"))."""
    try:
        return user.doctor
    except ObjectDoesNotExist:
        return None


def user_ref(user):
    """A doctor is a Practitioner of this server; anyone else (a nurse recording vitals) is named only."""
    if user is None:
        return None
    name = user.get_full_name() or user.username
    if doctor_profile(user) is not None:
        return reference("Practitioner", user.pk, name)
    return {"display": name}


def doctor_ref(doctor):
    return reference("Practitioner", doctor.user_id, str(doctor))


def absolute(request, url):
    return request.build_absolute_uri(url) if request is not None else url


# --- people and schedules -----------------------------------------------------------------------------

_GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def patient(row):
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone, "use": "home"})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    contact = []
    if row.emergency_contact_name or row.emergency_contact_phone:
        contact.append(
            {
                "relationship": [
                    concept(TERMINOLOGY + "v2-0131", "C", "Emergency Contact", row.emergency_contact_relationship)
                ],
                "name": {"text": row.emergency_contact_name},
                "telecom": [{"system": "phone", "value": row.emergency_contact_phone}]
                if row.emergency_contact_phone
                else [],
            }
        )
    return clean(
        {
            "resourceType": "Patient",
            "id": str(row.pk),
            "meta": {"lastUpdated": instant(row.updated_at)},
            "identifier": [
                {
                    "use": "usual",
                    "type": concept(TERMINOLOGY + "v2-0203", "MR", "Medical record number"),
                    "system": MRN_SYSTEM,
                    "value": row.mrn,
                }
            ],
            "active": not row.is_archived,
            "name": [{"use": "official", "text": row.full_name, "family": row.last_name, "given": [row.first_name]}],
            "telecom": telecom,
            "gender": _GENDER.get(row.sex, "unknown"),
            "birthDate": day(row.date_of_birth),
            "address": [{"text": row.address}] if row.address.strip() else [],
            "contact": contact,
        }
    )


def practitioner(doctor):
    user = doctor.user
    telecom = [{"system": "phone", "value": doctor.phone, "use": "work"}] if doctor.phone else []
    if user.email:
        telecom.append({"system": "email", "value": user.email, "use": "work"})
    return clean(
        {
            "resourceType": "Practitioner",
            "id": str(user.pk),
            "identifier": [{"system": LICENCE_SYSTEM, "value": doctor.licence_number}],
            "active": doctor.is_active and user.is_active,
            "name": [
                {
                    "use": "official",
                    "text": user.get_full_name() or user.username,
                    "family": user.last_name,
                    "given": [user.first_name] if user.first_name else [],
                    "prefix": ["Dr"],
                }
            ],
            "telecom": telecom,
        }
    )


_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _hours(doctor):
    return sorted(doctor.working_hours.all(), key=lambda h: (h.weekday, h.start_time))


def practitioner_role(doctor):
    return clean(
        {
            "resourceType": "PractitionerRole",
            "id": str(doctor.pk),
            "active": doctor.is_active and doctor.user.is_active,
            "practitioner": doctor_ref(doctor),
            "code": [concept(TERMINOLOGY + "practitioner-role", "doctor", "Doctor")],
            "specialty": [{"text": doctor.specialty.name}],
            "telecom": [{"system": "phone", "value": doctor.phone, "use": "work"}] if doctor.phone else [],
            "availableTime": [
                {
                    "daysOfWeek": [_DAYS[hours.weekday]],
                    "availableStartTime": hours.start_time.strftime("%H:%M:%S"),
                    "availableEndTime": hours.end_time.strftime("%H:%M:%S"),
                }
                for hours in _hours(doctor)
            ],
        }
    )


def schedule(doctor):
    hours = ", ".join(str(h) for h in _hours(doctor))
    return clean(
        {
            "resourceType": "Schedule",
            "id": str(doctor.pk),
            "active": doctor.is_active and doctor.user.is_active,
            "specialty": [{"text": doctor.specialty.name}],
            "actor": [doctor_ref(doctor), reference("PractitionerRole", doctor.pk, doctor.specialty.name)],
            "comment": f"Working hours: {hours}" if hours else "No working hours set.",
        }
    )


def slot_id(slot):
    """ "<doctor>-<start in UTC, YYYYMMDDTHHMM>": a free slot has no row of its own."""
    return f"{slot.doctor.pk}-{slot.start.astimezone(UTC):%Y%m%dT%H%M}"


def slot(found):
    return clean(
        {
            "resourceType": "Slot",
            "id": slot_id(found),
            "schedule": reference("Schedule", found.doctor.pk, str(found.doctor)),
            "specialty": [{"text": found.doctor.specialty.name}],
            "status": "free",
            "start": instant(found.start),
            "end": instant(found.end),
        }
    )


# --- appointments and visits --------------------------------------------------------------------------

_APPOINTMENT_STATUS = {
    Appointment.Status.SCHEDULED: "booked",
    Appointment.Status.CONFIRMED: "booked",
    Appointment.Status.CHECKED_IN: "checked-in",
    Appointment.Status.IN_PROGRESS: "arrived",
    Appointment.Status.COMPLETED: "fulfilled",
    Appointment.Status.CANCELLED: "cancelled",
    Appointment.Status.NO_SHOW: "noshow",
}


def appointment(row):
    return clean(
        {
            "resourceType": "Appointment",
            "id": str(row.pk),
            "meta": {"lastUpdated": instant(row.updated_at)},
            "status": _APPOINTMENT_STATUS[row.status],
            "cancelationReason": {"text": row.cancellation_reason} if row.cancellation_reason else None,
            "specialty": [{"text": row.doctor.specialty.name}],
            "description": row.reason,
            "start": instant(row.start),
            "end": instant(row.end),
            "minutesDuration": int(row.duration.total_seconds() // 60),
            "created": instant(row.booked_at),
            "participant": [
                {"actor": patient_ref(row.patient), "required": "required", "status": "accepted"},
                {"actor": doctor_ref(row.doctor), "required": "required", "status": "accepted"},
            ],
        }
    )


# A visit is an encounter once the patient has arrived.
ENCOUNTER_STATUSES = {
    Appointment.Status.CHECKED_IN: "arrived",
    Appointment.Status.IN_PROGRESS: "in-progress",
    Appointment.Status.COMPLETED: "finished",
}


def encounter(row, records=()):
    """A visit; `records` are its medical records (their ICD-10 codes are its diagnoses)."""
    diagnoses = [
        {"condition": reference("Condition", diagnosis_id(record, n), code), "rank": n}
        for record in records
        for n, code in enumerate(record.icd10_list(), start=1)
    ]
    return clean(
        {
            "resourceType": "Encounter",
            "id": str(row.pk),
            "status": ENCOUNTER_STATUSES[row.status],
            "class": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"),
            "serviceType": {"text": row.doctor.specialty.name},
            "subject": patient_ref(row.patient),
            "participant": [
                {
                    "type": [concept(TERMINOLOGY + "v3-ParticipationType", "ATND", "attender")],
                    "individual": doctor_ref(row.doctor),
                }
            ],
            "appointment": [reference("Appointment", row.pk)],
            "period": {
                "start": instant(row.started_at or row.checked_in_at or row.start),
                "end": instant(row.completed_at) if row.status == Appointment.Status.COMPLETED else None,
            },
            "reasonCode": [{"text": row.reason}] if row.reason else [],
            "diagnosis": diagnoses,
        }
    )


def encounter_ref(appointment_row):
    if appointment_row is not None and appointment_row.status in ENCOUNTER_STATUSES:
        return reference("Encounter", appointment_row.pk)
    return None


# --- the patient's history: allergies and conditions ---------------------------------------------------

_CRITICALITY = {
    Allergy.Severity.MILD: "low",
    Allergy.Severity.MODERATE: "low",
    Allergy.Severity.SEVERE: "high",
    Allergy.Severity.LIFE_THREATENING: "high",
}
_REACTION_SEVERITY = {
    Allergy.Severity.MILD: "mild",
    Allergy.Severity.MODERATE: "moderate",
    Allergy.Severity.SEVERE: "severe",
    Allergy.Severity.LIFE_THREATENING: "severe",
}


def allergy_intolerance(row):
    active = "active" if row.is_active else "inactive"
    return clean(
        {
            "resourceType": "AllergyIntolerance",
            "id": str(row.pk),
            "clinicalStatus": concept(TERMINOLOGY + "allergyintolerance-clinical", active),
            "verificationStatus": concept(TERMINOLOGY + "allergyintolerance-verification", "confirmed"),
            "criticality": _CRITICALITY[row.severity],
            "code": {"text": row.substance},
            "patient": patient_ref(row.patient),
            "recordedDate": instant(row.recorded_at),
            "recorder": user_ref(row.recorded_by),
            "reaction": [
                {
                    "manifestation": [{"text": row.reaction}],
                    "severity": _REACTION_SEVERITY[row.severity],
                    "description": row.get_severity_display(),
                }
            ]
            if row.reaction
            else [],
            "note": [{"text": f"Severity: {row.get_severity_display()}"}],
        }
    )


def _icd10(code, text):
    found = {"text": text or code}
    if code:
        found["coding"] = [coding(ICD10, code)]
    return found


def condition(row):
    """An item of the patient's problem list."""
    status = "resolved" if row.is_resolved else "active"
    return clean(
        {
            "resourceType": "Condition",
            "id": str(row.pk),
            "clinicalStatus": concept(TERMINOLOGY + "condition-clinical", status),
            "verificationStatus": concept(TERMINOLOGY + "condition-ver-status", "confirmed"),
            "category": [concept(TERMINOLOGY + "condition-category", "problem-list-item", "Problem List Item")],
            "code": _icd10(row.icd10_code, row.name),
            "subject": patient_ref(row.patient),
            "onsetDateTime": day(row.onset_date),
            "abatementDateTime": day(row.resolved_date) if row.is_resolved else None,
            "recordedDate": instant(row.recorded_at),
            "recorder": user_ref(row.recorded_by),
            "note": [{"text": row.notes}] if row.notes else [],
        }
    )


def diagnosis_id(record, n):
    """A diagnosis coded on a medical record: "r<record>-<n>" (the n-th ICD-10 code, from 1)."""
    return f"r{record.pk}-{n}"


def record_time(record):
    return record.appointment.start if record.appointment_id else record.created_at


def diagnosis(record, n):
    code = record.icd10_list()[n - 1]
    signed = record.status == MedicalRecord.Status.SIGNED
    return clean(
        {
            "resourceType": "Condition",
            "id": diagnosis_id(record, n),
            "verificationStatus": concept(
                TERMINOLOGY + "condition-ver-status", "confirmed" if signed else "provisional"
            ),
            "category": [concept(TERMINOLOGY + "condition-category", "encounter-diagnosis", "Encounter Diagnosis")],
            "code": _icd10(code, record.diagnosis.strip()[:500] or code),
            "subject": patient_ref(record.patient),
            "encounter": encounter_ref(record.appointment),
            "recordedDate": instant(record.signed_at or record.created_at),
            "recorder": user_ref(record.author),
            "asserter": user_ref(record.author),
        }
    )


def diagnoses(record):
    return [diagnosis(record, n) for n in range(1, len(record.icd10_list()) + 1)]


# --- vital signs ---------------------------------------------------------------------------------------

# key -> (record field, LOINC code, display, UCUM unit, unit shown)
VITALS = {
    "pulse": ("pulse", "8867-4", "Heart rate", "/min", "beats/minute"),
    "temp": ("temperature", "8310-5", "Body temperature", "Cel", "°C"),
    "resp": ("respiratory_rate", "9279-1", "Respiratory rate", "/min", "breaths/minute"),
    "spo2": ("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
    "weight": ("weight_kg", "29463-7", "Body weight", "kg", "kg"),
    "height": ("height_cm", "8302-2", "Body height", "cm", "cm"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
BP_PARTS = (
    ("bp_systolic", "8480-6", "Systolic blood pressure"),
    ("bp_diastolic", "8462-4", "Diastolic blood pressure"),
)
BMI = ("39156-5", "Body mass index (BMI) [Ratio]")
VITAL_CODES = {"bp": BP_PANEL[0], "bmi": BMI[0], **{key: spec[1] for key, spec in VITALS.items()}}


def _quantity(value, unit, shown):
    return {"value": value, "unit": shown, "system": UCUM, "code": unit}


def vital_keys(record):
    """The vital signs recorded on a record (its Observations' keys)."""
    keys = []
    if record.bp_systolic is not None or record.bp_diastolic is not None:
        keys.append("bp")
    keys += [key for key, spec in VITALS.items() if getattr(record, spec[0]) is not None]
    if record.bmi is not None:
        keys.append("bmi")
    return keys


def observation(record, key):
    """One vital sign of a medical record: "<record>-<key>"."""
    resource = {
        "resourceType": "Observation",
        "id": f"{record.pk}-{key}",
        "status": "final" if record.status == MedicalRecord.Status.SIGNED else "preliminary",
        "category": [concept(TERMINOLOGY + "observation-category", "vital-signs", "Vital Signs")],
        "subject": patient_ref(record.patient),
        "encounter": encounter_ref(record.appointment),
        "effectiveDateTime": instant(record_time(record)),
        "performer": [user_ref(record.vitals_recorded_by or record.author)],
    }
    if key == "bp":
        resource["code"] = concept(LOINC, BP_PANEL[0], BP_PANEL[1], "Blood pressure")
        resource["component"] = [
            {
                "code": concept(LOINC, code, display),
                "valueQuantity": _quantity(getattr(record, field), "mm[Hg]", "mmHg"),
            }
            for field, code, display in BP_PARTS
            if getattr(record, field) is not None
        ]
    elif key == "bmi":
        resource["code"] = concept(LOINC, BMI[0], BMI[1], "BMI")
        resource["valueQuantity"] = _quantity(record.bmi, "kg/m2", "kg/m2")
    else:
        field, code, display, unit, shown = VITALS[key]
        resource["code"] = concept(LOINC, code, display, display)
        resource["valueQuantity"] = _quantity(getattr(record, field), unit, shown)
    return clean(resource)


def observations(record):
    return [observation(record, key) for key in vital_keys(record)]


# --- prescriptions, plans, procedures --------------------------------------------------------------------


def medication_request(medication):
    record = medication.record
    signed = record.status == MedicalRecord.Status.SIGNED
    dosage = " ".join(filter(None, [medication.dose, medication.route, medication.frequency]))
    if medication.duration:
        dosage += f" for {medication.duration}"
    return clean(
        {
            "resourceType": "MedicationRequest",
            "id": str(medication.pk),
            "status": "active" if signed else "draft",
            "intent": "order",
            "medicationCodeableConcept": {"text": " ".join(filter(None, [medication.drug, medication.strength]))},
            "subject": patient_ref(record.patient),
            "encounter": encounter_ref(record.appointment),
            "authoredOn": instant(record.signed_at or record.created_at),
            "requester": user_ref(record.author),
            "dosageInstruction": [
                {
                    "text": dosage.strip(),
                    "patientInstruction": medication.instructions,
                    "route": {"text": medication.route} if medication.route else None,
                }
            ],
        }
    )


_PLAN_STATUS = {
    TreatmentPlan.Status.DRAFT: "draft",
    TreatmentPlan.Status.ACTIVE: "active",
    TreatmentPlan.Status.ON_HOLD: "on-hold",
    TreatmentPlan.Status.COMPLETED: "completed",
    TreatmentPlan.Status.CANCELLED: "revoked",
}


def care_plan(plan):
    notes = [
        ("Goals", plan.goals),
        ("Prescription", plan.prescription),
        ("Notes", plan.notes),
    ]
    return clean(
        {
            "resourceType": "CarePlan",
            "id": str(plan.pk),
            "meta": {"lastUpdated": instant(plan.updated_at)},
            "status": _PLAN_STATUS[plan.status],
            "intent": "plan",
            "title": plan.diagnosis_summary.splitlines()[0][:200] if plan.diagnosis_summary.strip() else None,
            "description": plan.diagnosis_summary,
            "subject": patient_ref(plan.patient),
            "period": {"start": day(plan.start_date), "end": day(plan.expected_end_date)},
            "created": instant(plan.created_at),
            "author": doctor_ref(plan.doctor),
            "contributor": [doctor_ref(plan.doctor)],
            "note": [{"text": f"{label}: {text}"} for label, text in notes if text.strip()],
        }
    )


_PROCEDURE_STATUS = {
    Procedure.Status.PLANNED: "preparation",
    Procedure.Status.DONE: "completed",
    Procedure.Status.CANCELLED: "not-done",
}


def procedure(row):
    code = {"text": row.name}
    if row.code:
        code["coding"] = [coding(PROCEDURE_SYSTEM, row.code, row.name)]
    return clean(
        {
            "resourceType": "Procedure",
            "id": str(row.pk),
            "basedOn": [reference("CarePlan", row.plan_id)] if row.plan_id else [],
            "status": _PROCEDURE_STATUS[row.status],
            "code": code,
            "subject": patient_ref(row.patient),
            "encounter": encounter_ref(row.appointment),
            "performedDateTime": day(row.performed_date or row.scheduled_date),
            "recorder": user_ref(row.created_by),
            "performer": [{"actor": user_ref(row.performed_by)}] if row.performed_by_id else [],
            "outcome": {"text": row.outcome} if row.outcome else None,
            "note": [{"text": row.notes}] if row.notes else [],
        }
    )


# --- documents -------------------------------------------------------------------------------------------

# The document's type as LOINC names it (document ontology); "other" is named only.
_DOCUMENT_TYPE = {
    ClinicalDocument.Type.LAB_RESULT: ("11502-2", "Laboratory report"),
    ClinicalDocument.Type.REFERRAL: ("57133-1", "Referral note"),
    ClinicalDocument.Type.CONSENT: ("59284-0", "Consent Document"),
    ClinicalDocument.Type.IMAGING_REPORT: ("18748-4", "Diagnostic imaging study"),
    ClinicalDocument.Type.PRESCRIPTION: ("57833-6", "Prescription for medication"),
}


def document_reference(document, request=None):
    """A document and its current file; the attachment's url is the API's permission-checked download."""
    version = document.current_version
    code = _DOCUMENT_TYPE.get(document.doc_type)
    kind = concept(LOINC, code[0], code[1], document.get_doc_type_display()) if code else None
    attachment = None
    if version is not None:
        attachment = {
            "contentType": version.content_type,
            # The documents API's download of this very version: a machine fetches it with its token,
            # through the same permission check and audit as the page's download.
            "url": absolute(request, reverse("documents_api:document-file", args=[document.pk]))
            + f"?version={version.number}",
            "size": version.size,
            "title": version.original_name,
            "creation": instant(version.uploaded_at),
        }
    return clean(
        {
            "resourceType": "DocumentReference",
            "id": str(document.pk),
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:sha256:{version.sha256}"}]
            if version is not None
            else [],
            # Archived documents were filed by mistake or withdrawn from the chart.
            "status": "entered-in-error" if document.is_archived else "current",
            "type": kind or {"text": document.get_doc_type_display()},
            "category": [{"text": "Administrative" if document.is_administrative else "Clinical"}],
            "subject": patient_ref(document.patient),
            "date": instant(document.uploaded_at),
            "author": [user_ref(document.uploaded_by)],
            "description": document.title,
            "content": [{"attachment": attachment}] if attachment else [{"attachment": {"title": document.title}}],
            "context": {
                "encounter": [encounter_ref(document.appointment)] if document.appointment_id else [],
                "period": {"start": day(document.document_date), "end": day(document.document_date)},
            },
        }
    )

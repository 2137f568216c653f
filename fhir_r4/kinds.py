"""Each FHIR resource type this server offers: where its rows come from (narrowed as the pages narrow
them), how a search filters them, how one is found by id, and what reading it writes to the audit trail.

A kind's `search()` returns a sliceable sequence (a queryset, or a list for resources made from parts
of a row: vital signs, diagnoses, free slots) in a stable order, so pages of it do not overlap.
"""

import re
from datetime import UTC, datetime

from django.db.models import Prefetch, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from clinic.audit import Action, record
from clinical.models import VITAL_FIELDS, MedicalRecord, Medication, Procedure, TreatmentPlan
from documents.access import VIEW_ALL, can_view_document, documents_visible_to
from documents.models import ClinicalDocument
from patients.models import Allergy, Condition, Patient
from patients.search import NAME_ORDER, TOO_SHORT, too_short
from scheduling.models import Appointment
from scheduling.slots import free_slots
from staff.models import Doctor

from . import mapping
from . import search as s

CHART = "clinical.view_medicalrecord"


def _int_id(ident):
    if not str(ident).isdigit() or len(str(ident)) > 18:
        raise NotFound()
    return int(ident)


def _get(queryset, **lookup):
    found = queryset.filter(**lookup).first()
    if found is None:
        raise NotFound()
    return found


class Kind:
    name = ""
    params = frozenset()
    # Reads and searches of patient data are audited, as the pages' are.
    audited = True

    def __init__(self, request):
        self.request = request
        self.user = request.user

    def search(self, params):
        raise NotImplementedError

    def find(self, ident):
        raise NotImplementedError

    def render(self, item):
        raise NotImplementedError

    def audit_object(self, item):
        return item

    def audit_read(self, item):
        if self.audited:
            record(Action.VIEW, self.audit_object(item), summary=f"FHIR {self.name} (read)")

    def audit_search(self, params, listed):
        if not self.audited:
            return
        asked = "&".join(f"{k}={v}" for k in sorted(params) for v in params.getlist(k) if not k.startswith("_"))
        patient = getattr(self, "searched_patient", None)
        record(
            Action.SEARCH,
            summary=f"FHIR {self.name}?{asked or '(all)'}: {listed} listed",
            patient_id=patient,
        )

    # --- helpers shared by the kinds of one patient's chart
    def patient_param(self, params, *, required=True):
        patient = s.reference_id(params, "patient", "Patient")
        if patient is None:
            patient = s.reference_id(params, "subject", "Patient")
        if patient is None and required:
            s.refuse("patient", f"Search {self.name} by patient (patient=<id>).")
        self.searched_patient = patient
        return patient


# --- people ---------------------------------------------------------------------------------------------


class PatientKind(Kind):
    name = "Patient"
    params = frozenset({"_id", "name", "identifier", "birthdate", "gender", "active"})

    def queryset(self):
        return Patient.objects.all()

    def search(self, params):
        patients = self.queryset()
        ordered = False
        if (pk := s.reference_id(params, "_id", "Patient")) is not None:
            patients = patients.filter(pk=pk)
        if (name := s.one(params, "name")) is not None:
            if too_short(name):
                s.refuse("name", TOO_SHORT)
            patients = patients.search(name)  # name order, as the patient list's search
            ordered = True
        if (identifier := s.token(params, "identifier")) is not None:
            system, code = identifier
            if system not in (None, mapping.MRN_SYSTEM):
                s.refuse("identifier", f"Patients are identified by their MRN ({mapping.MRN_SYSTEM}).")
            patients = patients.filter(mrn=code)
        patients = patients.filter(**s.date_filters(params, "birthdate", "date_of_birth", is_date=True))
        if (gender := s.one(params, "gender")) is not None:
            if gender not in Patient.Sex.values:
                s.refuse("gender", "gender is one of female, male, other, unknown.")
            patients = patients.filter(sex=gender)
        if (active := s.boolean(params, "active")) is not None:
            patients = patients.filter(is_archived=not active)
        return patients.order_by(*NAME_ORDER, "pk") if ordered else patients.order_by("-pk")

    def find(self, ident):
        return _get(self.queryset(), pk=_int_id(ident))

    def render(self, item):
        return mapping.patient(item)


def doctors():
    return Doctor.objects.select_related("user", "specialty").prefetch_related("working_hours")


class PractitionerKind(Kind):
    """The clinic's doctors (id: their user account's), as the doctors' page lists them."""

    name = "Practitioner"
    params = frozenset({"_id", "name", "identifier", "active"})
    audited = False  # staff, not patient data (the doctors' page is not audited either)

    def search(self, params):
        found = doctors()
        if (pk := s.reference_id(params, "_id", "Practitioner")) is not None:
            found = found.filter(user_id=pk)
        if (name := s.one(params, "name")) is not None:
            for word in name.split():
                found = found.filter(Q(user__first_name__icontains=word) | Q(user__last_name__icontains=word))
        if (identifier := s.token(params, "identifier")) is not None:
            found = found.filter(licence_number__iexact=identifier[1])
        if (active := s.boolean(params, "active")) is not None:
            found = found.active() if active else found.exclude(pk__in=Doctor.objects.active())
        return found.order_by("user__last_name", "user__first_name", "pk")

    def find(self, ident):
        return _get(doctors(), user_id=_int_id(ident))

    def render(self, item):
        return mapping.practitioner(item)


class PractitionerRoleKind(PractitionerKind):
    name = "PractitionerRole"
    params = frozenset({"_id", "practitioner", "specialty", "active"})

    def search(self, params):
        found = doctors()
        if (pk := s.reference_id(params, "_id", "PractitionerRole")) is not None:
            found = found.filter(pk=pk)
        if (user := s.reference_id(params, "practitioner", "Practitioner")) is not None:
            found = found.filter(user_id=user)
        if (specialty := s.one(params, "specialty")) is not None:
            found = found.filter(specialty__name__icontains=specialty.rpartition("|")[2])
        if (active := s.boolean(params, "active")) is not None:
            found = found.active() if active else found.exclude(pk__in=Doctor.objects.active())
        return found.order_by("user__last_name", "user__first_name", "pk")

    def find(self, ident):
        return _get(doctors(), pk=_int_id(ident))

    def render(self, item):
        return mapping.practitioner_role(item)


class ScheduleKind(PractitionerRoleKind):
    """One schedule a doctor: their weekly working hours (id: the doctor's)."""

    name = "Schedule"
    params = frozenset({"_id", "actor", "active"})

    def search(self, params):
        found = doctors()
        if (pk := s.reference_id(params, "_id", "Schedule")) is not None:
            found = found.filter(pk=pk)
        actor = s.one(params, "actor")
        if actor is not None:
            kind, _, ident = actor.rpartition("/")
            if kind not in ("", "Practitioner", "PractitionerRole") or not ident.isdigit() or len(ident) > 18:
                s.refuse("actor", "actor is Practitioner/<id> or PractitionerRole/<id>.")
            found = found.filter(user_id=int(ident)) if kind == "Practitioner" else found.filter(pk=int(ident))
        if (active := s.boolean(params, "active")) is not None:
            found = found.active() if active else found.exclude(pk__in=Doctor.objects.active())
        return found.order_by("user__last_name", "user__first_name", "pk")

    def render(self, item):
        return mapping.schedule(item)


_SLOT_ID = re.compile(r"^(\d{1,18})-(\d{8}T\d{4})$")
SLOT_DAYS = 14
MAX_SLOT_DAYS = 31


class SlotKind(Kind):
    """Free slots, from the doctors' hours and the appointments booked (scheduling.slots.free_slots)."""

    name = "Slot"
    params = frozenset({"schedule", "start"})
    audited = False  # no patient's data: the free-slot page is not audited either

    def search(self, params):
        count, offset = s.paging(params)
        doctor = None
        if (pk := s.reference_id(params, "schedule", "Schedule")) is not None:
            doctor = Doctor.objects.filter(pk=pk).first()
            if doctor is None:
                return []
        earliest, before = s.date_bounds(params, "start")
        earliest = max(earliest or timezone.now(), timezone.now())
        days = SLOT_DAYS
        if before is not None:
            if before <= earliest:
                return []
            days = min(MAX_SLOT_DAYS, (before - earliest).days + 1)
        found = free_slots(doctor=doctor, start_from=earliest, days=days, limit=offset + count + 1)
        return [slot for slot in found if before is None or slot.start < before]

    def find(self, ident):
        match = _SLOT_ID.match(str(ident))
        if not match:
            raise NotFound()
        try:
            start = datetime.strptime(match[2], "%Y%m%dT%H%M").replace(tzinfo=UTC)
        except ValueError:
            raise NotFound() from None
        doctor = Doctor.objects.filter(pk=int(match[1])).first()
        if doctor is None or start < timezone.now():
            raise NotFound()
        found = free_slots(doctor=doctor, start_from=start, days=1, limit=1)
        if not found or found[0].start != start:
            raise NotFound("That slot is not free (booked, or outside the doctor's hours).")
        return found[0]

    def render(self, item):
        return mapping.slot(item)


# --- appointments and visits ------------------------------------------------------------------------------

_FHIR_APPOINTMENT_STATUS = {}
for _ours, _theirs in mapping._APPOINTMENT_STATUS.items():
    _FHIR_APPOINTMENT_STATUS.setdefault(_theirs, []).append(_ours)


def appointments():
    return Appointment.objects.select_related("patient", "doctor__user", "doctor__specialty")


class AppointmentKind(Kind):
    name = "Appointment"
    params = frozenset({"_id", "patient", "practitioner", "date", "status"})

    def search(self, params):
        found = appointments()
        if (pk := s.reference_id(params, "_id", "Appointment")) is not None:
            found = found.filter(pk=pk)
        if (patient := self.patient_param(params, required=False)) is not None:
            found = found.filter(patient_id=patient)
        if (user := s.reference_id(params, "practitioner", "Practitioner")) is not None:
            found = found.filter(doctor__user_id=user)
        found = found.filter(**s.date_filters(params, "date", "start"))
        if (status := s.one(params, "status")) is not None:
            if status not in _FHIR_APPOINTMENT_STATUS:
                s.refuse("status", "status is one of " + ", ".join(sorted(_FHIR_APPOINTMENT_STATUS)) + ".")
            found = found.filter(status__in=_FHIR_APPOINTMENT_STATUS[status])
        return found.order_by("start", "pk")

    def find(self, ident):
        return _get(appointments(), pk=_int_id(ident))

    def render(self, item):
        return mapping.appointment(item)


def encounters():
    return (
        appointments()
        .filter(status__in=list(mapping.ENCOUNTER_STATUSES))
        .prefetch_related(Prefetch("medical_records", queryset=MedicalRecord.objects.order_by("pk")))
    )


class EncounterKind(Kind):
    """Visits: appointments the patient arrived for (checked in, in consultation, completed)."""

    name = "Encounter"
    params = frozenset({"_id", "patient", "date"})

    def search(self, params):
        found = encounters()
        if (pk := s.reference_id(params, "_id", "Encounter")) is not None:
            found = found.filter(pk=pk)
        patient = self.patient_param(params, required=pk is None)
        if patient is not None:
            found = found.filter(patient_id=patient)
        found = found.filter(**s.date_filters(params, "date", "start"))
        return found.order_by("-start", "-pk")

    def find(self, ident):
        return _get(encounters(), pk=_int_id(ident))

    def render(self, item):
        return mapping.encounter(item, item.medical_records.all())


# --- the patient's history ----------------------------------------------------------------------------------


class AllergyKind(Kind):
    name = "AllergyIntolerance"
    params = frozenset({"patient", "clinical-status"})

    def queryset(self):
        return Allergy.objects.select_related("patient", "recorded_by__doctor")

    def search(self, params):
        found = self.queryset().filter(patient_id=self.patient_param(params))
        if (status := s.one(params, "clinical-status")) is not None:
            if status not in ("active", "inactive"):
                s.refuse("clinical-status", "clinical-status is active or inactive.")
            found = found.filter(is_active=status == "active")
        return found.order_by("-is_active", "substance", "pk")

    def find(self, ident):
        return _get(self.queryset(), pk=_int_id(ident))

    def render(self, item):
        return mapping.allergy_intolerance(item)


def records():
    return MedicalRecord.objects.select_related(
        "patient", "appointment", "author__doctor", "vitals_recorded_by__doctor"
    ).order_by("-created_at", "-pk")


_DIAGNOSIS_ID = re.compile(r"^r(\d{1,18})-(\d{1,2})$")


class ConditionKind(Kind):
    """The problem list (id: the condition's) and, for those who read charts, the diagnoses coded on
    medical records (id: r<record>-<n>, the n-th ICD-10 code)."""

    name = "Condition"
    params = frozenset({"patient", "category", "code", "clinical-status"})

    def problems(self):
        return Condition.objects.select_related("patient", "recorded_by__doctor")

    def reads_records(self):
        return self.user.has_perm(CHART)

    def search(self, params):
        patient = self.patient_param(params)
        category = s.one(params, "category")
        if category not in (None, "problem-list-item", "encounter-diagnosis"):
            s.refuse("category", "category is problem-list-item or encounter-diagnosis.")
        code = s.token(params, "code")
        if code is not None and code[0] not in (None, mapping.ICD10):
            s.refuse("code", f"Conditions are coded in ICD-10 ({mapping.ICD10}).")
        status = s.one(params, "clinical-status")
        if status not in (None, "active", "resolved"):
            s.refuse("clinical-status", "clinical-status is active or resolved.")
        items = []
        if category in (None, "problem-list-item"):
            problems = self.problems().filter(patient_id=patient)
            if code is not None:
                problems = problems.filter(icd10_code__iexact=code[1])
            if status is not None:
                problems = problems.filter(status=status)
            items += list(problems.order_by("status", "-onset_date", "name", "pk"))
        if category in (None, "encounter-diagnosis") and status is None and self.reads_records():
            coded = records().filter(patient_id=patient).exclude(icd10_codes="")
            for row in coded:
                for n, found in enumerate(row.icd10_list(), start=1):
                    if code is None or found == code[1].upper():
                        items.append((row, n))
        return items

    def find(self, ident):
        if match := _DIAGNOSIS_ID.match(str(ident)):
            if not self.reads_records():
                raise PermissionDenied()
            row = _get(records(), pk=int(match[1]))
            n = int(match[2])
            if not 1 <= n <= len(row.icd10_list()):
                raise NotFound()
            return (row, n)
        return _get(self.problems(), pk=_int_id(ident))

    def render(self, item):
        return mapping.diagnosis(*item) if isinstance(item, tuple) else mapping.condition(item)

    def audit_object(self, item):
        return item[0] if isinstance(item, tuple) else item


# --- the chart -------------------------------------------------------------------------------------------------

_HAS_VITALS = Q()
for _field in VITAL_FIELDS:
    _HAS_VITALS |= Q(**{f"{_field}__isnull": False})

_OBSERVATION_ID = re.compile(r"^(\d{1,18})-([a-z0-9]{1,10})$")


class ObservationKind(Kind):
    """Vital signs recorded on medical records (id: <record>-<sign>), LOINC coded, in UCUM units."""

    name = "Observation"
    params = frozenset({"patient", "category", "code", "date"})

    def search(self, params):
        patient = self.patient_param(params)
        category = s.token(params, "category")
        if category is not None and category[1] != "vital-signs":
            s.refuse("category", "This server records vital signs only (category=vital-signs).")
        code = s.token(params, "code")
        codes = {value: key for key, value in mapping.VITAL_CODES.items()}
        if code is not None and (code[0] not in (None, mapping.LOINC) or code[1] not in codes):
            s.refuse("code", "code is the LOINC code of a vital sign: " + ", ".join(sorted(codes)) + ".")
        found = records().filter(_HAS_VITALS, patient_id=patient)
        # Dated as the Observation is: the visit's time, or when the record was written.
        dated = s.date_filters(params, "date", "effective")
        if dated:
            found = found.annotate(effective=Coalesce("appointment__start", "created_at")).filter(**dated)
        items = []
        for row in found:
            items += [(row, key) for key in mapping.vital_keys(row) if code is None or codes[code[1]] == key]
        return items

    def find(self, ident):
        match = _OBSERVATION_ID.match(str(ident))
        if not match:
            raise NotFound()
        row = _get(records(), pk=int(match[1]))
        if match[2] not in mapping.vital_keys(row):
            raise NotFound()
        return (row, match[2])

    def render(self, item):
        return mapping.observation(*item)

    def audit_object(self, item):
        return item[0]


def medications():
    return Medication.objects.select_related(
        "record__patient", "record__appointment", "record__author__doctor"
    ).order_by("-record__created_at", "pk")


class MedicationRequestKind(Kind):
    """Each medication prescribed on a medical record."""

    name = "MedicationRequest"
    params = frozenset({"patient"})

    def search(self, params):
        return medications().filter(record__patient_id=self.patient_param(params))

    def find(self, ident):
        return _get(medications(), pk=_int_id(ident))

    def render(self, item):
        return mapping.medication_request(item)


def plans():
    return TreatmentPlan.objects.select_related("patient", "doctor__user", "doctor__specialty")


class CarePlanKind(Kind):
    """Treatment plans."""

    name = "CarePlan"
    params = frozenset({"patient", "status"})

    def search(self, params):
        found = plans().filter(patient_id=self.patient_param(params))
        if (status := s.one(params, "status")) is not None:
            ours = [key for key, value in mapping._PLAN_STATUS.items() if value == status]
            if not ours:
                s.refuse("status", "status is one of " + ", ".join(mapping._PLAN_STATUS.values()) + ".")
            found = found.filter(status__in=ours)
        return found.order_by("-created_at", "-pk")

    def find(self, ident):
        return _get(plans(), pk=_int_id(ident))

    def render(self, item):
        return mapping.care_plan(item)


def procedures():
    return Procedure.objects.select_related("patient", "appointment", "created_by__doctor", "performed_by__doctor")


class ProcedureKind(Kind):
    name = "Procedure"
    params = frozenset({"patient"})

    def search(self, params):
        return procedures().filter(patient_id=self.patient_param(params)).order_by("-created_at", "-pk")

    def find(self, ident):
        return _get(procedures(), pk=_int_id(ident))

    def render(self, item):
        return mapping.procedure(item)


# --- documents ---------------------------------------------------------------------------------------------------


class DocumentReferenceKind(Kind):
    """Documents (their current file), as the documents pages show them: clinical roles see every
    type, the front desk referrals and consent forms only."""

    name = "DocumentReference"
    params = frozenset({"patient", "type"})

    def queryset(self):
        return ClinicalDocument.objects.select_related(
            "patient", "current_version", "uploaded_by__doctor", "appointment"
        ).order_by("-document_date", "-pk")

    def search(self, params):
        found = documents_visible_to(self.user, self.queryset()).filter(
            patient_id=self.patient_param(params), is_archived=False
        )
        if (kind := s.token(params, "type")) is not None:
            ours = [key for key, (code, _) in mapping._DOCUMENT_TYPE.items() if code == kind[1]]
            if kind[1] in ClinicalDocument.Type.values:
                ours = [kind[1]]
            if not ours:
                s.refuse("type", "type is a LOINC document type this clinic files (e.g. 11502-2).")
            found = found.filter(doc_type__in=ours)
        return found

    def find(self, ident):
        # As the document's page: someone who sees only some types is refused (403) both a type they
        # may not see and an id that does not exist, so ids reveal nothing.
        found = self.queryset().filter(pk=_int_id(ident)).first() if str(ident).isdigit() else None
        if found is not None and can_view_document(self.user, found):
            return found
        if found is None and self.user.has_perm(VIEW_ALL):
            raise NotFound()
        raise PermissionDenied()

    def render(self, item):
        return mapping.document_reference(item, self.request)


KINDS = {
    kind.name: kind
    for kind in [
        PatientKind,
        PractitionerKind,
        PractitionerRoleKind,
        ScheduleKind,
        SlotKind,
        AppointmentKind,
        EncounterKind,
        AllergyKind,
        ConditionKind,
        ObservationKind,
        MedicationRequestKind,
        ProcedureKind,
        CarePlanKind,
        DocumentReferenceKind,
    ]
}

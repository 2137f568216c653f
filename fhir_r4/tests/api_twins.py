"""The page each FHIR operation stands for (tests/test_api_access.py checks them against ACCESS)."""

from tests.test_access import ANY_SIGNED_IN, CLINICAL

TWINS = {
    # Patients: the patient list and the patient's page (every role). $everything gives what the
    # caller's role reads of the record, as the patient's page and the chart do.
    ("fhir:patient-search", "GET"): "patients:list",
    ("fhir:patient-read", "GET"): "patients:detail",
    ("fhir:patient-everything", "GET"): "patients:detail",
    # Doctors, their roles (specialty, hours) and schedules: the doctors' page.
    ("fhir:practitioner-search", "GET"): "staff:doctors",
    ("fhir:practitioner-read", "GET"): "staff:doctors",
    ("fhir:practitionerrole-search", "GET"): "staff:doctors",
    ("fhir:practitionerrole-read", "GET"): "staff:doctors",
    ("fhir:schedule-search", "GET"): "scheduling:week",
    ("fhir:schedule-read", "GET"): "scheduling:week",
    ("fhir:slot-search", "GET"): "scheduling:slots",
    ("fhir:slot-read", "GET"): "scheduling:slots",
    ("fhir:appointment-search", "GET"): "scheduling:day",
    ("fhir:appointment-read", "GET"): "scheduling:detail",
    # Allergies and the problem list are shown on the patient's page to clinical roles only: no page of
    # their own reads them, so the roles are named (those with patients.view_allergy / view_condition).
    ("fhir:allergyintolerance-search", "GET"): CLINICAL,
    ("fhir:allergyintolerance-read", "GET"): CLINICAL,
    ("fhir:condition-search", "GET"): CLINICAL,
    ("fhir:condition-read", "GET"): CLINICAL,
    # The chart: visits, vital signs, prescriptions, plans and procedures.
    ("fhir:encounter-search", "GET"): "clinical:chart",
    ("fhir:encounter-read", "GET"): "clinical:chart",
    ("fhir:observation-search", "GET"): "clinical:chart",
    ("fhir:observation-read", "GET"): "clinical:record",
    ("fhir:medicationrequest-search", "GET"): "clinical:chart",
    ("fhir:medicationrequest-read", "GET"): "clinical:prescription",
    ("fhir:procedure-search", "GET"): "clinical:chart",
    ("fhir:procedure-read", "GET"): "clinical:chart",
    ("fhir:careplan-search", "GET"): "clinical:chart",
    ("fhir:careplan-read", "GET"): "clinical:plan",
    # Documents: the patient's documents list (the front desk sees referrals and consent forms), and
    # a document's page (a type the caller may not see, or an id that does not exist, is refused alike).
    ("fhir:documentreference-search", "GET"): "documents:patient",
    ("fhir:documentreference-read", "GET"): "documents:detail",
    # Anything else under /fhir/R4/ is a 404 OperationOutcome to anyone signed in (a 401 without).
    ("fhir:unknown", "GET"): ANY_SIGNED_IN,
}

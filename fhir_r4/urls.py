"""FHIR R4 under /fhir/R4/: `<Type>` searches, `<Type>/<id>` reads, `Patient/<id>/$everything`, `metadata`."""

from django.urls import path, re_path

from . import views

app_name = "fhir"

VIEW_SETS = [
    ("Patient", views.PatientViewSet, "int"),
    ("Practitioner", views.PractitionerViewSet, "int"),
    ("PractitionerRole", views.PractitionerRoleViewSet, "int"),
    ("Schedule", views.ScheduleViewSet, "int"),
    ("Slot", views.SlotViewSet, "str"),
    ("Appointment", views.AppointmentViewSet, "int"),
    ("Encounter", views.EncounterViewSet, "int"),
    ("AllergyIntolerance", views.AllergyIntoleranceViewSet, "int"),
    ("Condition", views.ConditionViewSet, "str"),
    ("Observation", views.ObservationViewSet, "str"),
    ("MedicationRequest", views.MedicationRequestViewSet, "int"),
    ("Procedure", views.ProcedureViewSet, "int"),
    ("CarePlan", views.CarePlanViewSet, "int"),
    ("DocumentReference", views.DocumentReferenceViewSet, "int"),
]

EVERYTHING = views.PatientViewSet.as_view({"get": "everything"})

urlpatterns = [path("metadata", views.MetadataView.as_view(), name="metadata")]
for resource_type, view_set, id_converter in VIEW_SETS:
    slug = resource_type.lower()
    urlpatterns += [
        path(resource_type, view_set.as_view({"get": "list"}), name=f"{slug}-search"),
        path(f"{resource_type}/<{id_converter}:id>", view_set.as_view({"get": "retrieve"}), name=f"{slug}-read"),
    ]
urlpatterns += [
    # A regex with "$" escaped: in a path() route the schema generator takes "$" for the pattern's end.
    re_path(r"^Patient/(?P<id>[0-9]{1,18})/\$everything$", EVERYTHING, name="patient-everything"),
    # Last: any other type or operation is answered with an OperationOutcome, not the site's 404 page.
    path("<path:rest>", views.UnknownView.as_view(), name="unknown"),
]

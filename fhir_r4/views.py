"""FHIR R4 read and search under /fhir/R4/ (application/fhir+json), with Django REST framework.

The same doors as the JSON API (an API token, or the session with CSRF), the same permissions as the
pages (each action declares them: clinic.api_policy.ActionPermissions), the same narrowing (documents
by type, clinical content for the roles that read charts) and the same audit trail: every read and
search of patient data is an entry naming the API client. Errors are OperationOutcome resources.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.api import Endpoint, problem_details
from clinic.api_policy import ActionPermissions
from clinic.audit import Action, record
from documents.access import ANY_DOCUMENT_ACCESS

from . import kinds, mapping
from . import search as s

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"


class FHIRRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class JSONAlsoRenderer(JSONRenderer):
    """Plain application/json for a client that asks for it (FHIR allows both)."""


# --- errors: OperationOutcome ---------------------------------------------------------------------------

_ISSUE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    415: "not-supported",
    429: "throttled",
}


def operation_outcome(status, diagnostics, *, errors=None):
    code = _ISSUE.get(status, "exception")
    issues = [
        {"severity": "error", "code": code, "diagnostics": f"{field}: {message}"}
        for field, messages in (errors or {}).items()
        for message in messages
    ]
    return {
        "resourceType": "OperationOutcome",
        "issue": issues or [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


def fhir_errors(exc, context):
    """The API's handler (the same statuses, WWW-Authenticate on a 401), answering with an OperationOutcome."""
    response = problem_details(exc, context)
    if response is None:
        return None
    body = response.data
    response.data = operation_outcome(response.status_code, body.get("detail", ""), errors=body.get("errors"))
    response.content_type = FHIR_JSON
    return response


OUTCOME = OpenApiResponse(OpenApiTypes.OBJECT, description="An OperationOutcome resource")


def outcomes(*codes):
    return dict.fromkeys(codes, OUTCOME)


# --- who may call -----------------------------------------------------------------------------------------


class AnyPermission(permissions.BasePermission):
    """At least one of the view's `any_permission`, as a page's `Permitted.any_permission` (documents:
    clinical roles see all of them, the front desk referrals and consent forms)."""

    def has_permission(self, request, view):
        wanted = getattr(view, "any_permission", ())
        return not wanted or any(request.user.has_perm(permission) for permission in wanted)


class FHIRView(Endpoint):
    renderer_classes = [FHIRRenderer, JSONAlsoRenderer]
    permission_classes = [ActionPermissions, AnyPermission]
    pagination_class = None

    def get_exception_handler(self):
        return fhir_errors

    def initial(self, request, *args, **kwargs):
        # A method this view does not answer (POST, PUT, DELETE: this server reads) is 405, before the
        # permission check, which would find no permission declared for it.
        if request.method not in self.allowed_methods:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def base_url(self):
        return self.request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")


def bundle(view, entries, *, links=(), total=None):
    found = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": mapping.instant(timezone.now()),
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links],
        "entry": [
            {
                "fullUrl": f"{view.base_url()}{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": mode},
            }
            for resource, mode in entries
        ],
    }
    return mapping.clean(found)


# --- read and search, one view set a resource type ----------------------------------------------------------


class ResourceViewSet(FHIRView, viewsets.ViewSet):
    kind = None  # a fhir.kinds.Kind

    def list(self, request):
        params = request.query_params
        kind = self.kind(request)
        s.check_known(params, kind.params)
        count, offset = s.paging(params)
        page = list(kind.search(params)[offset : offset + count + 1])
        more = len(page) > count
        page = page[:count]
        resources = [kind.render(item) for item in page]
        kind.audit_search(params, len(resources))
        here = request.build_absolute_uri(request.path)
        kept = [(k, v) for k in params for v in params.getlist(k) if k != "_offset"]

        def at(start):
            return f"{here}?{urlencode([*kept, ('_offset', start)])}"

        links = [("self", at(offset))]
        if more:
            links.append(("next", at(offset + count)))
        if offset:
            links.append(("previous", at(max(0, offset - count))))
        total = offset + len(resources) if not more else None
        return Response(bundle(self, [(r, "match") for r in resources], links=links, total=total))

    def retrieve(self, request, id=None):
        kind = self.kind(request)
        item = kind.find(id)
        resource = kind.render(item)
        kind.audit_read(item)
        return Response(resource)


def _search_parameters(kind):
    named = [OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY) for name in sorted(kind.params)]
    return [
        *named,
        OpenApiParameter("_count", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Entries a page (1-100)."),
        OpenApiParameter("_offset", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Entries to skip."),
    ]


def resource_view_set(kind, needs, *, any_permission=(), id_type=OpenApiTypes.INT):
    """The view set of one resource type: read needs what search needs (the page's permission)."""
    view_set = type(
        f"{kind.name}ViewSet",
        (ResourceViewSet,),
        {
            "kind": kind,
            "action_permissions": {"list": needs, "retrieve": needs},
            "any_permission": any_permission,
            "__doc__": kind.__doc__,
        },
    )
    tags = ["FHIR R4"]
    return extend_schema_view(
        list=extend_schema(
            summary=f"Search {kind.name} (a searchset Bundle)",
            operation_id=f"fhir_{kind.name}_search",
            parameters=_search_parameters(kind),
            responses={200: OpenApiResponse(OpenApiTypes.OBJECT, "A Bundle"), **outcomes(400, 401, 403, 406, 429)},
            tags=tags,
        ),
        retrieve=extend_schema(
            summary=f"Read a {kind.name}",
            operation_id=f"fhir_{kind.name}_read",
            parameters=[OpenApiParameter("id", id_type, OpenApiParameter.PATH)],
            responses={200: OpenApiResponse(OpenApiTypes.OBJECT, f"A {kind.name}"), **outcomes(401, 403, 404, 429)},
            tags=tags,
        ),
    )(view_set)


PATIENT = "patients.view_patient"
CHART = kinds.CHART

PractitionerViewSet = resource_view_set(kinds.PractitionerKind, "staff.view_doctor")
PractitionerRoleViewSet = resource_view_set(kinds.PractitionerRoleKind, "staff.view_doctor")
ScheduleViewSet = resource_view_set(kinds.ScheduleKind, ("staff.view_doctor", "scheduling.view_appointment"))
SlotViewSet = resource_view_set(kinds.SlotKind, "scheduling.view_appointment", id_type=OpenApiTypes.STR)
AppointmentViewSet = resource_view_set(kinds.AppointmentKind, "scheduling.view_appointment")
EncounterViewSet = resource_view_set(kinds.EncounterKind, (PATIENT, "scheduling.view_appointment", CHART))
AllergyIntoleranceViewSet = resource_view_set(kinds.AllergyKind, (PATIENT, "patients.view_allergy"))
ConditionViewSet = resource_view_set(
    kinds.ConditionKind, (PATIENT, "patients.view_condition"), id_type=OpenApiTypes.STR
)
ObservationViewSet = resource_view_set(kinds.ObservationKind, (PATIENT, CHART), id_type=OpenApiTypes.STR)
MedicationRequestViewSet = resource_view_set(kinds.MedicationRequestKind, (PATIENT, CHART, "clinical.view_medication"))
ProcedureViewSet = resource_view_set(kinds.ProcedureKind, (PATIENT, "clinical.view_procedure"))
CarePlanViewSet = resource_view_set(kinds.CarePlanKind, (PATIENT, "clinical.view_treatmentplan"))
DocumentReferenceViewSet = resource_view_set(kinds.DocumentReferenceKind, PATIENT, any_permission=ANY_DOCUMENT_ACCESS)


# --- Patient, with $everything ------------------------------------------------------------------------------------


class PatientViewSet(resource_view_set(kinds.PatientKind, PATIENT)):
    action_permissions = {"list": PATIENT, "retrieve": PATIENT, "everything": PATIENT}

    @extend_schema(
        summary="A patient's whole record as one Bundle (what the caller's role may read)",
        operation_id="fhir_Patient_everything",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, "A Bundle"), **outcomes(401, 403, 404, 429)},
        tags=["FHIR R4"],
    )
    def everything(self, request, id=None):
        patient = kinds.PatientKind(request).find(id)
        resources = everything(request, patient)
        record(Action.VIEW, patient, summary=f"FHIR Patient/$everything: {len(resources)} resources")
        entries = [
            (resource, "include" if resource["resourceType"].startswith("Practitioner") else "match")
            for resource in resources
        ]
        self_link = request.build_absolute_uri(request.path)
        return Response(bundle(self, entries, links=[("self", self_link)], total=len(resources)))


def everything(request, patient):
    """Every resource of the patient the user may read, then the doctors they reference: a fixed
    number of queries however long the record."""
    user = request.user
    found = [mapping.patient(patient)]
    chart = user.has_perms((CHART,))
    visits = []
    if user.has_perm("scheduling.view_appointment"):
        visits = list(kinds.appointments().filter(patient=patient).order_by("start", "pk"))
        found += [mapping.appointment(row) for row in visits]
    if user.has_perm("patients.view_allergy"):
        allergies = (
            kinds.AllergyKind(request).queryset().filter(patient=patient).order_by("-is_active", "substance", "pk")
        )
        found += [mapping.allergy_intolerance(row) for row in allergies]
    if user.has_perm("patients.view_condition"):
        problems = kinds.ConditionKind(request).problems().filter(patient=patient).order_by("status", "name", "pk")
        found += [mapping.condition(row) for row in problems]
    if chart:
        records = list(kinds.records().filter(patient=patient).prefetch_related("medications"))
        by_visit = {}
        for row in sorted(records, key=lambda r: r.pk):
            by_visit.setdefault(row.appointment_id, []).append(row)
        found += [
            mapping.encounter(row, by_visit.get(row.pk, []))
            for row in visits
            if row.status in mapping.ENCOUNTER_STATUSES
        ]
        for row in records:
            found += mapping.diagnoses(row)
            found += mapping.observations(row)
            if user.has_perm("clinical.view_medication"):
                found += [mapping.medication_request(medication) for medication in row.medications.all()]
    if user.has_perm("clinical.view_treatmentplan"):
        found += [mapping.care_plan(row) for row in kinds.plans().filter(patient=patient).order_by("created_at", "pk")]
    if user.has_perm("clinical.view_procedure"):
        found += [
            mapping.procedure(row) for row in kinds.procedures().filter(patient=patient).order_by("created_at", "pk")
        ]
    documents = kinds.DocumentReferenceKind(request)
    documents = kinds.documents_visible_to(user, documents.queryset().filter(patient=patient))
    found += [mapping.document_reference(row, request) for row in documents]
    if user.has_perm("staff.view_doctor"):
        found += _referenced_practitioners(found)
    return found


def _referenced_practitioners(resources):
    wanted = set()

    def walk(value):
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str) and ref.startswith("Practitioner/"):
                wanted.add(int(ref.split("/", 1)[1]))
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(resources)
    if not wanted:
        return []
    doctors = list(kinds.doctors().filter(user_id__in=wanted).order_by("pk"))
    return [mapping.practitioner(doctor) for doctor in doctors] + [mapping.practitioner_role(d) for d in doctors]


# --- what this server does: the CapabilityStatement ------------------------------------------------------------------


def capability_statement(base):
    resources = []
    for name, kind in kinds.KINDS.items():
        params = sorted(kind.params)
        entry = {
            "type": name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": param, "type": _PARAM_TYPES.get(param, "token")} for param in params],
        }
        if name == "Patient":
            entry["operation"] = [
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            ]
        resources.append(entry)
    return mapping.clean(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": mapping.instant(timezone.now()),
            "publisher": "The clinic",
            "kind": "instance",
            "software": {"name": "Clinic"},
            "implementation": {"description": "The clinic's FHIR R4 server (read and search)", "url": base},
            "fhirVersion": FHIR_VERSION,
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Read and search. Authenticate with Authorization: Bearer <API token>.",
                    "security": {
                        "cors": False,
                        "description": "An API token of a member of staff (Bearer); the token acts with its "
                        "owner's roles. Reads and searches of patient data are audited.",
                    },
                    "resource": resources,
                }
            ],
        }
    )


_PARAM_TYPES = {
    "_id": "token",
    "name": "string",
    "birthdate": "date",
    "date": "date",
    "start": "date",
    "patient": "reference",
    "subject": "reference",
    "practitioner": "reference",
    "schedule": "reference",
    "actor": "reference",
    "specialty": "token",
}


class MetadataView(FHIRView, APIView):
    """GET /fhir/R4/metadata: public, as FHIR expects (it says what the server does, nothing about anyone)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="The CapabilityStatement",
        operation_id="fhir_metadata",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, "A CapabilityStatement"), **outcomes(429)},
        tags=["FHIR R4"],
        auth=[],
    )
    def get(self, request):
        return Response(capability_statement(self.base_url()))


class UnknownView(FHIRView, APIView):
    """Anything else under /fhir/R4/ (a resource type or operation this server does not offer): a 404
    OperationOutcome, to a caller who is signed in."""

    action_permissions = {"get": ()}

    @extend_schema(exclude=True)  # not an operation: what every other URL under /fhir/R4/ answers
    def get(self, request, rest=None):
        raise NotFound(f"This server offers no {rest!r}; see /fhir/R4/metadata for what it offers.")

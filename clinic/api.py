"""The JSON API's shared parts (Django REST framework): who may call what, errors, pages, audit, replays.

Every app keeps its own API in `<app>/api.py` (serializers and views) and `<app>/api_urls.py`, and
every write goes through the same service the app's pages call, so a rule of the pages (a double
booking refused, a signed record left alone, a closed month) holds for machines too.

- `ActionPermissions` (clinic/api_policy.py, with the rate limits and the cursor): each view declares
  the Django permissions of each action, as pages declare theirs (`clinic.permissions.Permitted`);
  an action with no declaration is a configuration error.
- Errors are problem+json (RFC 9457): `type`, `title`, `status`, `detail`, and `errors` {field: [messages]}.
  A service's `ValidationError` becomes 400 with its field errors; an overlap (a double booking) 409.
- Lists page by cursor (`clinic.api_policy.Cursor`): stable under inserts, and no count of the whole table.
- Reads of patient data write an audit entry, as the pages do; the API client (the token's name) is
  named in the entry's client column.
- A POST carrying an `Idempotency-Key` header (a UUID) is done once: a replay gets 303 to what the
  first one made, as a form's token does for pages (clinic/idempotency.py).
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from clinic.idempotency import done_once  # noqa: F401 (the API's views import it from here)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://clinic.example/problems/"

# --- errors: problem+json ---------------------------------------------------------------------------


def _field_errors(detail):
    """{field: [messages]} from DRF's error detail (a dict, a list or one message)."""
    if isinstance(detail, dict):
        return {
            str(field): [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            for field, messages in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {}


def django_errors(exc):
    """{field: [messages]} of a Django ValidationError (a service's refusal)."""
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [m for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"non_field_errors": list(exc.messages)}


def is_overlap(exc):
    """A service's refusal because the time is taken (a double booking)."""
    if not isinstance(exc, DjangoValidationError):
        return False
    errors = [e for field_errors in getattr(exc, "error_dict", {}).values() for e in field_errors]
    errors += getattr(exc, "error_list", []) if not hasattr(exc, "error_dict") else []
    return any(getattr(e, "code", None) == "overlap" for e in errors)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "That conflicts with the record as it is now."
    default_code = "conflict"

    def __init__(self, detail=None, *, errors=None, extra=None):
        super().__init__(detail)
        self.errors = errors or {}
        self.extra = extra or {}


def problem(status_code, title, detail="", *, errors=None, code=None, extra=None):
    body = {
        "type": PROBLEM_BASE + (code or str(status_code)),
        "title": title,
        "status": status_code,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    return Response(body, status=status_code, content_type=PROBLEM_JSON)


def problem_details(exc, context):
    """DRF's exception handler, answering in problem+json; a service's ValidationError is a 400
    with its field errors (409 when it is an overlap)."""
    if isinstance(exc, DjangoValidationError):
        errors = django_errors(exc)
        exc = Conflict("That time is taken.", errors=errors) if is_overlap(exc) else exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a 500: logged and answered by Django's handler
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        first = next((m[0] for m in errors.values() if m), "")
        body = problem(400, "The request has errors.", first, errors=errors, code="invalid").data
    elif isinstance(exc, Conflict):
        errors = exc.errors
        detail = next((m[0] for m in errors.values() if m), str(exc.detail))
        body = problem(409, "Conflict", detail, errors=errors, code="conflict", extra=exc.extra).data
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = code if isinstance(code, str) else str(response.status_code)
        body = problem(response.status_code, _title(response.status_code), str(exc.detail), code=code).data
    response.data = body
    response.content_type = PROBLEM_JSON
    return response


def _title(status_code):
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


PROBLEM_SCHEMA = inline_serializer(
    "Problem",
    {
        "type": serializers.URLField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
    },
)


def problem_responses(*codes):
    """{status: problem} for extend_schema(responses=...)."""
    return {code: OpenApiResponse(PROBLEM_SCHEMA, description=_title(code)) for code in codes}


# --- a POST done once -------------------------------------------------------------------------------

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.UUID,
    OpenApiParameter.HEADER,
    required=False,
    description="A UUID of the caller's: the same POST sent again with it is done once; the replay is "
    "answered 303 to what the first one made.",
)


# --- the views' common base -------------------------------------------------------------------------


class Endpoint:
    """Mixed in first by every API view: the API answers 401/403 itself (a machine is not sent to the
    sign-in page), so LoginRequiredMiddleware lets its requests through to DRF's authentication."""

    @classmethod
    def as_view(cls, *args, **kwargs):
        view = super().as_view(*args, **kwargs)
        view.login_required = False
        return view


# --- the pages' forms check what machines send ------------------------------------------------------


def checked_by_form(form_class, data, *, instance=None, **form_kwargs):
    """The page's own form, bound to what the caller sent, so its rules (and messages) are the API's
    too. A partial update (PATCH) keeps the stored values of the fields not sent. Returns the valid
    form; raises DRF's ValidationError {field: [messages]} otherwise."""
    from django.forms.models import model_to_dict

    if not hasattr(data, "keys"):  # a JSON list or number where an object was due
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    sent = {key: data[key] for key in data}
    if instance is not None and instance.pk:
        stored = model_to_dict(instance, fields=list(form_class.base_fields))
        sent = {**{k: v for k, v in stored.items() if v is not None}, **sent}
    kwargs = {"instance": instance} if instance is not None else {}
    form = form_class(data=sent, **kwargs, **form_kwargs)
    if not form.is_valid():
        raise exceptions.ValidationError(
            {
                ("non_field_errors" if field == "__all__" else field): [e["message"] for e in errors]
                for field, errors in form.errors.get_json_data().items()
            }
        )
    return form


# --- the schema: what the shared parts answer for every operation ------------------------------------

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_SHARED_ANSWERS = {
    "401": "Unauthorized: no token, or a wrong, expired or revoked one.",
    "403": "Forbidden: the caller's role may not do this.",
    "429": "Too Many Requests: the rate limit is used up; try again after Retry-After seconds.",
}


def _problem_answer(description):
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}


def shared_answers(result, generator, request, public):
    """SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]: every operation also answers 401, 403 and 429 (the
    authentication, ActionPermissions and the rate limits, before any view runs); a POST with an
    Idempotency-Key 303 on a replay; a list 404 for a cursor it never gave; and every error is
    application/problem+json, as problem_details answers."""
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                content = response.get("content", {})
                if code.isdigit() and int(code) >= 400 and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")  # every error is a problem
            for code, description in _SHARED_ANSWERS.items():
                responses.setdefault(code, _problem_answer(description))
            names = {parameter.get("name") for parameter in operation.get("parameters", [])}
            if "Idempotency-Key" in names:
                responses.setdefault(
                    "303", {"description": "See Other: a replay of this POST; Location names what the first one made."}
                )
            if "cursor" in names:
                responses.setdefault("404", _problem_answer("Not Found: a cursor this list did not give."))
    return result


def conflict_from(error):
    """A service's refusal that is about the object's state (signed, archived, closed...), as a 409."""
    messages = error.messages
    return Conflict(messages[0] if messages else None, errors={"non_field_errors": messages})


class StateRefusalIsConflict:
    """`with StateRefusalIsConflict(): service(...)`: a service's ValidationError that names fields stays
    (a 400 through the problem handler); one that names none is about the object's state, as now
    (changed by a request that came between, say): a 409 (`conflict_from`)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, DjangoValidationError) and not hasattr(error, "error_dict"):
            raise conflict_from(error) from error
        return False

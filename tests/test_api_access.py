"""Who may call which API and FHIR operation: every operation against every role, from the pages' own
access table (tests/test_access.py ACCESS), so the API and the pages cannot drift apart.

Each app names, in `<app>/tests/api_twins.py`, the page each operation stands for:
`TWINS = {("patients_api:patient-list", "GET"): "patients:list", ...}` (or a set of roles, with a
reason, where no page does the same). Here every operation is called as each role (an API token),
with no credentials, and with ids that do not exist: a role the page refuses gets 403, a caller
without credentials 401, a role the page admits neither (200, 201, 400 or 404 on the made-up id).
The permission is checked before any lookup, so a refused role learns nothing about which ids exist.
"""

import importlib

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clinic.tests.urlwalk import is_machine_url, walk_urls

from .test_access import ACCESS, ANONYMOUS, NO_ROLE, PRINCIPALS

APPS = ["staff", "patients", "scheduling", "clinical", "documents", "finance", "fhir_r4"]
# Open to anyone, by design: the schema and its pages (what the API offers, no data), and FHIR's
# CapabilityStatement (what this server supports).
PUBLIC = {"api:schema", "api:docs", "api:redoc", "fhir:metadata"}
MADE_UP_ID = 987654321


def _twins():
    twins = {}
    for app in APPS:
        try:
            module = importlib.import_module(f"{app}.tests.api_twins")
        except ModuleNotFoundError:
            continue
        twins.update(module.TWINS)
    return twins


TWINS = _twins()


def _operations():
    """(url name, HTTP method, pattern) for every operation the API and FHIR answer."""
    for name, pattern in walk_urls():
        if not is_machine_url(name) or name in PUBLIC:
            continue
        actions = getattr(pattern.callback, "actions", None)
        if actions:
            methods = [method.upper() for method in actions if method not in ("head", "options")]
        else:
            view_class = pattern.callback.cls
            methods = [
                m.upper()
                for m in view_class.http_method_names
                if m not in ("head", "options") and hasattr(view_class, m)
            ]
        for method in methods:
            yield name, method, pattern


OPERATIONS = sorted((name, method) for name, method, _ in _operations())
PATTERNS = {name: pattern for name, _, pattern in _operations()}


def test_every_operation_has_a_twin_page_and_every_twin_an_operation():
    assert OPERATIONS, "the API's operations are walked"
    assert sorted(set(OPERATIONS) - set(TWINS)) == [], "New API operations need a twin in <app>/tests/api_twins.py"
    assert sorted(set(TWINS) - set(OPERATIONS)) == [], "Twins name operations that no longer exist"
    pages = {twin for twin in TWINS.values() if isinstance(twin, str)}
    assert pages - set(ACCESS) == set(), "A twin must be a page of tests/test_access.py's ACCESS"


def allowed(name, method):
    twin = TWINS[(name, method)]
    return ACCESS[twin] if isinstance(twin, str) else twin


def url_for(name):
    pattern = PATTERNS[name].pattern
    converters = getattr(pattern, "converters", {})
    names = converters or pattern.regex.groupindex  # path() converters, or a router's regex groups
    kwargs = {key: ("x" if type(converters.get(key)).__name__ == "StringConverter" else MADE_UP_ID) for key in names}
    return reverse(name, kwargs=kwargs or None)


def caller(principal, api_for):
    if principal == ANONYMOUS:
        return APIClient()
    return api_for(None if principal == NO_ROLE else principal)


@pytest.mark.django_db
@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize(("name", "method"), OPERATIONS)
def test_api_access(name, method, principal, api_for):
    client = caller(principal, api_for)
    response = getattr(client, method.lower())(url_for(name), {}, format="json")
    if principal == ANONYMOUS:
        assert response.status_code == 401, response.content
    elif principal in allowed(name, method):
        assert response.status_code not in (401, 403), (response.status_code, response.content[:300])
        assert response.status_code < 500
    else:
        assert response.status_code == 403, (response.status_code, response.content[:300])


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_the_schema_its_pages_and_fhir_metadata_need_no_sign_in(name, client):
    response = client.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_call_signed_in_by_session_must_carry_the_csrf_token(django_user_model):
    """The site's own pages may call the API with their session; a forged cross-site POST may not."""
    from django.test import Client

    from staff.roles import RECEPTIONIST
    from staff.tests.factories import UserFactory

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(roles=[RECEPTIONIST]))
    new = {"first_name": "Ada", "last_name": "Okafor", "date_of_birth": "1984-03-02", "sex": "female"}
    response = client.post(reverse("patients_api:patient-list"), new, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert client.get(reverse("patients_api:patient-list")).status_code == 200

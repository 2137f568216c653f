"""schemathesis against the API's own OpenAPI schema: every operation the schema names, called as each
role with an API token, a few generated requests each. No answer is a 5xx, and every answer is one the
schema documents (its status code, its content type, its body's shape).

The schema is the one /api/schema/ serves (made by the same generator when the tests are collected; a test
checks the two are equal), so an operation another app adds is picked up with no change here. The requests
go in-process through the app's WSGI handler (the whole middleware stack, no server), inside each test's
transaction, so both databases run it as they run any test.

Bounded and repeatable for CI: 5 examples an operation and role, derandomized (the same requests on
every run), no deadline (a loaded CI machine is slow, not wrong), no example database.
"""

import copy
import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.settings import spectacular_settings
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST

ROLES = [RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR]
EXAMPLES = 5

APPLICATION = get_wsgi_application()


def _served_schema():
    """The schema /api/schema/ serves, made by the same generator and renderer as that view. Made here
    rather than fetched: the view's rate limit counts in a database table, and the database is not
    open while tests are collected (test_the_schema_tested_is_the_one_served compares the two)."""
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    return json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))


SCHEMA_DICT = _served_schema()
SCHEMA = schemathesis.openapi.from_dict(copy.deepcopy(SCHEMA_DICT))
SCHEMA.app = APPLICATION
OPERATIONS = {operation.label: operation for operation in (result.ok() for result in SCHEMA.get_all_operations())}


def not_a_server_error(ctx, response, case):
    """No 5xx, whatever was sent (schemathesis's own check, restated so the test names it)."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_schema_names_operations_of_every_app_with_an_api():
    assert len(OPERATIONS) > 10
    prefixes = {label.split(" ", 1)[1].split("/")[3] for label in OPERATIONS}
    assert {"patients", "expenses", "payments"} <= prefixes, prefixes


@pytest.mark.django_db
def test_the_schema_tested_is_the_one_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content[:300]
    assert json.loads(response.content) == SCHEMA_DICT


def test_the_served_schema_documents_what_the_shared_parts_answer():
    """clinic.api.shared_answers: 401, 403 and 429 on every operation, 303 where a POST takes an
    Idempotency-Key, and every error documented as problem+json (the type problem_details answers)."""
    operations = [
        operation
        for path in SCHEMA_DICT["paths"].values()
        for method, operation in path.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    for operation in operations:
        responses = operation["responses"]
        assert {"401", "403", "429"} <= set(responses), operation["operationId"]
        for code, response in responses.items():
            if code.isdigit() and int(code) >= 400 and "content" in response:
                assert "application/json" not in response["content"], (operation["operationId"], code)
        names = {parameter.get("name") for parameter in operation.get("parameters", [])}
        if "Idempotency-Key" in names:
            assert "303" in responses, operation["operationId"]


@pytest.fixture
def in_test_transaction():
    """The WSGI handler closes the database connection when a request ends (close_old_connections);
    inside a test that would close the test's own transaction. Django's test client unhooks it the
    same way while it calls the app."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("in_test_transaction")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_answer_matches_the_schema(label, role, api_for):
    operation = OPERATIONS[label]
    headers = {"Authorization": f"Bearer {api_for(role).key}"}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def each_request(case):
        response = case.call(app=APPLICATION, headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    each_request()

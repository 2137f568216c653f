"""Health and readiness probes, and the security headers every page carries."""

import pytest
from django.db import OperationalError
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from clinic import health
from documents.tests.factories import make_image


@pytest.fixture(autouse=True)
def _fresh_readiness(monkeypatch):
    # Readiness caches "migrations applied" per process; each test starts without it.
    monkeypatch.setattr(health, "_migrations_applied", False)


def production_like(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["clinic.example.org"]


# Transactional: on SQLite readiness takes the write lock, which a test's own open transaction holds.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("path", "body"), [("/healthz", b"ok\n"), ("/readyz", b"ready\n")])
def test_probes_answer_anonymous_plain_http_to_any_host_and_reveal_nothing(client, settings, path, body):
    production_like(settings)  # an HTTPS redirect and a strict host list stand in front of every page

    response = client.get(path, HTTP_HOST="10.0.3.7:8000")

    assert response.status_code == 200
    assert response.content == body
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_liveness_does_not_touch_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_readiness_fails_when_the_database_does_not_answer(client, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", down)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.content == b"not ready\n"


@pytest.mark.django_db
def test_readiness_fails_while_migrations_are_pending(client, monkeypatch):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("pending", False)])

    assert client.get("/readyz").status_code == 503


@pytest.mark.django_db(transaction=True)
def test_readiness_recovers_when_the_database_comes_back(client, monkeypatch):
    original = health.connection.cursor
    monkeypatch.setattr(health.connection, "cursor", lambda: (_ for _ in ()).throw(OperationalError("down")))
    assert client.get("/readyz").status_code == 503

    monkeypatch.setattr(health.connection, "cursor", original)
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_probes_only_answer_reads(client):
    # A POST is not a probe: it goes through the app like any request (and finds no page).
    response = client.post("/healthz")
    assert response.status_code == 404
    assert response.content != b"ok\n"


def test_every_page_carries_the_security_headers(reception):
    response = reception.get(reverse("home"))

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_the_sign_in_page_and_the_admin_carry_them_too(client, manager):
    assert "script-src 'self'" in client.get(reverse("login"))["Content-Security-Policy"]
    assert "script-src 'self'" in manager.get(reverse("admin:index"))["Content-Security-Policy"]


def test_a_served_file_keeps_its_own_stricter_policy(doctor_client):
    image = make_image()

    response = doctor_client.get(reverse("documents:image_file", args=[image.pk]))
    b"".join(response.streaming_content)

    assert response["Content-Security-Policy"].startswith("sandbox")


def test_every_form_page_sets_a_csrf_token(reception):
    response = reception.get(reverse("scheduling:book"))

    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


@pytest.mark.django_db
def test_every_response_carries_a_request_id_and_keeps_a_sane_one_from_the_proxy(client, settings):
    fresh = client.get("/accounts/login/")["X-Request-ID"]
    assert len(fresh) == 32 and fresh != client.get("/accounts/login/")["X-Request-ID"]
    # No proxy in front: the header is the client's own claim, not taken.
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-7f3a9c01")["X-Request-ID"] != "lb-7f3a9c01"

    settings.PROXY_COUNT = 1
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-7f3a9c01")["X-Request-ID"] == "lb-7f3a9c01"
    # Whatever a client makes up is not echoed into logs and headers as it is.
    forged = client.get("/accounts/login/", HTTP_X_REQUEST_ID="<script>\r\nx")["X-Request-ID"]
    assert len(forged) == 32 and "<" not in forged


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no proxy configured: the header is the client's own claim
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the left part was written by the client
        (2, "198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "198.51.100.7", "10.0.0.2"),  # fewer hops than proxies: not trusted
        (1, "not-an-address", "10.0.0.2"),
    ],
)
def test_the_client_address_behind_proxies(rf, settings, proxies, forwarded_for, expected):
    from clinic.context import client_address

    settings.PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_address(request) == expected


@pytest.mark.django_db
def test_signed_in_pages_are_not_kept_by_the_browser_and_files_keep_their_own_rule(doctor_client, client):
    patient = make_image().patient
    chart = doctor_client.get(reverse("clinical:chart", args=[patient.pk]))
    assert {"no-store", "private"} <= {part.strip() for part in chart["Cache-Control"].split(",")}
    redirected = client.get(reverse("patients:list"))  # nobody signed in: sent to sign in, nothing private
    assert redirected.status_code == 302 and "Cache-Control" not in redirected
    image = patient.images.get()
    served = doctor_client.get(reverse("documents:image_file", args=[image.pk]))
    b"".join(served.streaming_content)
    assert served["Cache-Control"] == "private, no-store"

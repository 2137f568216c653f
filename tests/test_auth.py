"""Sign-in, sign-out, lock-out and idle sessions."""

import importlib
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.tests.urlwalk import is_machine_url
from staff.roles import RECEPTIONIST
from staff.tests.factories import UserFactory

from .test_access import ACCESS, ANONYMOUS, URLS, login_redirect, method_for, url_kwargs, walk_urls

# Pages patients open from a signed, single-use link (a reminder's confirm and cancel): the token is the key.
LINK_PAGES = {name for name, allowed in ACCESS.items() if ANONYMOUS in allowed} - {"login", "favicon"}
PASSWORD = "clinic-demo-pw"  # what UserFactory sets
LOCKED_OUT_TEXT = "Too many failed sign-ins"


def sign_in(client, username, password):
    # Through the real sign-in view: django-axes only sees attempts that carry a request.
    return client.post(reverse("login"), {"username": username, "password": password})


def test_only_the_sign_in_pages_are_open_to_anonymous_visitors():
    """LoginRequiredMiddleware is the default; a view opts out with login_not_required."""
    open_views = {
        name
        for name, pattern in walk_urls(all_admin=True)
        if not getattr(pattern.callback, "login_required", True) and not is_machine_url(name)
    }
    # The site's icon too: a browser asks for it on the sign-in page (no data in it).
    assert open_views - LINK_PAGES == {"login", "admin:login", "favicon"}


def test_the_api_and_fhir_answer_machines_themselves():
    """API and FHIR views are left alone by LoginRequiredMiddleware (a machine gets 401, not a sign-in
    page) because DRF authenticates each call itself: every such view is an API view (clinic.api.Endpoint
    first) whose permission classes refuse anyone not signed in (tests/test_api_access.py calls them)."""
    from rest_framework.views import APIView

    from clinic.api import Endpoint

    machine = [(name, pattern) for name, pattern in walk_urls() if is_machine_url(name)]
    assert machine, "the API's URLs are walked"
    for name, pattern in machine:
        view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
        assert view_class is not None and issubclass(view_class, APIView), name
        assert issubclass(view_class, Endpoint), name
        assert pattern.callback.login_required is False, name


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n in URLS if n not in ("login", "favicon") and n not in LINK_PAGES))
def test_anonymous_visitor_is_sent_to_sign_in(name):
    url = reverse(name, kwargs=url_kwargs(name))
    response = getattr(Client(), method_for(name))(url)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(name, url)


def _clinical_state():
    from clinical.models import Amendment, MedicalRecord, Medication, Procedure, TreatmentPlan
    from scheduling.models import Appointment

    return (
        sorted(MedicalRecord.objects.values_list("pk", "status", "updated_at")),
        Medication.objects.count(),
        Amendment.objects.count(),
        sorted(TreatmentPlan.objects.values_list("pk", "status", "updated_at")),
        Procedure.objects.count(),
        sorted(Appointment.objects.values_list("pk", "status")),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n in URLS if n.startswith("clinical:")))
def test_anonymous_post_to_a_clinical_page_changes_nothing(name):
    """Every clinical page, read or form, sends an anonymous POST to sign in before anything is saved."""
    url = reverse(name, kwargs=url_kwargs(name))
    before = _clinical_state()
    data = {"status": "active", "acknowledge_allergies": "on", "pulse": "80", "diagnosis_summary": "x"}
    response = Client().post(url, data)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(name, url)
    assert _clinical_state() == before


@pytest.mark.django_db
def test_sign_in_page_signs_a_user_in_and_goes_to_next():
    UserFactory(username="rita", roles=[RECEPTIONIST])
    client = Client()
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode() and 'name="password"' in page.content.decode()

    response = client.post(reverse("login"), {"username": "rita", "password": PASSWORD, "next": "/patients/"})
    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_sign_in_ignores_a_next_on_another_site():
    UserFactory(username="rita", roles=[RECEPTIONIST])
    response = Client().post(
        reverse("login"), {"username": "rita", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.django_db
def test_wrong_password_shows_the_form_again():
    UserFactory(username="rita")
    client = Client()
    response = sign_in(client, "rita", "not-the-password")
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_inactive_account_cannot_sign_in():
    UserFactory(username="gone", is_active=False)
    client = Client()
    response = sign_in(client, "gone", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_account_is_locked_after_the_failure_limit():
    UserFactory(username="rita", roles=[RECEPTIONIST])
    limit = settings.AXES_FAILURE_LIMIT
    assert limit >= 2
    client = Client()
    for _ in range(limit - 1):
        assert sign_in(client, "rita", "wrong-password").status_code == 200

    response = sign_in(client, "rita", "wrong-password")
    assert response.status_code == 429
    assert LOCKED_OUT_TEXT in response.content.decode()

    # Locked: even the right password is refused, and nobody is signed in.
    response = sign_in(client, "rita", PASSWORD)
    assert response.status_code == 429
    assert LOCKED_OUT_TEXT in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_lock_is_by_account_from_any_address():
    UserFactory(username="rita")
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=f"10.0.0.{i + 1}").post(reverse("login"), {"username": "rita", "password": "wrong"})
    response = Client(REMOTE_ADDR="10.0.1.1").post(reverse("login"), {"username": "rita", "password": PASSWORD})
    assert response.status_code == 429


@pytest.mark.django_db
def test_lock_is_by_address_across_accounts():
    UserFactory(username="rita")
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="10.0.0.9").post(reverse("login"), {"username": f"guess{i}", "password": "wrong"})
    response = Client(REMOTE_ADDR="10.0.0.9").post(reverse("login"), {"username": "rita", "password": PASSWORD})
    assert response.status_code == 429


@pytest.mark.django_db
def test_lock_ends_after_the_cool_off():
    UserFactory(username="rita")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "rita", "wrong-password")
    assert sign_in(client, "rita", PASSWORD).status_code == 429

    cool_off = settings.AXES_COOLOFF_TIME
    assert timedelta(0) < cool_off <= timedelta(days=1), "a lock lasts a while, not forever"
    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off - timedelta(seconds=1))

    response = sign_in(client, "rita", PASSWORD)
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_a_good_sign_in_resets_the_failure_count():
    UserFactory(username="rita")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "rita", "wrong-password")
    assert sign_in(client, "rita", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    # The count started again: the same number of failures does not lock.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "rita", "wrong-password").status_code == 200
    assert sign_in(client, "rita", PASSWORD).status_code == 302


def test_session_is_an_idle_timeout_renewed_on_every_request():
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_TIMEOUT * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


@pytest.mark.django_db
def test_each_request_pushes_the_idle_deadline_back(reception):
    key = reception.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(seconds=30))

    assert reception.get(reverse("home")).status_code == 200

    expires = Session.objects.get(session_key=key).expire_date
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs(expires - expected) < timedelta(seconds=30)


@pytest.mark.django_db
def test_idle_session_is_signed_out(reception):
    key = reception.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = reception.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_passwords_are_hashed_with_argon2_in_production_settings():
    # The test conftest swaps in a fast hasher; the settings module itself must name Argon2 first.
    production = importlib.import_module("clinic.settings")
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("a long enough password", hasher.salt())
    assert encoded.startswith("argon2$argon2id$")
    assert hasher.verify("a long enough password", encoded)


@pytest.mark.django_db
def test_sign_out_is_post_only(reception):
    response = reception.get(reverse("logout"))
    assert response.status_code == 405
    assert reception.get(reverse("home")).status_code == 200, "a GET must not sign anyone out"

    response = reception.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert reception.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_a_colleagues_good_sign_in_from_the_same_address_does_not_wipe_the_guesses_at_an_account():
    """Four guesses at rita's password, then one good sign-in to one's own account, repeated: the
    guesses at rita's account still add up to her lock-out (and the address's)."""
    UserFactory(username="rita")
    UserFactory(username="mallory")
    desk = "10.0.0.7"
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(3):
        for _ in range(limit - 1):
            Client(REMOTE_ADDR=desk).post(reverse("login"), {"username": "rita", "password": "guess"})
        Client(REMOTE_ADDR=desk).post(reverse("login"), {"username": "mallory", "password": PASSWORD})
    # From anywhere, even with the right password: rita's account is locked by the guesses at it.
    response = Client(REMOTE_ADDR="10.9.9.9").post(reverse("login"), {"username": "rita", "password": PASSWORD})
    assert response.status_code == 429
    assert LOCKED_OUT_TEXT in response.content.decode()

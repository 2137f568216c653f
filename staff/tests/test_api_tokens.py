"""API tokens: made and revoked on “Your API tokens”, kept as hashes, refused once expired or revoked or
when their owner is deactivated, rate-limited across workers, and named in the audit trail."""

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import caches
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.idempotency import TOKEN_FIELD
from clinic.models import AuditEntry
from staff import services
from staff.api_tokens import create_api_token, revoke_api_token, token_for_key
from staff.models import APIToken
from staff.roles import ADMINISTRATOR, RECEPTIONIST
from staff.tests.factories import UserFactory

PAGE = reverse("staff:api_tokens")
PATIENTS = reverse("patients_api:patient-list")


def shown_key(response):
    match = re.search(r'value="(clinic_[A-Za-z0-9_-]+)"', response.content.decode())
    return match.group(1) if match else None


def bearer(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.mark.django_db
def test_a_token_made_on_the_page_is_shown_once_and_kept_only_as_a_hash(reception):
    form = {"name": "Website booking widget ✓ Łódź", "days": "90", TOKEN_FIELD: "5b7e2b4e-8d7f-4f57-9f0e-5f4f3a1f0c11"}
    response = reception.post(PAGE, form, follow=True)
    key = shown_key(response)
    assert key and key.startswith("clinic_") and len(key) > 40
    token = APIToken.objects.get()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(APIToken.objects.values()))
    assert token.expires_at - timezone.now() > timedelta(days=89)
    assert shown_key(reception.get(PAGE)) is None  # once only
    # The same form sent again (a double click, Back and resend) makes no second token.
    reception.post(PAGE, form)
    assert APIToken.objects.count() == 1
    entry = AuditEntry.objects.filter(object_type="staff.apitoken").get()
    assert entry.action == AuditEntry.Action.CREATE and "Website booking widget" in entry.summary


@pytest.mark.django_db
def test_the_page_refuses_a_blank_name_next_to_its_field(reception):
    response = reception.post(PAGE, {"name": "   ", "days": "30"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not APIToken.objects.exists()


@pytest.mark.django_db
def test_a_token_acts_as_its_owner_and_the_audit_trail_names_it():
    user = UserFactory(roles=[RECEPTIONIST])
    token, key = create_api_token(user=user, name="Lab import", days=30)
    assert bearer(key).get(PATIENTS).status_code == 200
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).latest("id")
    assert entry.user == user
    assert entry.user_agent == f"API token “Lab import” ({token.prefix}…)"
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_revoked_expired_and_deactivated_owners_tokens_are_refused(client):
    user = UserFactory(roles=[RECEPTIONIST])
    revoked, revoked_key = create_api_token(user=user, name="Old widget", days=30)
    revoke_api_token(token=revoked, by=user)
    assert bearer(revoked_key).get(PATIENTS).status_code == 401
    assert AuditEntry.objects.filter(object_type="staff.apitoken", action=AuditEntry.Action.STATUS).exists()

    _, expiring_key = create_api_token(user=user, name="Short", days=30)
    with time_machine.travel(timezone.now() + timedelta(days=30, seconds=1)):
        assert bearer(expiring_key).get(PATIENTS).status_code == 401
    assert bearer(expiring_key).get(PATIENTS).status_code == 200

    admin = UserFactory(roles=[ADMINISTRATOR])
    services.set_active(user, False, by=admin)
    response = bearer(expiring_key).get(PATIENTS)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_a_forged_key_of_the_right_shape_is_refused():
    _, key = create_api_token(user=UserFactory(roles=[RECEPTIONIST]), name="Widget", days=30)
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert token_for_key(forged) is None
    assert bearer(forged).get(PATIENTS).status_code == 401
    assert bearer("Basic " + key).get(PATIENTS).status_code == 401


@pytest.mark.django_db
def test_nobody_revokes_someone_elses_token_from_their_page(reception):
    other, _ = create_api_token(user=UserFactory(roles=[RECEPTIONIST]), name="Theirs", days=30)
    response = reception.post(reverse("staff:api_token_revoke", kwargs={"pk": other.pk}))
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


@pytest.mark.django_db
def test_revoking_on_the_page_stops_the_key(reception):
    token, key = create_api_token(user=reception.user, name="Mine", days=30)
    response = reception.post(reverse("staff:api_token_revoke", kwargs={"pk": token.pk}), follow=True)
    assert "revoked" in response.content.decode()
    assert bearer(key).get(PATIENTS).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_is_counted_in_the_database_for_every_worker(settings):
    """Counted in the database cache (as in production), so two workers share one allowance."""
    settings.CACHES = {
        **settings.CACHES,
        "api": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "clinic_api_cache"},
    }
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min", "anon": "2/min"},
    }
    from rest_framework import settings as drf_settings
    from rest_framework.throttling import SimpleRateThrottle

    # DRF's throttles keep the rates in a class attribute, read once: restored below to the very dict it held,
    # or every later test in this process would be limited to 3 calls a minute.
    rates_before = SimpleRateThrottle.THROTTLE_RATES
    drf_settings.api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = drf_settings.api_settings.DEFAULT_THROTTLE_RATES
    try:
        caches["api"].clear()
        _, key = create_api_token(user=UserFactory(roles=[RECEPTIONIST]), name="Busy widget", days=30)
        worker_a, worker_b = bearer(key), bearer(key)  # two clients: the count is not theirs but the database's
        codes = [
            worker_a.get(PATIENTS).status_code,
            worker_b.get(PATIENTS).status_code,
            worker_a.get(PATIENTS).status_code,
        ]
        refused = worker_b.get(PATIENTS)
        assert codes == [200, 200, 200]
        assert refused.status_code == 429
        assert refused["Content-Type"] == "application/problem+json" and int(refused["Retry-After"]) > 0
        # Calls without a valid key are limited per address too.
        stranger = bearer("clinic_not-a-key")
        assert [stranger.get(PATIENTS).status_code for _ in range(3)] == [401, 401, 429]
    finally:
        caches["api"].clear()
        SimpleRateThrottle.THROTTLE_RATES = rates_before


@pytest.mark.django_db
def test_tokens_in_use_are_capped():
    user = UserFactory(roles=[RECEPTIONIST])
    from staff.api_tokens import MAX_USABLE_TOKENS

    for number in range(MAX_USABLE_TOKENS):
        create_api_token(user=user, name=f"Widget {number}", days=30)
    with pytest.raises(Exception, match="revoke one first"):
        create_api_token(user=user, name="One too many", days=30)

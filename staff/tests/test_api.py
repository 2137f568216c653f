"""The staff API: doctors with their hours for everyone who sees the doctors page; accounts for
administrators through staff.services, with the page's password rules and nobody changing their own roles."""

import uuid
from datetime import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import AuditEntry
from staff.models import User
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

DOCTORS = reverse("staff_api:doctor-list")
SPECIALTIES = reverse("staff_api:specialty-list")
ACCOUNTS = reverse("staff_api:account-list")
STRONG = "Zażółć-gęślą-jaźń-42"


def account(user, name="detail"):
    return reverse(f"staff_api:account-{name}", kwargs={"pk": user.pk})


@pytest.fixture
def admin(api_for):
    return api_for(ADMINISTRATOR)


# --- doctors and specialties -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR])
def test_every_role_reads_doctors_with_hours_and_specialty(api_for, role):
    cardio = SpecialtyFactory(name="Kardiologie – Ärzte")
    doctor = DoctorFactory(
        user__first_name="Ἱπποκράτης",
        specialty=cardio,
        hours=[(0, time(8), time(12)), (0, time(13), time(17))],
    )
    DoctorFactory(specialty=SpecialtyFactory(name="Dermatology"))
    response = api_for(role).get(DOCTORS, {"specialty": cardio.pk})
    assert response.status_code == 200
    [found] = response.json()["results"]
    assert found["id"] == doctor.pk and found["first_name"] == "Ἱπποκράτης"
    assert found["specialty"] == {"id": cardio.pk, "name": "Kardiologie – Ärzte"}
    assert found["working_hours"] == [
        {"weekday": 0, "start_time": "08:00:00", "end_time": "12:00:00"},
        {"weekday": 0, "start_time": "13:00:00", "end_time": "17:00:00"},
    ]
    # The fee, as on the page, only for those who take payments.
    assert (found["consultation_fee"] is None) == (role in (DOCTOR, NURSE))


@pytest.mark.django_db
def test_doctors_search_like_the_page_and_inactive_ones_are_not_listed(api_for):
    DoctorFactory(user__last_name="Дмитриева")
    DoctorFactory(user__last_name="Other", is_active=False)
    api = api_for(NURSE)
    names = [d["last_name"] for d in api.get(DOCTORS, {"q": "дмитр"}).json()["results"]]
    assert names == ["Дмитриева"] or connection.vendor == "sqlite"  # SQLite folds ASCII case only
    assert [d["last_name"] for d in api.get(DOCTORS, {"q": "Дмитр"}).json()["results"]] == ["Дмитриева"]
    assert len(api.get(DOCTORS).json()["results"]) == 1


@pytest.mark.django_db
def test_doctor_list_queries_stay_flat_as_rows_grow(api_for):
    api = api_for(RECEPTIONIST)
    api.get(DOCTORS)

    def count_for(rows):
        DoctorFactory.create_batch(rows)
        with CaptureQueriesContext(connection) as queries:
            response = api.get(DOCTORS, {"page_size": 100})
        assert response.status_code == 200
        return len(queries)

    assert count_for(2) == count_for(20)


@pytest.mark.django_db
def test_specialties_are_read_by_whoever_sees_the_doctors_page(api_for):
    SpecialtyFactory(name="Pédiatrie")
    names = [s["name"] for s in api_for(DOCTOR).get(SPECIALTIES).json()["results"]]
    assert "Pédiatrie" in names
    assert api_for(None).get(SPECIALTIES).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", [None])
def test_a_signed_in_caller_without_a_role_reads_no_doctors(api_for, role):
    assert api_for(role).get(DOCTORS).status_code == 403


# --- accounts ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_administrator_creates_an_account_whose_owner_must_change_the_password(admin):
    key = str(uuid.uuid4())
    data = {
        "username": "j.kowalczyk",
        "first_name": "Jędrzej",
        "last_name": "Kowalczyk",
        "email": "j.kowalczyk@clinic.example",
        "roles": [NURSE],
        "password": STRONG,
    }
    response = admin.post(ACCOUNTS, data, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["roles"] == [NURSE] and body["must_change_password"] is True and "password" not in body
    user = User.objects.get(username="j.kowalczyk")
    assert user.check_password(STRONG) and user.first_name == "Jędrzej"
    assert response["Location"] == account(user)
    assert admin.post(ACCOUNTS, data, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 303
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CREATE, user=admin.user).exists()
    # The same username again is the page's refusal.
    taken = admin.post(ACCOUNTS, data, format="json")
    assert taken.status_code == 400 and "username" in taken.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "j.kowalczyk1"])
def test_a_weak_first_password_is_refused_by_djangos_validators(admin, password):
    data = {"username": "j.kowalczyk", "first_name": "Jan", "last_name": "Kowalczyk", "password": password}
    response = admin.post(ACCOUNTS, data, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["password"]
    assert not User.objects.filter(username="j.kowalczyk").exists()


@pytest.mark.django_db
def test_missing_fields_and_unknown_roles_are_field_errors(admin):
    response = admin.post(ACCOUNTS, {"username": "x", "roles": ["Janitor"], "password": STRONG}, format="json")
    assert response.status_code == 400
    assert {"first_name", "last_name", "roles"} <= set(response.json()["errors"])


@pytest.mark.django_db
def test_an_administrator_changes_someones_roles_and_details(admin):
    other = UserFactory(roles=[RECEPTIONIST], first_name="Ola")
    response = admin.patch(account(other), {"roles": [RECEPTIONIST, MANAGER], "last_name": "Nowak"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["roles"] == [MANAGER, RECEPTIONIST]
    other.refresh_from_db()
    assert other.last_name == "Nowak" and other.first_name == "Ola" and other.is_staff  # a manager uses the admin
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ROLES, object_id=str(other.pk)).exists()
    # Roles not sent are kept.
    assert admin.patch(account(other), {"email": "ola@clinic.example"}, format="json").json()["roles"] == [
        MANAGER,
        RECEPTIONIST,
    ]


@pytest.mark.django_db
def test_nobody_changes_their_own_roles_or_deactivates_themselves(admin):
    own = admin.patch(account(admin.user), {"roles": [ADMINISTRATOR, MANAGER]}, format="json")
    assert own.status_code == 403 and "own roles" in own.json()["detail"]
    assert set(admin.user.groups.values_list("name", flat=True)) == {ADMINISTRATOR}
    # Their own details, with their roles as they are, they may change.
    same = admin.patch(account(admin.user), {"first_name": "Ægir", "roles": [ADMINISTRATOR]}, format="json")
    assert same.status_code == 200 and same.json()["first_name"] == "Ægir"
    assert admin.post(account(admin.user, "deactivate")).status_code == 403
    admin.user.refresh_from_db()
    assert admin.user.is_active


@pytest.mark.django_db
def test_deactivate_and_reactivate_someone(admin):
    other = UserFactory(roles=[DOCTOR])
    off = admin.post(account(other, "deactivate"))
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert [a["id"] for a in admin.get(ACCOUNTS).json()["results"]] == [admin.user.pk]
    listed = admin.get(ACCOUNTS, {"inactive": "true"}).json()["results"]
    assert other.pk in [a["id"] for a in listed]
    on = admin.post(account(other, "reactivate"))
    assert on.status_code == 200 and on.json()["is_active"] is True


@pytest.mark.django_db
def test_accounts_are_searched_like_the_staff_page(admin):
    UserFactory(username="zsofia", first_name="Zsófia", roles=[NURSE])
    UserFactory(username="bence", roles=[RECEPTIONIST])
    nurses = [a["username"] for a in admin.get(ACCOUNTS, {"role": NURSE}).json()["results"]]
    assert nurses == ["zsofia"]
    assert [a["username"] for a in admin.get(ACCOUNTS, {"q": "zsóf"}).json()["results"]] == ["zsofia"]
    assert admin.get(ACCOUNTS, {"role": "Janitor"}).status_code == 400


@pytest.mark.django_db
def test_account_list_queries_stay_flat_as_rows_grow(admin):
    admin.get(ACCOUNTS)

    def count_for(rows):
        for _ in range(rows):
            UserFactory(roles=[NURSE, RECEPTIONIST])
        with CaptureQueriesContext(connection) as queries:
            response = admin.get(ACCOUNTS, {"page_size": 100})
        assert response.status_code == 200
        return len(queries)

    assert count_for(2) == count_for(20)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR, NURSE, MANAGER, None])
def test_only_administrators_reach_accounts(api_for, role):
    api = api_for(role)
    other = UserFactory()
    assert api.get(ACCOUNTS).status_code == 403
    assert api.post(ACCOUNTS, {"username": "x", "password": STRONG}, format="json").status_code == 403
    assert api.post(account(other, "deactivate")).status_code == 403
    assert Group.objects.filter(user=other).count() == 0 and User.objects.get(pk=other.pk).is_active

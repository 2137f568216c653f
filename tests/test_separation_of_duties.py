"""Who may grant what, and what is audited (issue #11): an Administrator cannot reach charts by
giving themself a clinical role or by taking over a doctor's password, and the trail names people
as they were when they acted."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from clinic import audit
from clinic.models import AuditEntry
from clinic.tests.adminforms import form_data
from patients.tests.factories import PatientFactory
from staff import services
from staff.models import StaffSession, User
from staff.roles import ADMINISTRATOR, DOCTOR, NURSE, RECEPTIONIST
from staff.tests.factories import UserFactory
from staff.tests.test_sessions import PASSWORD, is_signed_out, signed_in_client
from staff.tests.test_views import edit_user_form, new_user_form, role_ids

pytestmark = pytest.mark.django_db

# The admin's account form sends last_login and date_joined back as London wall times; one in the hour
# that happens twice when the clocks go back is refused as ambiguous (a production bug, shown on its own
# in tests/test_admin_clock_changes.py). The admin form tests here run at an ordinary moment, so they test
# what they are about at whatever time CI runs. The marker starts the clock before the fixtures make users.
AN_ORDINARY_MOMENT = pytest.mark.time_machine(datetime(2026, 6, 15, 10, 0, tzinfo=UTC))

ADMIN_PASSWORD = "otter-granite-lantern-42"
OWN_PASSWORD = "heron-quartz-meadow-71"
CHART_URL = "patients:detail"


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


@pytest.fixture
def dr_jones():
    return UserFactory(username="ajones", first_name="Anna", last_name="Jones", roles=[DOCTOR])


def admin_change_page(client, user):
    return client.get(reverse("admin:staff_user_change", args=[user.pk]))


# --- nobody changes their own roles -----------------------------------------------------------------


def test_an_administrator_cannot_give_themself_the_doctor_role_on_the_staff_pages(administrator):
    me = administrator.user
    page = administrator.get(reverse("staff:edit", args=[me.pk]))
    assert page.context["form"].fields["roles"].disabled

    response = administrator.post(reverse("staff:edit", args=[me.pk]), edit_user_form(me, [ADMINISTRATOR, DOCTOR]))

    assert response.status_code == 302
    assert me.role_names == [ADMINISTRATOR]
    assert not entries(AuditEntry.Action.ROLES)
    assert administrator.get(reverse("patients:list")).status_code in (200, 403)
    assert not me.has_perm("clinical.view_medicalrecord")


@AN_ORDINARY_MOMENT
def test_an_administrator_cannot_give_themself_the_doctor_role_in_the_admin(administrator):
    me = administrator.user
    page = admin_change_page(administrator, me)
    assert "groups" not in page.context["adminform"].form.fields
    data = form_data(page)
    data["groups"] = role_ids(ADMINISTRATOR, DOCTOR)  # a crafted post

    response = administrator.post(reverse("admin:staff_user_change", args=[me.pk]), data)

    assert response.status_code == 302
    assert User.objects.get(pk=me.pk).role_names == [ADMINISTRATOR]


def test_the_service_refuses_a_change_of_ones_own_roles_whoever_calls_it():
    superuser = UserFactory(is_superuser=True, is_staff=True, roles=[ADMINISTRATOR])
    with pytest.raises(PermissionDenied):
        services.set_roles(superuser, Group.objects.filter(name__in=[ADMINISTRATOR, DOCTOR]), by=superuser)
    assert superuser.role_names == [ADMINISTRATOR]


def test_a_superuser_cannot_change_their_own_rights_in_the_admin():
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(superuser)
    fields = admin_change_page(client, superuser).context["adminform"].form.fields
    assert not {"groups", "user_permissions", "is_superuser", "is_staff", "is_active"} & set(fields)


# --- granting roles is audited ------------------------------------------------------------------------


def test_granting_a_clinical_role_names_who_gave_what_to_whom(administrator):
    colleague = UserFactory(username="mlee", first_name="Max", last_name="Lee", roles=[RECEPTIONIST])

    administrator.post(reverse("staff:edit", args=[colleague.pk]), edit_user_form(colleague, [DOCTOR]))

    [entry] = entries(AuditEntry.Action.ROLES)
    assert entry.user == administrator.user and entry.object_type == "staff.user"
    assert entry.object_id == str(colleague.pk)
    assert entry.summary == "roles of Max Lee (mlee): +Doctor (clinical), −Receptionist"


@AN_ORDINARY_MOMENT
def test_roles_changed_in_the_admin_are_audited_too(administrator):
    colleague = UserFactory(username="mlee", roles=[RECEPTIONIST])
    data = form_data(admin_change_page(administrator, colleague))
    data["groups"] = role_ids(RECEPTIONIST, NURSE)

    response = administrator.post(reverse("admin:staff_user_change", args=[colleague.pk]), data)

    assert response.status_code == 302
    assert sorted(User.objects.get(pk=colleague.pk).role_names) == [NURSE, RECEPTIONIST]
    [entry] = entries(AuditEntry.Action.ROLES)
    assert entry.summary.endswith(": +Nurse (clinical)") and entry.user == administrator.user


def test_a_new_account_is_audited_with_its_roles(administrator):
    administrator.post(reverse("staff:create"), new_user_form([NURSE]))

    created = User.objects.get(username="mpatel")
    assert [e.summary for e in AuditEntry.objects.filter(object_id=str(created.pk)).order_by("id")] == [
        "account Meera Patel (mpatel) created",
        "roles of Meera Patel (mpatel): +Nurse (clinical)",
    ]


# --- a password set by an administrator --------------------------------------------------------------


def set_password_in_admin(client, user, password=ADMIN_PASSWORD):
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    return client.post(url, {"password1": password, "password2": password, "usable_password": "true"})


def test_a_password_set_by_an_administrator_is_audited_and_ends_the_owners_sessions(administrator, dr_jones):
    doctor_session = signed_in_client(dr_jones)

    response = set_password_in_admin(administrator, dr_jones)

    assert response.status_code == 302
    assert is_signed_out(doctor_session)
    assert not StaffSession.objects.filter(user=dr_jones).exists()
    [entry] = entries(AuditEntry.Action.PASSWORD)
    assert entry.user == administrator.user and entry.object_id == str(dr_jones.pk)
    assert entry.summary == "password of Anna Jones (ajones) set; to be changed at next sign-in"


def test_whoever_signs_in_with_a_password_an_administrator_set_must_change_it_before_any_chart(administrator, dr_jones):
    patient = PatientFactory()
    set_password_in_admin(administrator, dr_jones)
    taken_over = Client()
    assert taken_over.post(reverse("login"), {"username": "ajones", "password": ADMIN_PASSWORD}).status_code == 302

    for url in (reverse(CHART_URL, args=[patient.pk]), reverse("home"), "/admin/"):
        response = taken_over.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("password_change"), url
    page = taken_over.get(reverse("password_change"))
    assert "set by an administrator" in page.content.decode()

    # The given password cannot simply be kept.
    same = {"old_password": ADMIN_PASSWORD, "new_password1": ADMIN_PASSWORD, "new_password2": ADMIN_PASSWORD}
    assert taken_over.post(reverse("password_change"), same).status_code == 200
    assert User.objects.get(pk=dr_jones.pk).must_change_password

    own = {"old_password": ADMIN_PASSWORD, "new_password1": OWN_PASSWORD, "new_password2": OWN_PASSWORD}
    assert taken_over.post(reverse("password_change"), own).status_code == 302
    assert not User.objects.get(pk=dr_jones.pk).must_change_password
    assert taken_over.get(reverse(CHART_URL, args=[patient.pk])).status_code == 200


def test_a_new_accounts_first_password_is_replaced_at_first_sign_in(administrator):
    administrator.post(reverse("staff:create"), new_user_form([RECEPTIONIST]))
    assert User.objects.get(username="mpatel").must_change_password

    client = Client()
    password = new_user_form()["password1"]
    client.post(reverse("login"), {"username": "mpatel", "password": password})
    assert client.get(reverse("patients:list"))["Location"] == reverse("password_change")


def test_an_administrator_cannot_set_their_own_password_without_giving_the_current_one(administrator):
    response = set_password_in_admin(administrator, administrator.user)

    assert response.status_code == 200
    assert "asks for your current one" in response.content.decode()
    assert administrator.user.check_password(PASSWORD)
    assert not entries(AuditEntry.Action.PASSWORD)


def test_turning_off_someones_password_sign_in_is_audited(administrator, dr_jones):
    url = reverse("admin:auth_user_password_change", args=[dr_jones.pk])
    administrator.post(url, {"usable_password": "false", "unset-password": "1"})

    assert not User.objects.get(pk=dr_jones.pk).has_usable_password()
    assert entries(AuditEntry.Action.PASSWORD)[0].summary == "password sign-in of Anna Jones (ajones) turned off"


# --- renames: the trail keeps who people were ------------------------------------------------------


def test_a_rename_is_audited_and_earlier_entries_keep_the_name_of_the_time(administrator, dr_jones):
    doctor = Client()
    doctor.force_login(dr_jones)
    patient = PatientFactory()
    doctor.get(reverse(CHART_URL, args=[patient.pk]))
    [read] = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, user=dr_jones)
    assert read.who == "Anna Jones (ajones)"

    renamed = edit_user_form(dr_jones, [DOCTOR]) | {"username": "asmith", "last_name": "Smith"}
    assert administrator.post(reverse("staff:edit", args=[dr_jones.pk]), renamed).status_code == 302

    [entry] = entries(AuditEntry.Action.RENAME)
    assert entry.user == administrator.user and entry.object_id == str(dr_jones.pk)
    assert entry.summary == "renamed: username ajones → asmith; last name Jones → Smith"
    read.refresh_from_db()
    assert read.who == "Anna Jones (ajones)"
    page = administrator.get(reverse("patients:access", args=[patient.pk])).content.decode()
    assert "Anna Jones (ajones)" in page and "asmith" not in page


def test_a_username_in_the_trail_is_never_given_to_another_account(administrator, dr_jones):
    doctor = Client()
    doctor.force_login(dr_jones)
    doctor.get(reverse(CHART_URL, args=[PatientFactory().pk]))
    administrator.post(
        reverse("staff:edit", args=[dr_jones.pk]), edit_user_form(dr_jones, [DOCTOR]) | {"username": "asmith"}
    )

    on_staff_pages = administrator.post(reverse("staff:create"), new_user_form(username="ajones"))
    assert on_staff_pages.status_code == 200
    assert "the audit trail keeps it" in on_staff_pages.content.decode()

    in_admin = administrator.post(
        reverse("admin:staff_user_add"),
        {"username": "AJones", "usable_password": "true", "password1": OWN_PASSWORD, "password2": OWN_PASSWORD},
    )
    assert in_admin.status_code == 200
    assert not User.objects.filter(username__iexact="ajones").exists()

    # The account that used it may take its own name back.
    back = edit_user_form(dr_jones, [DOCTOR]) | {"username": "ajones"}
    dr_jones.refresh_from_db()
    assert administrator.post(reverse("staff:edit", args=[dr_jones.pk]), back).status_code == 302


def test_the_name_at_the_time_is_part_of_the_entrys_hash(monkeypatch, dr_jones):
    monkeypatch.setattr(audit, "_who", lambda: (dr_jones, "ajones", "Anna Jones", None, "t", ""))
    entry = audit.record(AuditEntry.Action.SEARCH, summary="x")
    assert entry.who == "Anna Jones (ajones)" and audit.entry_mac(entry) == entry.mac
    entry.name = "Someone Else"
    assert audit.entry_mac(entry) != entry.mac


def test_entries_written_before_names_were_kept_still_verify():
    entry = audit.record(AuditEntry.Action.SEARCH, summary="from a command")  # no request: no name
    assert entry.name == "" and audit.entry_mac(entry) == entry.mac
    assert audit.verify()[2] == []


# --- deactivation -----------------------------------------------------------------------------------


def test_deactivating_someone_is_audited_and_ends_their_sessions(administrator, dr_jones):
    session = signed_in_client(dr_jones)

    administrator.post(reverse("staff:deactivate", args=[dr_jones.pk]))

    assert is_signed_out(session)
    assert AuditEntry.objects.get(object_id=str(dr_jones.pk)).summary == "Anna Jones (ajones) deactivated"


@AN_ORDINARY_MOMENT
def test_deactivating_someone_in_the_admin_is_audited_too(administrator, dr_jones):
    data = form_data(admin_change_page(administrator, dr_jones))
    data.pop("is_active", None)

    assert administrator.post(reverse("admin:staff_user_change", args=[dr_jones.pk]), data).status_code == 302

    assert not User.objects.get(pk=dr_jones.pk).is_active
    assert AuditEntry.objects.get(object_id=str(dr_jones.pk)).summary == "Anna Jones (ajones) deactivated"

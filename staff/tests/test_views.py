from datetime import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from staff import urls as staff_urls
from staff.models import Doctor, User, WorkingHours
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("staff:list")
CREATE = reverse("staff:create")
DOCTORS = reverse("staff:doctors")
GOOD_PASSWORD = "river-otter-lantern-42"


def role_ids(*names):
    return [Group.objects.get(name=name).pk for name in names]


def new_user_form(roles=(), **overrides):
    data = {
        "username": "mpatel",
        "first_name": "Meera",
        "last_name": "Patel",
        "email": "meera@clinic.example",
        "roles": role_ids(*roles),
        "password1": GOOD_PASSWORD,
        "password2": GOOD_PASSWORD,
    }
    return {**data, **overrides}


def edit_user_form(user, roles):
    return {
        "username": user.username,
        "first_name": user.first_name or "First",
        "last_name": user.last_name or "Last",
        "email": user.email,
        "roles": role_ids(*roles),
    }


def profile_form(specialty, rows, *, initial=0, **overrides):
    """The doctor profile form and its working-hours formset (prefix "hours"), as the browser posts them."""
    data = {
        "specialty": specialty.pk,
        "licence_number": "GMC-7654321",
        "phone": "020 7946 0100",
        "consultation_minutes": "15",
        "consultation_fee": "65.00",
        "is_active": "on",
        "hours-TOTAL_FORMS": str(len(rows)),
        "hours-INITIAL_FORMS": str(initial),
        "hours-MIN_NUM_FORMS": "0",
        "hours-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for name, value in row.items():
            data[f"hours-{i}-{name}"] = value
    return {**data, **overrides}


def row(weekday, start, end, **extra):
    return {"weekday": str(weekday), "start_time": start, "end_time": end, **extra}


def timetable(doctor):
    return [(h.weekday, h.start_time, h.end_time) for h in doctor.working_hours.order_by("weekday", "start_time")]


# --- only administrators manage staff -----------------------------------------------------------------


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR, NURSE, MANAGER, None])
def test_only_administrators_reach_the_staff_pages(client_for, role):
    client = client_for(role)
    colleague = UserFactory(roles=[NURSE])

    for url in (
        LIST,
        CREATE,
        reverse("staff:edit", args=[colleague.pk]),
        reverse("staff:doctor_profile", args=[colleague.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(CREATE, new_user_form(roles=[ADMINISTRATOR])).status_code == 403
    assert (
        client.post(reverse("staff:edit", args=[colleague.pk]), edit_user_form(colleague, [ADMINISTRATOR])).status_code
        == 403
    )
    assert client.post(reverse("staff:deactivate", args=[colleague.pk])).status_code == 403
    specialty = SpecialtyFactory()
    doctor_profile = reverse("staff:doctor_profile", args=[colleague.pk])
    assert client.post(doctor_profile, profile_form(specialty, [row(0, "09:00", "17:00")])).status_code == 403

    colleague.refresh_from_db()
    assert colleague.is_active
    assert colleague.role_names == [NURSE]
    assert not User.objects.filter(username="mpatel").exists()
    assert not Doctor.objects.exists()


def test_a_non_administrator_cannot_reactivate_an_account(reception):
    former = UserFactory(is_active=False)

    assert reception.post(reverse("staff:reactivate", args=[former.pk])).status_code == 403
    former.refresh_from_db()
    assert not former.is_active


def test_anonymous_visitors_are_sent_to_sign_in(anonymous):
    colleague = UserFactory()
    for url in (LIST, CREATE, DOCTORS, reverse("staff:edit", args=[colleague.pk])):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    anonymous.post(reverse("staff:deactivate", args=[colleague.pk]))
    colleague.refresh_from_db()
    assert colleague.is_active


def test_unknown_staff_ids_are_not_found(administrator):
    missing = User.objects.order_by("-pk").first().pk + 1000
    assert administrator.get(reverse("staff:edit", args=[missing])).status_code == 404
    assert administrator.post(reverse("staff:deactivate", args=[missing])).status_code == 404
    assert administrator.get(reverse("staff:doctor_profile", args=[missing])).status_code == 404


# --- the staff list ----------------------------------------------------------------------------------


def test_the_staff_list_shows_people_and_their_roles(administrator):
    UserFactory(first_name="Meera", last_name="Quenbyshaw", roles=[RECEPTIONIST, NURSE])

    response = administrator.get(LIST)

    assert response.status_code == 200
    assert "Meera Quenbyshaw" in response.text
    assert '<span class="tag">Receptionist</span>' in response.text
    assert '<span class="tag">Nurse</span>' in response.text
    assert "Add a staff member" in response.text


def test_the_staff_list_searches_and_filters_by_role(administrator):
    meera = UserFactory(first_name="Meera", last_name="Quenbyshaw", roles=[NURSE])
    tom = UserFactory(first_name="Tom", last_name="Quenbyshaw", roles=[RECEPTIONIST])
    UserFactory(first_name="Ola", last_name="Nordmann", roles=[NURSE])

    by_name = administrator.get(LIST, {"q": "quenby"}).context["object_list"]
    assert set(by_name) == {meera, tom}
    by_name_and_role = administrator.get(LIST, {"q": "quenby", "role": role_ids(NURSE)[0]}).context["object_list"]
    assert list(by_name_and_role) == [meera]


def test_deactivated_accounts_are_listed_only_when_asked_for(administrator):
    UserFactory(first_name="Former", last_name="Colleague", is_active=False)

    assert "Former Colleague" not in administrator.get(LIST).text
    response = administrator.get(LIST, {"inactive": "on"})
    assert "Former Colleague" in response.text
    assert "deactivated" in response.text
    assert "Reactivate" in response.text


def test_the_staff_list_runs_a_bounded_number_of_queries(administrator, django_assert_num_queries):
    for _ in range(3):
        UserFactory(roles=[NURSE])
    DoctorFactory(hours=[])
    with CaptureQueriesContext(connection) as few:
        administrator.get(LIST)

    for _ in range(20):
        UserFactory(roles=[NURSE, RECEPTIONIST])
        DoctorFactory(hours=[])
    with django_assert_num_queries(len(few.captured_queries)):
        response = administrator.get(LIST)
    assert len(response.context["object_list"]) == 45


# --- creating and editing accounts -------------------------------------------------------------------


def test_an_administrator_creates_an_account_with_roles(administrator):
    response = administrator.post(CREATE, new_user_form(roles=[RECEPTIONIST, NURSE]))

    assert response.status_code == 302
    assert response["Location"] == LIST
    user = User.objects.get(username="mpatel")
    assert sorted(user.role_names) == [NURSE, RECEPTIONIST]
    assert user.check_password(GOOD_PASSWORD)
    assert user.is_active
    assert not user.is_staff
    assert user.has_perm("patients.add_patient")
    assert user.has_perm("patients.view_allergy")


def test_a_username_differing_only_in_case_is_refused(administrator):
    UserFactory(username="mpatel")

    response = administrator.post(CREATE, new_user_form(username="MPatel"))

    assert response.status_code == 200
    assert "already exists" in str(response.context["form"].errors["username"])
    assert not User.objects.filter(username="MPatel").exists()


@pytest.mark.parametrize("role", [MANAGER, ADMINISTRATOR])
def test_managers_and_administrators_get_the_admin_site(administrator, role):
    administrator.post(CREATE, new_user_form(roles=[role]))

    assert User.objects.get(username="mpatel").is_staff


def test_a_new_doctor_goes_on_to_the_doctor_profile(administrator):
    response = administrator.post(CREATE, new_user_form(roles=[DOCTOR]))

    user = User.objects.get(username="mpatel")
    assert response["Location"] == reverse("staff:doctor_profile", args=[user.pk])


@pytest.mark.parametrize(
    "password, message",
    [
        ("Sh0rt!pw", "too short"),
        ("password123", "too common"),
        ("9081726354120", "entirely numeric"),
        ("meerapatel1", "too similar"),
    ],
)
def test_the_password_validators_apply(administrator, password, message):
    response = administrator.post(CREATE, new_user_form(password1=password, password2=password))

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["password2"])
    assert message in errors
    assert message in response.text
    assert not User.objects.filter(username="mpatel").exists()


def test_the_two_passwords_must_match(administrator):
    response = administrator.post(CREATE, new_user_form(password2=GOOD_PASSWORD + "x"))

    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not User.objects.filter(username="mpatel").exists()


@pytest.mark.parametrize("missing", ["username", "first_name", "last_name", "password1"])
def test_required_fields(administrator, missing):
    response = administrator.post(CREATE, new_user_form(**{missing: ""}))

    assert response.status_code == 200
    assert missing in response.context["form"].errors
    assert not User.objects.filter(first_name="Meera").exists()


def test_a_username_already_taken_is_refused(administrator):
    UserFactory(username="mpatel")

    response = administrator.post(CREATE, new_user_form())

    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert User.objects.filter(username="mpatel").count() == 1


def test_an_unknown_role_is_refused(administrator):
    other = Group.objects.create(name="Fire wardens")

    response = administrator.post(CREATE, {**new_user_form(), "roles": [other.pk]})

    assert response.status_code == 200
    assert "roles" in response.context["form"].errors


def test_editing_roles_moves_admin_site_access_with_them(administrator):
    colleague = UserFactory(roles=[RECEPTIONIST])
    edit = reverse("staff:edit", args=[colleague.pk])

    assert administrator.get(edit).status_code == 200
    administrator.post(edit, edit_user_form(colleague, [MANAGER]))
    colleague.refresh_from_db()
    assert colleague.role_names == [MANAGER]
    assert colleague.is_staff

    administrator.post(edit, edit_user_form(colleague, [NURSE]))
    colleague.refresh_from_db()
    assert colleague.role_names == [NURSE]
    assert not colleague.is_staff


def test_editing_roles_keeps_groups_that_are_not_roles(administrator):
    wardens = Group.objects.create(name="Fire wardens")
    colleague = UserFactory(roles=[RECEPTIONIST])
    colleague.groups.add(wardens)

    response = administrator.post(reverse("staff:edit", args=[colleague.pk]), edit_user_form(colleague, [NURSE]))

    assert response.status_code == 302
    assert sorted(colleague.role_names) == ["Fire wardens", NURSE]


def test_the_edit_form_shows_the_current_roles_ticked(administrator):
    colleague = UserFactory(roles=[NURSE])

    form = administrator.get(reverse("staff:edit", args=[colleague.pk])).context["form"]

    assert [g.name for g in form["roles"].initial] == [NURSE]
    assert "password1" not in form.fields


# --- deactivating, never deleting --------------------------------------------------------------------


def test_deactivate_and_reactivate(administrator):
    colleague = UserFactory()

    response = administrator.post(reverse("staff:deactivate", args=[colleague.pk]))
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert not colleague.is_active

    administrator.post(reverse("staff:reactivate", args=[colleague.pk]))
    colleague.refresh_from_db()
    assert colleague.is_active


def test_a_deactivated_account_is_signed_out_and_cannot_sign_in(administrator, nurse, anonymous):
    administrator.post(reverse("staff:deactivate", args=[nurse.user.pk]))

    response = nurse.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))

    response = anonymous.post(reverse("login"), {"username": nurse.user.username, "password": "clinic-demo-pw"})
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_an_active_account_signs_in_with_the_same_password(anonymous):
    user = UserFactory(roles=[NURSE])

    response = anonymous.post(reverse("login"), {"username": user.username, "password": "clinic-demo-pw"})

    assert response.status_code == 302


def test_you_cannot_deactivate_yourself(administrator):
    response = administrator.post(reverse("staff:deactivate", args=[administrator.user.pk]), follow=True)

    administrator.user.refresh_from_db()
    assert administrator.user.is_active
    assert "cannot deactivate your own account" in response.text


def test_deactivation_is_post_only(administrator):
    colleague = UserFactory()

    assert administrator.get(reverse("staff:deactivate", args=[colleague.pk])).status_code == 405
    colleague.refresh_from_db()
    assert colleague.is_active


def test_there_is_no_way_to_delete_an_account(administrator):
    colleague = UserFactory(roles=[NURSE])
    doctor = DoctorFactory(hours=[])

    assert not [p for p in staff_urls.urlpatterns if "delete" in str(p.pattern) or "delete" in (p.name or "")]
    for url in (reverse("staff:edit", args=[colleague.pk]), reverse("staff:deactivate", args=[colleague.pk])):
        assert administrator.delete(url).status_code == 405
    # Not through the admin site either, though administrators work there.
    assert administrator.get(reverse("admin:staff_user_change", args=[colleague.pk])).status_code == 200
    assert (
        administrator.post(reverse("admin:staff_user_delete", args=[colleague.pk]), {"post": "yes"}).status_code == 403
    )
    assert (
        administrator.post(reverse("admin:staff_doctor_delete", args=[doctor.pk]), {"post": "yes"}).status_code == 403
    )
    bulk = {"action": "delete_selected", "_selected_action": [colleague.pk], "post": "yes"}
    administrator.post(reverse("admin:staff_user_changelist"), bulk)
    assert User.objects.filter(pk=colleague.pk).exists()
    assert Doctor.objects.filter(pk=doctor.pk).exists()
    assert not administrator.user.has_perm("staff.delete_user")


# --- the doctor profile and weekly hours --------------------------------------------------------------


def test_an_administrator_sets_up_a_doctor_with_several_intervals_a_day(administrator):
    user = UserFactory(first_name="Grace", last_name="Hopper", roles=[DOCTOR])
    cardiology = SpecialtyFactory(name="Cardiology")
    url = reverse("staff:doctor_profile", args=[user.pk])
    assert administrator.get(url).status_code == 200

    rows = [
        row(0, "08:00", "12:00"),
        row(0, "13:00", "17:30"),
        row(2, "09:00", "13:00"),
        row(4, "08:30", "11:00"),
        row(4, "14:00", "18:00"),
    ]
    response = administrator.post(url, profile_form(cardiology, rows))

    assert response.status_code == 302
    assert response["Location"] == DOCTORS
    doctor = Doctor.objects.get(user=user)
    assert doctor.specialty == cardiology
    assert doctor.licence_number == "GMC-7654321"
    assert doctor.consultation_minutes == 15
    assert doctor.consultation_fee == Decimal("65.00")
    assert timetable(doctor) == [
        (0, time(8), time(12)),
        (0, time(13), time(17, 30)),
        (2, time(9), time(13)),
        (4, time(8, 30), time(11)),
        (4, time(14), time(18)),
    ]


def test_blank_extra_rows_are_ignored(administrator):
    user = UserFactory(roles=[DOCTOR])
    rows = [row(1, "09:00", "17:00"), row("", "", ""), row("", "", "")]

    response = administrator.post(
        reverse("staff:doctor_profile", args=[user.pk]), profile_form(SpecialtyFactory(), rows)
    )

    assert response.status_code == 302
    assert timetable(user.doctor) == [(1, time(9), time(17))]


def test_editing_a_profile_changes_adds_and_removes_hours(administrator):
    doctor = DoctorFactory(hours=[(0, time(8), time(12)), (0, time(13), time(17)), (3, time(9), time(12))])
    monday_am, monday_pm, thursday = doctor.working_hours.order_by("weekday", "start_time")
    rows = [
        row(0, "07:30", "12:00", id=monday_am.pk),
        row(0, "13:00", "17:00", id=monday_pm.pk, DELETE="on"),
        row(3, "09:00", "12:00", id=thursday.pk),
        row(3, "13:00", "16:00"),
    ]

    response = administrator.post(
        reverse("staff:doctor_profile", args=[doctor.user.pk]),
        profile_form(doctor.specialty, rows, initial=3, licence_number=doctor.licence_number),
    )

    assert response.status_code == 302
    assert timetable(doctor) == [(0, time(7, 30), time(12)), (3, time(9), time(12)), (3, time(13), time(16))]


def test_hours_ending_before_they_start_are_refused(administrator):
    user = UserFactory(roles=[DOCTOR])
    rows = [row(0, "08:00", "12:00"), row(1, "17:00", "09:00")]

    response = administrator.post(
        reverse("staff:doctor_profile", args=[user.pk]), profile_form(SpecialtyFactory(), rows)
    )

    assert response.status_code == 200
    assert "The end must be after the start." in response.text
    assert not Doctor.objects.filter(user=user).exists()
    assert not WorkingHours.objects.exists()


def test_overlapping_intervals_in_one_submission_are_refused(administrator):
    user = UserFactory(roles=[DOCTOR])
    rows = [row(0, "08:00", "12:00"), row(0, "11:00", "14:00")]

    response = administrator.post(
        reverse("staff:doctor_profile", args=[user.pk]), profile_form(SpecialtyFactory(), rows)
    )

    assert response.status_code == 200
    assert "overlap" in response.text
    assert not Doctor.objects.filter(user=user).exists()
    assert not WorkingHours.objects.exists()


def test_an_interval_overlapping_saved_hours_is_refused(administrator):
    doctor = DoctorFactory(hours=[(0, time(8), time(12))])
    saved = doctor.working_hours.get()
    rows = [row(0, "08:00", "12:00", id=saved.pk), row(0, "10:00", "15:00")]

    response = administrator.post(
        reverse("staff:doctor_profile", args=[doctor.user.pk]),
        profile_form(doctor.specialty, rows, initial=1, licence_number=doctor.licence_number),
    )

    assert response.status_code == 200
    assert "overlap" in response.text
    assert timetable(doctor) == [(0, time(8), time(12))]


def test_a_licence_number_already_used_is_refused(administrator):
    DoctorFactory(licence_number="GMC-7654321", hours=[])
    user = UserFactory(roles=[DOCTOR])

    response = administrator.post(reverse("staff:doctor_profile", args=[user.pk]), profile_form(SpecialtyFactory(), []))

    assert response.status_code == 200
    assert "licence_number" in response.context["form"].errors
    assert not Doctor.objects.filter(user=user).exists()


# --- the doctor list -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR])
def test_every_role_sees_the_doctor_list(client_for, role):
    DoctorFactory(user__first_name="Grace", user__last_name="Hopper", hours=[(0, time(9), time(13))])

    response = client_for(role).get(DOCTORS)

    assert response.status_code == 200
    assert "Dr Grace Hopper" in response.text
    assert "Monday 09:00–13:00" in response.text


def test_a_user_without_a_role_does_not_see_the_doctor_list(client_for):
    assert client_for(None).get(DOCTORS).status_code == 403


def test_the_doctor_list_searches_by_name_and_specialty(reception):
    cardiology = SpecialtyFactory(name="Cardiology")
    paediatrics = SpecialtyFactory(name="Paediatrics")
    DoctorFactory(user__first_name="Grace", user__last_name="Hopper", specialty=cardiology, hours=[])
    DoctorFactory(user__first_name="Ada", user__last_name="Lovelace", specialty=paediatrics, hours=[])
    DoctorFactory(user__first_name="Alan", user__last_name="Turing", specialty=cardiology, hours=[])

    def names(q):
        return {str(d) for d in reception.get(DOCTORS, {"q": q}).context["object_list"]}

    assert names("hopper") == {"Dr Grace Hopper"}
    assert names("cardio") == {"Dr Grace Hopper", "Dr Alan Turing"}
    assert names("alan cardiology") == {"Dr Alan Turing"}
    assert names("PAED") == {"Dr Ada Lovelace"}
    assert names("nobody") == set()
    assert "No doctor matches." in reception.get(DOCTORS, {"q": "nobody"}).text


def test_the_doctor_list_leaves_out_inactive_doctors(reception):
    DoctorFactory(user__first_name="Grace", user__last_name="Hopper", hours=[])
    DoctorFactory(user__first_name="Retired", user__last_name="Profile", is_active=False, hours=[])
    DoctorFactory(user__first_name="Left", user__last_name="Clinic", user__is_active=False, hours=[])

    assert {str(d) for d in reception.get(DOCTORS).context["object_list"]} == {"Dr Grace Hopper"}


def test_the_doctor_list_runs_the_same_queries_for_3_or_30_doctors(reception, django_assert_num_queries):
    for _ in range(3):
        DoctorFactory()
    with CaptureQueriesContext(connection) as few:
        reception.get(DOCTORS)

    for _ in range(27):
        DoctorFactory()  # each with seven days of hours
    with django_assert_num_queries(len(few.captured_queries)):
        response = reception.get(DOCTORS)
    assert len(response.context["object_list"]) == 30

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from staff.models import Doctor, WorkingHours
from staff.roles import DOCTOR, NURSE
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db


def hours(doctor, weekday, start, end):
    return WorkingHours(doctor=doctor, weekday=weekday, start_time=start, end_time=end)


def test_a_user_is_shown_by_full_name_or_else_username():
    assert str(UserFactory(username="jdoe", first_name="Jane", last_name="Doe")) == "Jane Doe"
    assert str(UserFactory(username="nobody", first_name="", last_name="")) == "nobody"


def test_role_names_lists_the_groups():
    user = UserFactory(roles=[DOCTOR, NURSE])
    assert sorted(user.role_names) == [DOCTOR, NURSE]


def test_a_doctor_is_called_dr_and_has_a_consultation_length():
    doctor = DoctorFactory(user__first_name="Grace", user__last_name="Hopper", consultation_minutes=30, hours=[])
    assert str(doctor) == "Dr Grace Hopper"
    assert doctor.consultation_length == timedelta(minutes=30)


def test_a_consultation_length_out_of_range_is_refused():
    doctor = DoctorFactory(hours=[])
    for minutes in (4, 241):
        doctor.consultation_minutes = minutes
        with pytest.raises(ValidationError) as caught:
            doctor.full_clean()
        assert "consultation_minutes" in caught.value.message_dict


def test_active_doctors_exclude_inactive_profiles_and_deactivated_accounts():
    working = DoctorFactory(hours=[])
    DoctorFactory(is_active=False, hours=[])
    DoctorFactory(user__is_active=False, hours=[])

    assert list(Doctor.objects.active()) == [working]


def test_doctor_search_by_name_or_specialty_every_word_must_match():
    cardiology = SpecialtyFactory(name="Cardiology")
    skin = SpecialtyFactory(name="Dermatology")
    hopper = DoctorFactory(user__first_name="Grace", user__last_name="Hopper", specialty=cardiology, hours=[])
    lovelace = DoctorFactory(user__first_name="Ada", user__last_name="Lovelace", specialty=skin, hours=[])

    assert set(Doctor.objects.search("hop")) == {hopper}
    assert set(Doctor.objects.search("CARDIO")) == {hopper}
    assert set(Doctor.objects.search("ada derma")) == {lovelace}
    assert set(Doctor.objects.search("ada cardio")) == set()
    assert set(Doctor.objects.search("")) == {hopper, lovelace}


def test_working_hours_must_end_after_they_start():
    doctor = DoctorFactory(hours=[])
    for start, end in ((time(12), time(8)), (time(9), time(9))):
        with pytest.raises(ValidationError) as caught:
            hours(doctor, 0, start, end).full_clean()
        assert "end_time" in caught.value.message_dict


def test_the_database_refuses_hours_that_end_before_they_start():
    doctor = DoctorFactory(hours=[])
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingHours.objects.create(doctor=doctor, weekday=0, start_time=time(12), end_time=time(8))


def test_a_day_may_have_several_intervals_that_do_not_overlap():
    doctor = DoctorFactory(hours=[])
    hours(doctor, 0, time(8), time(12)).save()

    afternoon = hours(doctor, 0, time(12), time(17))
    afternoon.full_clean()  # back to back is fine
    afternoon.save()
    hours(doctor, 1, time(9), time(13)).full_clean()  # another day is fine

    assert doctor.working_hours.filter(weekday=0).count() == 2


def test_overlapping_intervals_on_one_day_are_refused():
    existing = WorkingHoursFactory(weekday=2, start_time=time(9), end_time=time(13))

    with pytest.raises(ValidationError, match="overlap"):
        hours(existing.doctor, 2, time(12), time(15)).full_clean()
    # Editing an interval is not refused because of its own old values.
    existing.end_time = time(14)
    existing.full_clean()


def test_working_hours_read_as_day_and_times():
    assert str(WorkingHoursFactory(weekday=4, start_time=time(8, 30), end_time=time(12))) == "Friday 08:30–12:00"

"""Each role lands where its day starts: the README's "lands on" table, proven through the sign-in form."""

import pytest
from django.test import Client
from django.urls import reverse

from staff.roles import ADMINISTRATOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory

PASSWORD = "a-long-test-password"


def _sign_in(user, **extra):
    user.set_password(PASSWORD)
    user.save()
    return Client().post(reverse("login"), {"username": user.username, "password": PASSWORD, **extra})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "is_staff", "lands_on"),
    [
        (RECEPTIONIST, False, "home"),
        (NURSE, False, "home"),
        (MANAGER, True, "admin:index"),
        (ADMINISTRATOR, True, "staff:list"),
    ],
)
def test_each_role_lands_where_it_works(role, is_staff, lands_on):
    response = _sign_in(UserFactory(roles=[role], is_staff=is_staff))
    assert response.status_code == 302
    assert response["Location"] == reverse(lands_on)


@pytest.mark.django_db
def test_a_doctor_lands_on_my_day_and_the_page_answers():
    doctor = DoctorFactory()
    client = Client()
    doctor.user.set_password(PASSWORD)
    doctor.user.save()
    response = client.post(reverse("login"), {"username": doctor.user.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain == [(reverse("clinical:my_day"), 302)]
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_manager_who_is_not_staff_lands_on_today_not_a_closed_admin():
    response = _sign_in(UserFactory(roles=[MANAGER], is_staff=False))
    assert response["Location"] == reverse("home")


@pytest.mark.django_db
def test_a_page_asked_for_before_signing_in_wins_over_the_landing_page():
    doctor = DoctorFactory()
    response = _sign_in(doctor.user, next="/patients/")
    assert response["Location"] == "/patients/"

"""The main navigation marks where the person is: aria-current="page" on the link of the page shown,
aria-current="true" on the link of its part of the site (the week view under Calendar, a patient under
Patients), nothing when the page is none of the links' (a chart, an appointment)."""

import re

import pytest
from django.urls import reverse

from patients.tests.factories import PatientFactory
from staff.tests.factories import DoctorFactory


def marked(response):
    """[(link text, aria-current)] of the main navigation's marked links."""
    nav = re.search(r'<nav class="nav" aria-label="Main">(.*?)</nav>', response.content.decode(), re.S).group(1)
    return re.findall(r'<a href="[^"]*" aria-current="(\w+)">([^<]*)</a>', nav)


@pytest.mark.django_db
def test_the_page_shown_is_marked_and_only_it(reception):
    assert marked(reception.get(reverse("home"))) == [("page", "Today")]
    assert marked(reception.get(reverse("scheduling:day"))) == [("page", "Calendar")]
    assert marked(reception.get(reverse("finance:due"))) == [("page", "Payments due")]


@pytest.mark.django_db
def test_a_page_under_a_link_marks_it_as_its_part_of_the_site(reception):
    doctor = DoctorFactory()
    patient = PatientFactory()
    assert marked(reception.get(reverse("scheduling:week", args=[doctor.pk]))) == [("true", "Calendar")]
    assert marked(reception.get(reverse("patients:detail", args=[patient.pk]))) == [("true", "Patients")]


@pytest.mark.django_db
def test_a_page_of_no_link_marks_none(doctor_client):
    patient = PatientFactory()
    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]))
    assert response.status_code == 200
    assert marked(response) == []
    assert marked(doctor_client.get(reverse("clinical:unsigned_notes"))) == [("true", "My day")]

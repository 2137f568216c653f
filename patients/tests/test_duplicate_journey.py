"""In a real browser, at 1280 px and at 390 px: a receptionist registering "Hoa Nguyen" born 29 Feb 1988 is
warned that Nguyễn Hoa (family name first, as written on her card) is already registered, and opens that
record instead of making a second one. axe-clean with the warning shown."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from clinic.tests.browser import Clicks, assert_no_serious_axe_violations, sign_in
from patients.models import Patient
from patients.tests.factories import PatientFactory
from staff.roles import RECEPTIONIST
from staff.tests.factories import UserFactory

PASSWORD = "duplicate-journey-Pw-1"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_reception_is_warned_of_the_same_person_with_her_names_the_other_way_round(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    UserFactory(username="rita", password=PASSWORD, roles=[RECEPTIONIST])
    hoa = PatientFactory(first_name="Nguyễn", last_name="Hoa", date_of_birth=date(1988, 2, 29), phone="")
    clicks = Clicks()

    sign_in(page, "rita", PASSWORD)
    clicks(page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients"))
    clicks(page.get_by_role("link", name="Register a patient"))
    page.get_by_label("First name").fill("Hoa")
    page.get_by_label("Last name").fill("Nguyen")
    page.get_by_label("Date of birth").fill("1988-02-29")
    clicks(page.get_by_role("button", name="Save"))

    warning = page.get_by_role("alert").filter(has_text="Possible duplicate")
    expect(warning).to_contain_text(f"MRN {hoa.mrn}, born 29 Feb 1988")
    assert_no_serious_axe_violations(page)
    if width == 390:
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    clicks(warning.get_by_role("link", name="Nguyễn Hoa"))
    expect(page).to_have_url(re.compile(re.escape(hoa.get_absolute_url()) + "$"))
    assert clicks.count == 4
    assert Patient.objects.count() == 1

"""An administrator opens an account for a new nurse, in a real browser, at a desk and on a phone:
the nurse's first password is the administrator's choice, so the nurse is held at "Change your
password" until she picks her own; the administrator cannot tick a role for herself; the trail
shows who created the account and granted the clinical role."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR
from staff.tests.factories import UserFactory

ADMIN_PASSWORD = "admin-journey-Pw-7"
FIRST_PASSWORD = "given-by-ada-Pw-31"
OWN_PASSWORD = "chosen-by-noor-Pw-58"
SIZES = {"desk": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("size", SIZES)
def test_a_new_nurse_chooses_her_own_password_before_anything_else(page, new_context, size):
    page.set_default_timeout(10_000)
    page.set_viewport_size(SIZES[size])
    ada = UserFactory(
        username="ada", first_name="Ada", last_name="Admin", password=ADMIN_PASSWORD, roles=[ADMINISTRATOR]
    )
    patient = PatientFactory(first_name="Ngozi", last_name="Okafor")
    sign_in(page, "ada", ADMIN_PASSWORD)

    # Her own roles are shown, not editable.
    page.goto(reverse("staff:edit", args=[ada.pk]))
    expect(page.get_by_role("checkbox", name="Doctor")).to_be_disabled()
    expect(page.get_by_text("Nobody can change their own roles")).to_be_visible()

    # A new nurse's account: 1 page, 7 fields, 1 click.
    page.goto(reverse("staff:create"))
    page.get_by_label("Username").fill("noor")
    page.get_by_label("First name").fill("Noor")
    page.get_by_label("Last name").fill("Haddad")
    page.get_by_role("checkbox", name="Nurse").check()
    page.locator("#id_password1").fill(FIRST_PASSWORD)
    page.get_by_label("Password confirmation").fill(FIRST_PASSWORD)
    assert_no_serious_axe_violations(page)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("chooses their own password at their first sign-in")).to_be_visible()

    # Noor signs in with what Ada gave her: every page sends her to choose her own first.
    nurse = new_context(viewport=SIZES[size]).new_page()
    sign_in(nurse, "noor", FIRST_PASSWORD)
    expect(nurse.get_by_role("heading", name="Change your password")).to_be_visible()
    expect(nurse.get_by_text("set by an administrator")).to_be_visible()
    nurse.goto(reverse("patients:detail", args=[patient.pk]))
    expect(nurse.get_by_role("heading", name="Change your password")).to_be_visible()
    assert_no_serious_axe_violations(nurse)
    nurse.get_by_label("Old password").fill(FIRST_PASSWORD)
    nurse.locator("#id_new_password1").fill(OWN_PASSWORD)
    nurse.get_by_label("New password confirmation").fill(OWN_PASSWORD)
    nurse.get_by_role("button", name="Change password").click()
    nurse.goto(reverse("patients:detail", args=[patient.pk]))
    expect(nurse.get_by_role("heading", name="Okafor")).to_be_visible()

    # The trail names who opened the account and who granted the clinical role.
    page.goto(reverse("audit:search"))
    page.get_by_label("Action").select_option(label="changed roles")
    page.get_by_role("button", name="Search").click()
    row = page.locator("table.audit tbody tr").first
    expect(row).to_contain_text("Ada Admin (ada)")
    expect(row).to_contain_text("roles of Noor Haddad (noor): +Nurse (clinical)")

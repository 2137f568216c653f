"""An administrator's day in a real browser, with two-factor sign-in required: set it up from the
key on the page (which signs out a session left open elsewhere), sign in there with a backup code,
find who opened a patient's record, search the audit trail, then sign the other computer out."""

from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR, RECEPTIONIST
from staff.tests.factories import UserFactory

ADMIN_PASSWORD = "admin-journey-Pw-7"
RECEPTION_PASSWORD = "reception-journey-Pw-7"


def code_from_key(key_text):
    """What an authenticator app shows for the key typed in by hand."""
    key = b32decode(key_text.replace(" ", "") + "=" * (-len(key_text.replace(" ", "")) % 8))
    return f"{TOTP(key).token():06d}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_administrator_sets_up_two_factor_reads_the_trail_and_signs_out_another_session(
    page, new_context, settings, width
):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="ada", first_name="Ada", last_name="Admin", password=ADMIN_PASSWORD, roles=[ADMINISTRATOR])
    UserFactory(
        username="rita",
        first_name="Rita",
        last_name="Receptionist",
        password=RECEPTION_PASSWORD,
        roles=[RECEPTIONIST],
    )
    patient = PatientFactory(first_name="Wanjiru", last_name="Achterberg")

    # Reception opens the patient's page: that visit is what the administrator will find.
    desk = new_context().new_page()
    sign_in(desk, "rita", RECEPTION_PASSWORD)
    desk.goto(reverse("patients:detail", args=[patient.pk]))
    expect(desk.get_by_role("heading", name="Achterberg")).to_be_visible()

    # The administrator is held at the set-up until two-factor sign-in is on.
    elsewhere = new_context().new_page()  # a computer she forgets to sign out of
    sign_in(elsewhere, "ada", ADMIN_PASSWORD)
    expect(elsewhere.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    sign_in(page, "ada", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    page.goto(reverse("audit:search"))
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    assert_no_serious_axe_violations(page)

    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.locator(".error").first).to_be_visible()
    page.wait_for_timeout(1_100)  # a wrong code makes the next try wait a second
    key = page.locator("code").first.inner_text()
    page.get_by_label("Code from your authenticator app").fill(code_from_key(key))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", name="Backup codes")).to_be_visible()
    backup_code = page.locator("ul.plain code").first.inner_text()
    assert_no_serious_axe_violations(page)  # (shown once: the check's own visit sees them gone)

    # Turning it on signed out the session she had left open; signing in there now takes a code.
    elsewhere.goto(reverse("audit:search"))
    expect(elsewhere.get_by_label("Username")).to_be_visible()
    sign_in(elsewhere, "ada", ADMIN_PASSWORD)
    expect(elsewhere.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    elsewhere.get_by_label("Code").fill(backup_code)
    elsewhere.get_by_role("button", name="Continue").click()
    expect(elsewhere.get_by_role("link", name="Audit trail")).to_be_visible()

    # Who opened this patient's record: reception, from the patient's page.
    page.goto(reverse("patients:detail", args=[patient.pk]))
    page.get_by_role("link", name="Who accessed this record").click()
    expect(page.get_by_role("heading", name="Who accessed this record")).to_be_visible()
    people = page.locator("table").first
    expect(people).to_contain_text("rita")
    expect(people).to_contain_text("ada")  # her own look at the page is in the trail too
    assert_no_serious_axe_violations(page)

    # The trail, searched by patient, person and action.
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_label("Patient MRN").fill(patient.mrn)
    page.get_by_label("Staff member").select_option(label="Rita Receptionist (rita)")
    page.get_by_label("Action").select_option(label="viewed")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 entry")).to_be_visible()
    expect(page.locator("table.audit")).to_contain_text("ACHTERBERG, Wanjiru")
    assert_no_serious_axe_violations(page)

    # The other computer is signed out from here.
    page.get_by_role("link", name="Security").click()
    page.get_by_role("link", name="Your sessions").click()
    expect(page.locator("table tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Sign out all other sessions").click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    assert_no_serious_axe_violations(page)
    elsewhere.goto(reverse("audit:search"))
    expect(elsewhere.get_by_label("Username")).to_be_visible()  # back at the sign-in page

    # The staff list.
    page.goto(reverse("staff:list"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_no_serious_axe_violations(page)

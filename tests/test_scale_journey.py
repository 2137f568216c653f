"""Issue #15 in a real browser, at 1280 px and at 390 px, axe-clean on each page checked.

A receptionist: one letter asks for a second, two letters find the short surname at the start of a word
(not every name containing it), as she types. A manager: the appointments admin filtered to one month by
its month filter (the date hierarchy it replaces read every appointment to list the years).
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import MANAGER, RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory

PASSWORD = "scale-journey-Pw-15"


def no_sideways_scroll(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_reception_finds_a_two_letter_surname_as_she_types(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="rita", password=PASSWORD, roles=[RECEPTIONIST])
    PatientFactory(first_name="Li", last_name="Wu")
    PatientFactory(first_name="Anna", last_name="Ludwukowska")  # holds "wu" inside a word: not a match for "wu"

    sign_in(page, "rita", PASSWORD)
    # Typing starts once the page (and its deferred live-search script) has loaded: keys pressed before
    # that are typed but not searched, as on a slow CI machine.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    search, results = page.get_by_label("Find a patient"), page.locator("#patient-results")
    search.press_sequentially("w", delay=40)
    expect(results.get_by_text("Type at least two letters")).to_be_visible(timeout=10_000)
    expect(results.get_by_role("link")).to_have_count(0)
    assert_no_serious_axe_violations(page)
    search.press_sequentially("u", delay=40)
    expect(results.get_by_role("heading", name="1 found")).to_be_visible(timeout=10_000)
    expect(results.get_by_role("link", name="WU, Li")).to_be_visible()
    expect(results.get_by_role("link", name="LUDWUKOWSKA, Anna")).to_have_count(0)
    search.press_sequentially("kow", delay=40)  # three letters or more: anywhere in a name
    expect(results.get_by_role("link", name="LUDWUKOWSKA, Anna")).to_be_visible(timeout=10_000)
    if width == 390:
        assert no_sideways_scroll(page)
    assert_no_serious_axe_violations(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_a_manager_lists_one_months_appointments_in_the_admin(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="mina", password=PASSWORD, roles=[MANAGER], is_staff=True)
    doctor = DoctorFactory()
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    now = AppointmentFactory(doctor=doctor, start=local(this_month, 10), end=local(this_month, 10, 20), reason="now")
    AppointmentFactory(doctor=doctor, start=local(last_month, 10), end=local(last_month, 10, 20), reason="before")

    sign_in(page, "mina", PASSWORD)
    page.goto("/admin/scheduling/appointment/")
    clicks = 0
    if width == 390:  # the filters fold away on a phone: open them
        toggle = page.get_by_role("button", name=re.compile("filter", re.I))
        if toggle.count():
            toggle.first.click()
            clicks += 1
    page.get_by_role("link", name=f"{this_month:%B %Y}").click()
    clicks += 1
    expect(page).to_have_url(re.compile(rf"start_month={this_month:%Y-%m}"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(now.reason)
    assert clicks <= 2
    assert_no_serious_axe_violations(page)

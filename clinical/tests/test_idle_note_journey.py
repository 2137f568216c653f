"""In a real browser: a note survives the idle sign-out.

The sign-out is shortened to 12 seconds (warning at 6), so the journey lives through several of
them: a doctor typing for longer than the timeout stays signed in and saves; one who stops is warned,
may stay, and is then signed out; signing in again brings them back to the form with their text,
which they save. Nothing typed is lost at any point.
"""

import re
import time

import pytest
from playwright.sync_api import expect

from clinic.models import FormDraft
from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from clinical.tests.factories import MedicalRecordFactory
from patients.tests.factories import PatientFactory
from staff.tests.factories import DoctorFactory

PASSWORD = "idle-journey-Pw-7"
IDLE, WARNING = 12, 6
HISTORY = ["Dry cough", "for three days,", "worse at night;", "no fever;", "Zoë's", "sister", "has", "the same."]
EXAMINATION = "Throat red, no exudate; chest clear. 体温 37.2 °C"


@pytest.fixture
def short_idle(settings):
    settings.SESSION_COOKIE_AGE, settings.SESSION_IDLE_WARNING = IDLE, WARNING


def _doctor_and_draft():
    doctor = DoctorFactory(user__username="idle-doctor", user__first_name="Aoife", user__password=PASSWORD)
    patient = PatientFactory(first_name="Zoë", last_name="Łukasiewicz")
    record = MedicalRecordFactory(author=doctor.user, patient=patient, history="", examination="", diagnosis="")
    return record, f"/clinical/records/{record.pk}/edit/"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
def test_a_note_survives_the_idle_sign_out(page, short_idle):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    record, form = _doctor_and_draft()
    sign_in(page, "idle-doctor", PASSWORD)
    page.goto(form)
    warning = page.get_by_role("dialog", name="Still there?")

    # Typing for twice the idle timeout: the session stays alive, no warning, and the save works.
    history = page.get_by_label("History")
    started = time.monotonic()
    for word in HISTORY:
        history.press_sequentially(word + " ", delay=20)
        time.sleep(3)
        expect(warning).to_be_hidden()
    assert time.monotonic() - started > 2 * IDLE
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Draft saved.")
    record.refresh_from_db()
    assert record.history == " ".join(HISTORY)

    # Typing, then nothing: the text is kept within seconds and a countdown warns before the sign-out.
    page.get_by_label("Examination").fill(EXAMINATION)
    page.get_by_label("Examination").press("End")
    expect(warning).to_be_visible(timeout=2 * IDLE * 1000)
    expect(warning).to_contain_text("You will be signed out in")
    expect(warning).to_contain_text("Your text is kept")
    assert FormDraft.objects.filter(path=form, fields__contains="chest clear").exists()
    # "Stay signed in" keeps the session: the warning goes and the page is still the form after the timeout.
    warning.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    time.sleep(IDLE - WARNING + 1)
    assert page.url.endswith(form)

    # Ignored, the warning ends in the sign-out: the sign-in page says why and will come back here.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?idle=1&next="), timeout=2 * IDLE * 1000)
    expect(page.get_by_text("You were signed out because nothing happened for a while.")).to_be_visible()
    page.goto(form)  # the session is really gone on the server: the form itself asks for a sign-in
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))

    # Signing in again lands on the form with the unsaved examination back in it.
    page.get_by_label("Username").fill("idle-doctor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(form) + "$"))
    expect(page.get_by_label("Examination")).to_have_value(EXAMINATION)
    expect(page.get_by_label("History")).to_have_value(" ".join(HISTORY))
    expect(page.locator(".draft-restored")).to_contain_text("is back in the form. Save to keep it.")

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Draft saved.")
    record.refresh_from_db()
    assert record.examination == EXAMINATION
    assert not FormDraft.objects.filter(path=form).exists(), "a saved form's draft is forgotten"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_restored_text_notice_and_the_warning_read_well(page, short_idle, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.set_default_timeout(15_000)
    record, form = _doctor_and_draft()
    sign_in(page, "idle-doctor", PASSWORD)
    FormDraft.objects.create(
        user=record.author, path=form, fields='[["examination", "Kept from before"]]', saved_at=record.created_at
    )

    page.goto(form)
    expect(page.get_by_label("Examination")).to_have_value("Kept from before")
    notice = page.locator(".draft-restored")
    expect(notice).to_be_visible()
    assert notice.bounding_box()["width"] <= width
    assert_no_serious_axe_violations(page)

    # "Discard it" throws the kept text away and shows the form as saved.
    notice.get_by_role("button", name="Discard it").click()
    expect(page.get_by_label("Examination")).to_have_value("")
    assert not FormDraft.objects.filter(path=form).exists()

    warning = page.get_by_role("dialog", name="Still there?")
    expect(warning).to_be_visible(timeout=2 * IDLE * 1000)
    box = warning.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width

"""In a real browser at 1280 and 390 px: a doctor opens a signed record, clicks "Print prescription", and the
PDF that opens names the patient, the drug and the doctor; then she files it to the patient's documents in one
click and finds it there. The sick note's form gives its PDF too. The pages are axe-clean."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from documents.models import ClinicalDocument
from documents.tests.printing import DRUG, LICENCE, signed_record
from staff.tests.factories import DoctorFactory, UserFactory

PASSWORD = "printing-journey-Pw-7"


def text_of(pdf):
    assert pdf[:5] == b"%PDF-"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def opened_pdf(page, link):
    """Click `link`: the response that opens is a PDF shown inline (Chromium opens its PDF viewer on it); its
    bytes, fetched again in the same session (the body Chromium reports is its viewer's page)."""
    href = link.get_attribute("href")
    with page.expect_response(lambda response: response.url.endswith(href)) as opened:
        link.click()
    response = opened.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline;")
    expect(page).to_have_url(response.url)
    fetched = page.context.request.get(response.url)
    assert fetched.headers["content-type"] == "application/pdf"
    return fetched.body()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_a_doctor_prints_a_prescription_and_files_it_to_the_patients_documents(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(15_000)
    user = UserFactory(username="okafor", password=PASSWORD, first_name="Hana", last_name="Okafor", roles=["Doctor"])
    doctor = DoctorFactory(user=user, licence_number=LICENCE)
    record = signed_record(doctor=doctor)

    sign_in(page, "okafor", PASSWORD)
    page.goto(record.get_absolute_url())
    expect(page.get_by_role("heading", name="Print")).to_be_visible()
    assert_no_serious_axe_violations(page)

    pdf = opened_pdf(page, page.get_by_role("link", name="Print prescription"))
    text = text_of(pdf)
    assert "Amara Nwosu" in text and DRUG in text and "Dr Hana Okafor" in text and LICENCE in text

    page.goto(record.get_absolute_url())
    page.get_by_role("button", name="File prescription to patient's documents").click()
    expect(page.get_by_role("status")).to_contain_text("is filed in Amara Nwosu's documents")
    document = ClinicalDocument.objects.get(patient=record.patient)
    expect(page.get_by_role("main")).to_contain_text(document.title)
    assert document.title.startswith("Prescription RX-")
    assert_no_serious_axe_violations(page)

    # A sick note: its small form, then its PDF.
    page.goto(record.get_absolute_url())
    page.get_by_role("link", name="Sick note…").click()
    page.get_by_label(re.compile(r"^From\b")).fill("2026-12-07")
    page.get_by_label(re.compile(r"^To\b")).fill("2026-12-13")
    page.get_by_role("button", name="Prepare the fitness for work note").click()
    expect(page.get_by_role("heading", name="Ready: document FW-")).to_be_visible()
    assert_no_serious_axe_violations(page)
    note = text_of(opened_pdf(page, page.get_by_role("link", name="Print fitness for work note (PDF)")))
    assert "You are not fit for work." in note and "Community-acquired pneumonia" in note

"""Documents and photos elsewhere: the chart and the patient page."""

import pytest
from django.urls import reverse

from documents import services
from documents.tests.factories import make_document, make_image, pdf_upload
from documents.tests.pages import (
    HUGE,
    Type,
    archive,
    days_ago,
    on_chart,
    text,
    timeline,
)
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_the_chart_shows_documents_and_photos_with_thumbnails(persona, request, patient):
    client = request.getfixturevalue(persona)
    document = make_document(patient, title="Full blood count", document_date=days_ago(5))
    services.replace_document_file(document=document, uploaded=pdf_upload(), by=document.uploaded_by, note="Fixed")
    referral = make_document(
        patient, doc_type=Type.REFERRAL, title="Referral to dermatology", document_date=days_ago(9)
    )
    image = make_image(patient, body_site="Left shin", taken_on=days_ago(1), description="Healing well")
    archive(make_document(patient, title="Lipid panel of someone else"))
    archive(make_image(patient, body_site="Sacrum"))
    make_document(PatientFactory(), title="Someone else's result")

    response = timeline(client, patient)
    assert on_chart(client, patient) == [image, document, referral]  # newest first
    page = text(response)
    assert document.get_absolute_url() in page and "Full blood count" in page and "version 2" in page
    assert referral.get_absolute_url() in page
    thumbnail = reverse("documents:image_thumbnail", args=[image.pk])
    assert f'<a href="{image.get_absolute_url()}"><img class="timeline-thumb" src="{thumbnail}"' in page
    assert "Healing well" in page
    for absent in ("Lipid panel of someone else", "Sacrum", "Someone else's result"):
        assert absent not in page
    assert reverse("documents:patient", args=[patient.pk]) in page
    assert reverse("documents:gallery", args=[patient.pk]) in page


# (label, URL name) of the links the patient's page may offer.
PATIENT_LINKS = {
    "Documents": "documents:patient",
    "Images": "documents:gallery",
    "Archived documents": "documents:archived",
}


@pytest.mark.parametrize(
    "role, shown",
    [
        (RECEPTIONIST, {"Documents"}),
        (ADMINISTRATOR, {"Documents", "Archived documents"}),
        (DOCTOR, {"Documents", "Images"}),
        (NURSE, {"Documents", "Images"}),
        (MANAGER, set()),
    ],
)
def test_the_patients_page_links_to_what_the_role_may_open(role, shown, client_for, patient):
    client = client_for(role)
    page = text(client.get(patient.get_absolute_url()))
    for label, name in PATIENT_LINKS.items():
        url = reverse(name, args=[patient.pk])
        assert (f'href="{url}"' in page) == (label in shown), label
        if label in shown:
            assert client.get(url).status_code == 200


@pytest.mark.parametrize("path", ["abc/", "1.5/", "-1/", "versions/x/file/", "images/%C2%B2/", "patients//upload/"])
def test_non_numeric_ids_do_not_resolve(path, doctor_client):
    assert doctor_client.get(f"/documents/{path}").status_code == 404


@pytest.mark.parametrize(
    "name", ["documents:detail", "documents:download", "documents:image", "documents:image_thumbnail"]
)
def test_huge_ids_are_a_404(name, doctor_client):
    assert doctor_client.get(reverse(name, args=[HUGE])).status_code == 404

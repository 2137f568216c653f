"""The documents pages run the same number of queries for a few files and for many (no N+1).

Each test measures a page, adds many documents (of every type, corrected several times, filed by
different people, linked to visits with different doctors, some archived by different people) or
photos (several body sites, some archived), measures again and compares. A warm-up request first,
so one-off caches (content types, permissions) count in neither measurement. The chart, which also
shows documents and photos, is measured in clinical/tests/test_query_counts.py.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from documents import services
from documents.models import ClinicalDocument
from documents.tests.factories import make_document, make_image, pdf_upload, photo_upload
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory, local
from staff.roles import DOCTOR, NURSE
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

# A ceiling as well: constant but wasteful would still be a regression.
MAX_QUERIES = 20
TYPES = list(ClinicalDocument.Type)
SITES = ["Left shin", "left  SHIN", "Sacrum", "Mole, right shoulder", "Right heel"]


def queries(client, url, data=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(captured), response


def assert_does_not_grow(client, url, add_more, data=None):
    client.get(url, data)  # warm-up
    few, _ = queries(client, url, data)
    add_more()
    many, response = queries(client, url, data)
    assert many == few, f"{url}: {few} queries with a few files, {many} with many"
    assert few <= MAX_QUERIES, few
    return response


def day(n):
    return timezone.localdate() - timedelta(days=n)


def small_photo():
    return photo_upload(size=(160, 120))


def file_documents(patient, count, *, first_day):
    """`count` documents of every type, one day apart, each filed by someone else; every other one
    corrected (by yet another clinician), every third linked to a visit, every fifth archived."""
    for i in range(count):
        visit = None
        if i % 3 == 0:
            visit = AppointmentFactory(patient=patient, doctor=DoctorFactory(), start=local(day(first_day + i), 9))
        document = make_document(
            patient,
            doc_type=TYPES[i % len(TYPES)],
            title=f"Document {first_day}-{i}",
            document_date=day(first_day + i),
            appointment=visit,
        )
        if i % 2 == 0:
            for n in range(1 + i % 3):
                services.replace_document_file(
                    document=document, uploaded=pdf_upload(), by=UserFactory(roles=[NURSE]), note=f"Fix {n}"
                )
        if i % 5 == 4:
            services.archive_document(document=document, by=UserFactory(roles=[DOCTOR]), reason=f"Reason {i}")


def take_photos(patient, count, *, first_day):
    """`count` photos over several body sites (written different ways), each by someone else, one
    day apart; every fourth archived by another clinician."""
    for i in range(count):
        image = make_image(
            patient,
            body_site=SITES[i % len(SITES)],
            taken_on=day(first_day + i),
            description=f"Photo {i}",
            uploaded=small_photo(),
        )
        if i % 4 == 3:
            services.archive_image(image=image, by=UserFactory(roles=[NURSE]), reason=f"Blurred {i}")


@pytest.fixture
def patient():
    return PatientFactory()


# --- the documents list ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["doctor_client", "nurse", "reception", "administrator"])
@pytest.mark.parametrize("doc_type", ["", ClinicalDocument.Type.REFERRAL, ClinicalDocument.Type.LAB_RESULT])
def test_documents_list(persona, doc_type, request, patient):
    client = request.getfixturevalue(persona)
    file_documents(patient, len(TYPES), first_day=1)
    url = reverse("documents:patient", args=[patient.pk])
    data = {"type": doc_type} if doc_type else None
    response = assert_does_not_grow(client, url, lambda: file_documents(patient, 30, first_day=10), data)
    # The many documents are really on the page (for whoever may see them).
    shown = response.context["documents"] + response.context["archived"]
    if persona in ("reception", "administrator"):
        assert {d.doc_type for d in shown} <= ClinicalDocument.ADMINISTRATIVE
        assert len(shown) == (0 if doc_type == ClinicalDocument.Type.LAB_RESULT else (6 if doc_type else 12))
    else:
        assert len(shown) == (6 if doc_type else 36)


# --- a document's page with many versions ---------------------------------------------------------


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_document_with_many_versions(persona, request, patient):
    client = request.getfixturevalue(persona)
    visit = AppointmentFactory(patient=patient)
    document = make_document(patient, appointment=visit)

    def add_more():
        for n in range(15):
            services.replace_document_file(
                document=document, uploaded=pdf_upload(), by=UserFactory(roles=[DOCTOR]), note=f"Fix {n}"
            )

    response = assert_does_not_grow(client, document.get_absolute_url(), add_more)
    assert len(response.context["versions"]) == 16


# --- the gallery ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
@pytest.mark.parametrize("site", ["", "left shin"])
def test_gallery(persona, site, request, patient):
    client = request.getfixturevalue(persona)
    take_photos(patient, len(SITES), first_day=1)
    url = reverse("documents:gallery", args=[patient.pk])
    data = {"site": site} if site else None
    response = assert_does_not_grow(client, url, lambda: take_photos(patient, 30, first_day=10), data)
    photos = sum(len(group.images) for group in response.context["groups"]) + len(response.context["archived"])
    assert photos == (14 if site else 35)


def test_photo_upload_form_with_many_visits_and_sites(doctor_client, patient):
    url = reverse("documents:image_upload", args=[patient.pk])

    def add_more():
        take_photos(patient, 10, first_day=1)
        for i in range(10):
            AppointmentFactory(patient=patient, doctor=DoctorFactory(), start=local(day(i + 1), 10))

    response = assert_does_not_grow(doctor_client, url, add_more)
    assert len(response.context["form"].fields["appointment"].queryset) == 10


@pytest.mark.parametrize("persona", ["doctor_client", "reception"])
def test_upload_form_with_many_visits(persona, request, patient):
    client = request.getfixturevalue(persona)

    def add_more():
        for i in range(10):
            AppointmentFactory(patient=patient, doctor=DoctorFactory(), start=local(day(i + 1), 10))

    assert_does_not_grow(client, reverse("documents:upload", args=[patient.pk]), add_more)


# --- the administrator's archived page ------------------------------------------------------------


def test_archived_page(administrator, patient):
    file_documents(patient, 5, first_day=1)
    take_photos(patient, 4, first_day=1)
    url = reverse("documents:archived", args=[patient.pk])

    def add_more():
        file_documents(patient, 30, first_day=10)
        take_photos(patient, 20, first_day=10)

    response = assert_does_not_grow(administrator, url, add_more)
    assert (len(response.context["documents"]), len(response.context["images"])) == (7, 6)

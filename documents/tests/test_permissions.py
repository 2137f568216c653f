"""Who may do what with a patient's documents and images: every role against every kind of item.

Reading (the page, the file, the thumbnail) a clinical document, a referral, a consent form, a photo,
and archived ones; filing, replacing, archiving and restoring; the administrator's archived page
(titles, never files); what reception's upload form offers and its list shows; 403 rather than a 404
that tells a role without the permission whether something exists; and a receptionist who guesses
the id of a clinical document or of one of its versions.
"""

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.tests.files import stored_files
from clinic.tests.urlwalk import walk_urls
from clinical.tests.factories import MedicalRecordFactory
from documents import services
from documents.models import ClinicalDocument, DocumentVersion, PatientImage
from documents.tests.factories import make_document, make_image, pdf_bytes, pdf_upload, photo_upload
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST

pytestmark = pytest.mark.django_db

NO_ROLE = "signed in, no role"
ANONYMOUS = "anonymous"
SIGNED_IN = [RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR, NO_ROLE]
PRINCIPALS = [*SIGNED_IN, ANONYMOUS]

CLINICAL = frozenset({DOCTOR, NURSE})
FRONT_DESK = frozenset({RECEPTIONIST, ADMINISTRATOR})
ADMINISTRATORS = frozenset({ADMINISTRATOR})
NOBODY = frozenset()

Type = ClinicalDocument.Type
FRIENDLY_403 = "This page is not available to you"
UNKNOWN = 987654


def client_as(principal, client_for):
    if principal == ANONYMOUS:
        return Client()
    return client_for(None if principal == NO_ROLE else principal)


def read(response):
    """The body of a page or of a streamed file (read through and closed)."""
    if response.streaming:
        # Read to the end, the test client's wrapper closes the file (an explicit close() would
        # also close the test's database connection).
        return b"".join(response.streaming_content)
    return response.content


def assert_refused(response, url):
    """Anonymous visitors are sent to sign in; signed-in users without the right get the friendly 403."""
    if response.status_code == 302:
        assert response["Location"] == f"{reverse('login')}?next={quote(url)}"
    else:
        assert response.status_code == 403, response.status_code
        assert FRIENDLY_403 in read(response).decode()


def stored_bytes(field_file):
    with field_file.open("rb") as stored:
        return stored.read()


def archived(item):
    if isinstance(item, ClinicalDocument):
        return services.archive_document(document=item, by=item.uploaded_by, reason="Filed in error")
    return services.archive_image(image=item, by=item.uploaded_by, reason="Filed in error")


# --- reading: the page, the file, the thumbnail ---------------------------------------------------


def lab_result():
    return make_document(doc_type=Type.LAB_RESULT, title="Full blood count")


def referral():
    return make_document(doc_type=Type.REFERRAL, title="Referral to dermatology")


def consent():
    return make_document(doc_type=Type.CONSENT, title="Consent to minor surgery")


def document_page(build):
    return lambda: build().get_absolute_url()


def document_file(build, attachment=False):
    def url():
        version = build().current_version
        return reverse("documents:download", args=[version.pk]) + ("?download=1" if attachment else "")

    return url


def image_url(name, build=make_image):
    return lambda: reverse(name, args=[build().pk])


def archived_lab_result():
    return archived(lab_result())


def archived_referral():
    return archived(referral())


def archived_image():
    return archived(make_image())


# What each role may read: (url builder, who gets it).
READS = {
    "lab result": (document_page(lab_result), CLINICAL),
    "lab result's file": (document_file(lab_result), CLINICAL),
    "lab result's file, as a download": (document_file(lab_result, attachment=True), CLINICAL),
    "referral": (document_page(referral), CLINICAL | FRONT_DESK),
    "referral's file": (document_file(referral), CLINICAL | FRONT_DESK),
    "consent form": (document_page(consent), CLINICAL | FRONT_DESK),
    "consent form's file, as a download": (document_file(consent, attachment=True), CLINICAL | FRONT_DESK),
    "archived lab result": (document_page(archived_lab_result), CLINICAL),
    "archived lab result's file": (document_file(archived_lab_result), CLINICAL),
    "archived referral": (document_page(archived_referral), CLINICAL | FRONT_DESK),
    "archived referral's file": (document_file(archived_referral), CLINICAL | FRONT_DESK),
    "photo": (image_url("documents:image"), CLINICAL),
    "photo's file": (image_url("documents:image_file"), CLINICAL),
    "photo's thumbnail": (image_url("documents:image_thumbnail"), CLINICAL),
    "archived photo": (image_url("documents:image", archived_image), CLINICAL),
    "archived photo's file": (image_url("documents:image_file", archived_image), CLINICAL),
    "archived photo's thumbnail": (image_url("documents:image_thumbnail", archived_image), CLINICAL),
    "documents list": (lambda: reverse("documents:patient", args=[PatientFactory().pk]), CLINICAL | FRONT_DESK),
    "upload form": (lambda: reverse("documents:upload", args=[PatientFactory().pk]), CLINICAL | FRONT_DESK),
    "gallery": (lambda: reverse("documents:gallery", args=[PatientFactory().pk]), CLINICAL),
    "photo upload form": (lambda: reverse("documents:image_upload", args=[PatientFactory().pk]), CLINICAL),
    "archived page": (lambda: reverse("documents:archived", args=[PatientFactory().pk]), ADMINISTRATORS),
}


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("item", list(READS))
def test_who_may_read(item, principal, client_for):
    build, allowed = READS[item]
    client = client_as(principal, client_for)
    url = build()
    response = client.get(url)
    if principal in allowed:
        assert response.status_code == 200, response.status_code
        assert FRIENDLY_403.encode() not in read(response)
    else:
        assert_refused(response, url)


@pytest.mark.parametrize("persona", ["doctor_client", "nurse", "reception", "administrator"])
def test_a_permitted_download_is_the_file_with_headers_that_keep_it_private(persona, request):
    client = request.getfixturevalue(persona)
    document = make_document(doc_type=Type.CONSENT, uploaded=pdf_upload("consent.pdf", text="Signed consent"))
    response = client.get(reverse("documents:download", args=[document.current_version_id]), {"download": "1"})
    assert read(response) == pdf_bytes("Signed consent")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="consent.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_clinicians_get_the_stored_photo_and_a_jpeg_thumbnail(persona, request):
    client = request.getfixturevalue(persona)
    image = make_image(uploaded=photo_upload("shin.png", image_format="PNG"))
    photo = client.get(reverse("documents:image_file", args=[image.pk]))
    thumbnail = client.get(reverse("documents:image_thumbnail", args=[image.pk]))
    assert photo["Content-Type"] == "image/png"
    assert read(photo) == stored_bytes(image.file)
    assert thumbnail["Content-Type"] == "image/jpeg"
    assert read(thumbnail)[:3] == b"\xff\xd8\xff"
    for response in (photo, thumbnail):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]


# --- changing: filing, replacing, archiving, restoring ---------------------------------------------


def state():
    """Everything an action could change: rows, versions, archive flags."""
    return (
        list(ClinicalDocument.objects.order_by("pk").values_list("pk", "is_archived", "current_version_id")),
        DocumentVersion.objects.count(),
        list(PatientImage.objects.order_by("pk").values_list("pk", "is_archived")),
    )


def _upload(doc_type):
    def setup():
        patient = PatientFactory()
        data = {
            "doc_type": doc_type,
            "title": "Filed by whoever may",
            "document_date": str(timezone.localdate()),
            "file": pdf_upload(),
        }
        return reverse("documents:upload", args=[patient.pk]), data

    return setup


def _upload_photo():
    patient = PatientFactory()
    data = {"body_site": "Left shin", "taken_on": str(timezone.localdate()), "file": photo_upload()}
    return reverse("documents:image_upload", args=[patient.pk]), data


def _replace(build):
    def setup():
        return reverse("documents:replace", args=[build().pk]), {"file": pdf_upload(), "note": "Corrected"}

    return setup


def _archive(name, build):
    def setup():
        return reverse(name, args=[build().pk]), {"reason": "Wrong patient"}

    return setup


def _restore(name, build):
    def setup():
        return reverse(name, args=[build().pk]), {}

    return setup


# Each action, posted: (setup -> (url, data), who it succeeds for). The front desk posting a lab
# result is refused by the form instead (a 200 with an error on the type; see also below).
REFUSED_BY_THE_FORM = {"file a lab result": FRONT_DESK}
ACTIONS = {
    "file a lab result": (_upload(Type.LAB_RESULT), CLINICAL),
    "file a referral": (_upload(Type.REFERRAL), CLINICAL | FRONT_DESK),
    "file a consent form": (_upload(Type.CONSENT), CLINICAL | FRONT_DESK),
    "add a photo": (_upload_photo, CLINICAL),
    "replace a lab result's file": (_replace(lab_result), CLINICAL),
    "replace a referral's file": (_replace(referral), CLINICAL | FRONT_DESK),
    "archive a lab result": (_archive("documents:archive", lab_result), CLINICAL),
    "archive a referral": (_archive("documents:archive", referral), CLINICAL),
    "archive a photo": (_archive("documents:image_archive", make_image), CLINICAL),
    "restore a lab result": (_restore("documents:restore", archived_lab_result), ADMINISTRATORS),
    "restore a referral": (_restore("documents:restore", archived_referral), ADMINISTRATORS),
    "restore a photo": (_restore("documents:image_restore", archived_image), ADMINISTRATORS),
}


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_who_may_act(action, principal, client_for, media):
    setup, allowed = ACTIONS[action]
    client = client_as(principal, client_for)
    url, data = setup()
    before, files_before = state(), stored_files(media)
    response = client.post(url, data)
    if principal in allowed:
        assert response.status_code == 302, response.status_code
        assert state() != before
    elif principal in REFUSED_BY_THE_FORM.get(action, ()):
        assert response.status_code == 200
        assert response.context["form"].errors
        assert state() == before
        assert stored_files(media) == files_before
    else:
        assert_refused(response, url)
        assert state() == before
        assert stored_files(media) == files_before


@pytest.mark.parametrize("persona", ["reception", "administrator"])
def test_the_front_desk_cannot_file_a_lab_result_by_posting_its_type(persona, request, media):
    client = request.getfixturevalue(persona)
    patient = PatientFactory()
    response = client.post(
        reverse("documents:upload", args=[patient.pk]),
        {"doc_type": Type.LAB_RESULT, "title": "Full blood count", "document_date": "2024-01-05", "file": pdf_upload()},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.context["form"].errors["doc_type"][0]
    assert not ClinicalDocument.objects.exists()
    assert stored_files(media) == []


def test_the_front_desk_may_not_link_a_document_to_a_medical_record(reception):
    patient = PatientFactory()
    record = MedicalRecordFactory(patient=patient)
    response = reception.post(
        reverse("documents:upload", args=[patient.pk]),
        {
            "doc_type": Type.REFERRAL,
            "title": "Referral",
            "document_date": "2024-01-05",
            "medical_record": record.pk,
            "file": pdf_upload(),
        },
    )
    assert response.status_code == 302
    assert ClinicalDocument.objects.get().medical_record is None


@pytest.mark.parametrize("persona", ["reception", "administrator"])
def test_the_front_desk_upload_form_offers_only_referral_and_consent(persona, request):
    response = request.getfixturevalue(persona).get(reverse("documents:upload", args=[PatientFactory().pk]))
    form = response.context["form"]
    assert list(form.fields["doc_type"].choices) == [(Type.REFERRAL, "Referral"), (Type.CONSENT, "Consent form")]
    assert "medical_record" not in form.fields
    page = response.content.decode()
    assert "Lab result" not in page
    assert "Imaging report" not in page


def test_clinicians_are_offered_every_type_and_the_medical_record(doctor_client):
    form = doctor_client.get(reverse("documents:upload", args=[PatientFactory().pk])).context["form"]
    assert [value for value, _ in form.fields["doc_type"].choices] == list(Type.values)
    assert "medical_record" in form.fields


# --- what each role's lists show -----------------------------------------------------------------


@pytest.fixture
def filed():
    """One patient's paperwork of every kind, current and archived."""
    patient = PatientFactory()
    items = {
        "lab": make_document(patient, doc_type=Type.LAB_RESULT, title="Full blood count"),
        "imaging": make_document(patient, doc_type=Type.IMAGING_REPORT, title="Chest X-ray report"),
        "referral": make_document(patient, doc_type=Type.REFERRAL, title="Referral to dermatology"),
        "consent": make_document(patient, doc_type=Type.CONSENT, title="Consent to minor surgery"),
        "archived lab": archived(make_document(patient, doc_type=Type.LAB_RESULT, title="Lipid panel of someone else")),
        "archived referral": archived(make_document(patient, doc_type=Type.REFERRAL, title="Duplicate referral")),
        "photo": make_image(patient, body_site="Left shin"),
        "archived photo": archived(make_image(patient, body_site="Sacrum")),
    }
    items["patient"] = patient
    return items


CLINICAL_TITLES = ("Full blood count", "Chest X-ray report", "Lipid panel of someone else")
ADMINISTRATIVE_TITLES = ("Referral to dermatology", "Consent to minor surgery", "Duplicate referral")


@pytest.mark.parametrize("persona", ["reception", "administrator"])
def test_the_front_desk_list_shows_only_administrative_documents(persona, request, filed):
    client = request.getfixturevalue(persona)
    url = reverse("documents:patient", args=[filed["patient"].pk])
    response = client.get(url)
    page = response.content.decode()
    assert {d.title for d in response.context["documents"]} == {"Referral to dermatology", "Consent to minor surgery"}
    assert [d.title for d in response.context["archived"]] == ["Duplicate referral"]
    for title in ADMINISTRATIVE_TITLES:
        assert title in page
    for title in CLINICAL_TITLES:
        assert title not in page
    assert reverse("documents:download", args=[filed["lab"].current_version_id]) not in page
    # Asking for a clinical type by its name shows nothing either.
    assert client.get(url, {"type": Type.LAB_RESULT}).context["documents"] == []


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_clinicians_list_every_document(persona, request, filed):
    response = request.getfixturevalue(persona).get(reverse("documents:patient", args=[filed["patient"].pk]))
    assert len(response.context["documents"]) == 4
    assert len(response.context["archived"]) == 2


def test_the_archived_page_lists_titles_with_restore_buttons_and_no_way_to_the_files(administrator, filed):
    response = administrator.get(reverse("documents:archived", args=[filed["patient"].pk]))
    page = response.content.decode()
    assert "Lipid panel of someone else" in page
    assert "Duplicate referral" in page
    assert "Sacrum" in page
    assert "Filed in error" in page
    # Only what is archived.
    assert "Full blood count" not in page
    assert "Left shin" not in page
    # Restore buttons, and no link to a document's page, a file, a photo or a thumbnail.
    assert reverse("documents:restore", args=[filed["archived lab"].pk]) in page
    assert reverse("documents:image_restore", args=[filed["archived photo"].pk]) in page
    assert "/documents/versions/" not in page
    assert filed["archived lab"].get_absolute_url() + '"' not in page
    assert filed["archived photo"].get_absolute_url() + '"' not in page
    assert reverse("documents:image_thumbnail", args=[filed["archived photo"].pk]) not in page


def test_an_administrator_restores_a_clinical_document_they_still_cannot_read(administrator, filed):
    document = filed["archived lab"]
    response = administrator.post(reverse("documents:restore", args=[document.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:archived", args=[filed["patient"].pk])
    document.refresh_from_db()
    assert not document.is_archived
    assert administrator.get(document.get_absolute_url()).status_code == 403
    assert administrator.get(reverse("documents:download", args=[document.current_version_id])).status_code == 403


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR, NURSE, MANAGER, NO_ROLE])
def test_only_administrators_see_the_archived_link_and_page(role, client_for, filed):
    client = client_as(role, client_for)
    patient = filed["patient"]
    assert client.get(reverse("documents:archived", args=[patient.pk])).status_code == 403
    detail = client.get(patient.get_absolute_url())
    if detail.status_code == 200:
        assert reverse("documents:archived", args=[patient.pk]) not in detail.content.decode()


# --- 403, never a 404 that tells ------------------------------------------------------------------

# Who holds the permission each documents URL asks for first (whatever the object turns out to be).
HOLDERS = {
    "documents:patient": CLINICAL | FRONT_DESK,
    "documents:upload": CLINICAL | FRONT_DESK,
    "documents:gallery": CLINICAL,
    "documents:image_upload": CLINICAL,
    "documents:archived": ADMINISTRATORS,
    "documents:detail": CLINICAL | FRONT_DESK,
    "documents:replace": CLINICAL | FRONT_DESK,
    "documents:archive": CLINICAL,
    "documents:restore": ADMINISTRATORS,
    "documents:download": CLINICAL | FRONT_DESK,
    "documents:image": CLINICAL,
    "documents:image_file": CLINICAL,
    "documents:image_thumbnail": CLINICAL,
    "documents:image_archive": CLINICAL,
    "documents:image_restore": ADMINISTRATORS,
}
POST_ONLY = {"documents:restore", "documents:image_restore"}
DOCUMENT_PAGES = {"documents:detail", "documents:replace", "documents:download"}


# Printed from a record (two URL arguments): their own permission tests in test_printout_views.py.
PRINTOUTS = {"documents:record_printout", "documents:record_letter"}


def test_every_documents_url_is_in_the_table():
    names = {name for name, _ in walk_urls() if name and name.startswith("documents:")}
    assert names - PRINTOUTS == set(HOLDERS)


@pytest.mark.parametrize("principal", SIGNED_IN)
@pytest.mark.parametrize("name", sorted(HOLDERS))
def test_a_nonexistent_item_is_403_for_roles_without_the_permission(name, principal, client_for):
    client = client_as(principal, client_for)
    url = reverse(name, args=[UNKNOWN])
    response = client.post(url) if name in POST_ONLY else client.get(url)
    # Reception sees only some document types: an unknown document id is refused like a clinical
    # one, so guessing ids tells nothing.
    sees_some_types_only = principal in FRONT_DESK and name in DOCUMENT_PAGES
    if principal in HOLDERS[name] and not sees_some_types_only:
        assert response.status_code == 404
    else:
        assert_refused(response, url)


def test_managers_are_refused_everything_that_exists(manager, filed):
    patient, document, photo = filed["patient"], filed["referral"], filed["photo"]
    gets = [
        reverse("documents:patient", args=[patient.pk]),
        reverse("documents:upload", args=[patient.pk]),
        reverse("documents:gallery", args=[patient.pk]),
        reverse("documents:image_upload", args=[patient.pk]),
        reverse("documents:archived", args=[patient.pk]),
        reverse("documents:detail", args=[document.pk]),
        reverse("documents:replace", args=[document.pk]),
        reverse("documents:archive", args=[document.pk]),
        reverse("documents:download", args=[document.current_version_id]),
        reverse("documents:image", args=[photo.pk]),
        reverse("documents:image_file", args=[photo.pk]),
        reverse("documents:image_thumbnail", args=[photo.pk]),
        reverse("documents:image_archive", args=[photo.pk]),
    ]
    posts = [
        reverse("documents:restore", args=[filed["archived referral"].pk]),
        reverse("documents:image_restore", args=[filed["archived photo"].pk]),
    ]
    for url in gets:
        assert_refused(manager.get(url), url)
    for url in posts:
        assert_refused(manager.post(url), url)
    # And the patient's page offers none of it.
    page = manager.get(patient.get_absolute_url()).content.decode()
    assert f"/documents/patients/{patient.pk}/" not in page


# --- a receptionist who guesses ids ---------------------------------------------------------------


@pytest.fixture
def corrected_lab_result():
    """A clinical document with two versions."""
    document = make_document(title="Full blood count")
    services.replace_document_file(document=document, uploaded=pdf_upload(), by=document.uploaded_by, note="Fixed")
    return document


def test_a_receptionist_guessing_a_clinical_documents_id_is_refused(reception, corrected_lab_result, media):
    document = corrected_lab_result
    files = stored_files(media)
    for url in (
        reverse("documents:detail", args=[document.pk]),
        reverse("documents:replace", args=[document.pk]),
        reverse("documents:archive", args=[document.pk]),
    ):
        assert_refused(reception.get(url), url)
    url = reverse("documents:replace", args=[document.pk])
    assert_refused(reception.post(url, {"file": pdf_upload(), "note": "Mine now"}), url)
    assert document.versions.count() == 2
    assert stored_files(media) == files


def test_a_receptionist_guessing_a_versions_id_is_refused(reception, corrected_lab_result):
    for version in corrected_lab_result.versions.all():
        url = reverse("documents:download", args=[version.pk])
        response = reception.get(url)
        assert_refused(response, url)
        assert b"%PDF" not in read(response)


def test_a_receptionist_may_replace_a_referral_but_not_archive_it(reception):
    document = make_document(doc_type=Type.REFERRAL, title="Referral to cardiology")
    response = reception.post(
        reverse("documents:replace", args=[document.pk]), {"file": pdf_upload(), "note": "Signed copy"}
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.current_version.number == 2
    assert document.current_version.uploaded_by == reception.user
    url = reverse("documents:archive", args=[document.pk])
    assert_refused(reception.post(url, {"reason": "Old"}), url)
    document.refresh_from_db()
    assert not document.is_archived

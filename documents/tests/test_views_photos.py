"""The gallery, adding a photo, and a photo page with archiving and restoring."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clinic.tests.files import stored_files
from documents.models import PatientImage
from documents.tests.factories import make_image, pdf_upload, photo_bytes, photo_upload
from documents.tests.pages import (
    HUGE,
    archive,
    days_ago,
    messages_of,
    on_chart,
    other_visit,
    read,
    stored_bytes,
    text,
)
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def test_the_gallery_groups_photos_by_body_site_in_date_order(doctor_client, patient):
    # Uploaded out of order, the site written three ways.
    middle = make_image(patient, body_site="left shin", taken_on=days_ago(20))
    latest = make_image(patient, body_site="LEFT  SHIN ", taken_on=days_ago(2))
    first = make_image(patient, body_site="Left Shin", taken_on=days_ago(40))
    mole = make_image(patient, body_site="Mole, right shoulder", taken_on=days_ago(10))
    make_image(PatientFactory(), body_site="Left shin")  # someone else's

    response = doctor_client.get(reverse("documents:gallery", args=[patient.pk]))
    groups = response.context["groups"]
    assert [[image.pk for image in group.images] for group in groups] == [
        [first.pk, middle.pk, latest.pk],
        [mole.pk],
    ]
    page = text(response)
    assert "3 photos" in page and "1 photo" in page
    for image in (first, middle, latest, mole):
        assert reverse("documents:image_thumbnail", args=[image.pk]) in page
        assert image.get_absolute_url() in page
    shin = page[page.index("3 photos") : page.index("1 photo")]
    positions = [shin.index(reverse("documents:image_thumbnail", args=[i.pk])) for i in (first, middle, latest)]
    assert positions == sorted(positions)


def test_archived_photos_are_only_in_the_archived_section(doctor_client, patient):
    kept = make_image(patient, body_site="Left shin")
    hidden = archive(make_image(patient, body_site="Left shin", taken_on=days_ago(5)), reason="Blurred")
    response = doctor_client.get(reverse("documents:gallery", args=[patient.pk]))
    assert [[i.pk for i in g.images] for g in response.context["groups"]] == [[kept.pk]]
    assert response.context["archived"] == [hidden]
    page = text(response)
    groups_part, archived_part = page.split("<details", 1)
    assert reverse("documents:image_thumbnail", args=[hidden.pk]) not in page
    assert hidden.get_absolute_url() not in groups_part
    assert hidden.get_absolute_url() in archived_part and "Blurred" in archived_part


def test_the_site_filter_shows_one_body_site(doctor_client, patient):
    shin = make_image(patient, body_site="Left shin")
    make_image(patient, body_site="Sacrum")
    url = reverse("documents:gallery", args=[patient.pk])
    # The photo's page links to its site's photos.
    image_page = text(doctor_client.get(shin.get_absolute_url()))
    assert f"{url}?site=left%20shin" in image_page
    response = doctor_client.get(url, {"site": "left shin"})
    assert [g.body_site for g in response.context["groups"]] == ["Left shin"]
    assert doctor_client.get(url, {"site": "elbow"}).context["groups"] == []


def test_the_site_filter_ignores_case_and_spacing_like_the_groups(doctor_client, patient):
    make_image(patient, body_site="Left shin")
    make_image(patient, body_site="Sacrum")
    response = doctor_client.get(reverse("documents:gallery", args=[patient.pk]), {"site": "Left  Shin"})
    assert [g.body_site for g in response.context["groups"]] == ["Left shin"]


def test_add_one_prefills_the_body_site(doctor_client, patient):
    make_image(patient, body_site="Mole, right shoulder")
    page = text(doctor_client.get(reverse("documents:gallery", args=[patient.pk])))
    link = reverse("documents:image_upload", args=[patient.pk]) + "?site=Mole%2C%20right%20shoulder"
    assert link in page
    response = doctor_client.get(link)
    assert response.context["form"].initial["body_site"] == "Mole, right shoulder"
    assert 'value="Mole, right shoulder"' in text(response)
    # The sites already used are offered as suggestions.
    assert '<option value="Mole, right shoulder">' in text(response)


def test_an_empty_gallery_says_so(nurse, patient):
    page = text(nurse.get(reverse("documents:gallery", args=[patient.pk])))
    assert "No photos yet." in page
    assert reverse("documents:image_upload", args=[patient.pk]) in page


def photo_data(**overrides):
    data = {"body_site": "Left shin", "taken_on": str(days_ago(1)), "description": "Healing", "file": photo_upload()}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize("persona", ["doctor_client", "nurse"])
def test_a_clinician_adds_a_photo(persona, request, patient, media):
    client = request.getfixturevalue(persona)
    visit = AppointmentFactory(patient=patient)
    response = client.post(
        reverse("documents:image_upload", args=[patient.pk]),
        photo_data(
            body_site="  Left   shin ", appointment=visit.pk, file=photo_upload("IMG_0042.JPG", size=(800, 600))
        ),
        follow=True,
    )
    assert response.redirect_chain == [(reverse("documents:gallery", args=[patient.pk]), 302)]
    image = PatientImage.objects.get()
    assert messages_of(response) == [f"Photo of Left shin ({days_ago(1):%d %b %Y}) added."]
    assert (image.body_site, image.body_site_key, image.appointment) == ("Left shin", "left shin", visit)
    assert (image.width, image.height, image.original_name) == (800, 600, "IMG_0042.JPG")
    assert image.uploaded_by == client.user
    assert stored_files(media) == sorted([image.file.name, image.thumbnail.name])


BAD_PHOTOS = {
    "no body site": ({"body_site": None}, "body_site", "This field is required"),
    "a blank body site": ({"body_site": "   "}, "body_site", "This field is required"),
    "no file": ({"file": None}, "file", "This field is required"),
    "a PDF": ({"file": pdf_upload("photo.pdf")}, "file", ""),
    "a truncated photo": ({"file": SimpleUploadedFile("cut.jpg", photo_bytes()[:300], "image/jpeg")}, "file", ""),
    "a future date": ({"taken_on": str(timezone.localdate() + timedelta(days=3))}, "taken_on", "future"),
    "a date that does not exist": ({"taken_on": "2024-13-01"}, "taken_on", "Enter a valid date"),
    "a date in the year 9999": ({"taken_on": "9999-01-01"}, "taken_on", "Enter a date between"),
    "another patient's visit": ({"appointment": other_visit}, "appointment", "Select a valid choice"),
    "a visit beyond any integer": ({"appointment": str(HUGE)}, "appointment", "Select a valid choice"),
}


@pytest.mark.parametrize("case", list(BAD_PHOTOS))
def test_a_bad_photo_is_a_message_on_the_form_and_leaves_nothing(case, doctor_client, patient, media):
    overrides, field, words = BAD_PHOTOS[case]
    overrides = {key: value() if callable(value) else value for key, value in overrides.items()}
    response = doctor_client.post(reverse("documents:image_upload", args=[patient.pk]), photo_data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(words in error for error in errors[field]), errors[field]
    assert not PatientImage.objects.exists()
    assert stored_files(media) == []


def test_a_photo_already_on_the_record_is_refused(doctor_client, patient, media):
    content = photo_bytes(seed=7)
    make_image(patient, body_site="Left shin", uploaded=SimpleUploadedFile("a.jpg", content, "image/jpeg"))
    files = stored_files(media)
    again = photo_data(file=SimpleUploadedFile("b.jpg", content, "image/jpeg"))
    response = doctor_client.post(reverse("documents:image_upload", args=[patient.pk]), again)
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert "already on the patient's record as the image 'Left shin'" in error
    assert PatientImage.objects.count() == 1
    assert stored_files(media) == files


def test_the_photo_page_shows_its_dimensions_date_and_the_full_image(nurse, patient):
    image = make_image(
        patient, body_site="Sacrum", taken_on=days_ago(3), description="Grade 2", uploaded=photo_upload(size=(640, 480))
    )
    page = text(nurse.get(image.get_absolute_url()))
    assert "640 × 480 px" in page
    assert f"{days_ago(3).day} {days_ago(3):%B %Y}" in page
    assert "Grade 2" in page
    assert reverse("documents:image_file", args=[image.pk]) in page
    assert reverse("documents:image_file", args=[image.pk]) + "?download=1" in page
    assert reverse("documents:image_archive", args=[image.pk]) in page


def test_archiving_a_photo_needs_a_reason(doctor_client):
    image = make_image()
    response = doctor_client.post(reverse("documents:image_archive", args=[image.pk]), {"reason": " "})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    image.refresh_from_db()
    assert not image.is_archived


def test_an_archived_photo_leaves_the_gallery_and_chart_and_an_administrator_brings_it_back(
    doctor_client, administrator, patient
):
    image = make_image(patient, body_site="Left shin")
    gallery = reverse("documents:gallery", args=[patient.pk])
    response = doctor_client.post(reverse("documents:image_archive", args=[image.pk]), {"reason": "Blurred"})
    assert response.status_code == 302
    assert response["Location"] == image.get_absolute_url()
    assert doctor_client.get(gallery).context["groups"] == []
    assert on_chart(doctor_client, patient) == []
    page = text(doctor_client.get(image.get_absolute_url()))
    assert "Archived" in page and "Blurred" in page
    assert reverse("documents:image_archive", args=[image.pk]) not in page
    thumbnail = doctor_client.get(reverse("documents:image_thumbnail", args=[image.pk]))
    assert thumbnail.status_code == 200
    assert read(thumbnail) == stored_bytes(image.thumbnail)

    response = administrator.post(reverse("documents:image_restore", args=[image.pk]), follow=True)
    assert response.redirect_chain == [(reverse("documents:archived", args=[patient.pk]), 302)]
    assert messages_of(response) == [f"Restored '{image}': it shows on the chart again."]
    assert [[i.pk for i in g.images] for g in doctor_client.get(gallery).context["groups"]] == [[image.pk]]
    assert on_chart(doctor_client, patient) == [image]

"""A doctor files a patient's paperwork and photos in a real browser: from the chart to Documents, upload
a lab result; to Images, add two photos of the same body site on different days (the second through the
group's "Add one"); see them side by side in date order and on the chart's timeline; then replace the
lab result with a corrected file and download the first version, byte for byte as it was uploaded."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in, today_with_time_to_spare
from documents.models import ClinicalDocument, PatientImage
from documents.tests.factories import pdf_bytes, photo_bytes
from patients.tests.factories import PatientFactory
from staff.roles import DOCTOR
from staff.tests.factories import UserFactory

DOCTOR_PASSWORD = "documents-journey-Pw-7"
TITLE = "Full blood count"
SITE = "Left shin"
NOTE = "Lab corrected the haemoglobin value"
ORIGINAL_NAME, CORRECTED_NAME = "full-blood-count.pdf", "full-blood-count-corrected.pdf"

# Resolves once every image the locator matches has been fetched and decoded (naturalWidth > 0).
ALL_LOADED = "images => images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0)"


def _day(day):
    """A date as the pages print it ("3 May 2025"), without the platform-specific %-d."""
    return f"{day.day} {day:%b %Y}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_doctor_uploads_a_lab_result_follows_a_lesion_in_photos_and_replaces_the_result(page, tmp_path, media, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    today = today_with_time_to_spare()
    result_date = today - timedelta(days=7)
    # The recent photo is added first and the older one second, so the gallery's order is by the day
    # taken, not by the order of upload.
    recent, older = today - timedelta(days=2), today - timedelta(days=14)

    UserFactory(username="okafor", first_name="Hana", last_name="Okafor", password=DOCTOR_PASSWORD, roles=[DOCTOR])
    amara = PatientFactory(first_name="Amara", last_name="Nwosu")

    original, corrected = pdf_bytes("FBC: Hb 98 g/L"), pdf_bytes("FBC corrected: Hb 128 g/L")
    (tmp_path / ORIGINAL_NAME).write_bytes(original)
    (tmp_path / CORRECTED_NAME).write_bytes(corrected)
    recent_photo, older_photo = tmp_path / "shin-recent.jpg", tmp_path / "shin-older.jpg"
    recent_photo.write_bytes(photo_bytes(seed=11))
    older_photo.write_bytes(photo_bytes(seed=42))

    # Sign in and open Amara's chart; nothing is filed yet.
    sign_in(page, "okafor", DOCTOR_PASSWORD)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.goto(reverse("clinical:chart", args=[amara.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("NWOSU, Amara")
    expect(page.locator(".timeline li.empty")).to_have_text("Nothing charted yet.")

    # Documents → Upload a document: a lab result with its title and date.
    page.get_by_role("link", name="Documents", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/documents/patients/{amara.pk}/$"))
    expect(page.get_by_text("No documents.")).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.get_by_role("link", name="Upload a document").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Upload a document")
    assert_no_serious_axe_violations(page)
    page.get_by_label("Type").select_option(label="Lab result")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Date of the document").fill(result_date.isoformat())
    page.get_by_label("File").set_input_files(tmp_path / ORIGINAL_NAME)
    page.get_by_role("button", name="Upload").click()

    # The document's page: its details, and the file as version 1, the current one.
    document = ClinicalDocument.objects.get(patient=amara)
    expect(page).to_have_url(re.compile(rf"/documents/{document.pk}/$"))
    expect(page.get_by_role("status")).to_contain_text(f"'{TITLE}' is on Amara Nwosu's record.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    details = page.locator("dl.details")
    expect(details).to_contain_text("Lab result")
    expect(details).to_contain_text(f"{result_date.day} {result_date:%B %Y}")
    expect(page.get_by_role("link", name=f"Open {ORIGINAL_NAME}")).to_be_visible()
    first = document.current_version
    assert (document.doc_type, document.title, document.document_date) == ("lab_result", TITLE, result_date)
    assert (first.number, first.original_name, first.content_type) == (1, ORIGINAL_NAME, "application/pdf")
    assert first.file.read() == original
    assert_no_serious_axe_violations(page)

    # Images → Add a photo: the recent photo of the left shin.
    page.get_by_role("navigation", name="Patient").get_by_role("link", name="Images").click()
    expect(page).to_have_url(re.compile(rf"/documents/patients/{amara.pk}/images/$"))
    expect(page.get_by_text("No photos yet.")).to_be_visible()
    page.get_by_role("link", name="Add a photo").click()
    page.get_by_label("Body site or tag").fill(SITE)
    page.get_by_label("Date taken").fill(recent.isoformat())
    page.get_by_label("Photo").set_input_files(recent_photo)
    page.get_by_role("button", name="Add the photo").click()
    expect(page).to_have_url(re.compile(rf"/documents/patients/{amara.pk}/images/$"))
    expect(page.get_by_role("status")).to_contain_text(f"Photo of {SITE} ({recent:%d %b %Y}) added.")

    # The group's "Add one" opens the form with the site filled in; the older photo goes there.
    group = page.locator("section.site-group")
    expect(group).to_have_count(1)
    group.get_by_role("link", name="Add one").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Add a photo")
    expect(page.get_by_label("Body site or tag")).to_have_value(SITE)
    assert_no_serious_axe_violations(page)
    page.get_by_label("Date taken").fill(older.isoformat())
    page.get_by_label("Photo").set_input_files(older_photo)
    page.get_by_role("button", name="Add the photo").click()
    expect(page.get_by_role("status")).to_contain_text(f"Photo of {SITE} ({older:%d %b %Y}) added.")

    # One group, "Left shin", with both photos oldest first, and both thumbnails really load.
    expect(group).to_have_count(1)
    expect(group.get_by_role("heading", level=2)).to_contain_text(f"{SITE} 2 photos")
    images = list(PatientImage.objects.filter(patient=amara).order_by("taken_on"))
    assert [(i.body_site, i.taken_on) for i in images] == [(SITE, older), (SITE, recent)]
    thumbnails = group.locator("img")
    expect(thumbnails).to_have_count(2)
    for thumbnail, image, day in zip(thumbnails.all(), images, (older, recent), strict=True):
        expect(thumbnail).to_have_attribute("src", reverse("documents:image_thumbnail", args=[image.pk]))
        expect(thumbnail).to_have_attribute("alt", f"{SITE}, {_day(day)}")
    expect(group.locator(".gallery-date")).to_have_text([_day(older), _day(recent)])
    thumbnails.first.scroll_into_view_if_needed()  # they load lazily
    page.wait_for_function(ALL_LOADED, arg=thumbnails.element_handles())
    assert_no_serious_axe_violations(page)

    # The chart's timeline, newest first: the recent photo, the lab result, the older photo.
    page.get_by_role("navigation", name="Patient").get_by_role("link", name="Chart").click()
    expect(page).to_have_url(re.compile(rf"/clinical/patients/{amara.pk}/$"))
    entries = page.locator(".timeline li.entry")
    expect(entries).to_have_count(3)
    expect(entries).to_have_class([re.compile(rf"\bentry-{kind}\b") for kind in ("image", "document", "image")])
    expect(entries.locator("time")).to_have_text([_day(recent), _day(result_date), _day(older)])
    expect(entries.nth(1).get_by_role("link", name=TITLE)).to_be_visible()
    expect(entries.nth(1)).to_contain_text("Lab result")
    expect(entries.nth(0).get_by_role("link", name=SITE)).to_have_attribute("href", images[1].get_absolute_url())
    expect(entries.nth(2).get_by_role("link", name=SITE)).to_have_attribute("href", images[0].get_absolute_url())
    page.wait_for_function(ALL_LOADED, arg=entries.locator("img.timeline-thumb").element_handles())
    assert_no_serious_axe_violations(page)

    # Back to the lab result from the chart, and replace its file with the corrected one.
    entries.nth(1).get_by_role("link", name=TITLE).click()
    expect(page).to_have_url(re.compile(rf"/documents/{document.pk}/$"))
    page.get_by_role("link", name="Replace the file").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Replace the file")
    assert_no_serious_axe_violations(page)
    page.get_by_label("Corrected file").set_input_files(tmp_path / CORRECTED_NAME)
    page.get_by_label("What changed").fill(NOTE)
    page.get_by_role("button", name="Save the new version").click()

    # Version 2 is current; version 1 stays in the history, with no note of its own.
    expect(page).to_have_url(re.compile(rf"/documents/{document.pk}/$"))
    expect(page.get_by_role("status")).to_contain_text("Version 2 saved; the earlier versions are kept below.")
    expect(page.get_by_role("link", name=f"Open {CORRECTED_NAME}")).to_be_visible()
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_class("current")
    expect(rows.nth(0).locator("td").first).to_have_text("2 current")
    expect(rows.nth(0)).to_contain_text(CORRECTED_NAME)
    expect(rows.nth(0)).to_contain_text(NOTE)
    expect(rows.nth(1)).not_to_have_class("current")
    expect(rows.nth(1).locator("td").first).to_have_text("1")
    expect(rows.nth(1).locator(".tag")).to_have_count(0)
    document.refresh_from_db()
    second = document.current_version
    assert (second.number, second.original_name, second.note) == (2, CORRECTED_NAME, NOTE)
    assert list(document.versions.values_list("number", flat=True)) == [2, 1]
    assert_no_serious_axe_violations(page)

    # Download version 1 from its row in the history: the original bytes, as an attachment.
    old_link = rows.nth(1).get_by_role("link", name=ORIGINAL_NAME)
    expect(old_link).to_have_attribute("href", reverse("documents:download", args=[first.pk]))
    downloaded = page.request.get(old_link.get_attribute("href") + "?download=1")
    assert downloaded.status == 200
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["content-disposition"].startswith("attachment")
    assert ORIGINAL_NAME in downloaded.headers["content-disposition"]
    assert downloaded.body() == original

    # And the current file's "download" link hands over the corrected PDF.
    with page.expect_download() as waiting:
        page.get_by_role("link", name="download", exact=True).click()
    assert waiting.value.suggested_filename == CORRECTED_NAME
    with open(waiting.value.path(), "rb") as current_file:
        assert current_file.read() == corrected

    # Everything the doctor filed is in this test's media folder: two PDFs, two photos, two thumbnails.
    stored = sorted(p.suffix for p in media.rglob("*") if p.is_file())
    assert stored == [".jpg", ".jpg", ".jpg", ".jpg", ".pdf", ".pdf"]

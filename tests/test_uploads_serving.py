"""A stored file is served inert: the type found at upload, nosniff, and a sandbox policy for PDFs
as for images, so nothing in a file can act as the clinic's site in the browser of whoever opens it.
"""

import pytest
from django.urls import reverse

from documents.tests.factories import make_document, make_image


def served(client, url):
    response = client.get(url)
    b"".join(response.streaming_content)
    assert response.status_code == 200
    return response


def assert_sandboxed(response):
    policy = [directive.strip() for directive in response["Content-Security-Policy"].split(";")]
    assert policy[0] == "sandbox"  # no allow-scripts, allow-same-origin, allow-forms or allow-popups
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_a_pdf_opens_in_the_browser_inside_a_sandbox(doctor_client):
    version = make_document().current_version

    response = served(doctor_client, reverse("documents:download", args=[version.pk]))

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert_sandboxed(response)


@pytest.mark.django_db
def test_a_pdf_asked_for_as_a_download_is_an_attachment_and_sandboxed_too(doctor_client):
    version = make_document().current_version

    response = served(doctor_client, reverse("documents:download", args=[version.pk]) + "?download=1")

    assert response["Content-Disposition"].startswith("attachment")
    assert_sandboxed(response)


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["documents:image_file", "documents:image_thumbnail"])
def test_an_image_and_its_thumbnail_are_sandboxed(doctor_client, view):
    image = make_image()

    response = served(doctor_client, reverse(view, args=[image.pk]))

    assert response["Content-Type"].startswith("image/")
    assert_sandboxed(response)

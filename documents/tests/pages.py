"""What the document page tests share: builders and the files they upload."""

from datetime import timedelta
from html import unescape

from django.urls import reverse
from django.utils import timezone

from documents import services
from documents.models import ClinicalDocument
from scheduling.tests.factories import AppointmentFactory

Type = ClinicalDocument.Type


HUGE = 99999999999999999999999  # beyond any database integer


def text(response):
    return unescape(response.content.decode())


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def read(response):
    # Reading a streamed file to the end closes it (the test client's wrapper does, safely).
    return b"".join(response.streaming_content)


def stored_bytes(field_file):
    with field_file.open("rb") as stored:
        return stored.read()


def days_ago(n):
    return timezone.localdate() - timedelta(days=n)


def archive(item, reason="Filed in error"):
    if isinstance(item, ClinicalDocument):
        return services.archive_document(document=item, by=item.uploaded_by, reason=reason)
    return services.archive_image(image=item, by=item.uploaded_by, reason=reason)


def timeline(client, patient):
    response = client.get(reverse("clinical:chart", args=[patient.pk]))
    assert response.status_code == 200
    return response


def on_chart(client, patient):
    return [entry.obj for entry in timeline(client, patient).context["timeline"] if entry.kind in ("document", "image")]


def other_visit():
    return AppointmentFactory().pk

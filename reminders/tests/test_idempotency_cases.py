"""The reminders' link pages sent twice by a signed-in client are saved once (tests/test_idempotency.py's check)."""

import uuid

import pytest
from django.contrib.messages import get_messages

from clinic.idempotency import ALREADY_SAVED
from clinic.models import FormSubmission
from reminders.models import Reply
from reminders.tests.idempotency_cases import WRITES
from tests.test_idempotency import snapshot


def rows():
    return list(Reply.objects.order_by("pk").values())


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_reminder_link_sent_twice_is_saved_once(name, client_for, media):
    form = WRITES[name](client_for)
    token = str(uuid.uuid4())
    before = snapshot(media), rows()

    first = form.client.post(form.url, {**form.data(), "client_token": token})
    assert first.status_code == 302, first.content.decode()[:2000]
    saved = snapshot(media), rows()
    assert saved != before

    second = form.client.post(form.url, {**form.data(), "client_token": token})

    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert ALREADY_SAVED in [str(m) for m in get_messages(second.wsgi_request)]
    assert (snapshot(media), rows()) == saved
    assert FormSubmission.objects.get().result_url == first["Location"]

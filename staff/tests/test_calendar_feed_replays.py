"""The calendar feed's forms sent twice are saved once (clinic/idempotency.py), as tests/test_idempotency.py
checks every writing form. FEED_WRITES is in the shape of that module's WRITES, for it to take in:
    WRITES.update({name: lambda cf, b=b: Form(*b(cf)) for name, b in FEED_WRITES.items()})
"""

import uuid

import pytest
from django.urls import reverse

from staff.roles import ADMINISTRATOR
from staff.services import create_calendar_feed
from staff.tests.factories import DoctorFactory


def _doctor_client(client_for):
    from django.test import Client

    profile = DoctorFactory()
    client = Client()
    client.force_login(profile.user)
    client.user = profile.user
    return client, profile


def _make_link(client_for):
    client, profile = _doctor_client(client_for)
    create_calendar_feed(doctor=profile, by=profile.user)  # a new link also revokes this one: two writes
    return client, reverse("staff:calendar_feed"), dict


def _revoke_own(client_for):
    client, profile = _doctor_client(client_for)
    create_calendar_feed(doctor=profile, by=profile.user)
    return client, reverse("staff:calendar_feed_revoke"), dict


def _revoke_for(client_for):
    profile = DoctorFactory()
    create_calendar_feed(doctor=profile, by=profile.user)
    return client_for(ADMINISTRATOR), reverse("staff:calendar_feed_for", args=[profile.user_id]), dict


FEED_WRITES = {
    "staff:calendar_feed": _make_link,
    "staff:calendar_feed_revoke": _revoke_own,
    "staff:calendar_feed_for": _revoke_for,
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(FEED_WRITES))
def test_a_feed_form_sent_twice_is_saved_once(name, client_for, media):
    from clinic.idempotency import ALREADY_SAVED
    from clinic.models import FormSubmission
    from tests.test_idempotency import messages_of, snapshot

    client, url, data = FEED_WRITES[name](client_for)
    token = str(uuid.uuid4())
    before = snapshot(media)
    first = client.post(url, {**data(), "client_token": token})
    assert first.status_code == 302
    saved = snapshot(media)
    assert saved != before
    second = client.post(url, {**data(), "client_token": token})
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert ALREADY_SAVED in messages_of(second)
    assert snapshot(media) == saved
    assert FormSubmission.objects.get().result_url == first["Location"]


@pytest.mark.django_db
def test_control_a_new_link_without_a_token_is_made_again(client_for):
    # Shows the check above would see a missing guard: the same two submits without a token, two links.
    from staff.models import CalendarFeed

    client, url, data = _make_link(client_for)
    client.post(url, data())
    client.post(url, data())
    assert CalendarFeed.objects.count() == 3

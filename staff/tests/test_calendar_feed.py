"""“Your calendar feed”: a doctor makes a link (shown once), replaces it, revokes it; an administrator revokes
anyone's; every change is in the audit trail and only the secret's hash is stored."""

import hashlib
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from clinic.models import AuditEntry
from clinic.tests.submissions import token_on
from staff.models import CalendarFeed
from staff.roles import ADMINISTRATOR, DOCTOR, NURSE
from staff.services import create_calendar_feed, revoke_calendar_feed
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

FEED_URL = re.compile(r'value="(http://testserver/calendar/([A-Za-z0-9_-]{43})\.ics)"')


@pytest.fixture
def doctor():
    """A client signed in as a doctor with a diary."""
    profile = DoctorFactory(user__first_name="Ada", user__last_name="Okafor")
    client = Client()
    client.force_login(profile.user)
    client.user, client.doctor = profile.user, profile
    return client


def post(client, url, data=None):
    """A submit of the form on the page, with its one-time token, as a browser sends it."""
    page = client.get(reverse("staff:calendar_feed"))
    return client.post(url, {**(data or {}), "client_token": token_on(page)})


def feed_audit():
    return list(AuditEntry.objects.filter(object_type="staff.calendarfeed").order_by("id"))


def test_a_doctor_reaches_the_page_from_their_security_page(doctor):
    page = doctor.get(reverse("staff:two_factor")).content.decode()
    assert f'href="{reverse("staff:calendar_feed")}"' in page


def test_the_security_page_has_no_feed_link_for_others(client_for):
    page = client_for(NURSE).get(reverse("staff:two_factor")).content.decode()
    assert reverse("staff:calendar_feed") not in page


def test_making_a_link_shows_it_once_and_stores_only_its_hash(doctor):
    response = post(doctor, reverse("staff:calendar_feed"))
    assert response.status_code == 302
    page = doctor.get(response["Location"]).content.decode()
    url, secret = FEED_URL.search(page).groups()
    assert f'href="webcal://testserver/calendar/{secret}.ics"' in page
    feed = CalendarFeed.objects.get(doctor=doctor.doctor)
    assert feed.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(CalendarFeed.objects.filter(pk=feed.pk).values().get())
    assert Client().get(url).status_code == 200
    assert secret not in doctor.get(reverse("staff:calendar_feed")).content.decode()  # never again
    (made,) = feed_audit()
    assert made.action == AuditEntry.Action.CREATE and made.user == doctor.user
    assert secret not in made.summary


def test_a_new_link_replaces_the_old_one(doctor):
    doctor.get(post(doctor, reverse("staff:calendar_feed"))["Location"])
    old = CalendarFeed.objects.get()
    page = doctor.get(post(doctor, reverse("staff:calendar_feed"))["Location"]).content.decode()
    assert FEED_URL.search(page) is not None
    old.refresh_from_db()
    assert old.revoked_at is not None and old.revoked_by == doctor.user
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1
    assert [entry.action for entry in feed_audit()] == ["create", "status", "create"]
    assert "replaced by a new link" in feed_audit()[1].summary


def test_revoking_stops_the_link(doctor):
    page = doctor.get(post(doctor, reverse("staff:calendar_feed"))["Location"]).content.decode()
    url, _secret = FEED_URL.search(page).groups()
    response = post(doctor, reverse("staff:calendar_feed_revoke"))
    assert response.status_code == 302
    assert Client().get(url).status_code == 404
    assert "You have no link in use." in doctor.get(reverse("staff:calendar_feed")).content.decode()
    assert feed_audit()[-1].action == AuditEntry.Action.STATUS


def test_revoking_with_nothing_in_use_says_so(doctor):
    response = post(doctor, reverse("staff:calendar_feed_revoke"))
    page = doctor.get(response["Location"]).content.decode()
    assert "You have no calendar link in use." in page
    assert feed_audit() == []


def test_a_doctor_role_without_a_diary_is_told_and_gets_no_link(doctor_client):
    page = doctor_client.get(reverse("staff:calendar_feed")).content.decode()
    assert "Your account has no doctor" in page
    response = doctor_client.post(reverse("staff:calendar_feed"))
    assert "Your account has no doctor" in doctor_client.get(response["Location"]).content.decode()
    assert not CalendarFeed.objects.exists()


def test_an_administrator_sees_and_revokes_a_doctor_s_link(client_for):
    profile = DoctorFactory()
    feed, secret = create_calendar_feed(doctor=profile, by=profile.user)
    admin = client_for(ADMINISTRATOR)
    security = admin.get(reverse("staff:security", args=[profile.user_id])).content.decode()
    assert reverse("staff:calendar_feed_for", args=[profile.user_id]) in security
    page = admin.get(reverse("staff:calendar_feed_for", args=[profile.user_id]))
    assert "In use since" in page.content.decode() and secret not in page.content.decode()
    response = admin.post(reverse("staff:calendar_feed_for", args=[profile.user_id]), {"client_token": token_on(page)})
    assert response.status_code == 302
    feed.refresh_from_db()
    assert feed.revoked_by == admin.user
    assert Client().get(reverse("feeds:doctor", args=[secret])).status_code == 404
    assert f"by {admin.user.audit_label}" in feed_audit()[-1].summary


def test_an_administrator_s_page_of_someone_without_a_diary(client_for):
    page = client_for(ADMINISTRATOR).get(reverse("staff:calendar_feed_for", args=[UserFactory().pk]))
    assert "Not a doctor" in page.content.decode()


def test_the_staff_security_page_links_only_doctors(client_for):
    admin = client_for(ADMINISTRATOR)
    user = UserFactory()
    assert "calendar-feed" not in admin.get(reverse("staff:security", args=[user.pk])).content.decode()


# --- the services' own rules --------------------------------------------------------------------------


def test_nobody_makes_a_link_for_someone_else(client_for):
    profile = DoctorFactory()
    admin = UserFactory(roles=[ADMINISTRATOR])
    with pytest.raises(PermissionDenied):
        create_calendar_feed(doctor=profile, by=admin)


def test_only_the_doctor_or_an_administrator_revokes():
    profile = DoctorFactory()
    feed, _ = create_calendar_feed(doctor=profile, by=profile.user)
    with pytest.raises(PermissionDenied):
        revoke_calendar_feed(feed=feed, by=UserFactory(roles=[DOCTOR]))
    revoke_calendar_feed(feed=feed, by=UserFactory(roles=[ADMINISTRATOR]))
    first = CalendarFeed.objects.get().revoked_at
    revoke_calendar_feed(feed=feed, by=profile.user)  # twice: nothing changes
    assert CalendarFeed.objects.get().revoked_at == first
    assert len(feed_audit()) == 2


def test_a_deactivated_doctor_cannot_make_a_link():
    profile = DoctorFactory(is_active=False)
    with pytest.raises(ValidationError):
        create_calendar_feed(doctor=profile, by=profile.user)


def test_the_database_holds_one_link_in_use_per_doctor():
    profile = DoctorFactory()
    create_calendar_feed(doctor=profile, by=profile.user)
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarFeed.objects.create(doctor=profile, secret_hash="0" * 64, created_by=profile.user)


def test_the_feed_pages_are_valid_html_in_each_state(doctor, client_for, tmp_path):
    """The access walk in tests/test_html_valid.py sees the page with no link; here the others."""
    import subprocess

    from tests.test_html_valid import ROOT, _node_tool

    command = _node_tool()
    shown = doctor.get(post(doctor, reverse("staff:calendar_feed"))["Location"])  # the new link, once
    post(doctor, reverse("staff:calendar_feed"))  # a second one: the first in the history, revoked
    in_use = doctor.get(reverse("staff:calendar_feed"))
    admin = client_for(ADMINISTRATOR).get(reverse("staff:calendar_feed_for", args=[doctor.user.pk]))
    assert FEED_URL.search(shown.content.decode()) and "revoked" in in_use.content.decode()
    paths = []
    for label, page in {"shown": shown, "in-use": in_use, "admin": admin}.items():
        path = tmp_path / f"{label}.html"
        path.write_bytes(page.content)
        paths.append(str(path))
    done = subprocess.run(
        [*command, "--config", str(ROOT / ".htmlvalidate.json"), *paths],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.django_db(transaction=True)
def test_links_made_at_the_same_instant_leave_one_in_use():
    from clinic.tests.concurrency import at_once

    profile = DoctorFactory()
    outcomes = at_once(lambda i: create_calendar_feed(doctor=profile, by=profile.user), 4)
    made = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
    assert len(made) == 4, outcomes  # each waits for the one before (the doctor row is locked), then replaces it
    assert CalendarFeed.objects.filter(doctor=profile, revoked_at__isnull=True).count() == 1
    assert CalendarFeed.objects.filter(doctor=profile).count() == len(made)

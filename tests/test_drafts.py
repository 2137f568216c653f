"""Kept drafts (clinic/drafts.py) and the session's keep-alive: what keep-draft.js relies on."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic import drafts
from clinic.idempotency import new_token
from clinic.models import FormDraft
from clinical.tests.factories import MedicalRecordFactory
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

PAGE = "/clinical/records/7/edit/"
NOTE = [["history", "Três dias de tosse; 发烧 38.4 °C; Ελένη's mother rang"], ["meds-0-drug", "Amoxicillin"]]


def keep(client, path=PAGE, fields=NOTE):
    body = json.dumps({"path": path, "fields": fields})
    return client.post(reverse("session:draft"), body, content_type="application/json")


def kept(client, path=PAGE):
    response = client.get(reverse("session:draft"), {"path": path})
    assert response.status_code == 200
    return response.json()["fields"]


def test_a_draft_comes_back_to_its_author_exactly(doctor_client):
    assert keep(doctor_client).status_code == 200

    assert kept(doctor_client) == NOTE
    assert kept(doctor_client, "/clinical/records/8/edit/") is None


def test_the_newest_draft_of_a_page_replaces_the_one_before(doctor_client):
    keep(doctor_client)
    keep(doctor_client, fields=[["history", "Cough for three days"]])

    assert kept(doctor_client) == [["history", "Cough for three days"]]
    assert FormDraft.objects.count() == 1


def test_nobody_else_reads_a_draft(doctor_client, nurse):
    keep(doctor_client)

    assert kept(nurse) is None
    keep(nurse, fields=[["history", "Nurse's own"]])
    assert kept(doctor_client) == NOTE


def test_one_time_tokens_are_never_kept(doctor_client):
    keep(doctor_client, fields=[["csrfmiddlewaretoken", "x"], ["client_token", "y"], *NOTE])

    assert kept(doctor_client) == NOTE


def test_saving_the_form_forgets_its_draft_and_a_refused_form_keeps_it(doctor_client):
    doctor = DoctorFactory(user=doctor_client.user)
    record = MedicalRecordFactory(author=doctor.user)
    page = reverse("clinical:record_edit", args=[record.pk])
    keep(doctor_client, page)
    management = {"meds-TOTAL_FORMS": "0", "meds-INITIAL_FORMS": "0"}

    refused = doctor_client.post(page, {**management, "pulse": "not a number"})
    assert refused.status_code == 200
    assert kept(doctor_client, page) == NOTE

    saved = doctor_client.post(page, {**management, "history": "Cough for three days"})
    assert saved.status_code == 302
    assert kept(doctor_client, page) is None


def test_a_draft_older_than_the_keeping_days_is_gone(doctor_client, settings):
    settings.FORM_DRAFT_DAYS = 7
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        keep(doctor_client)
    # Days later the doctor signs in again (the session itself ended long before).
    with time_machine.travel(start + timedelta(days=6, hours=23), tick=False):
        doctor_client.force_login(doctor_client.user)
        assert kept(doctor_client) == NOTE
    with time_machine.travel(start + timedelta(days=7, minutes=1), tick=False):
        doctor_client.force_login(doctor_client.user)
        assert kept(doctor_client) is None
        keep(doctor_client, "/patients/1/edit/")  # any later keep purges the expired rows
    assert list(FormDraft.objects.values_list("path", flat=True)) == ["/patients/1/edit/"]


def test_a_person_keeps_at_most_so_many_drafts_the_oldest_going_first(doctor_client):
    start = timezone.now()
    for n in range(drafts.MAX_DRAFTS_PER_PERSON + 3):
        with time_machine.travel(start + timedelta(seconds=n), tick=False):
            keep(doctor_client, f"/patients/{n}/edit/")

    paths = set(FormDraft.objects.values_list("path", flat=True))
    assert len(paths) == drafts.MAX_DRAFTS_PER_PERSON
    assert "/patients/0/edit/" not in paths and f"/patients/{drafts.MAX_DRAFTS_PER_PERSON + 2}/edit/" in paths


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"path": "https://evil.example/", "fields": []}',
        b'{"path": "/x/", "fields": "text"}',
        b'{"path": "/x/", "fields": [["a"]]}',
        b'{"path": "/x/", "fields": [["a", 1]]}',
        json.dumps({"path": "/x/", "fields": [["n", "v"]] * (drafts.MAX_FIELDS + 1)}).encode(),
        json.dumps({"path": "/x/", "fields": [["history", "x" * (drafts.MAX_BYTES + 1)]]}).encode(),
        b"\xff\xfe",
    ],
)
def test_what_is_not_a_draft_is_refused_and_nothing_is_kept(doctor_client, body):
    response = doctor_client.post(reverse("session:draft"), body, content_type="application/json")

    assert response.status_code == 400
    assert not FormDraft.objects.exists()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=JSON | st.text(), fields=JSON)
def test_any_json_is_kept_or_refused_never_an_error(doctor_client, path, fields):
    response = doctor_client.post(
        reverse("session:draft"), json.dumps({"path": path, "fields": fields}), content_type="application/json"
    )

    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert kept(doctor_client, path) == [pair for pair in fields if pair[0] not in drafts.NOT_KEPT]


def test_the_keep_alive_renews_the_idle_sign_out_and_says_how_long(doctor_client, settings):
    settings.SESSION_COOKIE_AGE = 600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        doctor_client.get(reverse("home"))
    with time_machine.travel(start + timedelta(seconds=590), tick=False):
        response = doctor_client.post(reverse("session:keep_alive"))
        assert response.json() == {"idle_seconds": 600}
    with time_machine.travel(start + timedelta(seconds=1100), tick=False):
        # 1,100 s after the page but 510 s after the keep-alive: still signed in.
        assert doctor_client.get(reverse("patients:list")).status_code == 200


def test_without_a_keep_alive_the_idle_sign_out_still_happens(doctor_client, settings):
    settings.SESSION_COOKIE_AGE = 600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        doctor_client.get(reverse("home"))
    with time_machine.travel(start + timedelta(seconds=601), tick=False):
        response = doctor_client.get(reverse("patients:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_signed_in_pages_carry_the_timings_and_signed_out_ones_none(doctor_client, anonymous, settings):
    settings.SESSION_COOKIE_AGE, settings.SESSION_IDLE_WARNING = 900, 120

    page = doctor_client.get(reverse("patients:list")).content.decode()
    assert 'data-idle-seconds="900"' in page and 'data-idle-warning="120"' in page
    assert "js/keep-draft.js" in page

    sign_in_page = anonymous.get(reverse("login") + "?idle=1").content.decode()
    assert "data-idle-seconds" not in sign_in_page and "keep-draft.js" not in sign_in_page
    assert "You were signed out because nothing happened for a while." in sign_in_page


def test_a_keep_that_arrives_after_its_form_was_saved_brings_nothing_back(doctor_client):
    doctor = DoctorFactory(user=doctor_client.user)
    record = MedicalRecordFactory(author=doctor.user)
    page = reverse("clinical:record_edit", args=[record.pk])
    token = str(new_token())
    management = {"meds-TOTAL_FORMS": "0", "meds-INITIAL_FORMS": "0"}

    saved = doctor_client.post(page, {**management, "history": "Cough for three days", "client_token": token})
    assert saved.status_code == 302
    late = doctor_client.post(
        reverse("session:draft"),
        json.dumps({"path": page, "fields": [["history", "Cough"]], "token": token}),
        content_type="application/json",
    )

    assert late.status_code == 200 and late.json()["saved_at"] is None
    assert kept(doctor_client, page) is None
    # A keep from a form not yet saved (its own token) is kept as ever.
    keep_body = {"path": page, "fields": [["history", "Cough, fever"]], "token": str(new_token())}
    doctor_client.post(reverse("session:draft"), json.dumps(keep_body), content_type="application/json")
    assert kept(doctor_client, page) == [["history", "Cough, fever"]]

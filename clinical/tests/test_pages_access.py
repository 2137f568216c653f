"""Who may open each clinical page: every role on every page, and a doctor's own drafts only."""

import pytest
from django.urls import reverse

from clinical.models import MedicalRecord
from clinical.tests.pages import (
    FRIENDLY_403,
    NURSE_PAGES,
    PAGES,
    SECRETS,
    SHOWS,
    UNKNOWN,
    everything_a_doctor_could_send,
    everything_clinical,
    text,
    url_of,
)
from staff.roles import ADMINISTRATOR, MANAGER, RECEPTIONIST

pytestmark = pytest.mark.django_db


def test_the_table_names_every_clinical_url():
    from clinic.tests.urlwalk import walk_urls

    assert set(PAGES) == {name for name, _ in walk_urls() if name and name.startswith("clinical:")}


@pytest.mark.parametrize("role", [RECEPTIONIST, MANAGER, ADMINISTRATOR, None], ids=str)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_non_clinical_roles_get_403_and_no_clinical_text(name, role, world, client_for):
    client = client_for(role)
    url = url_of(name, world)
    before = everything_clinical()
    for method, data in (("get", None), ("post", everything_a_doctor_could_send(world))):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, response.status_code)
        body = text(response)
        assert FRIENDLY_403 in body
        for secret in [*SECRETS, world.patient.last_name]:
            assert secret not in body, (method, secret)
    assert everything_clinical() == before
    assert not MedicalRecord.objects.filter(diagnosis="Sneaked in").exists()


@pytest.mark.parametrize("name", sorted(PAGES))
def test_doctor_reaches_every_clinical_page(name, world, doctor_client):
    _, method, data = PAGES[name]
    url = url_of(name, world)
    if method == "post":
        response = doctor_client.post(url, data(world))
        assert response.status_code == 302, response.status_code
        assert not response["Location"].startswith(reverse("login"))
        return
    response = doctor_client.get(url)
    assert response.status_code == 200
    body = text(response)
    assert FRIENDLY_403 not in body
    for shown in SHOWS.get(name, []):
        assert shown in body, shown


@pytest.mark.parametrize("name", sorted(PAGES))
def test_nurse_reads_the_chart_and_records_vitals_but_does_not_chart(name, world, nurse):
    method = PAGES[name][1]
    before = everything_clinical()
    response = getattr(nurse, method)(
        url_of(name, world), everything_a_doctor_could_send(world) if method == "post" else None
    )
    if name in NURSE_PAGES:
        assert response.status_code == 200
        for shown in SHOWS.get(name, []):
            assert shown in text(response), shown
    else:
        assert response.status_code == 403
        assert FRIENDLY_403 in text(response)
    assert everything_clinical() == before


@pytest.mark.parametrize("name", sorted(PAGES))
def test_anonymous_visitor_is_sent_to_sign_in(name, world, anonymous):
    url = url_of(name, world)
    before = everything_clinical()
    response = getattr(anonymous, PAGES[name][1])(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert everything_clinical() == before


@pytest.mark.parametrize(
    "name, kwargs",
    [
        # Checked before the object is looked up: the answer does not tell whether it exists or is signed.
        ("clinical:record_amend", lambda w: {"pk": w.draft.pk}),
        ("clinical:record_amend", lambda w: {"pk": UNKNOWN}),
        ("clinical:vitals", lambda w: {"pk": UNKNOWN}),
        ("clinical:plan_create", lambda w: {"patient_pk": UNKNOWN}),
        ("clinical:procedure_create", lambda w: {"patient_pk": UNKNOWN}),
        ("clinical:record", lambda w: {"pk": UNKNOWN}),
        ("clinical:prescription", lambda w: {"pk": w.draft.pk}),
    ],
)
@pytest.mark.parametrize("role", [RECEPTIONIST, MANAGER])
def test_non_clinical_roles_learn_nothing_from_the_status_code(name, kwargs, role, world, client_for):
    response = client_for(role).get(reverse(name, kwargs=kwargs(world)))
    assert response.status_code == 403


def test_nurse_sees_a_record_without_edit_sign_or_amend(world, nurse):
    body = text(nurse.get(world.draft.get_absolute_url()))
    assert "Zebra fever, relapse" in body
    assert reverse("clinical:record_edit", args=[world.draft.pk]) not in body
    assert reverse("clinical:record_sign", args=[world.draft.pk]) not in body
    body = text(nurse.get(world.signed.get_absolute_url()))
    assert reverse("clinical:record_amend", args=[world.signed.pk]) not in body
    assert reverse("clinical:prescription", args=[world.signed.pk]) in body


def test_nurse_sees_the_chart_without_charting_buttons(world, nurse):
    body = text(nurse.get(reverse("clinical:chart", args=[world.patient.pk])))
    assert "New record" not in body
    assert reverse("clinical:plan_create", args=[world.patient.pk]) not in body
    body = text(nurse.get(world.plan.get_absolute_url()))
    assert reverse("clinical:plan_edit", args=[world.plan.pk]) not in body
    assert reverse("clinical:plan_status", args=[world.plan.pk]) not in body
    assert reverse("clinical:procedure_edit", args=[world.procedure.pk]) not in body


def test_only_doctors_get_my_day_in_the_menu(doctor_client, nurse, reception):
    my_day = f'href="{reverse("clinical:my_day")}"'
    assert my_day in doctor_client.get(reverse("patients:list")).content.decode()
    assert my_day not in nurse.get(reverse("patients:list")).content.decode()
    assert my_day not in reception.get(reverse("patients:list")).content.decode()

"""Undo a check-in: a patient checked in by mistake (the wrong one, or too early) is expected again, as
confirmed if they had been, else scheduled; only while the visit has not started; in the audit trail."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from clinic.models import AuditEntry
from clinic.tests.submissions import TOKEN_INPUT, token_for
from scheduling import services
from scheduling.models import Appointment, InvalidTransition
from scheduling.tests.factories import AppointmentFactory, local
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Appointment.Status
LONDON = ZoneInfo("Europe/London")
# An ordinary Monday morning: the appointments below are at 10:00 that day.
MORNING = datetime(2026, 12, 7, 10, 5, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def monday_morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def at_ten(**fields):
    return AppointmentFactory(start=local(MORNING.date(), 10), **fields)


def checked_in(*, confirmed=False):
    appointment = at_ten()
    clerk = UserFactory()
    if confirmed:
        services.confirm_appointment(appointment=appointment, by=clerk)
    services.check_in(appointment=appointment, by=clerk)
    return appointment, clerk


def status_entries(appointment):
    return list(
        AuditEntry.objects.filter(
            object_type="scheduling.appointment", object_id=str(appointment.pk), action=AuditEntry.Action.STATUS
        )
        .order_by("id")
        .values_list("summary", flat=True)
    )


def test_undo_puts_a_scheduled_patient_back_to_scheduled_and_clears_the_check_in():
    appointment, clerk = checked_in()

    services.undo_check_in(appointment=appointment, by=clerk)

    appointment.refresh_from_db()
    assert appointment.status == S.SCHEDULED
    assert appointment.checked_in_at is None and appointment.checked_in_by is None
    assert status_entries(appointment) == ["status: scheduled → checked_in", "status: checked_in → scheduled"]


def test_undo_puts_a_confirmed_patient_back_to_confirmed_keeping_the_confirmation():
    appointment, clerk = checked_in(confirmed=True)
    confirmed_at = Appointment.objects.get(pk=appointment.pk).confirmed_at

    services.undo_check_in(appointment=appointment, by=clerk)

    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED
    assert appointment.confirmed_at == confirmed_at
    assert appointment.checked_in_at is None and appointment.checked_in_by is None
    assert status_entries(appointment)[-1] == "status: checked_in → confirmed"


def test_the_patient_can_be_checked_in_again_after_an_undo():
    appointment, clerk = checked_in()
    services.undo_check_in(appointment=appointment, by=clerk)

    services.check_in(appointment=appointment, by=clerk)

    appointment.refresh_from_db()
    assert appointment.status == S.CHECKED_IN and appointment.checked_in_by == clerk


def test_a_stale_copy_goes_back_to_what_the_row_says_not_what_it_remembers():
    appointment = at_ten()
    stale = Appointment.objects.get(pk=appointment.pk)  # loaded before it was confirmed and checked in
    clerk = UserFactory()
    services.confirm_appointment(appointment=appointment, by=clerk)
    services.check_in(appointment=appointment, by=clerk)

    services.undo_check_in(appointment=stale, by=clerk)

    assert Appointment.objects.get(pk=appointment.pk).status == S.CONFIRMED


def test_a_stale_copy_cannot_undo_a_check_in_once_the_visit_has_started():
    appointment, clerk = checked_in()
    stale = Appointment.objects.get(pk=appointment.pk)  # still says checked in
    services.start_visit(appointment=appointment, by=UserFactory())

    with pytest.raises(InvalidTransition, match="in consultation; only a check-in whose visit has not started"):
        services.undo_check_in(appointment=stale, by=clerk)

    row = Appointment.objects.get(pk=appointment.pk)
    assert row.status == S.IN_PROGRESS and row.checked_in_at is not None


@pytest.mark.parametrize("status", [s for s in S if s != S.CHECKED_IN])
def test_undo_is_refused_unless_checked_in(status):
    appointment = at_ten(status=status)
    before = len(status_entries(appointment))

    with pytest.raises(InvalidTransition):
        services.undo_check_in(appointment=appointment, by=UserFactory())

    assert Appointment.objects.get(pk=appointment.pk).status == status
    assert len(status_entries(appointment)) == before


def test_mark_confirmed_cannot_take_the_way_back_on_its_own():
    appointment, clerk = checked_in()

    with pytest.raises(InvalidTransition, match="checked in; it cannot be marked confirmed"):
        services.confirm_appointment(appointment=appointment, by=clerk)

    assert Appointment.objects.get(pk=appointment.pk).status == S.CHECKED_IN


# --- the pages -------------------------------------------------------------------------------


def test_checking_in_from_today_says_so_with_an_undo_button_that_returns_to_today(reception):
    appointment = at_ten()
    today = reverse("home") + f"?doctor={appointment.doctor_id}"
    page = reception.get(today)

    response = reception.post(
        reverse("scheduling:check_in", args=[appointment.pk]),
        {"next": today, "client_token": token_for(page, reverse("scheduling:check_in", args=[appointment.pk]))},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == today
    html = response.content.decode()
    undo = reverse("scheduling:undo_check_in", args=[appointment.pk])
    message = html[html.index('<ul class="messages"') : html.index("</ul>", html.index('<ul class="messages"'))]
    assert f"{appointment.patient.full_name}: checked in." in message
    assert f'action="{undo}"' in message and f'name="next" value="{today}"' in message
    assert 'aria-label="Undo check-in of' in message

    response = reception.post(undo, {"next": today, "client_token": TOKEN_INPUT.search(message).group(1)}, follow=True)

    assert response.redirect_chain[-1][0] == today
    assert Appointment.objects.get(pk=appointment.pk).status == S.SCHEDULED
    assert "check-in undone; expected again (scheduled)." in response.content.decode()


def test_each_waiting_patient_on_today_has_undo_check_in(reception):
    appointment, _ = checked_in()

    html = reception.get(reverse("home")).content.decode()

    undo = reverse("scheduling:undo_check_in", args=[appointment.pk])
    assert f'action="{undo}"' in html
    assert f'aria-label="Undo check-in of {appointment.patient.full_name}">Undo check-in</button>' in html


def test_the_appointment_page_offers_undo_check_in_but_not_mark_confirmed(reception):
    appointment, _ = checked_in()

    response = reception.get(appointment.get_absolute_url())

    labels = [step["label"] for step in response.context["steps"]]
    assert labels == ["Undo check-in"]
    assert 'class="button">Undo check-in</button>' in response.content.decode()  # not the primary button


def test_no_undo_once_the_visit_has_started(reception):
    appointment, _ = checked_in()
    services.start_visit(appointment=appointment, by=UserFactory())

    response = reception.get(appointment.get_absolute_url())
    assert "Undo check-in" not in [step["label"] for step in response.context["steps"]]

    reply = reception.post(reverse("scheduling:undo_check_in", args=[appointment.pk]), follow=True)
    assert "only a check-in whose visit has not started can be undone" in reply.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).status == S.IN_PROGRESS


def test_a_doctor_may_not_undo_a_check_in(doctor_client):
    appointment, _ = checked_in()

    response = doctor_client.post(reverse("scheduling:undo_check_in", args=[appointment.pk]))

    assert response.status_code == 403
    assert Appointment.objects.get(pk=appointment.pk).status == S.CHECKED_IN

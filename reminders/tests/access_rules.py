"""Who may open this feature's pages: joins tests/test_access.py's table (see RULE_MODULES there).

The pages a reminder's links open are for patients, who do not sign in: anyone holding a valid link may
open them (staff too). The builders make a reminder of an appointment tomorrow and a fresh link to it."""

from datetime import timedelta

from clinic.links import make_link_token

EVERYONE = {"Receptionist", "Doctor", "Nurse", "Manager", "Administrator", "signed in, no role", "anonymous"}

ACCESS = {
    "reminders:confirm": EVERYONE,
    "reminders:cancel": EVERYONE,
    "reminders:opt_out": EVERYONE,
}


def _link(purpose, valid_for=None):
    def build(user=None):
        from reminders.models import Reminder
        from scheduling.tests.factories import AppointmentFactory

        appointment = AppointmentFactory()
        reminder = Reminder.objects.create(
            appointment=appointment,
            channel=Reminder.Channel.EMAIL,
            hours_before=48,
            starts_at=appointment.start,
            status=Reminder.Status.SENT,
            next_attempt_at=appointment.start - timedelta(hours=48),
        )
        until = appointment.start + (valid_for or timedelta(0))
        return {"token": make_link_token(purpose, reminder.pk, valid_until=until)}

    return build


KWARGS = {
    "reminders:confirm": _link("reminders.confirm"),
    "reminders:cancel": _link("reminders.cancel"),
    "reminders:opt_out": _link("reminders.opt_out", timedelta(days=90)),
}

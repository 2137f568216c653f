"""The pages a reminder's links open, for patients (nobody signs in): confirm, cancel, stop reminders.

Opening a link (GET) only shows the appointment and a button: mail scanners fetch every link in a
message. The button (POST) spends the link and acts, in one transaction; then the page is shown again
and says what was done. A forged, expired or used link gets a page saying so, and nothing else.
"""

import re

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from clinic.idempotency import OncePerSubmission
from clinic.links import LinkError, link_is_used, read_link_token
from scheduling.models import Appointment

from . import services
from .models import Reminder, ReminderSettings

# Status codes of the pages that refuse a link: not found (forged), gone (expired), conflict (used).
REFUSAL_STATUS = {"forged": 404, "expired": 410, "used": 409}

PAGES = {
    services.CONFIRM: {
        "title": "Confirm your appointment",
        "button": "Yes, I will come",
        "question": "Please confirm that you will come to this appointment.",
    },
    services.CANCEL: {
        "title": "Cancel your appointment",
        "button": "Cancel this appointment",
        "question": "If you cannot come, cancel here so that someone else can have the time.",
    },
    services.OPT_OUT: {
        "title": "Stop appointment reminders",
        "button": "Stop these reminders",
        "question": "",
    },
}


def _outcome(reminder, purpose):
    """What a used link's page says: what the appointment, or the patient's choice, is now (no details)."""
    if purpose == services.OPT_OUT:
        channel = reminder.get_channel_display().lower()
        return f"Reminders by {channel} are turned off. To have them again, ask the clinic's reception."
    status = reminder.appointment.status
    if status == Appointment.Status.CONFIRMED:
        return "Your appointment is confirmed. Thank you."
    if status == Appointment.Status.CANCELLED:
        return "Your appointment is cancelled. Thank you for letting us know."
    return ""


class LinkPage(OncePerSubmission, View):
    """One page per purpose (as_view(purpose=...)); the token is the link's last part."""

    purpose = None
    template_name = "reminders/link.html"

    def render(self, request, status=200, **context):
        config = ReminderSettings.current()
        response = render(
            request,
            self.template_name,
            {
                "page": PAGES[self.purpose],
                "purpose": self.purpose,
                "clinic": config,
                # A phone number stays on one line; its link dials the digits.
                "phone_text": config.clinic_phone.replace(" ", "\u00a0"),
                "phone_link": "tel:" + re.sub(r"[^0-9+]", "", config.clinic_phone),
                **context,
            },
            status=status,
        )
        # The address holds the link's token: nothing may keep a copy of the page.
        response["Cache-Control"] = "no-store"
        return response

    def dispatch(self, request, *args, **kwargs):
        # The token is a key to the appointment: the access log names the page, not the link.
        request.log_path = reverse(request.resolver_match.view_name, args=["TOKEN"]).replace("TOKEN", "<token>")
        return super().dispatch(request, *args, **kwargs)

    def refused(self, request, error, reminder=None, status=None):
        outcome = _outcome(reminder, self.purpose) if reminder is not None and error.code == "used" else ""
        return self.render(
            request, status=status or REFUSAL_STATUS[error.code], error=error, outcome=outcome, done=status == 200
        )

    def get(self, request, token):
        try:
            reminder = services.reminder_for_link(read_link_token(token, self.purpose))
        except LinkError as error:
            return self.refused(request, error)
        if link_is_used(token, self.purpose):
            # Where the button's POST ends (PRG): the page says what was done.
            return self.refused(request, LinkError("used"), reminder, status=200)
        why_not = "" if self.purpose == services.OPT_OUT else services.answerable(reminder, self.purpose)
        return self.render(
            request,
            reminder=reminder,
            appointment=reminder.appointment,
            why_not=why_not,
            when=services.when_text(reminder.starts_at),
        )

    def post(self, request, token):
        try:
            if self.purpose == services.OPT_OUT:
                services.opt_out_by_link(token=token)
            else:
                services.answer_by_link(token=token, purpose=self.purpose)
        except LinkError as error:
            reminder = None
            if error.code == "used":
                reminder = (
                    Reminder.objects.select_related("appointment").filter(pk=_subject(token, self.purpose)).first()
                )
            return self.refused(request, error, reminder=reminder)
        except services.CannotAnswer as why_not:
            return self.render(request, status=409, why_not=str(why_not))
        # Shown again by GET: the link is spent, so the page says what was done.
        return HttpResponseRedirect(request.path)


def _subject(token, purpose):
    try:
        return read_link_token(token, purpose)
    except LinkError:
        return None

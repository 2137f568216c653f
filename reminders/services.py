"""Reminders: planned once, claimed by one worker, sent at most once; and the patient's answers by link.

The rules (README, "Reminders"):
- A reminder is due `hours` real hours before the appointment's start (UTC arithmetic: 48 h is 48 h
  across a clock change), until the start.
- Of the lead times that are due, only the nearest is made: one overtaken by a nearer one (the worker was
  stopped, or the appointment was booked late) is never sent; nor is one whose time had already passed
  when the appointment was booked (booked 30 h before: no "48 h" reminder, the 2 h one comes).
- One row per (appointment, channel, lead time, appointment's start), unique in the database: a second
  planner's rows are ignored, a rescheduled appointment gets rows for its new start, the old ones are
  skipped when their turn comes.
- A row is sent by whoever moves it from waiting to sending (a conditional UPDATE; the loser sees 0 rows).
  A row left "sending" (a worker killed mid-send) is never sent again: after SENDING_TIMEOUT it is marked
  unknown. Sent twice is worse than missed once; a manager may send it again from the admin.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from clinic.audit import Action, lock_rows, record
from clinic.links import LinkError, make_link_token, use_link_token
from clinic.worker import stopping as worker_stopping
from scheduling import services as scheduling_services
from scheduling.models import Appointment

from . import channels
from .models import Reminder, ReminderSettings, Reply
from .wording import fill, uses

Status = Reminder.Status
Channel = Reminder.Channel

CONFIRM = "reminders.confirm"
CANCEL = "reminders.cancel"
OPT_OUT = "reminders.opt_out"
# How long an opt-out link in a message keeps working after the appointment it reminded of.
OPT_OUT_VALID_AFTER = timedelta(days=90)

# After a temporary failure: wait this long before the 2nd, 3rd, 4th attempt; then it has failed.
BACKOFF = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
# A row still "sending" this long after it was claimed was left by a worker that stopped.
SENDING_TIMEOUT = timedelta(minutes=10)
# How many reminders one run sends at most (the next run, a minute later, goes on).
BATCH = 200

CANCELLED_BY_PATIENT = "Cancelled by the patient from a reminder"
ACTIVE = (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)

UNKNOWN_REASON = (
    "The worker stopped while sending this reminder: it may or may not have gone out. "
    "It is not sent again by itself, so the patient never gets it twice."
)


# --- planning -----------------------------------------------------------------------------------------


def nearest_due(appointment, hours, now):
    """The lead time (hours) whose reminder should exist now for this appointment, or None."""
    if not appointment.start > now:
        return None
    due = [h for h in hours if appointment.start - timedelta(hours=h) <= now]
    if not due:
        return None
    nearest = min(due)
    if appointment.start - timedelta(hours=nearest) < appointment.booked_at:
        return None  # its time had passed when the appointment was booked
    return nearest


def _skip_reason(channel, patient, sms_ok):
    if channel == Channel.EMAIL:
        if not patient.email:
            return "The patient has no e-mail address."
        if not patient.reminders_by_email:
            return "The patient asked for no reminders by e-mail."
    else:
        if not patient.phone:
            return "The patient has no phone number."
        if not patient.reminders_by_sms:
            return "The patient asked for no reminders by text message."
        if not sms_ok:
            return "No SMS provider is configured."
    return ""


def plan_reminders(now=None, *, config=None):
    """Make the rows of the reminders whose time has come; returns how many were new."""
    now = now or timezone.now()
    config = config or ReminderSettings.current()
    hours, wanted_channels = config.hours, config.channels()
    if not wanted_channels:
        return 0
    sms_ok = Channel.SMS in wanted_channels and channels.sms_available()
    candidates = (
        Appointment.objects.filter(status__in=ACTIVE, start__gt=now, start__lte=now + timedelta(hours=max(hours)))
        .select_related("patient")
        .order_by("start")
    )
    made = 0
    rows = []
    for appointment in candidates.iterator(chunk_size=500):
        lead = nearest_due(appointment, hours, now)
        if lead is None:
            continue
        for channel in wanted_channels:
            reason = _skip_reason(channel, appointment.patient, sms_ok)
            rows.append(
                Reminder(
                    appointment=appointment,
                    channel=channel,
                    hours_before=lead,
                    starts_at=appointment.start,
                    status=Status.SKIPPED if reason else Status.WAITING,
                    last_error=reason,
                    next_attempt_at=now,
                )
            )
        if len(rows) >= 500:
            made += _insert_new(rows)
            rows = []
    return made + _insert_new(rows)


def _insert_new(rows):
    """Insert the rows not there yet (a concurrent planner's are ignored by the unique constraint)."""
    if not rows:
        return 0
    existing = set(
        Reminder.objects.filter(appointment_id__in={row.appointment_id for row in rows}).values_list(
            "appointment_id", "channel", "hours_before", "starts_at"
        )
    )
    new = [row for row in rows if (row.appointment_id, row.channel, row.hours_before, row.starts_at) not in existing]
    Reminder.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# --- sending ------------------------------------------------------------------------------------------


def give_up_on_stalled(now=None):
    """Rows a stopped worker left "sending": unknown, never sent again. Returns how many."""
    now = now or timezone.now()
    return Reminder.objects.filter(status=Status.SENDING, claimed_at__lt=now - SENDING_TIMEOUT).update(
        status=Status.UNKNOWN, last_error=UNKNOWN_REASON
    )


def claim(pk, now=None):
    """Take a due row for this worker: True when this call moved it from waiting to sending."""
    now = now or timezone.now()
    return bool(
        Reminder.objects.filter(pk=pk, status=Status.WAITING, next_attempt_at__lte=now).update(
            status=Status.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


def send_due(now=None, *, limit=BATCH):
    """Send up to `limit` due reminders (each claimed first); returns how many were sent."""
    now = now or timezone.now()
    give_up_on_stalled(now)
    config = ReminderSettings.current()
    pks = list(Reminder.objects.due(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    sent = 0
    for pk in pks:
        if worker_stopping.is_set():
            break  # the worker is being stopped: the rest wait for the next run, none is left half sent
        if claim(pk, now):
            sent += deliver(pk, config=config) == Status.SENT
    return sent


def _finish(reminder, status, **fields):
    """Write the outcome, only if the row is still this sender's (sending; or unknown, if marked so
    while a slow send went on: what happened is then known)."""
    Reminder.objects.filter(pk=reminder.pk, status__in=(Status.SENDING, Status.UNKNOWN)).update(status=status, **fields)
    return status


def _not_sendable(reminder, now):
    appointment = reminder.appointment
    if appointment.status not in ACTIVE:
        return f"The appointment is {appointment.get_status_display().lower()}."
    if appointment.start != reminder.starts_at:
        return "The appointment was moved; reminders of its new time are sent instead."
    if appointment.start <= now:
        return "Too late: the appointment has begun."
    return ""


def deliver(pk, *, config=None):
    """Send one claimed (sending) row and record the outcome; returns the status it ended in."""
    config = config or ReminderSettings.current()
    now = timezone.now()
    reminder = Reminder.objects.select_related("appointment__patient", "appointment__doctor__user").get(pk=pk)
    reason = _not_sendable(reminder, now) or _skip_reason(
        reminder.channel,
        reminder.appointment.patient,
        sms_ok=reminder.channel != Channel.SMS or channels.sms_available(),
    )
    if reason:
        return _finish(reminder, Status.SKIPPED, last_error=reason)
    patient = reminder.appointment.patient
    try:
        if reminder.channel == Channel.EMAIL:
            subject, body = email_message(reminder, config)
            recipient = patient.email
            message_id = channels.send_email(recipient, subject, body)
        else:
            recipient = patient.phone
            message_id = channels.send_text(recipient, sms_message(reminder, config))
    except channels.Undeliverable as exc:
        return _finish(reminder, Status.FAILED, last_error=str(exc)[:300])
    except Exception as exc:  # noqa: BLE001 - any other failure of a send is worth another try
        return _after_temporary_failure(reminder, exc, now)
    return _finish(
        reminder,
        Status.SENT,
        sent_at=timezone.now(),
        recipient=recipient[:254],
        message_id=message_id[:200],
        last_error="",
    )


def _after_temporary_failure(reminder, exc, now):
    error = f"{type(exc).__name__}: {exc}"[:250]
    attempt = reminder.attempts  # loaded after the claim, which counted this attempt
    if attempt > len(BACKOFF):
        return _finish(reminder, Status.FAILED, last_error=f"Gave up after {attempt} attempts. {error}")
    retry_at = now + BACKOFF[attempt - 1]
    if retry_at >= reminder.starts_at:
        return _finish(reminder, Status.FAILED, last_error=f"No time left to try again. {error}")
    return _finish(reminder, Status.WAITING, next_attempt_at=retry_at, last_error=error)


def run(now=None):
    """Plan and send what is due (the periodic task's body): (made, sent)."""
    return plan_reminders(now), send_due(now)


@transaction.atomic
def retry_reminder(*, reminder, by):
    """A failed (or unknown) reminder is queued again, to go at the next run. Refused when the
    appointment is no longer as it was (cancelled, moved, begun)."""
    reminder = lock_rows(Reminder.objects.select_related("appointment")).get(pk=reminder.pk)
    if reminder.status not in (Status.FAILED, Status.UNKNOWN):
        raise ValidationError(
            f"Only a failed reminder can be sent again; this one is {reminder.get_status_display().lower()}."
        )
    reason = _not_sendable(reminder, timezone.now())
    if reason:
        raise ValidationError(f"This reminder cannot be sent again. {reason}")
    was = reminder.get_status_display().lower()
    Reminder.objects.filter(pk=reminder.pk).update(
        status=Status.WAITING, next_attempt_at=timezone.now(), claimed_at=None, last_error=""
    )
    record(
        Action.STATUS,
        reminder,
        summary=f"reminder #{reminder.pk} ({reminder.get_channel_display().lower()}) {was} → waiting: sent again",
        patient_id=reminder.appointment.patient_id,
    )
    reminder.refresh_from_db()
    return reminder


# --- the message --------------------------------------------------------------------------------------


def site_url():
    return getattr(settings, "CLINIC_SITE_URL", "").rstrip("/") or "http://127.0.0.1:8000"


def link(name, purpose, reminder, valid_until):
    token = make_link_token(purpose, reminder.pk, valid_until=valid_until)
    return site_url() + reverse(name, kwargs={"token": token})


def when_text(start):
    """ "Tuesday 28 March 2028 at 09:30": the clinic's local time (the hours before are real hours)."""
    local = timezone.localtime(start)
    return f"{date_format(local, 'l j F Y')} at {local:%H:%M}"


def message_values(reminder, config):
    appointment = reminder.appointment
    return {
        "patient": appointment.patient.full_name,
        "when": when_text(reminder.starts_at),
        "doctor": str(appointment.doctor),
        "clinic": config.clinic_name,
        "address": config.clinic_address,
        "phone": config.clinic_phone,
        "confirm_link": link("reminders:confirm", CONFIRM, reminder, reminder.starts_at),
        "cancel_link": link("reminders:cancel", CANCEL, reminder, reminder.starts_at),
        "opt_out_link": link("reminders:opt_out", OPT_OUT, reminder, reminder.starts_at + OPT_OUT_VALID_AFTER),
    }


def email_message(reminder, config):
    values = message_values(reminder, config)
    subject = " ".join(fill(config.email_subject, values).split())  # a header is one line
    body = fill(config.email_body, values)
    if not uses(config.email_body, "opt_out_link"):
        body += f"\n\nTo stop receiving reminders by e-mail: {values['opt_out_link']}\n"
    return subject[:250], body


def sms_message(reminder, config):
    values = message_values(reminder, config)
    body = fill(config.sms_text, values)
    if not uses(config.sms_text, "opt_out_link"):
        body += f" Stop reminders: {values['opt_out_link']}"
    return body


# --- the patient's answers ----------------------------------------------------------------------------


class CannotAnswer(Exception):
    """The link is genuine, but the appointment can no longer be answered this way (message for the patient)."""


ANSWERS = {
    CONFIRM: (Reply.Answer.CONFIRMED, "confirmed"),
    CANCEL: (Reply.Answer.CANCELLED, "cancelled"),
}


def reminder_for_link(reminder_id):
    found = (
        Reminder.objects.select_related("appointment__patient", "appointment__doctor__user")
        .filter(pk=reminder_id)
        .first()
    )
    if found is None:  # a genuine token of a reminder since deleted (with its appointment)
        raise LinkError("forged")
    return found


def answerable(reminder, purpose):
    """Why this appointment cannot be confirmed or cancelled by link now, or ""."""
    appointment = reminder.appointment
    if appointment.start != reminder.starts_at:
        return (
            "This appointment has been moved since this reminder was sent. "
            "Please use the newest reminder, or call the clinic."
        )
    if appointment.start <= timezone.now():
        return "This appointment has already begun."
    if appointment.status == Appointment.Status.CANCELLED:
        return "This appointment has been cancelled."
    if purpose == CONFIRM and appointment.status == Appointment.Status.CONFIRMED:
        return "This appointment is already confirmed. Thank you."
    if appointment.status not in ACTIVE:
        return "This appointment can no longer be changed online. Please call the clinic."
    return ""


@transaction.atomic
def answer_by_link(*, token, purpose):
    """The patient confirms or cancels through a reminder's link: the link is spent in the same
    transaction as the change (two clicks at once: one acts, the other is told it was used).
    Raises LinkError (forged, expired, used) or CannotAnswer."""
    answer, done = ANSWERS[purpose]
    reminder = reminder_for_link(use_link_token(token, purpose))
    appointment = lock_rows(Appointment.objects).get(pk=reminder.appointment_id)
    reminder.appointment.status = appointment.status  # as read under the lock
    reminder.appointment.start = appointment.start
    why_not = answerable(reminder, purpose)
    if why_not:
        raise CannotAnswer(why_not)
    # by=None: nobody is signed in. The service's own entry names no user; the entry below says who it was.
    if purpose == CONFIRM:
        scheduling_services.confirm_appointment(appointment=appointment, by=None)
    else:
        scheduling_services.cancel_appointment(appointment=appointment, reason=CANCELLED_BY_PATIENT, by=None)
    reply = Reply.objects.create(appointment=appointment, reminder=reminder, answer=answer, starts_at=appointment.start)
    record(
        Action.STATUS,
        appointment,
        summary=f"{done} by the patient through the link in a reminder "
        f"(#{reminder.pk}, {reminder.get_channel_display().lower()}, {reminder.hours_before} h before)",
    )
    return reply


@transaction.atomic
def opt_out_by_link(*, token):
    """The patient stops reminders on the channel the message came by. Returns the reminder."""
    reminder = reminder_for_link(use_link_token(token, OPT_OUT))
    patient = lock_rows(type(reminder.appointment.patient).objects).get(pk=reminder.appointment.patient_id)
    field = "reminders_by_email" if reminder.channel == Channel.EMAIL else "reminders_by_sms"
    if getattr(patient, field):
        setattr(patient, field, False)
        patient.save(update_fields=[field, "updated_at"])
        record(
            Action.CHANGE,
            patient,
            summary=f"reminders by {reminder.get_channel_display().lower()} turned off by the patient "
            f"through the link in reminder #{reminder.pk}",
        )
    return reminder


@transaction.atomic
def save_reminder_settings(*, config, by):
    """A manager's change to the reminders' settings (the admin's form has validated it). Audited by the model
    (Audited), like every change; the next run of send_due_reminders uses it."""
    config.full_clean()
    config.save()
    return config

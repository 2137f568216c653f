from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from clinic.audit import Audited
from scheduling.models import Appointment

from .wording import check_template, placeholders_help

MIN_HOURS, MAX_HOURS, MAX_TIMES = 1, 336, 4

DEFAULT_EMAIL_SUBJECT = "Your appointment at {clinic} on {when}"
DEFAULT_EMAIL_BODY = """Dear {patient},

This is a reminder of your appointment with {doctor} at {clinic} on {when}.

{clinic}
{address}
Phone: {phone}

To confirm that you will come, open: {confirm_link}
If you cannot come, please cancel so that someone else can have the time: {cancel_link}

To stop receiving reminders by e-mail: {opt_out_link}
"""
DEFAULT_SMS = (
    "{clinic}: reminder of your appointment with {doctor} on {when}. Confirm: {confirm_link} Cancel: {cancel_link}"
)


def parse_hours(text):
    """ "48, 2" -> [48, 2] (largest first); ValidationError with a message for the field otherwise."""
    pieces = [piece.strip() for piece in str(text or "").replace(";", ",").split(",") if piece.strip()]
    if not pieces:
        raise ValidationError("Give at least one time, in hours before the appointment (e.g. 48, 2).")
    hours = []
    for piece in pieces:
        if not (piece.isascii() and piece.isdigit()):
            raise ValidationError(f'"{piece[:20]}" is not a whole number of hours.')
        value = int(piece)
        if not MIN_HOURS <= value <= MAX_HOURS:
            raise ValidationError(f"Each time must be between {MIN_HOURS} and {MAX_HOURS} hours (two weeks) before.")
        hours.append(value)
    if len(set(hours)) != len(hours):
        raise ValidationError("Each time may be given only once.")
    if len(hours) > MAX_TIMES:
        raise ValidationError(f"At most {MAX_TIMES} reminders per appointment.")
    return sorted(hours, reverse=True)


def _check_hours(text):
    parse_hours(text)


class ReminderSettings(Audited, models.Model):
    """The one row of what reminders say and when they go (a manager edits it in the admin; the
    data migration creates it with defaults). `ReminderSettings.current()` reads it."""

    clinic_name = models.CharField("clinic's name", max_length=120)
    clinic_address = models.CharField("clinic's address", max_length=250, blank=True)
    clinic_phone = models.CharField("clinic's phone", max_length=40, blank=True)
    hours_before = models.CharField(
        "when to send (hours before the appointment)",
        max_length=40,
        default="48, 2",
        validators=[_check_hours],
        help_text=f"Up to {MAX_TIMES} times, separated by commas, each {MIN_HOURS}–{MAX_HOURS} hours: "
        '"48, 2" sends one two days before and one two hours before. Hours are real hours, '
        "whatever the clocks do.",
    )
    send_email = models.BooleanField("send reminders by e-mail", default=True)
    send_sms = models.BooleanField(
        "send reminders by text message (SMS)",
        default=False,
        help_text="Only when an SMS provider is configured (SMS settings of the server).",
    )
    email_subject = models.CharField(
        "e-mail subject", max_length=200, default=DEFAULT_EMAIL_SUBJECT, validators=[check_template]
    )
    email_body = models.TextField(
        "e-mail text", default=DEFAULT_EMAIL_BODY, validators=[check_template], help_text=placeholders_help()
    )
    sms_text = models.TextField(
        "text message",
        max_length=640,
        default=DEFAULT_SMS,
        validators=[check_template],
        help_text="Keep it short: a text message of more than 160 characters is sent (and paid for) as several. "
        + placeholders_help(),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "reminder settings"
        verbose_name_plural = "reminder settings"

    def __str__(self):
        return "Reminder settings"

    @property
    def hours(self):
        return parse_hours(self.hours_before)

    def channels(self):
        return [
            channel
            for channel, on in ((Reminder.Channel.EMAIL, self.send_email), (Reminder.Channel.SMS, self.send_sms))
            if on
        ]

    @classmethod
    def current(cls):
        found = cls.objects.order_by("pk").first()
        if found is None:  # the data migration makes it; a database emptied by a test may not have it
            found, _ = cls.objects.get_or_create(pk=1, defaults=default_settings())
        return found


def default_settings():
    from django.conf import settings

    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_address": getattr(settings, "CLINIC_LETTERHEAD_ADDRESS", ""),
        "clinic_phone": getattr(settings, "CLINIC_LETTERHEAD_PHONE", ""),
    }


class ReminderQuerySet(models.QuerySet):
    def due(self, now=None):
        return self.filter(status=Reminder.Status.WAITING, next_attempt_at__lte=now or timezone.now())


class Reminder(models.Model):
    """One reminder of one appointment's time, on one channel, at one lead time: made once (the unique
    constraint), claimed by one worker (waiting -> sending by a conditional UPDATE), sent at most once."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "Text message"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"
        # A worker stopped while sending: it may or may not have gone out. Never tried again.
        UNKNOWN = "unknown", "Unknown (stopped while sending)"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    hours_before = models.PositiveSmallIntegerField()
    # The appointment's start this reminder is for: a rescheduled appointment gets reminders of its own.
    starts_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = ReminderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("retry_reminder", "Can send a failed reminder again")]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "channel", "hours_before", "starts_at"], name="reminder_once_per_time"
            ),
        ]
        indexes = [
            # The sender's scan: waiting ones whose attempt is due.
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="waiting"), name="reminder_due"),
            # Left "sending" by a worker that stopped.
            models.Index(fields=["claimed_at"], condition=models.Q(status="sending"), name="reminder_sending"),
            models.Index(fields=["status", "-created_at"], name="reminder_status_newest"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} reminder {self.hours_before} h before, appointment #{self.appointment_id}"

    @property
    def is_retryable(self):
        return self.status in (self.Status.FAILED, self.Status.UNKNOWN) and self.starts_at > timezone.now()


class Reply(models.Model):
    """A patient's answer through a link in a reminder: staff see it on the appointment and on Today."""

    class Answer(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminder_replies")
    reminder = models.ForeignKey(Reminder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    answer = models.CharField(max_length=10, choices=Answer.choices)
    starts_at = models.DateTimeField(help_text="The appointment's start when the patient answered.")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "replies"
        indexes = [models.Index(fields=["starts_at"], name="reminder_reply_starts")]

    def __str__(self):
        return f"{self.get_answer_display()} by the patient, appointment #{self.appointment_id}"

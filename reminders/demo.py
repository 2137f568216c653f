"""Demo reminders for `seed_demo` (the lead calls `seed_reminders()` after the week's appointments): a few
sent by e-mail, one text message that failed (on the admin's list, to send again), and one patient who
confirmed from the link (on Today and on the appointment's page). Idempotent: nothing once any reminder exists."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from clinic.links import make_link_token
from scheduling.models import Appointment

from . import services
from .models import Reminder

SENT = 5


@transaction.atomic
def seed_reminders():
    """Returns how many reminders it made (0 when the demo already has them)."""
    if Reminder.objects.exists():
        return 0
    now = timezone.now()
    upcoming = list(
        Appointment.objects.filter(status__in=services.ACTIVE, start__gt=now, start__lte=now + timedelta(hours=48))
        .select_related("patient")
        .order_by("start")[: SENT + 1]
    )
    rows = []
    for appointment in upcoming[:SENT]:
        sent_at = max(appointment.start - timedelta(hours=48), appointment.booked_at, now - timedelta(hours=47))
        rows.append(
            Reminder(
                appointment=appointment,
                channel=Reminder.Channel.EMAIL,
                hours_before=48,
                starts_at=appointment.start,
                status=Reminder.Status.SENT,
                attempts=1,
                next_attempt_at=sent_at,
                claimed_at=sent_at,
                sent_at=min(sent_at, now),
                recipient=appointment.patient.email or f"{appointment.patient.first_name.lower()}@example.org",
            )
        )
    if len(upcoming) > SENT:
        failed = upcoming[SENT]
        rows.append(
            Reminder(
                appointment=failed,
                channel=Reminder.Channel.SMS,
                hours_before=48,
                starts_at=failed.start,
                status=Reminder.Status.FAILED,
                attempts=1,
                next_attempt_at=now,
                claimed_at=now,
                last_error="The SMS provider refused it: The SMS provider answered 400 (21211: invalid 'To' number).",
            )
        )
    made = Reminder.objects.bulk_create(rows)
    # One patient answers from the link, through the same service as the page: the appointment is
    # confirmed, the reply recorded, the audit trail says it was the patient.
    for reminder in made:
        if reminder.status == Reminder.Status.SENT and reminder.appointment.status == Appointment.Status.SCHEDULED:
            token = make_link_token(services.CONFIRM, reminder.pk, valid_until=reminder.starts_at)
            services.answer_by_link(token=token, purpose=services.CONFIRM)
            break
    return len(made)

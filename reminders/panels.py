"""What reminders add to scheduling's pages (scheduling.views' APPOINTMENT_PANELS and TODAY_PANELS slots)."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from .models import Reply

VIEW = "reminders.view_reminder"
# How many rows a panel shows at most (the newest); the rest are counted.
SHOWN = 20


def appointment_panel(*, appointment, user):
    """The reminders of this appointment (every time it had) and the patient's answers by link."""
    if not user.has_perm(VIEW):
        return []
    reminders = list(appointment.reminders.order_by("-created_at", "-pk")[:SHOWN])
    replies = list(appointment.reminder_replies.order_by("-at", "-pk")[:SHOWN])
    return [{"template": "reminders/_appointment_panel.html", "reminders": reminders, "replies": replies}]


def today_panel(*, day, doctor, user):
    """Replies to reminders for appointments today and tomorrow: the newest first, bounded."""
    if not user.has_perm(VIEW):
        return []
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=2), time.min))
    replies = Reply.objects.filter(starts_at__gte=start, starts_at__lt=end)
    if doctor is not None:
        replies = replies.filter(appointment__doctor=doctor)
    shown = list(
        replies.select_related("appointment__patient", "appointment__doctor__user").order_by("-at", "-pk")[: SHOWN + 1]
    )
    more = len(shown) > SHOWN
    for reply in shown:
        reply.day_label = "today" if timezone.localdate(reply.starts_at) == day else "tomorrow"
    return [
        {
            "template": "reminders/_today_panel.html",
            "replies": shown[:SHOWN],
            "more": more,
            "today": day,
            "cancellations": sum(reply.answer == Reply.Answer.CANCELLED for reply in shown[:SHOWN]),
        }
    ]

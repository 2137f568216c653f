"""What the waitlist adds to scheduling's pages (registered in apps.py): the candidates for a cancelled
appointment's freed time on its page, and the freed times still free on Today."""

from datetime import timedelta

from django.utils import timezone

from scheduling.models import Appointment

from . import services
from .forms import OfferForm
from .matching import candidates_for, count_for
from .models import WaitlistOffer

SHOWN_CANDIDATES = 5
OFFERS_SHOWN = 20
# Today lists the freed times from now until this many days ahead, at most FREED_SHOWN of them.
FREED_DAYS = 7
FREED_SHOWN = 8


def appointment_panels(*, appointment, user):
    if not user.has_perm("waitlist.view_waitlistentry") or not services.is_freed_time(appointment):
        return []
    doctor, start, end = appointment.doctor, appointment.start, appointment.end
    offers = list(
        WaitlistOffer.objects.filter(doctor=doctor, start=start)
        .select_related("entry__patient")
        .order_by("created_at", "pk")[:OFFERS_SHOWN]
    )
    return [
        {
            "template": "waitlist/_freed_time.html",
            "freed": appointment,
            "candidates": candidates_for(doctor, start, end, limit=SHOWN_CANDIDATES),
            "count": count_for(doctor, start, end),
            "offers": offers,
            "may_book": user.has_perms(["scheduling.add_appointment", "waitlist.change_waitlistentry"]),
            "may_offer": user.has_perm("waitlist.offer_waitlistentry"),
            "offer_form": OfferForm(),
        }
    ]


def freed_times(*, doctor=None, now=None):
    """Cancelled appointments from now to FREED_DAYS ahead whose time is still free, one per doctor and
    start, soonest first, with how many on the waitlist fit each: a bounded number of queries."""
    now = now or timezone.now()
    until = now + timedelta(days=FREED_DAYS)
    cancelled = Appointment.objects.filter(
        status=Appointment.Status.CANCELLED, start__gt=now, start__lt=until
    ).with_people()
    if doctor is not None:
        cancelled = cancelled.filter(doctor=doctor)
    cancelled = list(cancelled.order_by("start", "pk")[: FREED_SHOWN * 4])
    if not cancelled:
        return []
    doctor_ids = {a.doctor_id for a in cancelled}
    busy = list(
        Appointment.objects.active()
        .overlapping(cancelled[0].start, max(a.end for a in cancelled))
        .filter(doctor_id__in=doctor_ids)
        .values_list("doctor_id", "start", "end")
    )
    found, seen = [], set()
    for freed in cancelled:
        key = (freed.doctor_id, freed.start)
        taken = any(d == freed.doctor_id and s < freed.end and e > freed.start for d, s, e in busy)
        if key in seen or taken:
            continue
        seen.add(key)
        found.append(freed)
        if len(found) == FREED_SHOWN:
            break
    return [{"freed": freed, "count": count_for(freed.doctor, freed.start, freed.end)} for freed in found]


def today_panels(*, day, doctor, user):
    if not user.has_perm("waitlist.view_waitlistentry"):
        return []
    rows = freed_times(doctor=doctor)
    if not rows:
        return []
    return [{"template": "waitlist/_today.html", "rows": rows}]

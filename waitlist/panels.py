"""What the waitlist adds to scheduling's pages (registered in apps.py): the candidates for a cancelled
appointment's freed time on its page, and the freed times still free on Today (cancelled ones, and times
appointments were moved from, which have a page of their own: waitlist.views.MovedTimeView)."""

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from scheduling.models import Appointment

from . import services
from .forms import OfferForm
from .matching import candidates_for, count_for
from .models import FreedTime, WaitlistOffer

SHOWN_CANDIDATES = 5
OFFERS_SHOWN = 20
# Today lists the freed times from now until this many days ahead, at most FREED_SHOWN of them.
FREED_DAYS = 7
FREED_SHOWN = 8


def freed_time_panel(*, doctor, start, end, user, book_url, offer_url, back=None):
    """The candidates for a freed time, with a Book button each (book_url(entry)) and "Offer to the top N"."""
    offers = list(
        WaitlistOffer.objects.filter(doctor=doctor, start=start)
        .select_related("entry__patient")
        .order_by("created_at", "pk")[:OFFERS_SHOWN]
    )
    candidates = candidates_for(doctor, start, end, limit=SHOWN_CANDIDATES)
    for candidate in candidates:
        candidate.book_url = book_url(candidate.entry)
    return {
        "template": "waitlist/_freed_time.html",
        "doctor": doctor,
        "start": start,
        "end": end,
        "back": back,
        "candidates": candidates,
        "count": count_for(doctor, start, end),
        "offers": offers,
        "may_book": user.has_perms(["scheduling.add_appointment", "waitlist.change_waitlistentry"]),
        "may_offer": user.has_perm("waitlist.offer_waitlistentry"),
        "offer_url": offer_url,
        "offer_form": OfferForm(),
    }


def appointment_panels(*, appointment, user):
    if not user.has_perm("waitlist.view_waitlistentry") or not services.is_freed_time(appointment):
        return []
    panel = freed_time_panel(
        doctor=appointment.doctor,
        start=appointment.start,
        end=appointment.end,
        user=user,
        book_url=lambda entry: reverse("waitlist:book", args=[appointment.pk, entry.pk]),
        offer_url=reverse("waitlist:offer", args=[appointment.pk]),
    )
    return [panel]


def freed_times(*, doctor=None, now=None):
    """Times freed from now to FREED_DAYS ahead (cancelled appointments, and times appointments were moved
    from) that are still free, one per doctor and start, soonest first, with how many on the waitlist fit
    each: a bounded number of queries (three, and a count per time shown)."""
    now = now or timezone.now()
    until = now + timedelta(days=FREED_DAYS)
    # Taken again (refilled, often at once) is left out in the query, before the cap: a week of refilled
    # cancellations must not crowd out the times still free behind them.
    taken = (
        Appointment.objects.active()
        .overlapping(OuterRef("start"), OuterRef("end"))
        .filter(doctor_id=OuterRef("doctor_id"))
    )
    cancelled = Appointment.objects.filter(status=Appointment.Status.CANCELLED, start__gt=now, start__lt=until)
    moved = FreedTime.objects.filter(start__gt=now, start__lt=until)
    cancelled, moved = cancelled.exclude(Exists(taken)), moved.exclude(Exists(taken))
    if doctor is not None:
        cancelled, moved = cancelled.filter(doctor=doctor), moved.filter(doctor=doctor)
    times = [
        (a.start, a.pk, a.doctor, a.end, a.get_absolute_url())
        for a in cancelled.select_related("doctor__user").order_by("start", "pk")[: FREED_SHOWN * 4]
    ] + [
        (f.start, f.pk, f.doctor, f.end, reverse("waitlist:moved", args=[f.pk]))
        for f in moved.select_related("doctor__user").order_by("start", "pk")[: FREED_SHOWN * 4]
    ]
    if not times:
        return []
    times.sort(key=lambda t: (t[0], t[1]))
    busy = list(
        Appointment.objects.active()
        .overlapping(times[0][0], max(t[3] for t in times))
        .filter(doctor_id__in={t[2].pk for t in times})
        .values_list("doctor_id", "start", "end")
    )
    found, seen = [], set()
    for start, _pk, who, end, url in times:
        key = (who.pk, start)
        taken = any(d == who.pk and s < end and e > start for d, s, e in busy)
        if key in seen or taken:
            continue
        seen.add(key)
        found.append({"doctor": who, "start": start, "end": end, "url": url})
        if len(found) == FREED_SHOWN:
            break
    for row in found:
        row["count"] = count_for(row["doctor"], row["start"], row["end"])
    return found


def today_panels(*, day, doctor, user):
    if not user.has_perm("waitlist.view_waitlistentry"):
        return []
    rows = freed_times(doctor=doctor)
    if not rows:
        return []
    return [{"template": "waitlist/_today.html", "rows": rows}]

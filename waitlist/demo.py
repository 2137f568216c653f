"""Demo waitlist for `seed_demo`: `seed_waitlist()` puts a handful of patients on the waitlist, of every
urgency, some for a named doctor and some for a specialty, with names outside Latin-1."""

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from staff.models import Doctor, User

from . import services
from .models import DAY_PARTS, Urgency, WaitlistEntry

# (first name, last name, urgency, named doctor or specialty, weekdays, part of day, days waiting, note)
WAITING = [
    ("Łucja", "Wiśniewska", Urgency.URGENT, "doctor", "", "mornings", 3, "Worsening knee pain; any cancellation"),
    ("Nguyễn", "Thị Hoa", Urgency.SOON, "specialty", "024", "", 12, "Prefers a female doctor if possible"),
    ("Ōtsuka", "Haruki", Urgency.ROUTINE, "doctor", "", "afternoons", 21, "Works mornings"),
    ("Zoë", "Ångström", Urgency.SOON, "doctor", "13", "", 8, ""),
    ("Dmitrij", "Kovač", Urgency.ROUTINE, "specialty", "", "evenings", 30, "Needs an interpreter (Croatian)"),
    ("Şebnem", "Yılmaz", Urgency.URGENT, "specialty", "", "", 1, "Referral letter on file"),
]


def seed_waitlist(seed=2026, today=None):
    """The demo's waiting patients; returns how many entries were made (0 when the demo has them already)."""
    if WaitlistEntry.objects.exists():
        return 0
    today = today or timezone.localdate()
    rnd = random.Random(f"{seed}-waitlist")
    doctors = list(Doctor.objects.active().select_related("specialty").order_by("pk"))
    reception = User.objects.filter(username="reception").first() or User.objects.order_by("pk").first()
    if not doctors or reception is None:
        return 0
    made = 0
    with transaction.atomic():
        for i, (first, last, urgency, wants, weekdays, part, waited, note) in enumerate(WAITING):
            patient, _ = Patient.objects.get_or_create(
                first_name=first,
                last_name=last,
                defaults={
                    "date_of_birth": date(1950, 1, 1) + timedelta(days=rnd.randrange(0, 365 * 60)),
                    "phone": f"07700 95{rnd.randrange(0, 10000):04d}",
                    "email": f"waitlist{i}@mail.example",
                },
            )
            doctor = doctors[i % len(doctors)]
            time_from, time_to = DAY_PARTS.get(part, (None, None))
            entry = services.add_entry(
                patient=patient,
                by=reception,
                doctor=doctor if wants == "doctor" else None,
                specialty=doctor.specialty if wants == "specialty" else None,
                weekdays=weekdays,
                time_from=time_from,
                time_to=time_to,
                not_before=today + timedelta(days=2) if i == 2 else None,
                urgency=urgency,
                note=note,
            )
            # Waiting since some days ago (added_at is set on create): the ranking shows "waiting N days".
            added = timezone.now() - timedelta(days=waited, hours=rnd.randrange(0, 8))
            WaitlistEntry.objects.filter(pk=entry.pk).update(added_at=added)
            made += 1
    return made


__all__ = ["seed_waitlist"]

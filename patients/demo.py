"""Demo patients for `seed_demo`: the names (Latin script with the diacritics a London clinic
meets), and the bulk load used for load tests (`seed_demo --patients N`)."""

import random
import time
from datetime import date, timedelta

from django.db import connection, transaction

from clinic import audit
from clinic.models import AuditEntry

from .models import Patient, luhn_digit
from .text import digits, fold

FIRST_NAMES = [
    ("Zoë", "female"),
    ("José", "male"),
    ("Aoife", "female"),
    ("Mohammed", "male"),
    ("Chloé", "female"),
    ("Łukasz", "male"),
    ("Siobhán", "female"),
    ("Kwame", "male"),
    ("Ingrid", "female"),
    ("Rahul", "male"),
    ("Mei", "female"),
    ("Oliver", "male"),
    ("Amara", "female"),
    ("Jürgen", "male"),
    ("Fatima", "female"),
    ("Liam", "male"),
    ("Sofía", "female"),
    ("Hiroshi", "male"),
    ("Eleanor", "female"),
    ("Tomás", "male"),
]
LAST_NAMES = [
    "O'Brien",
    "García",
    "Müller",
    "Okonkwo",
    "Novák",
    "Patel",
    "Smith",
    "Jones",
    "Kowalczyk",
    "Lefèvre",
    "Andersson",
    "Khan",
    "Rossi",
    "Nguyen",
    "Williams",
    "Brown",
    "Taylor",
    "Søndergaard",
    "Ahmed",
    "Murphy",
]
STREETS = ["Mill Lane", "Church Street", "Station Road", "Park Avenue", "Victoria Road", "High Street"]


def demo_name(i):
    """(first name, sex, last name) of the i-th demo patient: every first name meets every last name."""
    first, sex = FIRST_NAMES[i % len(FIRST_NAMES)]
    last = LAST_NAMES[(i * 7 + i // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return first, sex, last


def _bulk_patient(seed, i):
    rnd = random.Random(f"{seed}-bulk-patient-{i}")
    first, sex, last = demo_name(i)
    phone = f"07700 {rnd.randrange(0, 1000000):06d}"
    name_key = fold(f"{first} {last}")
    return Patient(
        first_name=first,
        last_name=last,
        date_of_birth=date(1930, 1, 1) + timedelta(days=rnd.randrange(0, 365 * 90)),
        sex=sex,
        phone=phone,
        email=f"{name_key.replace(' ', '')}{i}@mail.example",
        address=f"{rnd.randrange(1, 400)} {rnd.choice(STREETS)}\nLondon",
        name_key=name_key,
        phone_digits=digits(phone),
    )


def seed_bulk_patients(total, *, seed=2026, batch_size=5000, progress=None):
    """Bulk-load patients until there are `total`: one transaction per batch, each with its MRN
    (row id plus Luhn check digit, as Patient.save gives it) and search text, and one audit entry
    naming the batch (a row each would make the trail as big as the load). Returns how many were made."""
    made, started = 0, time.monotonic()
    while True:
        existing = Patient.objects.count()
        wanted = min(batch_size, total - existing)
        if wanted <= 0:
            return made
        with transaction.atomic():
            rows = Patient.objects.bulk_create([_bulk_patient(seed, existing + k) for k in range(wanted)])
            for patient in rows:
                number = f"{patient.pk:06d}"
                patient.mrn = number + luhn_digit(number)
                patient._refresh_search_text()
            table = connection.ops.quote_name(Patient._meta.db_table)
            with connection.cursor() as cursor:
                # One prepared statement many times: bulk_update's CASE per row is slower on both databases.
                cursor.executemany(
                    f"UPDATE {table} SET mrn = %s, search_text = %s WHERE id = %s",  # noqa: S608 (constant table name)
                    [(p.mrn, p.search_text, p.pk) for p in rows],
                )
            audit.record(
                AuditEntry.Action.CREATE,
                summary=f"Demo load: {len(rows)} patients, MRN {rows[0].mrn} to {rows[-1].mrn}",
            )
        made += len(rows)
        if progress:
            progress(f"Patients: {existing + len(rows):,} of {total:,} ({time.monotonic() - started:.0f} s)")
